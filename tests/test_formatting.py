"""How values read as text, once for the notebook's views and the command line."""

from __future__ import annotations

import datetime as dt
import math

import pytest

import jupyter_mlops as mlops
from jupyter_mlops.cli import main
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.tracking.formatting import duration, figure, percent, timestamp, value_text

from .conftest import cli_runner


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (0.912345678, "0.912346"),
        (1e-9, "1e-09"),
        (math.nan, "NaN"),
        (math.inf, "inf"),
        (3, "3"),
        (True, "True"),
        ("adam", "adam"),
        ([1, "a"], '[1, "a"]'),
        ({"depth": 3}, '{"depth": 3}'),
    ],
)
def test_value_text(value: object, text: str) -> None:
    assert value_text(value) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, ""), (0.0, "0.00 s"), (12.345, "12.35 s"), (95.0, "1.6 min"), (7200.0, "2.0 h")],
)
def test_duration_picks_the_unit_that_reads_best(seconds: float | None, text: str) -> None:
    assert duration(seconds) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, ""), (0.0, "0"), (0.5, "0.5"), (12.3456, "12.3"), (0.00012, "1.20e-04"),
     (-0.00012, "-1.20e-04")],
)  # fmt: skip
def test_figure_keeps_the_magnitude_of_small_values(value: float | None, text: str) -> None:
    assert figure(value) == text
    assert figure(None, missing="n/a") == "n/a"


def test_percent_and_timestamp() -> None:
    assert (percent(0.125), percent(None), percent(None, missing="n/a")) == ("12.5%", "", "n/a")
    moment = dt.datetime(2024, 3, 5, 14, 7, 9).timestamp()
    assert (timestamp(moment), timestamp(None)) == ("2024-03-05 14:07:09", "")


def test_the_command_line_and_the_notebook_show_a_run_the_same_way(registry: Registry) -> None:
    from jupyter_mlops.tracking.queries.detail import run_detail
    from jupyter_mlops.tracking.queries.listing import list_runs
    from jupyter_mlops.widgets import RunsTableView, RunView

    with mlops.start_run("long") as run:
        run.log(acc=0.9123456789)
    with registry.transaction() as conn:  # a run of a minute and a half
        conn.execute("UPDATE runs SET ended_at = started_at + 90 WHERE id = ?", (run.id,))
    started = timestamp(run_detail(registry, run.id).run.started_at)

    table = cli_runner().invoke(main, ["runs"]).stdout
    shown = cli_runner().invoke(main, ["show", "long"]).stdout
    page = RunsTableView(list_runs(registry)).static_html()
    detail = RunView(run_detail(registry, "long")).static_html()

    for text in (table, page):
        assert "1.5 min" in text and started in text and "0.912346" in text
    assert f"started {started}, took 1.5 min" in shown
    assert "1.5 min" in detail and started in detail
