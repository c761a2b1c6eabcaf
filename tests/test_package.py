"""The package's public surface and what importing it costs."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import jupyter_mlops


def test_public_names_are_sorted_and_exist() -> None:
    assert jupyter_mlops.__all__ == sorted(jupyter_mlops.__all__)
    for name in jupyter_mlops.__all__:
        assert hasattr(jupyter_mlops, name), name


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
    import sys, tempfile, importlib.abc
    BLOCKED = ("IPython", "ipywidgets", "tornado", "nbconvert", "nbformat", "jupyter_server",
               "jupyterlab", "ipykernel", "traitlets")
    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{name} is blocked: the core must not need it")
    sys.meta_path.insert(0, Block())
    import pandas as pd
    import jupyter_mlops as mlops
    from jupyter_mlops import artifacts, capture, expressions, queries, registry, schema, tracking
    for optional in ("snapshot", "profiles", "drift", "gates", "models", "runner"):
        try:
            importlib.import_module(f"jupyter_mlops.{optional}")
        except ModuleNotFoundError as exc:
            if exc.name != f"jupyter_mlops.{optional}":
                raise
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
