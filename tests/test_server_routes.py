"""The panel's data routes on a real Jupyter server (pytest-jupyter), over a real registry
filled through the Python API: what each route answers, paging, sorting, filtering, the
400/404 answers, and that hostile input changes nothing in the registry."""

from __future__ import annotations

import json
import math
import random
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

import jupyter_mlops as mlops
from jupyter_mlops.errors import GateFailedError
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.tracking.previews import PREVIEW_BUCKETS

from .stored_snapshots import store_snapshot

pytest_plugins = ("pytest_jupyter.jupyter_server",)

XSS_NAME = "<img src=x onerror=alert(1)>"
SEED = 20241121


@pytest.fixture
def jp_server_config(jp_server_config):
    config_file = Path(__file__).parents[1] / "jupyter-config/server-config/jupyter_mlops.json"
    return {"ServerApp": json.loads(config_file.read_text())["ServerApp"]}


async def get_json(jp_fetch, *route: str, **params: Any) -> Any:
    response = await jp_fetch(
        "jupyter-mlops", "api", *route, params={k: str(v) for k, v in params.items()}
    )
    assert response.code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    return json.loads(response.body)


async def get_error(jp_fetch, *route: str, method: str = "GET", **kwargs: Any) -> tuple[int, dict]:
    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch("jupyter-mlops", "api", *route, method=method, **kwargs)
    response = caught.value.response
    assert response is not None
    assert response.headers["Content-Type"].startswith("application/json")
    return caught.value.code, json.loads(response.body)


# -- the data ------------------------------------------------------------------------------------


class Table:
    """The runs the tests record, as plain rows to compute expectations from."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def of(self, experiment: str) -> list[dict[str, Any]]:
        return [row for row in self.rows if row["experiment"] == experiment]


@pytest.fixture
def populated(registry: Registry, jp_root_dir: Path) -> Table:
    """37 runs of "churn" (one named like markup, one with NaN and inf metrics, one
    with a 5,000-point curve), 3 of "fraud", two model versions with aliases and gates."""
    rng = random.Random(SEED)
    table = Table()
    notebook = jp_root_dir / "analysis" / "train.ipynb"
    for index in range(40):
        experiment = "churn" if index < 37 else "fraud"
        name = XSS_NAME if index == 20 else f"run-{index:02d}"
        lr = rng.choice([0.01, 0.03, 0.1, 0.3])
        depth = rng.randint(2, 12)
        accuracy = round(rng.uniform(0.6, 0.99), 4)
        with mlops.start_run(
            name, experiment=experiment, notebook_path=str(notebook) if index % 2 else None
        ) as run:
            run.log_params(lr=lr, depth=depth, optimizer=rng.choice(["adam", "sgd"]))
            if index == 5:
                run.log(accuracy=math.nan, f1=math.inf)
                accuracy = None
            else:
                run.log(accuracy=accuracy, f1=round(rng.uniform(0.5, 0.95), 4))
            for step in range(5000 if index == 7 else 4):
                run.log(loss=1.0 / (step + 1), step=step)
            run.set_tags(owner="growth")
        table.rows.append(
            {
                "id": run.id,
                "name": name,
                "experiment": experiment,
                "lr": lr,
                "depth": depth,
                "accuracy": accuracy,
            }
        )
    return table


@pytest.fixture
def with_models(populated: Table, registry: Registry) -> dict[str, Any]:
    """churn v1 (champion, gates passed) and v2 (challenger, a failed promotion to champion)."""
    churn = populated.of("churn")
    first, second = churn[1]["id"], churn[2]["id"]
    mlops.register_model({"weights": 1}, "churn", run=first, alias="champion")
    mlops.register_model({"weights": 2}, "churn", run=second, alias="challenger")
    mlops.check(["accuracy >= 0.1"], run=first, model="churn")
    with pytest.raises(GateFailedError):
        mlops.promote("churn@2", alias="champion", gates=["accuracy >= 2"])
    return {"first": first, "second": second}


def registry_rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, read with a separate connection: the registry's content."""
    connection = sqlite3.connect(path)
    try:
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        return {t: sorted(connection.execute(f'SELECT * FROM "{t}"'), key=repr) for t in tables}
    finally:
        connection.close()


# -- experiments and runs -------------------------------------------------------------------------


async def test_experiments_count_their_runs_newest_first(jp_fetch, populated: Table):
    body = await get_json(jp_fetch, "experiments")

    assert [(e["name"], e["runs"]) for e in body["experiments"]] == [("fraud", 3), ("churn", 37)]
    assert all(isinstance(e["last_started_at"], float) for e in body["experiments"])


async def test_runs_first_page_is_newest_first_with_key_columns(jp_fetch, populated: Table):
    body = await get_json(jp_fetch, "runs", experiment="churn", page_size=10)

    newest = [row["id"] for row in reversed(populated.of("churn"))]
    assert [run["id"] for run in body["runs"]] == newest[:10]
    assert (body["total"], body["page"], body["page_size"], body["pages"]) == (37, 1, 10, 4)
    assert body["sort"] == "-started_at"
    columns = body["columns"]
    assert (columns["params"], columns["metrics"]) == (
        ["depth", "lr", "optimizer"],
        ["accuracy", "f1", "loss"],
    )
    assert columns["shown"] == [
        *(f"params.{k}" for k in ("depth", "lr", "optimizer")),
        *(f"metrics.{k}" for k in ("accuracy", "f1", "loss")),
    ]
    assert (columns["chosen"], columns["groups"]) == (False, [])
    run = body["runs"][0]
    assert set(run) >= {
        "id", "name", "experiment", "status", "started_at", "ended_at", "duration",
        "notebook_path", "notebook_lab_path", "params", "metrics",
    }  # fmt: skip
    assert run["status"] == "finished" and run["duration"] >= 0
    assert run["metrics"]["loss"] == 0.25  # the last of 1/1, 1/2, 1/3, 1/4


async def test_runs_pages_cover_every_run_once(jp_fetch, populated: Table):
    seen: list[str] = []
    for page in (1, 2, 3, 4):
        body = await get_json(jp_fetch, "runs", experiment="churn", page=page, page_size=10)
        seen += [run["id"] for run in body["runs"]]

    assert len(seen) == 37 and set(seen) == {row["id"] for row in populated.of("churn")}
    beyond = await get_json(jp_fetch, "runs", experiment="churn", page=5, page_size=10)
    assert beyond["runs"] == [] and beyond["total"] == 37


async def test_runs_cursors_page_through_the_same_runs_as_page_numbers(jp_fetch, populated: Table):
    arguments = {"experiment": "churn", "sort": "-metrics.accuracy", "page_size": 10}
    by_number = [
        [run["id"] for run in (await get_json(jp_fetch, "runs", page=n, **arguments))["runs"]]
        for n in (1, 2, 3, 4)
    ]
    body = await get_json(jp_fetch, "runs", **arguments)
    by_cursor = [[run["id"] for run in body["runs"]]]
    assert body["previous_cursor"] is None
    while body["next_cursor"] is not None:
        previous = body
        body = await get_json(jp_fetch, "runs", after=body["next_cursor"], **arguments)
        by_cursor.append([run["id"] for run in body["runs"]])
        assert body["total"] == 37
        back = await get_json(jp_fetch, "runs", before=body["previous_cursor"], **arguments)
        assert back["runs"] == previous["runs"]

    assert by_cursor == by_number
    code, error = await get_error(
        jp_fetch, "runs", params={"sort": "name", "after": previous["next_cursor"]}
    )
    assert code == 400 and "sorted by" in error["message"] and error["hint"]


@pytest.mark.parametrize(
    ("sort", "key", "reverse"),
    [
        ("metrics.accuracy", "accuracy", False),
        ("-metrics.accuracy", "accuracy", True),
        ("params.depth", "depth", False),
        ("-lr", "lr", True),
        ("name", "name", False),
    ],
)
async def test_runs_sort_by_any_param_metric_or_field(
    jp_fetch, populated: Table, sort: str, key: str, reverse: bool
):
    body = await get_json(jp_fetch, "runs", experiment="churn", sort=sort, page_size=500)

    present = [row for row in populated.of("churn") if row[key] is not None]
    expected = sorted((row[key] for row in present), reverse=reverse)
    got = [
        run["name"] if key == "name" else (run["params"] | run["metrics"]).get(key)
        for run in body["runs"]
    ]
    assert got[: len(expected)] == expected
    assert got[len(expected) :] == [None] * (37 - len(expected))  # missing values last


async def test_runs_filter_with_the_where_language(jp_fetch, populated: Table):
    body = await get_json(
        jp_fetch, "runs", experiment="churn", where="accuracy > 0.8 and params.depth <= 6",
        page_size=500,
    )  # fmt: skip

    expected = {
        row["id"]
        for row in populated.of("churn")
        if row["accuracy"] is not None and row["accuracy"] > 0.8 and row["depth"] <= 6
    }
    assert expected and {run["id"] for run in body["runs"]} == expected
    assert (
        body["total"] == len(expected) and body["where"] == "accuracy > 0.8 and params.depth <= 6"
    )


async def test_runs_code_argument_searches_code_and_notes(jp_fetch, registry: Registry):
    ids = {}
    for name, source, note in (
        ("forest", "model = RandomForestClassifier(max_depth=6).fit(X, y)", None),
        ("boost", "model = GradientBoostingClassifier().fit(X, y)", "a deeper forest next"),
        ("plain", "x = 1", None),
    ):
        with mlops.start_run(name, experiment="churn") as run:
            run.record_cell(source)
            if note:
                run.note(note)
        ids[name] = run.id

    body = await get_json(jp_fetch, "runs", experiment="churn", code="forest", sort="name")
    assert [run["name"] for run in body["runs"]] == ["boost", "forest"]
    assert body["total"] == 2 and body["code"] == "forest"
    body = await get_json(jp_fetch, "runs", code="forest .fit(", where="name != 'boost'")
    assert [run["name"] for run in body["runs"]] == ["forest"]
    body = await get_json(jp_fetch, "runs", code='" OR NEAR(x y) *')
    assert body["runs"] == [] and body["total"] == 0
    code, error = await get_error(
        jp_fetch, "runs", params={"code": " ".join(f"w{i}" for i in range(30))}
    )
    assert code == 400 and "at most 20" in error["message"] and error["hint"]
    detail = await get_json(jp_fetch, "runs", ids["boost"])
    assert detail["run"]["note"] == "a deeper forest next"


async def test_runs_without_experiment_list_every_experiment(jp_fetch, populated: Table):
    body = await get_json(jp_fetch, "runs", page_size=500)

    assert body["total"] == 40
    assert {run["experiment"] for run in body["runs"]} == {"churn", "fraud"}


async def test_nan_and_infinite_metrics_are_sent_as_null(jp_fetch, populated: Table):
    nan_run = populated.of("churn")[5]

    response = await jp_fetch(
        "jupyter-mlops", "api", "runs", params={"where": f"id == '{nan_run['id']}'"}
    )
    text = response.body.decode()

    assert "NaN" not in text and "Infinity" not in text
    (run,) = json.loads(text)["runs"]
    assert run["metrics"]["accuracy"] is None and run["metrics"]["f1"] is None


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"where": "accuracy >"}, "accuracy >"),
        ({"where": "__import__('os').system('true')"}, ""),
        ({"where": "accurcy > 0.5"}, 'Unknown column "accurcy"'),
        ({"where": "-" * 1900 + "accuracy > 0.5"}, "nested more than 100 levels deep"),
        ({"where": "(" * 990 + "accuracy > 0.5" + ")" * 990}, "Cannot parse"),
        ({"where": "x" * 5000}, "longer than 2000 characters"),
        ({"sort": "metrics.nope"}, 'Unknown metric "metrics.nope"'),
        ({"sort": "-"}, "is not a sort key"),
        ({"sort": "name; DROP TABLE runs"}, ""),
        ({"page_size": "0"}, "page_size must be a whole number from 1 to 500"),
        ({"page_size": "501"}, "page_size must be a whole number from 1 to 500"),
        ({"page_size": "ten"}, "page_size must be a whole number"),
        ({"page": "-1"}, "page must be a whole number from 1"),
        ({"page": "1.5"}, "page must be a whole number"),
    ],
)
async def test_bad_runs_arguments_answer_400_with_a_message(
    jp_fetch, populated: Table, params: dict[str, str], message: str
):
    code, body = await get_error(jp_fetch, "runs", params=params)

    assert code == 400
    assert message in body["message"]
    assert body["message"]


async def test_unknown_sort_key_suggests_close_names(jp_fetch, populated: Table):
    code, body = await get_error(jp_fetch, "runs", params={"sort": "-accuracyy"})

    assert code == 400
    assert "accuracy" in body["hint"]


async def test_unknown_experiment_answers_404_listing_the_known_ones(jp_fetch, populated: Table):
    code, body = await get_error(jp_fetch, "runs", params={"experiment": "nope"})

    assert code == 404
    assert body == {
        "message": 'No experiment named "nope"',
        "hint": "Experiments: churn, fraud.",
    }


# -- one run ------------------------------------------------------------------------------------


async def test_run_detail_has_everything_recorded(
    jp_fetch, populated: Table, registry: Registry, jp_root_dir: Path
):
    row = populated.of("churn")[3]
    snapshot = store_snapshot(
        registry,
        __import__("pandas").DataFrame({"a": [1, 2, 3]}),
        "train",
        run_id=row["id"],
    )

    body = await get_json(jp_fetch, "runs", row["id"])

    run = body["run"]
    assert (run["id"], run["name"], run["experiment"]) == (row["id"], row["name"], "churn")
    assert run["notebook_path"] == str(jp_root_dir / "analysis" / "train.ipynb")
    assert run["notebook_lab_path"] == "analysis/train.ipynb"
    assert set(run) >= {"previous_run_id", "git_commit", "git_dirty", "error"}
    params = {p["key"]: p for p in body["params"]}
    assert params["lr"]["value"] == row["lr"] and params["lr"]["type"] == "float"
    assert params["depth"] == {"key": "depth", "value": row["depth"], "type": "int",
                               "source": "explicit"}  # fmt: skip
    metrics = {m["key"]: m for m in body["metrics"]}
    assert metrics["loss"]["count"] == 4 and metrics["loss"]["min"] == 0.25
    assert metrics["loss"]["max"] == 1.0 and metrics["loss"]["last_step"] == 3
    assert body["series"] == {"loss": [[0, 1.0], [1, 0.5], [2, 1 / 3], [3, 0.25]]}
    assert body["tags"] == {"owner": "growth"}
    assert body["environment"]["python"] and isinstance(body["environment"]["packages"], dict)
    assert [(s["id"], s["name"], s["role"], s["n_rows"]) for s in body["snapshots"]] == [
        (snapshot, "train", "train", 3)
    ]
    assert body["models"] == [] and body["gates"] == []


async def test_run_detail_downsamples_long_curves_and_keeps_the_ends(jp_fetch, populated: Table):
    row = populated.of("churn")[7]

    body = await get_json(jp_fetch, "runs", row["id"])

    loss = body["series"]["loss"]
    assert body["downsampled"] == ["loss"]
    assert len(loss) <= 2 * PREVIEW_BUCKETS + 1
    assert loss[0] == [0, 1.0] and loss[-1] == [4999, 1 / 5000]
    assert [step for step, _ in loss] == sorted(step for step, _ in loss)
    assert {m["key"]: m["count"] for m in body["metrics"]}["loss"] == 5000


async def test_a_growing_curves_page_keeps_its_spikes_while_it_is_logged(
    jp_fetch, registry: Registry
):
    """A live run's page draws its preview: each flush brings the new points' extremes."""
    rng = random.Random(SEED)
    with mlops.start_run("spiky", experiment="curves") as run:
        for step in range(60_000):
            run.log(loss=1.0 + rng.random() * 0.01 + (50.0 if step == 31_337 else 0.0), step=step)
        run.flush()

        first = await get_json(jp_fetch, "runs", run.id)

        for step in range(60_000, 90_000):
            run.log(loss=1.0 + rng.random() * 0.01 - (40.0 if step == 77_777 else 0.0), step=step)
        run.flush()

        later = await get_json(jp_fetch, "runs", run.id)

    for body, points in ((first, 60_000), (later, 90_000)):
        loss = body["series"]["loss"]
        assert body["downsampled"] == ["loss"] and body["run"]["status"] == "running"
        assert {m["key"]: m["count"] for m in body["metrics"]}["loss"] == points
        assert len(loss) <= 2 * PREVIEW_BUCKETS + 1
        assert loss[-1][0] == points - 1
        assert [31_337, pytest.approx(51.0, abs=0.01)] in loss
    assert max(value for _, value in first["series"]["loss"]) == pytest.approx(51.0, abs=0.01)
    assert min(value for _, value in first["series"]["loss"]) >= 1.0
    assert [77_777, pytest.approx(-39.0, abs=0.01)] in later["series"]["loss"]


async def test_run_detail_links_previous_run_models_and_gates(
    jp_fetch, populated: Table, with_models: dict[str, Any]
):
    with mlops.start_run("run-01", experiment="churn") as again:  # same name: linked
        again.log(accuracy=0.5)

    body = await get_json(jp_fetch, "runs", again.id)
    first = await get_json(jp_fetch, "runs", with_models["first"])

    assert body["run"]["previous_run_id"] == with_models["first"]
    assert first["models"] == [{"model": "churn", "version": 1, "aliases": ["champion"]}]
    assert [g["passed"] for g in first["gates"]] == [True]


@pytest.mark.parametrize(
    "run_id",
    ["0123456789abcdef", "..%2F..%2Fetc%2Fpasswd", "x' OR '1'='1", "%00"],
)
async def test_unknown_run_answers_404(jp_fetch, populated: Table, run_id: str):
    code, body = await get_error(jp_fetch, "runs", run_id)

    assert code == 404
    assert "No run with id or name" in body["message"]


async def test_run_named_like_markup_comes_back_as_the_same_text(jp_fetch, populated: Table):
    row = populated.of("churn")[20]

    body = await get_json(jp_fetch, "runs", row["id"])

    assert body["run"]["name"] == XSS_NAME == row["name"]


# -- snapshots, models, gates, and the sections still to come ----------------------------------------


async def test_snapshots_list_newest_first(jp_fetch, registry: Registry):
    import pandas as pd

    older = store_snapshot(registry, pd.DataFrame({"a": range(10)}), "train")
    newer = store_snapshot(registry, pd.DataFrame({"a": range(4), "b": range(4)}), "march")

    body = await get_json(jp_fetch, "snapshots")

    assert [s["id"] for s in body["snapshots"]] == [newer, older]
    assert body["total"] == 2
    assert {k: body["snapshots"][0][k] for k in ("name", "kind", "n_rows", "n_columns", "runs")} == {
        "name": "march", "kind": "dataframe", "n_rows": 4, "n_columns": 2, "runs": 0,
    }  # fmt: skip


async def test_models_show_versions_aliases_and_latest_gate_verdicts(
    jp_fetch, with_models: dict[str, Any]
):
    body = await get_json(jp_fetch, "models")

    (churn,) = body["models"]
    assert churn["name"] == "churn"
    assert churn["aliases"] == {"challenger": 2, "champion": 1}
    v2, v1 = churn["versions"]
    assert (v2["version"], v2["aliases"], v2["run_id"]) == (
        2,
        ["challenger"],
        with_models["second"],
    )
    assert v1["gate"]["passed"] is True and v1["gate"]["purpose"] == "check"
    assert v2["gate"]["passed"] is False and v2["gate"]["purpose"] == "promote"
    rule = v2["gate"]["rules"][0]
    assert {k: rule[k] for k in ("rule", "kind", "passed", "expected", "exact")} == {
        "rule": "accuracy >= 2", "kind": "rule", "passed": False, "expected": ">= 2",
        "exact": True,
    }  # fmt: skip
    assert rule["actual"] == v2["metrics"]["accuracy"] and "is false" in rule["detail"]
    assert isinstance(v2["metrics"]["accuracy"], float)


@pytest.mark.parametrize(
    ("route", "empty"),
    [
        ("experiments", {"experiments": []}),
        ("snapshots", {"snapshots": [], "total": 0, "limit": 200, "offset": 0}),
        ("models", {"models": []}),
        ("gates", {"evaluations": []}),
        ("drift", {"reports": []}),
        ("pipelines", {"runs": []}),
    ],
)
async def test_every_section_answers_an_empty_list_on_a_new_registry(
    jp_fetch, registry: Registry, route: str, empty: dict[str, Any]
):
    """What the panel shows as "No ... recorded yet": an empty list, not an error."""
    assert await get_json(jp_fetch, route) == empty


async def test_gates_list_evaluations_newest_first_and_filter(
    jp_fetch, with_models: dict[str, Any]
):
    everything = await get_json(jp_fetch, "gates")
    of_first = await get_json(jp_fetch, "gates", run=with_models["first"])

    assert [e["passed"] for e in everything["evaluations"]] == [False, True]
    assert [e["run_id"] for e in of_first["evaluations"]] == [with_models["first"]]
    code, body = await get_error(jp_fetch, "gates", params={"limit": "0"})
    assert code == 400 and "limit" in body["message"]


async def test_pipelines_list_runs_newest_first_with_their_steps(
    jp_fetch, registry: Registry, tmp_path: Path
):
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    from jupyter_mlops.export import export_notebook
    from jupyter_mlops.runner.pipeline import topological_order
    from jupyter_mlops.runner.records import PipelineRecorder

    assert await get_json(jp_fetch, "pipelines") == {"runs": []}
    cells = [
        new_code_cell("x = 1", metadata={"tags": ["step:make"]}),
        new_code_cell("y = x + 1", metadata={"tags": ["step:use"]}),
    ]
    nbformat.write(new_notebook(cells=cells), tmp_path / "chain.ipynb")
    spec = export_notebook(tmp_path / "chain.ipynb", tmp_path / "out", run_id=None).spec
    started = []
    for attempt in range(2):  # what the runner records, without running the steps
        recorder = PipelineRecorder.start(
            registry, spec, spec.to_json(), values={}, order=topological_order(spec),
            directory=tmp_path / "out", workdir=tmp_path, from_step=None,
        )  # fmt: skip
        recorder.step_finished(step="make", status="ok", duration=0.5, outputs={},
                               cached=bool(attempt))  # fmt: skip
        recorder.step_finished(step="use", status="failed", duration=0.1, outputs={},
                               message="boom")  # fmt: skip
        recorder.finish("failed", failed_step="use", message="step use: boom")
        started.append(recorder.run_id)

    body = await get_json(jp_fetch, "pipelines")

    assert [r["id"] for r in body["runs"]] == started[::-1]
    newest = body["runs"][0]
    assert (newest["pipeline"], newest["status"], newest["failed_step"]) == ("chain", "failed",
                                                                             "use")  # fmt: skip
    assert [(s["name"], s["status"], s["cached"]) for s in newest["steps"]] == [
        ("make", "ok", True), ("use", "failed", False)
    ]  # fmt: skip
    assert newest["duration"] >= 0 and newest["steps"][0]["duration"] == 0.5
    assert newest["edges"] == [["make", "use"]]  # use reads x, which make writes


async def test_drift_lists_reports_newest_first_with_columns_worst_first(
    jp_fetch, registry: Registry
):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(3)
    reference = pd.DataFrame({"<b>age</b>": rng.normal(40, 5, 5000), "plan": ["a", "b"] * 2500})
    mlops.snapshot(reference, name="train")
    same = reference.sample(frac=1.0, random_state=1)
    shifted = reference.assign(**{"<b>age</b>": reference["<b>age</b>"] + 10})
    assert (await get_json(jp_fetch, "drift")) == {"reports": []}
    mlops.check_drift("train", same, name="quiet day")
    mlops.check_drift("train", shifted, name="shifted day")

    reports = (await get_json(jp_fetch, "drift"))["reports"]

    assert [r["name"] for r in reports] == ["shifted day", "quiet day"]
    assert [r["decision"] for r in reports] == ["retrain", "monitor"]
    shifted_columns = reports[0]["columns"]
    assert [c["column"] for c in shifted_columns] == ["<b>age</b>", "plan"]
    assert shifted_columns[0]["decision"] == "retrain" and shifted_columns[0]["test"] == "ks"
    assert 0 < shifted_columns[0]["effect"] and shifted_columns[0]["p_adjusted"] < 0.01
    assert reports[0]["reference"] == "train"


@pytest.mark.parametrize(
    "route", ["experiments", "runs", "models", "snapshots", "gates", "drift", "pipelines"]
)
async def test_data_routes_answer_404_without_a_registry(jp_fetch, route: str):
    code, body = await get_error(jp_fetch, route)

    assert code == 404
    assert body["message"].startswith("No registry found in")
    assert "%mlops init" in body["hint"]


# -- the registry the server keeps open ---------------------------------------------------------


async def test_changes_marker_moves_when_a_run_is_recorded(jp_fetch, registry: Registry):
    before = (await get_json(jp_fetch, "changes"))["marker"]
    again = (await get_json(jp_fetch, "changes"))["marker"]

    with mlops.start_run("new") as run:
        run.log(accuracy=0.5)
    after = (await get_json(jp_fetch, "changes"))["marker"]

    assert before == again != after


async def test_server_follows_a_registry_that_appears_and_is_replaced(
    jp_fetch, tmp_path: Path, jp_root_dir: Path
):
    none_marker = (await get_json(jp_fetch, "changes"))["marker"]
    code, _ = await get_error(jp_fetch, "experiments")
    assert code == 404

    first = Registry.init(jp_root_dir)
    with mlops.start_run("one", experiment="first", registry=first):
        pass
    first.close()
    listed = await get_json(jp_fetch, "experiments")
    marker = (await get_json(jp_fetch, "changes"))["marker"]
    assert [e["name"] for e in listed["experiments"]] == ["first"] and marker != none_marker

    shutil.rmtree(jp_root_dir / ".mlops")  # replaced: a new file at the same path
    second = Registry.init(jp_root_dir)
    with mlops.start_run("two", experiment="second", registry=second):
        pass
    second.close()

    listed = await get_json(jp_fetch, "experiments")
    assert [e["name"] for e in listed["experiments"]] == ["second"]
    assert (await get_json(jp_fetch, "changes"))["marker"] != marker


async def test_server_keeps_one_open_registry_across_requests(
    jp_fetch, jp_serverapp, populated: Table, monkeypatch
):
    opened: list[Path] = []
    real_open = Registry.open.__func__  # type: ignore[attr-defined]

    def counting_open(cls, path=None, **kwargs):
        opened.append(Path(path))
        return real_open(cls, path, **kwargs)

    monkeypatch.setattr(Registry, "open", classmethod(counting_open))
    for _ in range(3):
        await get_json(jp_fetch, "experiments")
        await get_json(jp_fetch, "runs")
        await get_json(jp_fetch, "changes")

    assert len(opened) <= 1  # at most the first request of this test opened it


# -- hostile input changes nothing ------------------------------------------------------------------


HOSTILE_GETS = [
    ("runs", {"where": "name == 'x'; DROP TABLE runs; --"}),
    ("runs", {"where": "1 == 1) OR (1 == 1"}),
    ("runs", {"sort": "name; DELETE FROM runs"}),
    ("runs", {"sort": "(SELECT 1)"}),
    ("runs", {"experiment": "churn' OR '1'='1"}),
    ("runs", {"where": 'name == "\'; DELETE FROM params; --"'}),
    ("gates", {"run": "x' OR 1=1 --"}),
    ("gates", {"model": "churn'; DROP TABLE models; --"}),
    ("snapshots", {"limit": "1; DROP TABLE snapshots"}),
    ("runs", {"code": "x'; DROP TABLE code_cells; --"}),
    ("runs", {"code": '" OR "" NEAR(a b) * col:x ^y'}),
    ("runs", {"code": "%_\\"}),
]


@pytest.mark.parametrize(("route", "params"), HOSTILE_GETS)
async def test_injection_attempts_are_refused_or_harmless_and_change_nothing(
    jp_fetch, populated: Table, with_models: dict[str, Any], registry: Registry,
    route: str, params: dict[str, str],
):  # fmt: skip
    await get_json(jp_fetch, "status")
    before = registry_rows(registry.path)

    try:
        body = await get_json(jp_fetch, route, **params)
    except HTTPClientError as error:
        assert error.code in (400, 404)
        assert json.loads(error.response.body)["message"]
    else:  # a quoted value is just a value: nothing matches it
        assert body.get("runs", body.get("evaluations")) == []

    assert registry_rows(registry.path) == before


# -- the browser tests' stand-in answers as the server does ---------------------------------------


def _shape(value: Any) -> Any:
    """The keys of every object in ``value`` (the first item of each list), recursively."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value and isinstance(value[0], (dict, list)) else []
    return None


def _same_keys(stand_in: Any, real: Any, where: str = "") -> list[str]:
    """Where the two shapes differ: keys one has and the other lacks (free-form maps aside)."""
    if isinstance(stand_in, dict) and isinstance(real, dict):
        if where.endswith((".params", ".metrics", ".tags", ".series", ".aliases", ".packages")):
            return []  # keyed by the user's names, not by the contract
        problems = [f"{where}.{k}: only in the stand-in" for k in stand_in.keys() - real.keys()]
        problems += [
            f"{where}.{k}: missing from the stand-in" for k in real.keys() - stand_in.keys()
        ]
        for key in stand_in.keys() & real.keys():
            problems += _same_keys(stand_in[key], real[key], f"{where}.{key}")
        return problems
    if isinstance(stand_in, list) and isinstance(real, list) and stand_in and real:
        return _same_keys(stand_in[0], real[0], f"{where}[]")
    return []


async def test_browser_stand_in_answers_with_the_servers_keys(
    jp_fetch, populated: Table, with_models: dict[str, Any], registry: Registry
):
    import pandas as pd

    from .browser.contract import ContractStandIn

    with mlops.start_run("with-code", experiment="churn") as run:
        run.record_cell("lr = 0.1", execution_count=1)
        run.log(loss=1.0)
        run.log(loss=0.5)
    store_snapshot(registry, pd.DataFrame({"a": [1]}), "train", run_id=run.id)
    with mlops.start_run("with-artifacts", experiment="churn") as with_artifacts:
        with_artifacts.log_text("hello world", "notes.txt")
    stand_in = ContractStandIn()
    routes = {
        "experiments": ((), {}),
        "runs": ((), {"experiment": "churn"}),
        "snapshots": ((), {}),
        "models": ((), {}),
        "gates": ((), {}),
    }
    problems = []
    for route, (_, params) in routes.items():
        real = await get_json(jp_fetch, route, **params)
        _, answer = stand_in._respond(route, None, {"experiment": "churn"})
        problems += _same_keys(_shape(answer), _shape(real), route)
    real_detail = await get_json(jp_fetch, "runs", run.id)
    real_detail["gates"] = (await get_json(jp_fetch, "runs", with_models["first"]))["gates"]
    real_detail["artifacts"] = (await get_json(jp_fetch, "runs", with_artifacts.id))["artifacts"]
    _, answer = stand_in._respond("runs", stand_in.runs[5]["id"], {})
    problems += _same_keys(_shape(answer), _shape(real_detail), "runs/ID")

    assert problems == []
