"""The package's public surface and what importing it costs."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import jupyter_mlops

pytestmark = pytest.mark.every_python  # what differs from one Python to the next

PUBLIC_NAMES = (
    "DriftGate",
    "MlopsError",
    "Registry",
    "active_run",
    "archive",
    "check",
    "check_drift",
    "compare",
    "configure",
    "drift_history",
    "end_run",
    "expect",
    "experiment_note",
    "feedback",
    "get_run",
    "import_from_mlflow",
    "init",
    "live_metrics",
    "load_model",
    "log",
    "log_artifact",
    "log_figure",
    "log_image",
    "log_params",
    "log_table",
    "log_text",
    "merge",
    "metrics",
    "move",
    "note",
    "note_experiment",
    "optuna_callback",
    "predictions",
    "promote",
    "purge",
    "push",
    "register_model",
    "registered_models",
    "rename",
    "restore",
    "runs",
    "snapshot",
    "start_run",
    "tag",
    "untag",
    "watch_loss",
)


def test_public_names_are_sorted_and_exist() -> None:
    assert jupyter_mlops.__all__ == sorted(jupyter_mlops.__all__)
    assert tuple(jupyter_mlops.__all__) == PUBLIC_NAMES  # what users import stays the same
    for name in jupyter_mlops.__all__:
        assert hasattr(jupyter_mlops, name), name
    assert set(PUBLIC_NAMES) <= set(dir(jupyter_mlops))


def test_extension_hooks_are_found_on_the_package() -> None:
    assert callable(jupyter_mlops.load_ipython_extension)
    assert callable(jupyter_mlops.unload_ipython_extension)
    assert jupyter_mlops._jupyter_server_extension_points() == [{"module": "jupyter_mlops.server"}]
    assert jupyter_mlops._jupyter_labextension_paths()[0]["dest"] == "jupyter-mlops"
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        jupyter_mlops.nothing  # noqa: B018


def test_import_loads_no_heavy_library(python_env: dict[str, str]) -> None:
    script = (
        "import sys, jupyter_mlops; heavy = {'pandas', 'IPython', 'ipywidgets', 'scipy',"
        " 'sqlite_utils', 'tornado', 'nbconvert', 'sklearn'} & set(sys.modules);"
        " print(sorted(heavy))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=python_env, check=True
    )
    assert done.stdout.strip() == "[]"


CORE_WITHOUT_JUPYTER = textwrap.dedent(
    """
    import sys, tempfile, importlib.abc, importlib.util
    BLOCKED = ("IPython", "ipywidgets", "tornado", "nbconvert", "nbformat", "jupyter_server",
               "jupyterlab", "ipykernel", "traitlets")
    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{name} is blocked: the core must not need it")
    sys.meta_path.insert(0, Block())
    import pkgutil
    import pandas as pd
    import jupyter_mlops as mlops
    FACES = ("magics", "widgets", "cli", "server", "export", "reproduce")
    # modules of an optional extra, imported where the extra is installed
    EXTRA_MODULES = {"jupyter_mlops.serving.runtime": "mlserver"}
    for found in pkgutil.walk_packages(mlops.__path__, "jupyter_mlops."):
        needs = EXTRA_MODULES.get(found.name)
        if needs is not None and importlib.util.find_spec(needs) is None:
            continue
        if found.name.split(".")[1] not in FACES and not found.name.endswith("__main__"):
            importlib.import_module(found.name)
    mlops.init(tempfile.mkdtemp())
    with mlops.start_run("core-only") as run:
        run.log(acc=0.5)
    assert mlops.runs()["metrics.acc"].tolist() == [0.5]
    print("core ok")
    """
)


def test_core_runs_without_jupyter_packages(python_env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import importlib\n" + CORE_WITHOUT_JUPYTER],
        capture_output=True,
        text=True,
        env=python_env,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "core ok"
