"""``pytest --shard=K/N``: the parts of the suite that the other Pythons run."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from .sharding import in_shard, parse_shard

ROOT = Path(__file__).parent.parent
FILES = ["tests/test_expressions.py", "tests/test_package.py"]


# One Python process collects the files once per set of options (pytest.main again and
# again, as pytester does): starting pytest with this suite's plugins and conftest is the
# cost, not the collection.
COLLECT = """
import sys

import pytest

for options in sys.argv[2:]:
    print("== options:", options, flush=True)
    code = pytest.main(
        ["--collect-only", "-q", "-p", "no:cacheprovider", *options.split(), *sys.argv[1].split()]
    )
    print("== exit status:", int(code), flush=True)
"""


@dataclass(frozen=True)
class Collection:
    tests: set[str]
    status: int
    output: str


@pytest.fixture(scope="module")
def collections() -> dict[str, Collection]:
    """What ``pytest --collect-only`` gives for FILES with each set of options."""
    options = ["", "--shard=1/2", "--shard=2/2", "--shard=3/2"]
    listing = subprocess.run(
        [sys.executable, "-u", "-c", COLLECT, " ".join(FILES), *options],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=True,
    ).stdout
    found: dict[str, Collection] = {}
    for chunk in listing.split("== options:")[1:]:
        header, _, rest = chunk.partition("\n")
        output, _, status = rest.rpartition("== exit status:")
        tests = {line for line in output.splitlines() if "::" in line}
        found[header.strip()] = Collection(tests, int(status), output)
    assert set(found) == {option.strip() for option in options}, listing
    return found


def test_the_parts_cover_the_suite_and_share_only_the_tests_for_every_python(
    collections: dict[str, Collection],
) -> None:
    everything = collections[""].tests
    first, second = collections["--shard=1/2"].tests, collections["--shard=2/2"].tests

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


def test_a_bad_shard_on_the_command_line_stops_pytest_with_the_message(
    collections: dict[str, Collection],
) -> None:
    refused = collections["--shard=3/2"]
    assert refused.status != 0
    assert "is not K/N" in refused.output
