"""Content-Security-Policy violation reports, as browsers send them: the
``report-uri`` form (``application/csp-report``, one ``{"csp-report": {...}}``)
and the Reporting API's (``application/reports+json``, a list of
``{"type": "csp-violation", "body": {...}}``). Pure: bytes in, a few short
fields out (licserver.services.csp_reports logs them)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

# The largest report body read (a browser's is well under 2 KiB), the most
# reports logged from one body, and the longest value kept of each field.
MAX_BODY_BYTES = 8 * 1024
MAX_REPORTS = 5
MAX_FIELD = 200


@dataclass(frozen=True)
class Violation:
    document: str
    directive: str
    blocked: str
    source: str  # file:line where the browser says it happened, or ""


# (our field, the report-uri name, the Reporting API name)
_FIELDS = (
    ("document", "document-uri", "documentURL"),
    ("directive", "effective-directive", "effectiveDirective"),
    ("blocked", "blocked-uri", "blockedURL"),
    ("source", "source-file", "sourceFile"),
)


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text[:MAX_FIELD]


def _violation(body: dict[str, Any]) -> Violation:
    got = {ours: _short(body.get(old, body.get(new))) for ours, old, new in _FIELDS}
    if not got["directive"]:
        got["directive"] = _short(body.get("violated-directive"))
    line = body.get("line-number", body.get("lineNumber"))
    if got["source"] and isinstance(line, int):
        got["source"] = f"{got['source']}:{line}"
    return Violation(**got)


def parse(raw: bytes) -> list[Violation]:
    """The violations in a report body; [] for anything else (never raises)."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return []
    if isinstance(data, dict) and isinstance(data.get("csp-report"), dict):
        return [_violation(data["csp-report"])]
    if isinstance(data, list):
        bodies = [
            item["body"]
            for item in data
            if isinstance(item, dict)
            and item.get("type") == "csp-violation"
            and isinstance(item.get("body"), dict)
        ]
        return [_violation(b) for b in bodies[:MAX_REPORTS]]
    return []
