"""``jupyter mlops ...`` through click's runner and, once, through the installed script."""

from __future__ import annotations

import csv
import gc
import io
import json
import os
import random
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import click
import pandas as pd
import pytest

import jupyter_mlops as mlops
from jupyter_mlops.cli import main
from jupyter_mlops.registry.connection import Registry

from .conftest import cli_runner


@pytest.fixture
def runs(registry: Registry) -> Registry:
    for name, lr, acc in (("slow", 0.01, 0.8), ("fast", 0.1, 0.9)):
        with mlops.start_run(name, experiment="cli") as run:
            run.log_params(lr=lr)
            for step in range(3):
                run.log(acc=acc - (2 - step) * 0.1, step=step)
    return registry


def invoke(*args: str) -> tuple[int, str, str]:
    result = cli_runner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_init_creates_a_registry(tmp_path: Path) -> None:
    code, out, _ = invoke("init", str(tmp_path / "project"))
    assert code == 0 and "Registry ready" in out
    assert (tmp_path / "project" / ".mlops" / "registry.db").is_file()


def test_init_and_status_count_what_the_registry_holds(runs: Registry) -> None:
    mlops.snapshot(pd.DataFrame({"x": [1, 2]}), name="train")

    code, out, _ = invoke("status")

    assert code == 0
    assert out.splitlines() == [f"Registry {runs.path}", "1 experiments, 2 runs, 1 snapshots"]
    code, out, _ = invoke("init", str(runs.directory.parent))
    assert code == 0 and out == f"Registry ready at {runs.path} (2 run(s) recorded).\n"


def test_runs_table_sorted_and_filtered(runs: Registry) -> None:
    code, out, _ = invoke("runs", "--sort", "-acc")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["id", "name", "status", "started"]  # one experiment
    assert [line.split()[1] for line in lines[2:]] == ["fast", "slow"]
    code, out, _ = invoke("runs", "--where", "lr < 0.05")
    assert [line.split()[1] for line in out.splitlines()[2:]] == ["slow"]


def test_runs_table_shows_the_params_that_differ_and_no_constant_one(registry: Registry) -> None:
    constant = {f"a{i}": "default" for i in range(8)}  # sorted before "lr", never varying
    for lr in (0.01, 0.1):
        with mlops.start_run("sweep", experiment="cli") as run:
            run.log_params(lr=lr, **constant)
    with mlops.start_run("other", experiment="elsewhere") as run:
        run.log_params(lr=0.5, **constant)

    code, out, _ = invoke("runs", "--experiment", "cli")

    header = out.splitlines()[0].split()
    assert code == 0 and header == ["id", "name", "status", "started", "duration", "lr"]
    assert [line.split()[7] for line in out.splitlines()[2:]] == [
        "0.1",
        "0.01",
    ]  # after the date, the time and the duration ("0.01 s")
    code, out, _ = invoke("runs")  # two experiments: the column says which
    assert out.splitlines()[0].split()[:3] == ["id", "name", "experiment"]


def test_runs_table_folds_an_estimators_params_and_stays_narrow(registry: Registry) -> None:
    """The issue's sweep: 21 gbm.* parameters of which two vary, in 12 child runs."""
    rng = random.Random(12)
    defaults = {f"gbm.{name}": "friedman_mse" for name in GBM_CONSTANT}
    with mlops.start_run("search", experiment="churn"):
        for index in range(12):
            with mlops.start_run(f"candidate-{index}", experiment="churn") as child:
                child.log_params(
                    **defaults,
                    **{
                        "gbm.max_depth": rng.choice([2, 3, 5]),
                        "gbm.learning_rate": rng.choice([0.05, 0.1, 0.3]),
                        "gbm.n_estimators": 100,
                    },
                )
                child.log(auc=rng.uniform(0.6, 0.9), accuracy=rng.uniform(0.6, 0.9))

    code, out, err = invoke("runs", "--parent", "search", "--sort", "-metrics.auc")

    assert code == 0, err
    lines = out.splitlines()
    header = lines[0].split()
    assert header[5:] == ["gbm", "(21)", "accuracy", "auc"]
    assert max(len(line) for line in lines) <= 120
    aucs = [float(line.split()[-1]) for line in lines[2:]]
    assert aucs == sorted(aucs, reverse=True) and len(aucs) == 12
    assert all(re.search(r"learning_rate=[\d.]+ max_depth=\d ", line) for line in lines[2:])
    assert "n_estimators" not in out  # the same in every run


GBM_CONSTANT = [
    "ccp_alpha", "criterion", "init", "loss", "max_features", "max_leaf_nodes",
    "min_impurity_decrease", "min_samples_leaf", "min_samples_split",
    "min_weight_fraction_leaf", "n_iter_no_change", "random_state", "subsample", "tol",
    "validation_fraction", "verbose", "warm_start", "alpha",
]  # fmt: skip


def test_runs_columns_chosen_for_the_experiment_are_shown(registry: Registry) -> None:
    for lr, depth in ((0.01, 2), (0.1, 3)):
        with mlops.start_run("run", experiment="cli") as run:
            run.log_params(lr=lr, depth=depth)
            run.log(acc=lr, loss=1 - lr)

    code, out, err = invoke("columns", "cli", "metrics.loss", "params.depth")
    assert code == 0, err
    assert "2 chosen column(s)" in out
    code, out, _ = invoke("runs")
    assert out.splitlines()[0].split()[5:] == ["depth", "loss"]
    code, out, _ = invoke("columns", "cli")
    assert out.splitlines() == [
        "Chosen columns: params.depth metrics.loss",
        "Also available: params.lr metrics.acc",
    ]
    code, out, _ = invoke("columns", "cli", "--default")
    assert code == 0 and "default columns again" in out
    code, out, _ = invoke("runs")
    assert out.splitlines()[0].split()[5:] == ["depth", "lr", "acc", "loss"]
    code, _, err = invoke("columns", "cli", "depth")
    assert code != 0 and "params.lr" in err
    code, _, err = invoke("columns", "nowhere", "params.lr")
    assert code != 0 and 'No experiment named "nowhere"' in err


def test_runs_as_json_and_csv(runs: Registry) -> None:
    code, out, _ = invoke("runs", "--format", "json")
    data = json.loads(out)
    assert data["total"] == 2 and {r["name"] for r in data["runs"]} == {"fast", "slow"}
    code, out, _ = invoke("runs", "--format", "csv", "--sort", "name")
    header, first, second = out.strip().splitlines()
    assert "params.lr" in header and first.split(",")[1] == "fast"


def test_runs_csv_and_json_keep_ints_as_ints(registry: Registry) -> None:
    with mlops.start_run("deep", experiment="cli") as run:
        run.log_params(max_depth=3, lr=0.5, whole=2.0)
    with mlops.start_run("without", experiment="cli") as run:
        run.log_params(lr=0.1)  # no max_depth: the column has a gap

    code, out, _ = invoke("runs", "--format", "csv", "--sort", "name")

    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and [row["name"] for row in rows] == ["deep", "without"]
    assert rows[0]["params.max_depth"] == "3" and rows[1]["params.max_depth"] == ""
    assert rows[0]["params.whole"] == "2.0"  # a float stays a float
    code, out, _ = invoke("runs", "--format", "json", "--sort", "name")
    assert json.loads(out)["runs"][0]["params"]["max_depth"] == 3


def test_runs_after_a_cursor_lists_the_next_page(runs: Registry) -> None:
    code, out, _ = invoke("runs", "--sort", "-acc", "--limit", "1", "--format", "json")
    first = json.loads(out)
    assert code == 0 and [r["name"] for r in first["runs"]] == ["fast"]
    cursor = first["next_cursor"]
    code, out, _ = invoke("runs", "--sort", "-acc", "--limit", "1")
    assert out.splitlines()[-1].endswith(f"or --after {cursor} for the next page)")
    code, out, _ = invoke("runs", "--sort", "-acc", "--limit", "1", "--after", cursor)
    assert code == 0 and [line.split()[1] for line in out.splitlines()[2:]] == ["slow"]
    code, out, _ = invoke("runs", "-s", "-acc", "-n", "1", "--after", cursor, "--format", "csv")
    assert out.strip().splitlines()[1].split(",")[1] == "slow"
    code, _, err = invoke("runs", "--sort", "name", "--after", cursor)
    assert code != 0 and "sorted by" in err


def test_runs_csv_has_the_columns_and_values_of_the_runs_frame(registry: Registry) -> None:
    with mlops.start_run("first", experiment="cli") as run:
        run.log_params(lr=0.5, optimizer="adam", layers=[64, 32])
        run.log(acc=0.75, loss=float("nan"))
    with mlops.start_run("second", experiment="cli") as run:
        run.log_params(lr=0.1, note='a, quoted "value"')
        run.log(acc=0.5)
    running = mlops.start_run("open", experiment="other")  # no end time yet

    code, out, err = invoke("runs", "--format", "csv")
    running.end()

    assert code == 0, err
    frame = mlops.runs()
    read = pd.read_csv(io.StringIO(out), keep_default_na=False, na_values=[""])
    assert list(read.columns) == list(frame.columns)
    assert read["name"].tolist() == frame["name"].tolist() == ["open", "second", "first"]
    for column in ("started_at", "ended_at"):
        written = pd.to_datetime(read[column], utc=True)
        assert ((written - frame[column]).abs().fillna(pd.Timedelta(0)) < pd.Timedelta("1ms")).all()
    assert read["duration"].tolist()[1:] == pytest.approx(frame["duration"].tolist()[1:])
    assert read["duration"].isna().tolist() == [True, False, False]
    assert read["params.note"].tolist()[1] == 'a, quoted "value"'
    assert read["params.layers"].tolist()[2] == "[64, 32]"
    assert read["metrics.acc"].tolist()[1:] == [0.5, 0.75]
    assert read["metrics.loss"].isna().all() and frame["metrics.loss"].isna().all()


def test_show_and_compare(runs: Registry) -> None:
    code, out, _ = invoke("show", "fast")
    assert code == 0 and "Run fast" in out and "Parameters" in out and "0.9" in out
    code, out, _ = invoke("show", "fast", "--format", "json")
    assert json.loads(out)["series"]["acc"][2][1] == pytest.approx(0.9)
    code, out, _ = invoke("compare", "slow", "fast")
    assert code == 0 and "*  lr" in out


def _open_connections() -> int:
    """How many SQLite connections of this process are open (garbage collected first,
    so that one an earlier test dropped is not counted now and closed later)."""
    gc.collect()
    count = 0
    for thing in gc.get_objects():
        # type(), not isinstance(): isinstance reads __class__, which some modules'
        # deprecated objects (torch.distributed.reduce_op) answer with a warning
        if issubclass(type(thing), sqlite3.Connection):
            try:
                thing.total_changes  # noqa: B018 (raises on a closed connection)
            except sqlite3.ProgrammingError:
                continue
            count += 1
    return count


@pytest.mark.parametrize(
    "args",
    [
        ("status",),
        ("runs",),
        ("runs", "--where", "acc >"),  # an error: the registry is closed on that way out too
        ("show", "fast"),
        ("compare", "slow", "fast"),
        ("models",),
        ("gate", "acc > 0.5", "--run", "fast"),
        ("pipeline", "runs"),
    ],
    ids=" ".join,
)
def test_each_command_closes_the_registry_it_opens(runs: Registry, args: tuple[str, ...]) -> None:
    # A connection still referenced stays open and is counted; one dropped unclosed is
    # reported by Python 3.13 as a ResourceWarning, which this suite turns into an error.
    before = _open_connections()

    code, _, err = invoke(*args)

    assert code in (0, 1) and "Traceback" not in err
    # fewer is fine: a thread of an earlier test may close its own meanwhile
    assert _open_connections() <= before, f"jupyter mlops {' '.join(args)} left a registry open"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("show", "nobody"), 'No run with id or name "nobody"'),
        (("runs", "--where", "acc >"), "Cannot parse"),
        (("runs", "--where", "ghost > 1"), 'Unknown column "ghost"'),
        (("compare", "fast"), "at least two"),
    ],
)
def test_errors_exit_non_zero_with_message_and_hint(
    runs: Registry, args: tuple[str, ...], message: str
) -> None:
    code, out, err = invoke(*args)
    assert code == 1 and message in err and "Hint:" in err and "Traceback" not in out + err


def test_no_registry_is_explained(tmp_path: Path) -> None:
    code, _, err = invoke("runs")
    assert code == 1 and "No registry found" in err and "jupyter mlops init" in err


def test_every_command_has_help() -> None:
    context = click.Context(main)
    names = main.list_commands(context)
    assert {"init", "runs", "drift", "gate", "export", "pipeline"} <= set(names)
    for name in names:
        command = main.get_command(context, name)
        assert command is not None and command.help, f"jupyter mlops {name} has no help text"
        code, out, _ = invoke(name, "--help")
        assert code == 0 and command.help.split("\n")[0][:30] in out.replace("\n", " ")


def test_jupyter_subcommand_is_installed(runs: Registry) -> None:
    scripts = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{scripts}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(
        [str(scripts / "jupyter"), "mlops", "--help"], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0 and "runs" in done.stdout
