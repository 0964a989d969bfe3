"""Interactive API documentation at /api/docs: Swagger UI (the
swagger-ui-bundle package, served from our own origin: no CDN) reading
/api/v1/openapi.json. Nothing inline: the page's one script of ours is a
static file, so it runs under the default Content-Security-Policy; the only
addition is ``img-src data:`` for the icons Swagger UI's stylesheet embeds."""

from __future__ import annotations

from html import escape
from pathlib import Path

from flask import Blueprint, Response, abort, send_from_directory, url_for

from licserver.security import DEFAULT_CSP

blp = Blueprint("api_docs", __name__, url_prefix="/api/docs")

OWN_STATIC = Path(__file__).parent / "static"
# The vendor files the page loads (the package holds more: maps, ES builds).
VENDOR_FILES = frozenset(
    {"swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png", "favicon-16x16.png"}
)
DOCS_CSP = DEFAULT_CSP + "; img-src 'self' data:"


def _vendor_dir() -> Path:
    import swagger_ui_bundle

    return Path(swagger_ui_bundle.swagger_ui_path)


@blp.get("")
def page() -> Response:
    def asset(name: str) -> str:
        return escape(url_for("api_docs.static_file", filename=name))

    html = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>licserver API</title>
<link rel="icon" type="image/png" href="{asset("favicon-32x32.png")}">
<link rel="stylesheet" href="{asset("swagger-ui.css")}">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{escape(url_for("api-docs.openapi_json"))}"></div>
<script src="{asset("swagger-ui-bundle.js")}"></script>
<script src="{asset("api-docs.js")}"></script>
</body>
</html>
"""
    resp = Response(html, mimetype="text/html")
    resp.headers["Content-Security-Policy"] = DOCS_CSP
    return resp


@blp.get("/static/<path:filename>")
def static_file(filename: str) -> Response:
    if filename == "api-docs.js":
        return send_from_directory(OWN_STATIC, filename)
    if filename not in VENDOR_FILES:
        abort(404)
    return send_from_directory(_vendor_dir(), filename)
