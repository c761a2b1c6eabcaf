"""The sweep of a parent run: the core's data (axes, values, best child), the notebook
view with its static SVG, the server route."""

from __future__ import annotations

import json
import math
import random
import re
from pathlib import Path
from typing import Any

import pytest
from IPython.utils.capture import capture_output

import jupyter_mlops as mlops
from jupyter_mlops.errors import NotFoundError
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.tracking.queries.sweep import SweepAxis, lower_is_better, sweep_data
from jupyter_mlops.widgets import SweepView

from .conftest import run_cell

pytest_plugins = ("pytest_jupyter.jupyter_server",)

SEED = 20261203


@pytest.fixture
def study(registry: Registry) -> dict[str, Any]:
    """A run "study" with 20 children: lr (log-spread numbers), optimizer (text), a
    constant seed, accuracy and loss; one child without accuracy."""
    rng = random.Random(SEED)
    expected: dict[str, Any] = {}
    with mlops.start_run("study"):
        for index in range(20):
            lr = 10 ** rng.uniform(-4, -1)
            optimizer = rng.choice(["adam", "sgd", "rmsprop"])
            with mlops.start_run(f"trial-{index}") as trial:
                mlops.log_params(lr=lr, optimizer=optimizer, seed=7)
                if index != 13:
                    accuracy = round(rng.uniform(0.5, 0.95), 6)
                    mlops.log(accuracy=accuracy)
                    expected[trial.id] = accuracy
                mlops.log(loss=rng.uniform(0.1, 2.0))
    return expected


def test_the_sweep_has_an_axis_per_telling_param_and_the_best_child(
    registry: Registry, study: dict[str, Any]
) -> None:
    sweep = sweep_data(registry, "study", metric="accuracy")
    assert sweep.parent.name == "study"
    assert len(sweep.children) == 20
    assert [child.name for child in sweep.children] == [f"trial-{i}" for i in range(20)]
    assert {axis.key for axis in sweep.axes} == {"lr", "optimizer"}  # seed never varies
    lr_axis = next(axis for axis in sweep.axes if axis.key == "lr")
    assert lr_axis.numeric and lr_axis.log_scale
    optimizer_axis = next(axis for axis in sweep.axes if axis.key == "optimizer")
    assert not optimizer_axis.numeric
    assert set(optimizer_axis.categories) == {"adam", "sgd", "rmsprop"}
    values = {child.id: child.value for child in sweep.children}
    assert {k: v for k, v in values.items() if v is not None} == study
    assert sweep.best_id == max(study, key=study.get)
    assert sweep.maximize
    lowest = sweep_data(registry, "study", metric="loss")
    assert not lowest.maximize  # a loss: the lowest is best
    assert lowest.best is not None and lowest.best.value == min(
        child.value for child in lowest.children if child.value is not None
    )
    assert sweep_data(registry, "study", metric="loss", maximize=True).best_id != lowest.best_id


@pytest.mark.parametrize(
    ("metric", "lower"),
    [("val_loss", True), ("rank_test_score", True), ("mean_fit_time", True),
     ("accuracy", False), ("mean_test_score", False)],
)  # fmt: skip
def test_the_direction_of_a_metric_follows_its_name(metric: str, lower: bool) -> None:
    assert lower_is_better(metric) is lower


def test_a_run_without_children_or_metric_is_refused_with_a_hint(
    registry: Registry, study: dict[str, Any]
) -> None:
    with pytest.raises(NotFoundError, match="has no child runs") as caught:
        sweep_data(registry, "trial-3")
    assert caught.value.hint and "%mlops runs" in caught.value.hint
    with pytest.raises(NotFoundError, match='"f1"') as caught:
        sweep_data(registry, "study", metric="f1")
    assert caught.value.hint and "accuracy" in caught.value.hint


def test_the_view_draws_every_child_and_the_best_in_red_as_static_svg(
    registry: Registry, study: dict[str, Any]
) -> None:
    sweep = sweep_data(registry, "study", metric="accuracy")
    view = SweepView(sweep, param="lr")
    static = view._repr_mimebundle_()["text/html"]
    # one line per child (the one without accuracy still has its parameters), one best
    assert static.count('<polyline class="mlops-sweep-run"') == 19
    assert static.count('<polyline class="mlops-sweep-best"') == 1
    best_line = re.search(r'<polyline class="mlops-sweep-best"[^>]*stroke="([^"]+)"', static)
    assert best_line and best_line.group(1) == "#d62728"
    assert sweep.best is not None and sweep.best.name in static
    # the scatter: a point per child with accuracy, the best one among them
    assert static.count('<circle class="mlops-sweep-run"') == 18
    assert static.count('<circle class="mlops-sweep-best"') == 1
    view.param.value = "optimizer"
    assert "accuracy by optimizer" in view.scatter.value


def test_the_sweep_magic_shows_a_search_and_refuses_a_bad_metric(shell: Any) -> None:
    run_cell(
        shell,
        "%%mlops run grid\n"
        "from sklearn.datasets import make_classification\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "from sklearn.model_selection import GridSearchCV\n"
        "X, y = make_classification(n_samples=200, random_state=0)\n"
        "search = GridSearchCV(LogisticRegression(solver='liblinear'),"
        " {'C': [0.01, 0.1, 1.0, 10.0], 'fit_intercept': [True, False]}, cv=3).fit(X, y)\n",
    )
    with capture_output() as captured:
        run_cell(shell, "%mlops sweep grid")
    shown = "".join(output.data.get("text/html", "") for output in captured.outputs)
    assert "grid: 8 runs by mean_test_score" in shown
    best = shell.user_ns["search"].best_index_
    assert f"search[{best}]" in shown.split("Best of 8")[1]
    with capture_output() as captured:
        run_cell(shell, "%mlops sweep grid --metric nope")
    assert 'logged the metric "nope"' in captured.stderr + captured.stdout


@pytest.fixture
def jp_server_config(jp_server_config: Any) -> Any:
    config_file = Path(__file__).parents[1] / "jupyter-config/server-config/jupyter_mlops.json"
    return {"ServerApp": json.loads(config_file.read_text())["ServerApp"]}


async def test_the_sweep_route_returns_the_data(
    jp_fetch: Any, registry: Registry, study: dict[str, Any]
) -> None:
    parent = registry.query_tuples("SELECT id FROM runs WHERE name = 'study'")[0][0]
    response = await jp_fetch(
        "jupyter-mlops", "api", "runs", parent, "sweep", params={"metric": "accuracy"}
    )
    body = json.loads(response.body)
    assert body["metric"] == "accuracy" and body["maximize"] is True
    assert body["best"] == max(study, key=study.get)
    assert {axis["key"] for axis in body["axes"]} == {"lr", "optimizer"}
    values = {child["id"]: child["value"] for child in body["children"]}
    assert {k: v for k, v in values.items() if v is not None} == study
    assert set(body["metrics"]) == {"accuracy", "loss"}
    lowest = json.loads(
        (
            await jp_fetch(
                "jupyter-mlops",
                "api",
                "runs",
                parent,
                "sweep",
                params={"metric": "accuracy", "maximize": "false"},
            )
        ).body
    )
    assert lowest["best"] == min(study, key=study.get)
    from tornado.httpclient import HTTPClientError

    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch("jupyter-mlops", "api", "runs", parent, "sweep", params={"metric": "f1"})
    assert caught.value.code == 404
    assert not math.isnan(body["children"][0]["params"]["lr"])


@pytest.mark.parametrize(
    ("axis", "value", "expected"),
    [
        (SweepAxis("depth", True, 2.0, 10.0), 6, 0.5),
        (SweepAxis("depth", True, 2.0, 10.0), 10.0, 1.0),
        (SweepAxis("depth", True, 4.0, 4.0), 4, 0.5),
        (SweepAxis("lr", True, 0.001, 0.1, log_scale=True), 0.01, 0.5),
        (SweepAxis("lr", True, 0.001, 0.1, log_scale=True), 0.0, None),
        (SweepAxis("depth", True, 2.0, 10.0), None, None),
        (SweepAxis("depth", True, 2.0, 10.0), "6", None),
        (SweepAxis("depth", True, 2.0, 10.0), True, None),
        (SweepAxis("depth", True, 2.0, 10.0), math.nan, None),
        (SweepAxis("opt", False, categories=("adam", "sgd", "rmsprop")), "sgd", 0.5),
        (SweepAxis("opt", False, categories=("adam", "sgd", "rmsprop")), "rmsprop", 1.0),
        (SweepAxis("opt", False, categories=("adam", "sgd", "rmsprop")), "lbfgs", None),
        (SweepAxis("layers", False, categories=("[1, 2]", "[3]")), [3], 1.0),
        (SweepAxis("flag", False, categories=("True",)), True, 0.5),
    ],
)
def test_an_axis_places_a_value_from_bottom_to_top(
    axis: SweepAxis, value: Any, expected: float | None
) -> None:
    assert axis.position(value) == (None if expected is None else pytest.approx(expected))


async def test_the_sweep_route_places_each_child_on_every_axis_as_the_notebook_view(
    jp_fetch: Any, registry: Registry, study: dict[str, Any]
) -> None:
    from jupyter_mlops.widgets.sweep_charts import _scale

    parent = registry.query_tuples("SELECT id FROM runs WHERE name = 'study'")[0][0]
    body = json.loads((await jp_fetch("jupyter-mlops", "api", "runs", parent, "sweep")).body)
    keys = [axis["key"] for axis in body["axes"]]
    lr = body["axes"][keys.index("lr")]
    assert lr["log_scale"]
    sweep = sweep_data(registry, "study")
    for child, core_child in zip(body["children"], sweep.children, strict=True):
        assert len(child["positions"]) == len(keys)
        at_lr = child["positions"][keys.index("lr")]
        span = math.log10(lr["high"]) - math.log10(lr["low"])
        assert at_lr == pytest.approx(
            (math.log10(child["params"]["lr"]) - math.log10(lr["low"])) / span
        )
        categories = body["axes"][keys.index("optimizer")]["categories"]
        at_optimizer = child["positions"][keys.index("optimizer")]
        assert at_optimizer == categories.index(child["params"]["optimizer"]) / (
            len(categories) - 1
        )
        # The panel draws each child where the notebook's sweep view draws it.
        assert child["positions"] == [
            _scale(axis)(core_child.params.get(axis.key)) for axis in sweep.axes
        ]
