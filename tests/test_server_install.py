"""`pip install .` into a fresh virtual environment installs the panel and enables the server side.

The fresh environment gets only this package (``--no-deps``); its dependencies and
build tools (hatchling, hatch-jupyter-builder, jupyter-builder: the ``test`` extra) are
borrowed from the running environment through a ``.pth`` file, and the build runs
offline (``PIP_NO_INDEX``). The panel built by ``scripts/setup`` is used as it is
(``skip-if-exists``); where it is missing the build runs jlpm from the yarn cache
(``enableNetwork: false``). The full install with downloads is what
``scripts/check-install`` does in CI.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

import jupyter_mlops

from .conftest import panel_build_lock

REPO = Path(__file__).resolve().parents[1]
ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")

pytestmark = pytest.mark.slow


def _run(command: list[str], **kwargs) -> str:
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, **kwargs)
    output = ANSI_COLOUR.sub("", result.stdout + result.stderr)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{output}"
    return output


@pytest.fixture(scope="module")
def fresh_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv with ``pip install --no-deps`` of this checkout."""
    if not (REPO / "labextension" / "package.json").is_file():
        pytest.fail(f"{REPO} is not a source checkout with labextension/; run from the repository")
    prefix = tmp_path_factory.mktemp("fresh") / "venv"
    venv.EnvBuilder(with_pip=True).create(prefix)
    python = prefix / "bin" / "python"
    site_packages = Path(
        _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
        .strip()
        .splitlines()[-1]
    )
    (site_packages / "borrowed-dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n"
    )
    env = {
        **os.environ,
        # jlpm and jupyter-builder come from the running environment's bin folder
        "PATH": os.pathsep.join(
            [str(prefix / "bin"), sysconfig.get_paths()["scripts"], os.environ.get("PATH", "")]
        ),
        "PIP_NO_INDEX": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "YARN_ENABLE_NETWORK": "0",
    }
    command = [str(python), "-m", "pip", "install", "--no-deps", "--no-build-isolation", str(REPO)]
    with panel_build_lock():
        _run(command, env=env, cwd=REPO)
    return prefix


def test_install_puts_the_built_panel_in_the_environments_share_folder(fresh_env: Path):
    panel_dir = fresh_env / "share" / "jupyter" / "labextensions" / "jupyter-mlops"

    package = json.loads((panel_dir / "package.json").read_text())
    install = json.loads((panel_dir / "install.json").read_text())

    assert package["name"] == "jupyter-mlops"
    assert package["version"] == jupyter_mlops.__version__
    remote_entry = panel_dir / package["jupyterlab"]["_build"]["load"]
    assert remote_entry.is_file() and remote_entry.stat().st_size > 1_000
    assert (panel_dir / "static" / "style.js").is_file()
    assert install == {
        "packageManager": "python",
        "packageName": "jupyter-mlops",
        "uninstallInstructions": install["uninstallInstructions"],
    }


def test_install_enables_the_server_extension_by_config_file(fresh_env: Path):
    config = fresh_env / "etc" / "jupyter" / "jupyter_server_config.d" / "jupyter_mlops.json"

    assert json.loads(config.read_text()) == {
        "ServerApp": {"jpserver_extensions": {"jupyter_mlops.server": True}}
    }


def test_jupyter_lists_the_panel_enabled_and_ok(fresh_env: Path, tmp_path: Path):
    output = _run(
        [str(fresh_env / "bin" / "python"), "-m", "jupyterlab.labextensions", "list"],
        cwd=tmp_path,
    )

    assert str(fresh_env / "share" / "jupyter" / "labextensions") in output
    assert re.search(
        rf"jupyter-mlops v{re.escape(jupyter_mlops.__version__)} enabled\s+OK "
        r"\(python, jupyter-mlops\)",
        output,
    ), output


def test_jupyter_lists_the_server_extension_enabled_and_ok(fresh_env: Path, tmp_path: Path):
    output = _run(
        [
            str(fresh_env / "bin" / "python"),
            "-m",
            "jupyter_server.extension.serverextension",
            "list",
        ],
        cwd=tmp_path,
    )

    assert re.search(r"jupyter_mlops\.server\s+enabled", output), output
    assert re.search(
        rf"jupyter_mlops\.server {re.escape(jupyter_mlops.__version__)}\s+OK", output
    ), output


def test_fresh_environment_imports_its_own_copy(fresh_env: Path):
    where = _run(
        [
            str(fresh_env / "bin" / "python"),
            "-c",
            "import jupyter_mlops; print(jupyter_mlops.__file__)",
        ]
    )

    assert where.strip().startswith(str(fresh_env)), where
    assert sys.prefix != str(fresh_env)
