"""CSP violation reports (POST /csp-report): logged, never stored. Each
violation is one WARNING line of the ``licserver.csp`` logger, its URLs
redacted as the access log's are (a reset page's URL holds its token)."""

from __future__ import annotations

import logging

from licserver.domain import csp
from licserver.security import redact_text
from licserver.services.context import Context

log = logging.getLogger("licserver.csp")


def record(ctx: Context, raw: bytes, ip: str | None) -> int:
    """Log the violations in a report body; how many there were."""
    violations = csp.parse(raw)
    for v in violations:
        log.warning(
            "CSP violation: %s blocked %s on %s%s (from %s)",
            v.directive or "?",
            redact_text(v.blocked) or "?",
            redact_text(v.document) or "?",
            f" at {redact_text(v.source)}" if v.source else "",
            ip or "?",
        )
    return len(violations)
