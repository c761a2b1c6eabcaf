"""What the distribution promises: one version for the package and the panel, the
metadata people read before they install (license, Pythons, typing, URLs), and an sdist
that builds a wheel with the panel where there is no Node.js."""

from __future__ import annotations

import importlib.metadata as metadata
import json
import os
import tarfile
import zipfile
from pathlib import Path

import pytest
from packaging.version import Version

import jupyter_mlops

from .distributions import build

pytestmark = pytest.mark.every_python  # what differs from one Python to the next

REPO = Path(__file__).resolve().parents[1]
PANEL_SOURCE = REPO / "labextension" / "package.json"
PANEL_BUILT = REPO / "src" / "jupyter_mlops" / "labextension" / "package.json"


def test_version_is_one_number_for_the_installed_package_the_module_and_the_panel() -> None:
    source = json.loads(PANEL_SOURCE.read_text())["version"]
    built = json.loads(PANEL_BUILT.read_text())["version"]
    installed = metadata.version("jupyter-mlops")

    assert installed == jupyter_mlops.__version__, (
        "the installed metadata and jupyter_mlops.__version__ differ: reinstall (scripts/setup)"
    )
    # npm spells pre-releases 1.0.0-alpha.1, Python 1.0.0a1: compare them as versions
    assert Version(installed) == Version(source) == Version(built), (
        f"labextension/package.json says {source}, the built panel {built}, Python {installed}:"
        " run scripts/setup to rebuild both from labextension/package.json"
    )


def test_version_module_is_generated_not_tracked() -> None:
    version_file = REPO / "src" / "jupyter_mlops" / "_version.py"
    ignored = (REPO / ".gitignore").read_text().splitlines()

    assert version_file.is_file()
    assert "/src/jupyter_mlops/_version.py" in ignored


def test_metadata_declares_license_pythons_typing_and_urls() -> None:
    meta = metadata.metadata("jupyter-mlops")
    classifiers = meta.get_all("Classifier") or []
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL") or [])

    assert meta["License-Expression"] == "BSD-3-Clause"
    assert meta.get_all("License-File") == ["LICENSE"]
    assert not [c for c in classifiers if c.startswith("License ::")]  # PEP 639: the expression
    assert meta["Requires-Python"] == ">=3.10"
    for minor in (10, 11, 12, 13):
        assert f"Programming Language :: Python :: 3.{minor}" in classifiers
    assert "Typing :: Typed" in classifiers
    assert (REPO / "src" / "jupyter_mlops" / "py.typed").is_file()
    assert set(urls) == {"Homepage", "Documentation", "Source", "Changelog"}
    assert all(
        u.startswith("https://github.com/jupyter-mlops/jupyter-mlops") for u in urls.values()
    )


def test_license_text_is_bsd_3_clause_of_the_developers() -> None:
    text = (REPO / "LICENSE").read_text()

    assert text.startswith("BSD 3-Clause License")
    assert "the jupyter-mlops developers" in text.splitlines()[2]
    assert "Neither the name of the copyright holder" in text


@pytest.mark.slow
def test_sdist_carries_the_built_panel_and_builds_a_wheel_without_node(tmp_path: Path) -> None:
    if not PANEL_BUILT.is_file():
        pytest.fail(f"{PANEL_BUILT} is missing: build the panel first (scripts/setup)")
    sdist = build("sdist", REPO, tmp_path / "sdist")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}  # 3.10.12+, 3.11.4+
        archive.extractall(tmp_path / "unpacked", **safe)  # type: ignore[arg-type]
    for shipped in ("LICENSE", "CHANGELOG.md", "labextension/package.json",
                    "src/jupyter_mlops/labextension/package.json",
                    "src/jupyter_mlops/labextension/static/style.js"):  # fmt: skip
        assert shipped in names, f"the sdist lacks {shipped}"
    no_node = tmp_path / "bin"  # the only folder on PATH: no node, jlpm, npm or yarn
    no_node.mkdir()
    env = {**os.environ, "PATH": str(no_node)}
    (unpacked,) = (tmp_path / "unpacked").iterdir()

    wheel = build("wheel", unpacked, tmp_path / "wheel", env=env)

    panel = f"jupyter_mlops-{jupyter_mlops.__version__}.data/data/share/jupyter/labextensions/jupyter-mlops"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        package = json.loads(archive.read(f"{panel}/package.json"))
        remote_entry = archive.read(f"{panel}/{package['jupyterlab']['_build']['load']}")
    assert package["name"] == "jupyter-mlops"
    assert Version(package["version"]) == Version(jupyter_mlops.__version__)
    assert len(remote_entry) > 1_000
    assert {f"{panel}/static/style.js", f"{panel}/install.json"} <= names
    assert (
        f"jupyter_mlops-{jupyter_mlops.__version__}.data/data/etc/jupyter/"
        "jupyter_server_config.d/jupyter_mlops.json"
    ) in names
    assert "jupyter_mlops/_version.py" in names
