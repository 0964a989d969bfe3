"""Where a form post comes from, without the Referer.

Every page is sent with ``Referrer-Policy: no-referrer`` (licserver.security),
so Flask-WTF's HTTPS Referer check (``WTF_CSRF_SSL_STRICT``) would refuse
every post; it is off, and this check takes its place before the CSRF token's:
a post is refused when the browser says it comes from another site
(``Sec-Fetch-Site: cross-site`` or ``same-site``), or when the ``Origin`` or
``Referer`` it sends names another origin. A post that sends none of them (an
old browser, a script) is left to the CSRF token alone."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import request
from flask_wtf.csrf import CSRFError

# Sec-Fetch-Site values of a post made by this site's own pages (or typed by hand).
_OWN_SITE = frozenset({"same-origin", "none"})


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def check_same_origin() -> None:
    """Raise CSRFError when the request says it was made by another site."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site.lower() not in _OWN_SITE:
        raise CSRFError("The form was posted from another site.")
    ours = _origin_of(request.host_url)
    origin = request.headers.get("Origin")
    # "null": what a browser sends under no-referrer (and from sandboxed frames,
    # which Sec-Fetch-Site names as cross-site above).
    if origin and origin != "null" and _origin_of(origin) != ours:
        raise CSRFError("The form was posted from another site.")
    referrer = request.headers.get("Referer")
    if referrer and _origin_of(referrer) != ours:
        raise CSRFError("The referrer does not match this site.")
