"""The order of test files under pytest-xdist (a plugin, registered in
``tests/conftest.py``): the slowest files first.

``make test`` runs ``--dist loadfile --no-loadscope-reorder``: each file goes
whole to one worker, in the order collected. A slow file handed out last keeps
one worker busy while the other has finished; handed out first, the short files
fill in around it (longest first is close to the best two workers can do).

How long a file takes: the last full run's figure (kept in pytest's cache,
``licserver/file_seconds``), else ``tests/file_seconds.json`` (checked in, for a
fresh clone and CI), else nothing: unknown files keep their order, after the
known slow ones. A run of the whole suite (``pytest`` with no paths, no ``-k``,
``-m`` or ``-x``) stores its figures; a partial run only reads them. Without xdist the
order is left alone.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

CACHE_KEY = "licserver/file_seconds"
SEED = Path(__file__).resolve().parent.parent / "file_seconds.json"

_seconds: defaultdict[str, float] = defaultdict(float)


def _file_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def known_seconds(config: pytest.Config) -> dict[str, float]:
    seed: dict[str, float] = json.loads(SEED.read_text()) if SEED.exists() else {}
    cached = config.cache.get(CACHE_KEY, {}) if config.cache is not None else {}
    return {**seed, **cached}


def slowest_first(items: list[pytest.Item], seconds: dict[str, float]) -> list[pytest.Item]:
    """The items file by file, the slowest files first; the order within a file,
    and among files of unknown or equal time, is kept."""
    by_file: dict[str, list[pytest.Item]] = {}
    for item in items:
        by_file.setdefault(_file_of(item.nodeid), []).append(item)
    files = sorted(by_file, key=lambda f: -seconds.get(f, 0.0))  # stable
    return [item for f in files for item in by_file[f]]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Only in xdist's workers: each sorts its (identical) collection alike, and
    # the controller hands the files out in that order.
    if hasattr(config, "workerinput"):
        items[:] = slowest_first(items, known_seconds(config))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _seconds[_file_of(report.nodeid)] += report.duration


def _whole_suite(config: pytest.Config) -> bool:
    return (
        config.args_source == pytest.Config.ArgsSource.TESTPATHS
        and not config.option.keyword
        and not config.option.markexpr
        and not config.getoption("deselect", None)
        and not config.option.maxfail
    )


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    if hasattr(config, "workerinput") or config.cache is None or not _seconds:
        return
    if _whole_suite(config):
        config.cache.set(CACHE_KEY, {f: round(s, 1) for f, s in sorted(_seconds.items())})
