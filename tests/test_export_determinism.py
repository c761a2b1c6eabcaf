"""Randomness with no seed: named at export, seeded by ``--seed``, named again by parity."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from click.testing import CliRunner
from IPython.utils.capture import capture_output
from nbformat.v4 import new_notebook

from jupyter_mlops.cli import main
from jupyter_mlops.errors import ExportError
from jupyter_mlops.export import export_notebook
from jupyter_mlops.export.determinism import unseeded_calls
from jupyter_mlops.export.layout import lay_out
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.runner.spec import PipelineSpec

from .conftest import run_cell
from .pipelines import code, export_cells, run

SETUP = (
    "import random\nimport numpy as np\n"
    "from sklearn.datasets import make_classification\n"
    "from sklearn.ensemble import RandomForestClassifier\n"
    "from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge\n"
    "from sklearn.model_selection import KFold, train_test_split"
)


def _found(step: str, setup: str = SETUP, *, ask_sklearn: bool = True) -> list[str]:
    notebook = new_notebook(cells=[code(setup, "setup"), code(step, "step:train")])
    return [call.call for call in unseeded_calls(lay_out(notebook), ask_sklearn=ask_sklearn)]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("a, b = train_test_split(X, y)", ["train_test_split(X, y)"]),
        ("a, b = train_test_split(X, y, random_state=0)", []),
        ("a, b = train_test_split(X, y, shuffle=False)", []),
        ("a, b = train_test_split(X, y, random_state=None)",
         ["train_test_split(X, y, random_state=None)"]),
        ("m = RandomForestClassifier(n_estimators=10)", ["RandomForestClassifier(n_estimators=10)"]),
        ("m = RandomForestClassifier(random_state=seed)", []),
        ("m = LinearRegression()", []),
        ("X, y = make_classification(n_samples=50)", ["make_classification(n_samples=50)"]),
        ("X, y = make_classification(n_samples=50, random_state=0)", []),
        ("m = LogisticRegression(C=2)", []),
        ("m = Ridge(alpha=2)", []),
        ("m = Ridge(solver='saga')", ["Ridge(solver='saga')"]),
        ("m = LogisticRegression(solver='saga')", ["LogisticRegression(solver='saga')"]),
        ("k = KFold(5)", []),
        ("k = KFold(5, shuffle=True)", ["KFold(5, shuffle=True)"]),
        ("k = KFold(5, shuffle=True, random_state=0)", []),
        ("x = np.random.rand(3)", ["np.random.rand(3)"]),
        ("np.random.seed(0)\nx = np.random.rand(3)", []),
        ("x = np.random.default_rng(0).normal()", []),
        ("rng = np.random.default_rng()", ["np.random.default_rng()"]),
        ("random.shuffle(items)", ["random.shuffle(items)"]),
        ("random.seed(1)\nrandom.shuffle(items)", []),
    ],
)  # fmt: skip
def test_unseeded_calls_are_found_and_seeded_ones_are_not(source: str, expected: list[str]) -> None:
    assert _found(source, ask_sklearn=True) == expected  # scikit-learn's own signatures
    assert _found(source, ask_sklearn=False) == expected  # the known list


def test_a_seed_in_setup_code_counts_for_every_step() -> None:
    assert _found("x = np.random.rand(3)", SETUP + "\nnp.random.seed(0)") == []
    assert _found("x = np.random.rand(3)", SETUP + "\nrandom.seed(0)") == ["np.random.rand(3)"]


def test_export_warns_naming_cell_line_and_call(tmp_path: Path) -> None:
    cells = [
        code(SETUP, "setup"),
        code("X, y = make_classification(n_samples=60, random_state=0)\n"
             "X_train, X_test, y_train, y_test = train_test_split(X, y)", "step:split"),
        code("model = RandomForestClassifier(n_estimators=5, random_state=0)\n"
             "model.fit(X_train, y_train)", "step:train"),
    ]  # fmt: skip
    nbformat.write(new_notebook(cells=cells), tmp_path / "nb.ipynb")
    result = export_notebook(tmp_path / "nb.ipynb", tmp_path / "out", targets="local", run_id=None)
    named = [w for w in result.warnings if "random_state" in w]
    assert named == [
        "Cell 2, line 2: `train_test_split(X, y)` has no random_state, so each run draws"
        " differently; pass random_state=0 (or a parameter), or export with --seed N"
    ]
    spec = json.loads((tmp_path / "out" / "pipeline.json").read_text())
    assert [c["call"] for c in spec["unseeded_calls"]] == ["train_test_split(X, y)"]
    assert spec["seed"] is None


UNSEEDED = [
    code(SETUP, "setup"),
    code(
        "X, y = make_classification(n_samples=300, random_state=0)\n"
        "X_train, X_test, y_train, y_test = train_test_split(X, y)\n"
        "model = RandomForestClassifier(n_estimators=15).fit(X_train, y_train)\n"
        "accuracy = float(model.score(X_test, y_test))\n"
        "noise = float(np.random.rand())\n"
        "mlops.log(accuracy=accuracy, noise=noise)",
        "step:train",
    ),
]


def _two_runs(pipeline: Path, workdir: Path) -> list[dict[str, float]]:
    metrics = []
    for _ in range(2):
        result = run(pipeline, workdir, use_cache=False)
        assert result.status == "ok", [(s.name, s.message) for s in result.steps]
        metrics.append(result.metrics)
    return metrics


@pytest.mark.slow
def test_seed_makes_two_runs_of_an_unseeded_notebook_equal(tmp_path: Path) -> None:
    plain = export_cells(tmp_path, "plain", UNSEEDED, run_id=None)
    first, second = _two_runs(plain, tmp_path)
    assert first["noise"] != second["noise"]  # without --seed, each run draws its own

    seeded = export_cells(tmp_path, "seeded", UNSEEDED, run_id=None, seed=11)
    assert "mlops_seed(11)" in (seeded / "steps" / "train.py").read_text()
    first, second = _two_runs(seeded, tmp_path)
    assert first == second
    assert set(first) == {"accuracy", "noise"}


def test_cli_and_api_refuse_a_seed_that_is_not_one(tmp_path: Path) -> None:
    nbformat.write(new_notebook(cells=UNSEEDED), tmp_path / "nb.ipynb")
    with pytest.raises(ExportError, match="is not a seed"):
        export_notebook(tmp_path / "nb.ipynb", tmp_path / "out", targets="local", seed=-3)
    outcome = CliRunner().invoke(
        main,
        ["export", str(tmp_path / "nb.ipynb"), "-o", str(tmp_path / "cli"), "-t", "local",
         "--run", "none", "--seed", "5"],
    )  # fmt: skip
    assert outcome.exit_code == 0, outcome.output
    assert PipelineSpec.load(tmp_path / "cli").seed == 5
    assert "train_test_split" not in outcome.output  # --seed covers it: no warning


@pytest.mark.slow
def test_parity_mismatch_names_the_unseeded_call(
    shell: Any, registry: Registry, tmp_path: Path
) -> None:
    path = tmp_path / "unseeded.ipynb"
    nbformat.write(new_notebook(cells=UNSEEDED), path)
    shell.user_ns["__session__"] = str(path)
    with capture_output():
        run_cell(shell, "%mlops start unseeded")
        for item in UNSEEDED:
            assert run_cell(shell, item.source).error_in_exec is None  # type: ignore[attr-defined]
        run_id = shell.user_ns["mlops"].active_run().id
        run_cell(shell, "%mlops end")
    pipeline = export_cells(tmp_path, "unseeded", UNSEEDED, run_id=run_id, registry=registry)
    result = run(pipeline, tmp_path)
    assert result.parity is not None and result.parity.status == "mismatch"
    summary = result.parity.summary()
    assert "noise: notebook" in summary
    assert "unseeded at export: Cell 2, line 2: `train_test_split(X, y)`" in summary
    assert "Cell 2, line 5: `np.random.rand()`" in summary
    from jupyter_mlops.runner.console import summary_lines

    shown = summary_lines(result)
    assert shown[2].startswith("parity MISMATCH") and "Likely causes" not in shown[2]
    assert shown[3].startswith("  likely cause: unseeded at export: Cell 2, line 2: `train_test")
    stored = registry.query_one(
        "SELECT parity FROM pipeline_runs WHERE run_id = ?", (result.run_id,)
    )
    assert any("train_test_split" in c for c in json.loads(stored[0])["likely_causes"])


def test_likely_causes_name_package_versions_and_input_data_that_differ(
    registry: Registry,
) -> None:
    """Runs recorded in two environments (a notebook here, a step in an image) on data
    that changed between them."""
    import pandas as pd

    from jupyter_mlops.runner.parity_causes import likely_causes
    from jupyter_mlops.tracking.capture.environment import Environment
    from jupyter_mlops.tracking.session import start_run
    from jupyter_mlops.tracking.shared_rows import environment_id

    frames = [pd.DataFrame({"x": [1.0, 2.0, 3.0]}), pd.DataFrame({"x": [1.0, 2.0, 4.0]})]
    runs, prints = [], []
    for name, tags, frame in (
        ("nb", {}, frames[0]),
        ("p.train", {"pipeline.run_id": "P1"}, frames[1]),
    ):
        with start_run(name, tags=tags, registry=registry, parent=False) as run:
            prints.append(run.snapshot(frame, name="train", role="train").fingerprint)
        runs.append(run.id)
    packages = [(("numpy", "2.0.0"), ("scikit-learn", v)) for v in ("1.5.2", "1.6.0")]
    with registry.transaction("environments of elsewhere") as conn:
        for run_id, listed in zip(runs, packages, strict=True):
            found = environment_id(registry, conn, Environment("3.11.9", "linux", listed))
            conn.execute("UPDATE runs SET environment_id = ? WHERE id = ?", (found, run_id))
    assert likely_causes(registry, "P1", runs[0]) == (
        "package versions differ: scikit-learn 1.5.2 in the notebook, 1.6.0 here",
        f'input data differs: "train" (fingerprint {prints[0][:12]} in the notebook,'
        f" {prints[1][:12]} here)",
    )
    assert prints[0] != prints[1]


def test_magic_export_takes_a_seed(shell: Any, registry: Registry, tmp_path: Path) -> None:
    nbformat.write(new_notebook(cells=UNSEEDED), tmp_path / "nb.ipynb")
    with capture_output() as captured:
        run_cell(shell, f"%mlops export {tmp_path / 'nb.ipynb'} -o {tmp_path / 'out'} -t local")
        run_cell(
            shell, f"%mlops export {tmp_path / 'nb.ipynb'} -o {tmp_path / 's'} -t local --seed 7"
        )
    first, second = captured.stdout.split("Parity reference")[:2]
    assert "Warning: Cell 2, line 2: `train_test_split(X, y)` has no random_state" in first
    assert "train_test_split" not in second  # --seed covers it
    assert PipelineSpec.load(tmp_path / "out").seed is None
    assert PipelineSpec.load(tmp_path / "s").seed == 7
