"""``python -m licserver.tools.layers``: the layering rules, checked on the source.

The rules (docs/architecture.md says why):

- ``licserver.domain`` is plain Python: no Flask, no SQLAlchemy, nothing of
  the services, models or web layers.
- ``licserver.services`` never imports ``licserver.api``, ``licserver.web`` or
  ``licserver.cli``: the same service answers all three.
- ``licserver.web`` and ``licserver.cli`` do not query: they import neither
  ``licserver.extensions`` (the database handle) nor ``licserver.models``
  (except under ``TYPE_CHECKING``, for annotations).
- ``licserver.web.portal`` and ``licserver.web.staff`` never import each
  other; what both need lives in ``licserver.web.shared``.
- No import cycle among licserver's modules (imports at module level).

Imports inside functions are deliberate late imports (the CLI's start-up time)
and count for the rules, not for cycles. Exit status 1 lists every breach.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "licserver"
ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported module (or name inside one)
    line: int
    top_level: bool  # at module level, not inside a function
    typing_only: bool  # inside ``if TYPE_CHECKING:``


@dataclass(frozen=True)
class Rule:
    importer: str
    forbidden: tuple[str, ...]
    why: str
    allow_typing: bool = False
    allowed: tuple[str, ...] = ()


# The clock lives beside the tables' base class; reading it is not a query.
CLOCK = ("licserver.models.utcnow", "licserver.models.base.utcnow")

RULES = (
    Rule(
        "licserver.domain",
        (
            "flask",
            "sqlalchemy",
            "licserver.services",
            "licserver.models",
            "licserver.api",
            "licserver.web",
            "licserver.cli",
            "licserver.extensions",
        ),
        "domain/ is plain Python",
    ),
    Rule(
        "licserver.services",
        ("licserver.api", "licserver.web", "licserver.cli"),
        "services answer the API, the web pages and the CLI alike",
    ),
    Rule(
        "licserver.web",
        ("licserver.extensions", "licserver.models"),
        "pages call services; they do not query",
        allow_typing=True,
        allowed=CLOCK,
    ),
    Rule(
        "licserver.cli",
        ("licserver.extensions", "licserver.models"),
        "commands call services; they do not query",
        allow_typing=True,
        allowed=CLOCK,
    ),
    Rule("licserver.web.portal", ("licserver.web.staff",), "portal and console are apart"),
    Rule("licserver.web.staff", ("licserver.web.portal",), "portal and console are apart"),
)


def module_name(path: Path, root: Path = ROOT) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(path: Path, root: Path = ROOT) -> Iterator[Import]:
    source = module_name(path, root)
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))

    def visit(node: ast.AST, top: bool, typing_only: bool) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield Import(source, alias.name, child.lineno, top, typing_only)
            elif isinstance(child, ast.ImportFrom):
                base = _resolve(source, is_package, child.module, child.level)
                for alias in child.names:
                    yield Import(source, f"{base}.{alias.name}", child.lineno, top, typing_only)
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                yield from visit(child, False, typing_only)
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.body:
                    yield from visit(ast.Module(body=[stmt], type_ignores=[]), top, True)
                for stmt in child.orelse:
                    yield from visit(ast.Module(body=[stmt], type_ignores=[]), top, typing_only)
            else:
                yield from visit(child, top, typing_only)

    yield from visit(tree, True, False)


def _resolve(source: str, is_package: bool, module: str | None, level: int) -> str:
    if level == 0:
        return module or ""
    parts = source.split(".")
    if not is_package:
        parts = parts[:-1]
    parts = parts[: len(parts) - (level - 1)]
    return ".".join(parts + ([module] if module else []))


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def breaches(all_imports: list[Import]) -> list[str]:
    found = []
    for imp in all_imports:
        for rule in RULES:
            if not _within(imp.source, rule.importer):
                continue
            if imp.typing_only and rule.allow_typing:
                continue
            if imp.target in rule.allowed:
                continue
            for bad in rule.forbidden:
                if _within(imp.target, bad):
                    found.append(f"{imp.source}:{imp.line} imports {imp.target} ({rule.why})")
    return found


def cycles(all_imports: list[Import], modules: set[str]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for imp in all_imports:
        if not imp.top_level or imp.typing_only:
            continue
        target = imp.target
        while target and target not in modules:  # a name inside a module
            target = target.rpartition(".")[0]
        if target and target != imp.source and not _within(imp.source, target):
            graph[imp.source].add(target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0

    def strongconnect(v: str) -> None:  # recursion depth is bounded by the module count
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    return out


def check(root: Path = ROOT) -> list[str]:
    files = sorted(p for p in root.rglob("*.py") if "migrations" not in p.parts)
    modules = {module_name(p, root) for p in files}
    all_imports = [imp for p in files for imp in imports_of(p, root)]
    problems = breaches(all_imports)
    problems += ["import cycle: " + " -> ".join(c) for c in cycles(all_imports, modules)]
    return problems


def main() -> int:
    problems = check()
    for line in problems:
        print(line)
    if problems:
        print(
            f"{len(problems)} layering breach(es); the rules: "
            "python -m licserver.tools.layers --help"
        )
        return 1
    print("layers: every rule holds")
    return 0


if __name__ == "__main__":
    if "--help" in sys.argv[1:] or "-h" in sys.argv[1:]:
        print(__doc__)
        sys.exit(0)
    sys.exit(main())
