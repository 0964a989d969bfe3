"""schemathesis against a live server's ``/api/v1/openapi.json``: no 5xx, and
every answer of the documented content type and schema.

Run as its CLI (``st run``) in a subprocess, so its output is the report a
developer would read. The server under test runs with the shipped
``gunicorn.conf.py``: a generated URL or header past gunicorn's limits is
answered by gunicorn itself, in problem+json under /api/ (docs/reliability.md,
"Slow clients"), and checked like any other answer.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ST = Path(sys.executable).with_name("st")
CHECKS = "not_a_server_error,response_schema_conformance,content_type_conformance"


@dataclass
class FuzzResult:
    ok: bool
    command: str
    summary: str
    output: str


def run_schemathesis(
    url: str,
    token: str | None,
    *,
    max_examples: int,
    workdir: Path,
    max_time: int | None = None,
    seed: int | None = None,
) -> FuzzResult:
    cmd = [
        str(ST),
        "run",
        f"{url}/api/v1/openapi.json",
        "--checks",
        CHECKS,
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(max_examples),
        # one: CPython 3.11's ast.parse is not thread-safe, and hypothesis calls
        # it from schemathesis's worker threads ("AST constructor recursion depth
        # mismatch", a crash of the tool, not a finding)
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--no-color",
    ]
    if max_time is not None:
        cmd += ["--max-time", str(max_time)]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    shown = " ".join(shlex.quote(c) for c in cmd).replace(str(ST), "st").replace(url, "$URL")
    if token:
        cmd += ["-H", f"Authorization: Bearer {token}"]
        shown += " -H 'Authorization: Bearer $ADMIN_TOKEN'"
    proc = subprocess.run(
        cmd, cwd=workdir, capture_output=True, text=True, timeout=(max_time or 900) + 120
    )
    output = proc.stdout + proc.stderr
    cases = re.search(r"(\d+) generated, .*", output)
    final = [ln for ln in output.splitlines() if ln.startswith("====")]
    failures = sorted(set(re.findall(r"❌ (ST\d+ [^:\n]+): (\d+)", output)))
    summary = (cases.group(0) if cases else "") + (f"; {final[-1].strip('= ')}" if final else "")
    if failures:
        summary += "; " + ", ".join(f"{name}: {n}" for name, n in failures)
    return FuzzResult(proc.returncode == 0, shown, summary, output)
