"""gunicorn's logger with the secrets taken out of the access log.

``gunicorn --logger-class licserver.gunicorn_logging.RedactingLogger`` (what
``make run`` and the README's deployment use): every value an access-log
line is made of — the request line, path, query, the Referer and any header
an ``access_log_format`` names — goes through ``security.redact_text``, so the
tokens of invitation, password-reset and download links and secret-named
query parameters appear as ``[redacted]`` whatever the format. (The
application redacts the environ's request line and query string itself; the
request headers gunicorn logs are not in the environ's hands.)"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from licserver.security import redact_text


class RedactingLogger(Logger):  # type: ignore[misc]  # gunicorn has no types
    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        return {k: redact_text(v) if isinstance(v, str) else v for k, v in atoms.items()}
