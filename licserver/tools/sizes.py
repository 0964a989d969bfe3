"""``python -m licserver.tools.sizes``: modules and functions a reader can hold.

The rules (docs/architecture.md, "Size"):

- No module in ``licserver/``, ``bench/``, ``scripts/`` or ``tests/support/``
  over 500 lines (migrations excepted: each is one revision, written once).
- No function or method in ``licserver/`` over 60 lines (from ``def`` to its
  last line), unless the comment right above it (above its decorators) says
  why, starting ``# Over 60 lines on purpose:``.

Exit status 1 lists every breach; ``make lint`` runs it.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MODULE_DIRS = ("licserver", "bench", "scripts", "tests/support")
FUNCTION_DIRS = ("licserver",)
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60
REASON = "# Over 60 lines on purpose:"


def _files(dirs: tuple[str, ...], repo: Path) -> Iterator[Path]:
    for d in dirs:
        for path in sorted((repo / d).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def _has_reason(lines: list[str], node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """The comment block right above the function (and its decorators) gives a reason."""
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    i = first - 2  # the line above, 0-based
    while i >= 0 and lines[i].strip().startswith("#"):
        if lines[i].strip().startswith(REASON):
            return True
        i -= 1
    return False


def long_functions(path: Path, repo: Path = REPO) -> Iterator[str]:
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    for node in ast.walk(ast.parse(text, str(path))):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        length = (node.end_lineno or node.lineno) - node.lineno + 1
        if length > MAX_FUNCTION_LINES and not _has_reason(lines, node):
            yield (
                f"{path.relative_to(repo)}:{node.lineno} {node.name} is {length} lines "
                f"(over {MAX_FUNCTION_LINES}: split it, or write `{REASON} ...` above it)"
            )


def check(repo: Path = REPO) -> list[str]:
    problems = []
    for path in _files(MODULE_DIRS, repo):
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > MAX_MODULE_LINES:
            problems.append(
                f"{path.relative_to(repo)} is {n} lines (over {MAX_MODULE_LINES}: split it)"
            )
    for path in _files(FUNCTION_DIRS, repo):
        problems += long_functions(path, repo)
    return problems


def main(argv: list[str]) -> int:
    if {"-h", "--help"} & set(argv):
        print(__doc__)
        return 0
    problems = check()
    print("\n".join(problems) if problems else "sizes: every module and function within its limit")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
