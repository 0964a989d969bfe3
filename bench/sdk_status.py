"""The three SDKs' offline status check against one bare Ed25519 verify, each
measured by the SDK's own benchmark in one run; prints the ratios.

- Python: ``bench/status_bench.py``, ``status()`` against PyJWT's EdDSA decode
  of a token of the same size (goal: the first call of a new client ≤ 1×);
- C: ``make bench-sdk-c`` (``client_sdk/c/bench/bench.c``), ``lc_status_get``
  against one libsodium ``crypto_sign_verify_detached`` (goal ≤ 1.5×);
- Node: ``client_sdk/node/bench/status_bench.mjs``, ``status()`` against one
  ``crypto.verify`` (goal ≤ 2×).

"warm" is a product asking again on the same client (the state file is read and
compared, the unchanged certificate not verified again); "cold" is the first
call of a new client (read, parse, verify, check). ``make bench`` runs this as
part of ``bench.run``; alone:

    python -m bench.sdk_status
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULT_RE = re.compile(r"^BENCH_RESULT (\{.*\})$", re.MULTILINE)


@dataclass(frozen=True)
class Sdk:
    name: str
    title: str  # what is measured against what
    source: str  # the benchmark, as a reader runs it
    goal: float
    command: list[str]
    needs: str  # the program that must be on PATH
    # the ratios the goal applies to ("warm", "cold")
    goal_on: tuple[str, ...]


SDKS = [
    Sdk(
        "python",
        "Python status() / PyJWT EdDSA decode",
        "bench/status_bench.py",
        1.0,
        [sys.executable, str(ROOT / "bench" / "status_bench.py")],
        sys.executable,
        ("cold",),
    ),
    Sdk(
        "c",
        "C lc_status_get / one libsodium Ed25519 verify",
        "make bench-sdk-c",
        1.5,
        ["make", "--no-print-directory", "-s", "bench-sdk-c"],
        "cmake",
        ("warm", "cold"),
    ),
    Sdk(
        "node",
        "Node status() / one crypto.verify",
        "node client_sdk/node/bench/status_bench.mjs",
        2.0,
        ["node", str(ROOT / "client_sdk" / "node" / "bench" / "status_bench.mjs")],
        "node",
        ("warm", "cold"),
    ),
]


def parse(output: str) -> dict[str, float]:
    """The ratios in a benchmark's output: its BENCH_RESULT line (C, Node), or
    the Python benchmark's "ratio first call / later calls" lines."""
    found = RESULT_RE.search(output)
    if found:
        return {k: float(v) for k, v in json.loads(found.group(1)).items()}
    ratios: dict[str, float] = {}
    for key, label in (("cold_ratio", "first call"), ("warm_ratio", "later calls")):
        m = re.search(rf"ratio {label} / reference:\s*([0-9.]+)", output)
        if m:
            ratios[key] = float(m.group(1))
    return ratios


def run_one(sdk: Sdk) -> dict[str, Any]:
    """{"output", "returncode", "warm_ratio", "cold_ratio", ...}, or {"missing": why}."""
    if not shutil.which(sdk.needs):
        return {"missing": f"{sdk.needs} is not installed"}
    try:
        out = subprocess.run(
            sdk.command, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return {"output": f"could not run it: {exc}", "returncode": -1}
    # make's own chatter (directories, compiler lines) is not the benchmark's output
    lines = [
        line
        for line in (out.stdout + out.stderr).splitlines()
        if not re.match(r"^(g?make\[\d+\]|\[ *\d+%\]|cmake |-- )", line)
    ]
    return {"output": "\n".join(lines).strip(), "returncode": out.returncode, **parse(out.stdout)}


def run_all() -> dict[str, dict[str, Any]]:
    return {sdk.name: run_one(sdk) for sdk in SDKS}


Row = tuple[str, str, str, bool | None]  # label, measured, goal, met (None: no figure)


def targets(results: dict[str, dict[str, Any]], first_number: int) -> list[Row]:
    """The rows of each SDK's ratios, numbered from first_number."""
    rows: list[Row] = []
    for number, sdk in enumerate(SDKS, start=first_number):
        result = results.get(sdk.name, {})
        goal = f"≤ {sdk.goal:g}"
        for which in sdk.goal_on:
            label = f"{number}. {sdk.title}, {which}"
            ratio = result.get(f"{which}_ratio")
            if result.get("missing"):
                rows.append((label, f"not run: {result['missing']}", goal, None))
            elif ratio is None:
                rows.append((label, "no ratio in its output", goal, None))
            else:
                rows.append((label, f"{ratio:.2f}", goal, ratio <= sdk.goal))
    return rows


def report(results: dict[str, dict[str, Any]]) -> list[str]:
    """Each benchmark's own output, as markdown lines."""
    lines: list[str] = []
    for sdk in SDKS:
        result = results.get(sdk.name, {})
        lines += ["", f"{sdk.title} (`{sdk.source}`, its own output):", ""]
        if result.get("missing"):
            lines.append(f"not run: {result['missing']}.")
        else:
            lines += ["```", str(result.get("output", ""))[-3000:], "```"]
    return lines


def main() -> int:
    results = run_all()
    for line in report(results):
        print(line)
    print()
    for label, value, goal, met in targets(results, 7):
        verdict = "–" if met is None else ("met" if met else "NOT met")
        print(f"{label}: {value} (goal {goal}: {verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
