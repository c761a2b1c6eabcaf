"""A notebook written for Kale exports and runs as it is, its metrics logged on both sides.

The fixture follows Kale's documented conventions: ``imports`` and ``functions`` cells
(and an untagged cell after ``imports``, which Kale counts as imports), a
``pipeline-parameters`` cell, ``block:NAME`` cells with several ``prev:`` tags and one
block name used twice (merged, as Kale does), ``limit:`` resource tags, a ``skip`` cell
importing ``kale`` (not installed here), a ``pipeline-metrics`` cell of ``print(name)``
lines, and the ``kubeflow_notebook`` metadata Kale's panel writes.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from jupyter_mlops.export import export_notebook
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.runner.pipeline import run_pipeline
from jupyter_mlops.runner.spec import PipelineSpec

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
KALE_METADATA = {
    "pipeline_name": "cancer-kale",
    "experiment_name": "kale-cancer",
    "pipeline_description": "breast cancer, the Kale way",
    "docker_image": "registry.example/ml/notebook:1.4",
    "volumes": [{"name": "workspace", "mount_point": "/home/jovyan", "type": "pvc"}],
    "katib_run": False,
    "snapshot_volumes": False,
    "steps_defaults": ["limit:cpu:1", "label:team:ml"],
}


def code(source: str, *tags: str):
    return new_code_cell(source, metadata={"tags": list(tags)} if tags else {})


def kale_notebook(path: Path) -> Path:
    cells = [
        new_markdown_cell("# Breast cancer, tagged for Kale"),
        code("%load_ext jupyter_mlops\n%mlops start kale-run --experiment kale-cancer"),
        code("import numpy as np\nfrom sklearn.datasets import load_breast_cancer", "imports"),
        code(  # untagged after imports: imports too, for Kale
            "from sklearn.linear_model import LogisticRegression\n"
            "from sklearn.model_selection import train_test_split\n"
            "from sklearn.preprocessing import StandardScaler"
        ),
        code("def accuracy_of(model, X, y):\n    return float(model.score(X, y))", "functions"),
        code("C = 0.5\ntest_size = 0.25\nseed = 3", "pipeline-parameters"),
        code("import kale\nprint(kale.__version__)", "skip"),
        code("X, y = load_breast_cancer(return_X_y=True)", "block:load"),
        code(
            "X_train, X_test, y_train, y_test = train_test_split(\n"
            "    X, y, test_size=test_size, random_state=seed\n)",
            "block:split",
            "prev:load",
        ),
        code("scaler = StandardScaler().fit(X_train)", "block:scale", "prev:split"),
        code("n_features = int(X.shape[1])", "block:load"),  # Kale merges it into load
        code(
            "model = LogisticRegression(C=C, max_iter=1000).fit(scaler.transform(X_train),"
            " y_train)\n"
            "accuracy = accuracy_of(model, scaler.transform(X_test), y_test)\n"
            "train_rows = len(X_train) + 0 * n_features",
            "block:train",
            "prev:scale",
            "prev:split",
            "limit:memory:2Gi",
            "limit:nvidia.com/gpu:1",
            "hide-output",
        ),
        code("print(accuracy)", "pipeline-metrics"),
        code("train_rows"),  # untagged after pipeline-metrics: metrics too, for Kale
        code("%mlops end"),
    ]
    notebook = new_notebook(
        cells=cells, metadata={"kernelspec": KERNELSPEC, "kubeflow_notebook": KALE_METADATA}
    )
    nbformat.write(notebook, path)
    return path


def execute(notebook: Path, workdir: Path, env: dict[str, str]) -> nbformat.NotebookNode:
    """Run the notebook headless as a Kale user would: ``skip`` cells are not executed
    (nbclient's ``skip_cells_with_tag``, also ``--ExecutePreprocessor.skip_cells_with_tag``)."""
    node = nbformat.read(notebook, as_version=4)
    client = NotebookClient(
        node,
        timeout=300,
        kernel_name="python3",
        skip_cells_with_tag="skip",
        resources={"metadata": {"path": str(workdir)}},
    )
    client.execute(env=env)
    return node


def notebook_run(project: Path, name: str) -> tuple[str, dict[str, float], dict[str, object]]:
    with Registry.open(project / ".mlops" / "registry.db") as registry:
        row = registry.query("SELECT id FROM runs WHERE name = ? AND kind = 'notebook'", (name,))[0]
        metrics = {
            r["key"]: r["value"]
            for r in registry.query(
                "SELECT key, value FROM metrics WHERE run_id = ? ORDER BY step", (row["id"],)
            )
        }
        params = {
            r["key"]: r["value"]
            for r in registry.query("SELECT key, value FROM params WHERE run_id = ?", (row["id"],))
        }
        return row["id"], metrics, params


def test_kale_layout_merges_repeated_blocks_and_records_limits(tmp_path):
    path = kale_notebook(tmp_path / "kale.ipynb")
    result = export_notebook(path, tmp_path / "out", targets="local", run_id=None)
    spec = result.spec
    assert spec.name == "cancer-kale"
    assert [s.name for s in spec.steps] == ["load", "split", "scale", "train"]
    assert spec.step("load").cells == (7, 10)  # the repeated block:load joined its step
    assert set(spec.step("train").depends_on) >= {"scale", "split", "load"}
    assert spec.step("train").resource_limits == {
        "cpu": "1",  # kubeflow_notebook.steps_defaults
        "memory": "2Gi",
        "nvidia.com/gpu": "1",
    }
    assert spec.step("load").resource_limits == {"cpu": "1"}
    assert spec.step("train").metrics == ("accuracy", "train_rows")
    assert [p.name for p in spec.parameters] == ["C", "test_size", "seed"]
    written = json.loads((tmp_path / "out" / "pipeline.json").read_text())
    assert written["steps"][3]["resource_limits"]["nvidia.com/gpu"] == "1"
    assert PipelineSpec.load(tmp_path / "out").step("train").resource_limits["memory"] == "2Gi"
    # the skip cell's import of kale is neither exported nor required
    assert "kale" not in (tmp_path / "out" / "requirements.lock").read_text()
    assert not any("kale" in w and "not installed" in w for w in result.warnings)
    setup = (tmp_path / "out" / "steps" / "pipeline_setup.py").read_text()
    assert "from sklearn.preprocessing import StandardScaler" in setup


def test_kale_export_reports_every_tag_and_metadata_field_it_does_not_use(tmp_path):
    path = kale_notebook(tmp_path / "kale.ipynb")
    warnings = export_notebook(path, tmp_path / "out", targets="local", run_id=None).warnings
    text = "\n".join(warnings)
    assert 'cell 12: tag "hide-output" means nothing to the export' in text
    assert "kubeflow_notebook.volumes is not used: no volume is mounted" in text
    assert "kubeflow_notebook.pipeline_description is not used" in text
    assert 'steps_defaults entry "label:team:ml": pod annotations and labels are not' in text
    assert "docker_image" in text  # used only by the docker target: said so
    # fields that ask for nothing (false) are not reported
    assert "katib_run" not in text and "snapshot_volumes" not in text


def test_kale_metadata_docker_image_is_the_dockerfile_base(tmp_path):
    path = kale_notebook(tmp_path / "kale.ipynb")
    result = export_notebook(path, tmp_path / "out", targets="local,docker", run_id=None)
    assert (
        "ARG BASE_IMAGE=registry.example/ml/notebook:1.4\n"
        in (tmp_path / "out" / "Dockerfile").read_text()
    )
    assert any("is the base image of the Dockerfile" in w for w in result.warnings)


def test_unknown_metadata_field_and_malformed_limit_are_named(tmp_path):
    from jupyter_mlops.errors import ExportError

    nb = new_notebook(
        cells=[code("x = 1", "block:a"), code("x", "pipeline-metrics")],
        metadata={"kubeflow_notebook": {"pipeline_name": "p", "warp_drive": True}},
    )
    path = tmp_path / "odd.ipynb"
    nbformat.write(nb, path)
    result = export_notebook(path, tmp_path / "out", targets="local", run_id=None)
    assert any(
        "kubeflow_notebook.warp_drive is not used: not a setting jupyter-mlops knows" in w
        for w in result.warnings
    )
    nb.cells[0].metadata["tags"].append("limit:gpu")
    nbformat.write(nb, path)
    with pytest.raises(ExportError, match=r'Cell 1: tag "limit:gpu" must name a resource'):
        export_notebook(path, tmp_path / "out2", targets="local", run_id=None)


def test_metrics_cell_lines_that_log_nothing_are_reported(tmp_path):
    nb = new_notebook(
        cells=[
            code("acc = 0.5", "block:a"),
            code("print(acc)\nprint('accuracy', acc)", "pipeline-metrics"),
        ]
    )
    path = tmp_path / "m.ipynb"
    nbformat.write(nb, path)
    result = export_notebook(path, tmp_path / "out", targets="local", run_id=None)
    assert result.spec.step("a").metrics == ("acc",)
    assert any(
        "cell 2 (metrics), line 2: `print('accuracy', acc)` logs no metric" in w
        for w in result.warnings
    )


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("kale") is not None,
    reason="Kale is installed here: the test shows a notebook whose skip cell imports Kale"
    " running where it is not (uninstall kale to run it)",
)
def test_kale_notebook_runs_logs_its_metrics_and_reaches_parity(tmp_path, headless_env):
    notebook = kale_notebook(tmp_path / "kale.ipynb")
    Registry.init(tmp_path).close()
    executed = execute(notebook, tmp_path, headless_env)
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors
    run_id, metrics, params = notebook_run(tmp_path, "kale-run")
    # the pipeline-metrics cell (print) and the untagged cell after it logged, with no
    # mlops.log in the notebook
    assert set(metrics) >= {"accuracy", "train_rows"}
    assert 0.9 < metrics["accuracy"] <= 1.0
    assert metrics["train_rows"] == 426

    result = export_notebook(notebook, tmp_path / "kale-pipeline", targets="local")
    assert result.spec.source.exported_from_run_id == run_id
    assert result.spec.source.experiment == "kale-cancer"
    ran = run_pipeline(tmp_path / "kale-pipeline", workdir=tmp_path, registry=tmp_path / ".mlops")
    assert ran.status == "ok", ran
    assert ran.parity is not None and ran.parity.status == "ok", ran.parity
    compared = {m.key: (m.notebook, m.pipeline) for m in ran.parity.compared}
    assert set(compared) >= {"accuracy", "train_rows"}
    assert compared["accuracy"][0] == compared["accuracy"][1] == metrics["accuracy"]


def test_a_pipeline_name_given_wins_over_kale_metadata_and_is_reported(tmp_path):
    path = kale_notebook(tmp_path / "kale.ipynb")
    result = export_notebook(path, tmp_path / "out", targets="local", run_id=None, name="mine")
    assert result.spec.name == "mine"
    assert any(
        'kubeflow_notebook.pipeline_name "cancer-kale" is not used: the pipeline is named "mine"'
        in w
        for w in result.warnings
    )


def test_kale_pod_annotation_tag_is_reported_with_its_cell(tmp_path):
    nb = new_notebook(
        cells=[code("x = 1", "block:a", "annotation:team.example/owner:ml", "label:tier:gold")]
    )
    path = tmp_path / "pod.ipynb"
    nbformat.write(nb, path)
    warnings = export_notebook(path, tmp_path / "out", targets="local", run_id=None).warnings
    assert any(
        'cell 1: tag "annotation:team.example/owner:ml" is not applied' in w for w in warnings
    )
    assert any('cell 1: tag "label:tier:gold" is not applied' in w for w in warnings)


def test_an_empty_block_tag_names_no_step_and_is_reported(tmp_path):
    nb = new_notebook(cells=[code("x = 1", "block:a"), code("y = x + 1", "block:")])
    path = tmp_path / "empty.ipynb"
    nbformat.write(nb, path)
    result = export_notebook(path, tmp_path / "out", targets="local", run_id=None)
    assert [(s.name, s.cells) for s in result.spec.steps] == [("a", (0, 1))]
    assert any('cell 2: tag "block:" means nothing to the export' in w for w in result.warnings)
