"""tests/support/ordering.py hands the slowest files out first under xdist."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from tests.support.ordering import slowest_first


def _items(*nodeids: str) -> list[Any]:
    return [SimpleNamespace(nodeid=n) for n in nodeids]


def test_slowest_files_first_each_file_whole_and_in_its_own_order() -> None:
    items = _items(
        "tests/a.py::one",
        "tests/b.py::one",
        "tests/a.py::two",
        "tests/c.py::one[x]",
        "tests/d.py::one",
        "tests/c.py::one[y]",
    )
    seconds = {"tests/c.py": 90.0, "tests/b.py": 5.0}
    ordered = [i.nodeid for i in slowest_first(items, seconds)]  # type: ignore[arg-type]
    assert ordered == [
        "tests/c.py::one[x]",
        "tests/c.py::one[y]",
        "tests/b.py::one",
        "tests/a.py::one",  # unknown files keep their order, after the known ones
        "tests/a.py::two",
        "tests/d.py::one",
    ]
