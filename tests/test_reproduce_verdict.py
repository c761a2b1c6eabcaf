"""The reproduction verdict's readings of code: calls that read the network or the clock,
and calls that draw with no seed, named with their cell and line."""

from __future__ import annotations

import ast

import pytest

from jupyter_mlops.export.layout import CodeCell
from jupyter_mlops.reproduce.verdict import MetricComparison, Verdict, outside_calls


def cells(*sources: str) -> list[CodeCell]:
    return [CodeCell(i, s, (), ast.parse(s)) for i, s in enumerate(sources)]


@pytest.mark.parametrize(
    ("sources", "expected"),
    [
        (
            ["import requests", "page = requests.get(url)"],
            ["the network: cell 2, line 1: `requests.get(url)`"],
        ),
        (
            ["from urllib.request import urlopen\ndata = urlopen(u).read()"],
            ["the network: cell 1, line 2: `urlopen(u)`"],
        ),
        (
            ["import datetime\nstamp = datetime.datetime.now()"],
            ["the clock: cell 1, line 2: `datetime.datetime.now()`"],
        ),
        (
            ["from datetime import date\nday = date.today()"],
            ["the clock: cell 1, line 2: `date.today()`"],
        ),
        (["import time as t\nbegun = t.time()"], ["the clock: cell 1, line 2: `t.time()`"]),
        (
            ["import pandas as pd\nnow = pd.Timestamp.now()"],
            ["the clock: cell 1, line 2: `pd.Timestamp.now()`"],
        ),
        # what neither reads
        (["import time\ntime.sleep(1)", "import datetime\ndatetime.datetime(2020, 1, 1)"], []),
        (["frame.get('a')", "session.get(url)"], []),
    ],
)
def test_calls_that_read_the_network_or_the_clock_are_named(
    sources: list[str], expected: list[str]
) -> None:
    found = outside_calls(cells(*sources))

    assert [text.removeprefix("reads ") for text in found] == expected


def test_a_verdict_gives_the_exit_status_and_one_line_for_each_outcome() -> None:
    same = MetricComparison("accuracy", 0.9, 0.9, True)
    other = MetricComparison("f1", 0.8, 0.7, False)

    parity = Verdict("parity", "3f2a9c1b7e40aa", "9", compared=(same,))
    mismatch = Verdict("mismatch", "3f2a9c1b7e40aa", "9", compared=(same, other))
    failed = Verdict("failed", "3f2a9c1b7e40aa", reason="raw is not the data the run read")
    varied = Verdict("not_checked", "3f2a9c1b7e40aa", "9", reason="run with other parameters")

    assert [v.exit_code for v in (parity, mismatch, failed, varied)] == [0, 1, 2, 0]
    assert parity.summary().startswith("parity ok: 1 metric(s) of run 3f2a9c1b7e40")
    assert "1 of 2 metric(s) differ: f1: 0.8 then, 0.7 now" in mismatch.summary()
    assert failed.summary().endswith("FAILED: raw is not the data the run read")
    assert "parity not checked: run with other parameters" in varied.summary()
    assert mismatch.to_dict()["compared"][1] == {
        "key": "f1", "original": 0.8, "reproduced": 0.7, "equal": False
    }  # fmt: skip
