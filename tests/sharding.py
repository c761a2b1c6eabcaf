"""Parts of the suite for the other Pythons: ``pytest --shard=K/N`` keeps the K-th of N
parts, chosen by a stable hash of each test's id, plus every test marked ``every_python``
(packaging, dependencies, the architecture: what differs from one Python to the next).

scripts/test runs the whole suite on the main Python and, beside it, an eighth of the
quick tests (those not marked ``slow``) on each other Python, which eighth chosen by the
commit, and the version-sensitive ones on all of them.

:func:`longest_first` orders the modules so that the longest start first: pytest-xdist
hands modules to its workers in the order they come, and a long module that starts last
keeps one worker busy while the others have nothing left to do.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

import pytest


def parse_shard(text: str) -> tuple[int, int]:
    """``"1/2"`` -> ``(1, 2)``; anything else is refused with what to write instead."""
    part, _, count = text.partition("/")
    if not (part.isdigit() and count.isdigit()) or not 1 <= int(part) <= int(count):
        raise pytest.UsageError(
            f'--shard "{text}" is not K/N with 1 <= K <= N: write for example --shard=1/2'
        )
    return int(part), int(count)


def in_shard(test_id: str, part: int, count: int) -> bool:
    """Whether the test ``test_id`` (a pytest node id) belongs to part ``part`` of ``count``."""
    return zlib.crc32(test_id.encode()) % count == part - 1


def split(tests: Iterable[pytest.Item], part: int, count: int) -> tuple[list, list]:
    """The tests kept by ``--shard=part/count`` and those left out."""
    kept: list[pytest.Item] = []
    left: list[pytest.Item] = []
    for test in tests:
        keep = test.get_closest_marker("every_python") or in_shard(test.nodeid, part, count)
        (kept if keep else left).append(test)
    return kept, left


# What a test adds to its module's expected time, by marker (a quick test counts 0.05):
# a module of browser tests starts JupyterLab and Chromium, a container test builds an image.
MODULE_START = {"browser": 8.0, "container": 20.0}
TEST_COST = {"browser": 3.0, "container": 10.0, "slow": 3.0}


def longest_first(tests: list[pytest.Item]) -> None:
    """Order ``tests`` (in place) by their module's expected time, longest first, the
    tests of a module together and in their order. A module whose time the markers
    misjudge (an image built with packages from the index) says its own measured seconds
    in ``EXPECTED_SECONDS``."""
    expected: dict[str, float] = {}
    started: set[tuple[str, str]] = set()
    for test in tests:
        module = test.nodeid.split("::")[0]
        measured = getattr(getattr(test, "module", None), "EXPECTED_SECONDS", None)
        if measured is not None:
            expected[module] = float(measured)
            continue
        marks = [name for name in TEST_COST if test.get_closest_marker(name)]
        cost = max((TEST_COST[name] for name in marks), default=0.05)
        for name in marks:
            if name in MODULE_START and (module, name) not in started:
                started.add((module, name))
                cost += MODULE_START[name]
        expected[module] = expected.get(module, 0.0) + cost
    tests.sort(key=lambda test: -expected[test.nodeid.split("::")[0]])
