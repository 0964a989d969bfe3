"""licserver.tools.sizes finds a long module and a long function without a reason."""

from __future__ import annotations

from pathlib import Path

from licserver.tools import sizes


def _function(name: str, body_lines: int, above: str = "") -> str:
    body = "".join(f"    x{i} = {i}\n" for i in range(body_lines))
    return f"{above}def {name}() -> None:\n{body}\n\n"


def _repo(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for d in sizes.MODULE_DIRS:
        (root / d).mkdir(parents=True, exist_ok=True)
    return root


def test_short_modules_and_functions_pass(tmp_path: Path) -> None:
    repo = _repo(tmp_path, {"licserver/a.py": _function("short", 59)})
    assert sizes.check(repo) == []


def test_a_long_module_is_found_anywhere_checked_but_not_a_migration(tmp_path: Path) -> None:
    long = "x = 1\n" * 501
    repo = _repo(
        tmp_path,
        {
            "bench/big.py": long,
            "tests/support/big.py": long,
            "licserver/migrations/versions/0001_big.py": long,
            "tests/unit/test_big.py": long,  # test modules are not checked
        },
    )
    found = sizes.check(repo)
    assert [p.split(" ")[0] for p in found] == ["bench/big.py", "tests/support/big.py"]


def test_a_long_function_needs_its_reason_above_it(tmp_path: Path) -> None:
    reason = "# Over 60 lines on purpose: one step after another.\n"
    source = (
        _function("bare", 60)
        + _function("explained", 60, above=reason)
        + _function("decorated", 60, above=reason + "@staticmethod\n")
        + _function("far", 60, above=reason + "\nX = 1\n")
    )
    repo = _repo(tmp_path, {"licserver/a.py": source})
    found = sizes.check(repo)
    assert [p.split(" ")[1] for p in found] == ["bare", "far"]
