"""``pytest --shard=K/N``: the parts of the suite that the other Pythons run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .sharding import in_shard, parse_shard

ROOT = Path(__file__).parent.parent
FILES = ["tests/test_expressions.py", "tests/test_package.py"]


def collected(*options: str) -> set[str]:
    listing = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
        + list(options)
        + FILES,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {line for line in listing.splitlines() if "::" in line}


def test_the_parts_cover_the_suite_and_share_only_the_tests_for_every_python() -> None:
    everything = collected()
    first, second = collected("--shard=1/2"), collected("--shard=2/2")

    assert first | second == everything
    every_python = {test for test in everything if test.startswith("tests/test_package.py")}
    assert first & second == every_python
    assert every_python  # the marked module is there, in both parts
    assert len(first - every_python) > 5 and len(second - every_python) > 5


@pytest.mark.parametrize("count", [2, 3, 5])
def test_each_test_belongs_to_exactly_one_part(count: int) -> None:
    ids = [f"tests/test_x.py::test_{n}[{n % 7}]" for n in range(500)]
    parts = [{i for i in ids if in_shard(i, part, count)} for part in range(1, count + 1)]
    assert sum(len(part) for part in parts) == len(ids)
    assert set().union(*parts) == set(ids)
    assert all(len(part) > len(ids) / count / 2 for part in parts)  # roughly even


@pytest.mark.parametrize("text", ["2", "0/2", "3/2", "a/b", "1/0", ""])
def test_a_shard_that_is_not_k_of_n_is_refused_with_an_example(text: str) -> None:
    with pytest.raises(pytest.UsageError, match=r"--shard=1/2"):
        parse_shard(text)


def test_a_bad_shard_on_the_command_line_stops_pytest_with_the_message() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "--shard=3/2", FILES[1]],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "is not K/N" in result.stderr + result.stdout
