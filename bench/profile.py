"""Where a gunicorn worker's time goes during a scenario: py-spy samples one
worker (idle time included, so that waiting on the database shows), and the
samples are summed by what their innermost known frame belongs to.

Used by ``python -m bench.run --profile`` (an extra run per scenario, after the
measured ones, so that the sampler's own cost is in no figure).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

PY_SPY = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")

# (category, pattern on "function (file:line)"), tried from the innermost frame out;
# the first frame that matches one names the sample's category.
RULES: list[tuple[str, re.Pattern[str]]] = [
    # the sync worker's loop waiting for the next connection: not part of a request
    ("idle: waiting for a connection", re.compile(r"^SyncWorker\.wait \(")),
    ("database: waiting for PostgreSQL", re.compile(r"\bwait\b.*\(psycopg/")),
    ("database: psycopg, libpq", re.compile(r"\(psycopg/")),
    # pysqlite and SQLite are C, invisible to py-spy: the time shows on the
    # SQLAlchemy frame that calls the driver
    (
        "database: SQLite",
        re.compile(r"do_(execute|commit|rollback|begin)\b.*sqlalchemy/engine/default"),
    ),
    # SQLite: a writer waiting for its turn (licserver.database._WriterTurns)
    ("database: waiting for the write turn (SQLite)", re.compile(r"^_WriterTurns\.take ")),
    ("SQLAlchemy Core", re.compile(r"\(sqlalchemy/")),
    ("Ed25519, token encode/decode", re.compile(r"\(licserver/signing\.py")),
    ("licserver (services, views, crypto)", re.compile(r"\(licserver/")),
    (
        "request parsing and validation (webargs, marshmallow)",
        re.compile(r"\((webargs|marshmallow)/"),
    ),
    ("flask-smorest (response schema)", re.compile(r"\(flask_smorest/")),
    ("Flask, Werkzeug (routing, contexts, JSON)", re.compile(r"\((flask|werkzeug|json)/")),
    ("gunicorn (HTTP parsing, socket writes and close)", re.compile(r"\(gunicorn/")),
]
IDLE = RULES[0][0]


def record(pid: int, seconds: float, out: Path, rate: int = 200) -> None:
    """py-spy for ``seconds`` on ``pid``, collapsed stacks into ``out`` (no file
    when py-spy is missing or may not attach: it needs ptrace)."""
    try:
        _record(pid, seconds, out, rate)
    except (OSError, subprocess.SubprocessError) as exc:
        print(f"py-spy failed: {exc}", file=sys.stderr)


def _record(pid: int, seconds: float, out: Path, rate: int) -> None:
    subprocess.run(
        [
            PY_SPY,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(max(1, round(seconds))),
            "--rate",
            str(rate),
            "--idle",
            "--format",
            "raw",
            "--output",
            str(out),
            "--nonblocking",
        ],
        check=True,
        capture_output=True,
        timeout=seconds + 60,
    )


def categorise(stack: list[str]) -> str:
    """``stack`` outermost first, as py-spy's raw format writes it."""
    for frame in reversed(stack):
        for name, pattern in RULES:
            if pattern.search(frame):
                return name
    return "other (stdlib, interpreter)"


def summarise(raw: Path) -> dict[str, float]:
    """Each category's share of all the samples (idle included), largest first."""
    counts: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack_text, _, n = line.rpartition(" ")
        if not stack_text or not n.isdigit():
            continue
        counts[categorise(stack_text.split(";"))] += int(n)
    total = sum(counts.values())
    return {name: n / total for name, n in counts.most_common()} if total else {}


def top_frames(raw: Path, n: int = 10, depth: int = 2) -> list[tuple[str, float]]:
    """The innermost ``depth`` frames of the samples that are not idle, joined
    with " < ", and each one's share of those samples, the largest ``n``."""
    counts: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack_text, _, num = line.rpartition(" ")
        if not stack_text or not num.isdigit():
            continue
        stack = stack_text.split(";")
        if categorise(stack) == IDLE:
            continue
        counts[" < ".join(reversed(stack[-depth:]))] += int(num)
    total = sum(counts.values())
    return [(frames, k / total) for frames, k in counts.most_common(n)] if total else []
