"""What the distribution promises: one version for the package and the panel, and the
metadata people read before they install (license, Pythons, typing, URLs)."""

from __future__ import annotations

import importlib.metadata as metadata
import json
from pathlib import Path

from packaging.version import Version

import jupyter_mlops

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
