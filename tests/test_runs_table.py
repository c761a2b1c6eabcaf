"""The runs table every face shows: one sort vocabulary, the columns that differ, an
estimator's parameters folded, the columns chosen per experiment, pipeline steps under
their pipeline run."""

from __future__ import annotations

import random
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

import jupyter_mlops as mlops
from jupyter_mlops.cli import main
from jupyter_mlops.errors import InvalidInputError, NotFoundError
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.registry.schema import MIGRATIONS
from jupyter_mlops.tracking.column_choices import choose_columns, chosen_columns
from jupyter_mlops.tracking.queries.columns import table_columns
from jupyter_mlops.tracking.queries.listing import list_runs
from jupyter_mlops.widgets import RunsTableView

from .conftest import cli_runner

SEED = 20261203
GBM_DEFAULTS = {
    f"gbm.{name}": value
    for name, value in (
        ("ccp_alpha", 0.0),
        ("criterion", "friedman_mse"),
        ("init", None),
        ("loss", "log_loss"),
        ("max_features", None),
        ("max_leaf_nodes", None),
        ("min_impurity_decrease", 0.0),
        ("min_samples_leaf", 1),
        ("min_samples_split", 2),
        ("min_weight_fraction_leaf", 0.0),
        ("n_iter_no_change", None),
        ("random_state", 0),
        ("subsample", 1.0),
        ("tol", 0.0001),
        ("validation_fraction", 0.1),
        ("verbose", 0),
        ("warm_start", False),
        ("n_estimators", 100),
    )
}


@pytest.fixture
def sweep(registry: Registry) -> list[dict[str, Any]]:
    """12 runs of experiment "churn": 21 gbm.* params of which 2 vary, eta0 varying,
    a constant seed, auc and accuracy."""
    rng = random.Random(SEED)
    made = []
    for index in range(12):
        values = {
            "gbm.max_depth": rng.choice([2, 3, 5]),
            "gbm.learning_rate": rng.choice([0.05, 0.1, 0.3]),
            "eta0": rng.choice([0.01, 0.1]),
            "auc": round(rng.uniform(0.6, 0.95), 6),
        }
        with mlops.start_run(f"trial-{index}", experiment="churn") as run:
            run.log_params(
                **GBM_DEFAULTS,
                **{k: values[k] for k in ("gbm.max_depth", "gbm.learning_rate", "eta0")},
                seed=7,
            )
            run.log(auc=values["auc"], accuracy=rng.uniform(0.5, 0.9))
        made.append({"name": f"trial-{index}", **values})
    return made


def test_default_columns_are_the_params_that_differ_and_every_metric(
    registry: Registry, sweep: list[dict[str, Any]]
) -> None:
    page = list_runs(registry, experiment="churn")
    columns = table_columns(registry, page, experiment="churn")

    assert len(page.param_keys) == 22  # 20 gbm.* + eta0 + seed... all recorded
    assert set(columns.params) == {"eta0", "gbm.learning_rate", "gbm.max_depth"}
    assert columns.metrics == ("accuracy", "auc")
    (group,) = columns.groups
    assert group.name == "gbm" and group.total == 20
    assert set(group.shown) == {"gbm.learning_rate", "gbm.max_depth"}
    assert not columns.chosen


def test_one_run_shows_its_own_params_and_leaves_an_estimators_folded_away(
    registry: Registry,
) -> None:
    with mlops.start_run("alone", experiment="solo") as run:
        run.log_params(**GBM_DEFAULTS, lr=0.1)
        run.log(auc=0.8)
    page = list_runs(registry)
    columns = table_columns(registry, page)
    assert columns.names == ("params.lr", "metrics.auc")
    assert "params.gbm.tol" in columns.all_names


@pytest.mark.parametrize(
    ("sort", "shown"),
    [
        ("-auc", "-metrics.auc"),
        ("-metrics.auc", "-metrics.auc"),
        ("-metric auc", "-metrics.auc"),  # the panel's former label
        ("params.eta0", "params.eta0"),
        ("param eta0", "params.eta0"),
        ("started", "started_at"),
        ("-started_at", "-started_at"),
        ("name", "name"),
    ],
)
def test_every_spelling_of_a_sort_lists_in_that_order_and_names_it_one_way(
    registry: Registry, sweep: list[dict[str, Any]], sort: str, shown: str
) -> None:
    page = list_runs(registry, sort=sort)
    assert page.sort == shown
    if shown == "-metrics.auc":
        expected = [run["name"] for run in sorted(sweep, key=lambda r: -r["auc"])]
        assert [run.name for run in page.runs] == expected
    frame = mlops.runs(sort=sort)
    assert frame["name"].tolist() == [run.name for run in page.runs]


def test_the_widget_opens_on_the_lists_sort_in_its_order(
    registry: Registry, sweep: list[dict[str, Any]]
) -> None:
    view = RunsTableView(list_runs(registry, sort="-auc"))

    assert view.sort_by.value == "metrics.auc" and view.descending.value is True
    names = re.findall(r"<td>(trial-\d+)</td>", view.static_html())
    assert names == [run["name"] for run in sorted(sweep, key=lambda r: -r["auc"])]
    view.descending.value = False
    names = re.findall(r"<td>(trial-\d+)</td>", view.static_html())
    assert names == [run["name"] for run in sorted(sweep, key=lambda r: r["auc"])]
    assert "metrics.auc" in view.sort_by.options and "started_at" in view.sort_by.options


def test_the_widget_folds_an_estimator_and_unfolds_it_on_request(
    registry: Registry, sweep: list[dict[str, Any]]
) -> None:
    page = list_runs(registry, experiment="churn")
    view = RunsTableView(page, columns=table_columns(registry, page, experiment="churn"))

    headers = re.findall(r"<th>([^<]*)</th>", view.static_html())
    assert headers[6:] == ["eta0", "gbm (20)", "accuracy", "auc"]
    first = sweep[-1]  # newest first
    cell = f"learning_rate={first['gbm.learning_rate']}, max_depth={first['gbm.max_depth']}"
    assert cell in view.static_html()
    (button,) = view.groups.children
    assert button.description == "▸ gbm (20)"
    button.click()
    headers = re.findall(r"<th>([^<]*)</th>", view.table.value)
    assert headers[6] == "eta0" and len(headers) == 6 + 1 + 20 + 2
    assert "gbm.ccp_alpha" in headers and "gbm (20)" not in headers
    view.groups.children[0].click()
    assert "gbm (20)" in view.table.value


def test_the_widget_chooser_remembers_the_columns_for_the_experiment(
    registry: Registry, sweep: list[dict[str, Any]]
) -> None:
    page = list_runs(registry, experiment="churn")
    saved: list[Any] = []

    def remember(names: list[str] | None) -> None:
        saved.append(names)
        choose_columns(registry, "churn", names)

    view = RunsTableView(page, columns=table_columns(registry, page), on_choose=remember)
    assert "params.seed" in view.chooser.options
    view.chooser.value = ["metrics.auc", "params.seed"]

    assert saved == [["metrics.auc", "params.seed"]]
    assert chosen_columns(registry, "churn") == ("metrics.auc", "params.seed")
    headers = re.findall(r"<th>([^<]*)</th>", view.static_html())
    assert headers[6:] == ["seed", "auc"]
    again = table_columns(registry, list_runs(registry), experiment=None)  # one experiment
    assert again.chosen and again.names == ("params.seed", "metrics.auc")
    view.reset.click()
    assert saved[-1] is None and chosen_columns(registry, "churn") is None
    assert "eta0" in re.findall(r"<th>([^<]*)</th>", view.static_html())


def test_a_choice_is_checked_and_names_what_is_wrong(
    registry: Registry, sweep: list[dict[str, Any]]
) -> None:
    with pytest.raises(InvalidInputError, match='"auc" is not a column'):
        choose_columns(registry, "churn", ["auc"])
    with pytest.raises(NotFoundError, match='No experiment named "churm"') as caught:
        choose_columns(registry, "churm", ["metrics.auc"])
    assert "churn" in (caught.value.hint or "")
    choose_columns(registry, "churn", ["metrics.gone"])  # nothing chosen is there
    assert not table_columns(registry, list_runs(registry), experiment="churn").chosen


def test_pipeline_step_runs_recorded_before_get_their_pipeline_run_as_parent(
    tmp_path: Path,
) -> None:
    """A registry from before migration 0011: its step runs carry only the tag."""
    before = [m for m in MIGRATIONS if m.name < "0011"]
    path = tmp_path / ".mlops" / "registry.db"
    path.parent.mkdir()
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at REAL)")
    for migration in before:
        conn.executescript(migration.sql)
        conn.execute("INSERT INTO schema_migrations VALUES (?, 0)", (migration.name,))
    conn.execute("INSERT INTO experiments (id, name, created_at) VALUES (1, 'e', 0)")
    for run_id, kind, started in (
        ("pipe", "pipeline", 1),
        ("step1", "pipeline-step", 2),
        ("step2", "pipeline-step", 3),
        ("lost", "pipeline-step", 4),
        ("nb", "notebook", 5),
    ):
        conn.execute(
            "INSERT INTO runs (id, experiment_id, name, status, kind, started_at)"
            " VALUES (?, 1, ?, 'finished', ?, ?)",
            (run_id, run_id, kind, started),
        )
    conn.executemany(
        "INSERT INTO tags (run_id, key, value) VALUES (?, 'pipeline.run_id', ?)",
        [("step1", "pipe"), ("step2", "pipe"), ("lost", "elsewhere")],
    )
    conn.commit()
    conn.close()

    with Registry.open(path) as registry:
        page = list_runs(registry, top_level=True)
        table = RunsTableView(page).static_html()
        assert re.findall(r"<td>(nb|lost|pipe|step\d)</td>", table) == ["nb", "lost", "pipe"]
        assert table.count("<td>2 children</td>") == 1
        listed = cli_runner().invoke(main, ["runs", "--registry", str(path)])
        assert listed.exit_code == 0, listed.output
        rows = [line.split() for line in listed.output.splitlines()[2:]]
        assert [row[1] for row in rows] == ["nb", "lost", "pipe"]
        assert rows[2][2:4] == ["2", "children"]
        listed = cli_runner().invoke(main, ["runs", "--registry", str(path), "--parent", "pipe"])
        assert [line.split()[1] for line in listed.output.splitlines()[2:]] == ["step2", "step1"]
        assert [(run.name, run.children) for run in page.runs] == [
            ("nb", 0),
            ("lost", 0),  # its pipeline run is in another registry
            ("pipe", 2),
        ]
        steps = list_runs(registry, parent="pipe", sort="started_at")
        assert [run.name for run in steps.runs] == ["step1", "step2"]
