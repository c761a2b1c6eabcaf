"""The declared dependencies match the code: every third-party module the package imports
(function bodies included) is declared where the importing module is installed, and every
declared requirement is imported by a module it serves.

The core (everything but the Jupyter faces and export) gets ``[project].dependencies``;
the Jupyter faces, export and reproduce also get the ``jupyter`` extra; the Kubeflow target also the
``kfp`` extra; the fairness metrics of gates also the ``fairness`` extra. Requirements are read from the installed distribution's metadata, which is
what pip honours (``scripts/setup`` reinstalls it after a change to pyproject.toml).
"""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import re
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from packaging.requirements import Requirement

import jupyter_mlops
from jupyter_mlops.export.environment import module_distributions

pytestmark = pytest.mark.every_python  # what differs from one Python to the next

PACKAGE = Path(jupyter_mlops.__file__).resolve().parent
# Subpackages installed by an extra, by their path under jupyter_mlops/ (the longest wins).
EXTRA_OF_MODULE = {
    "magics": "jupyter",
    "widgets": "jupyter",
    "server": "jupyter",
    "export": "jupyter",
    "reproduce": "jupyter",
    "export/kfp_target.py": "kfp",
    "serving/runtime.py": "serve",
    "gates/fairness.py": "fairness",
}
# Imported by a module of an extra that installs only on some Pythons (its requirement has
# a marker): missing from an environment where it cannot install, with the reason.
INSTALLS_ON_SOME_PYTHONS = {
    "mlserver": "the serve extra: MLServer 1.7 installs on Python < 3.13 only",
}
# Declared but imported by no Python module, with the reason.
NOT_IMPORTED = {
    "jupyterlab": "JupyterLab loads the panel (labextension/), Python never imports it",
    "ipykernel": "reproduce starts its kernels with `python -m ipykernel_launcher`",
}
JUPYTER = {"ipython", "ipywidgets", "jupyter-server", "jupyterlab", "nbconvert", "tornado"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def extra_of(path: Path) -> str:
    """The extra that makes ``path`` (a module of the package) usable, "" for the core."""
    relative = path.relative_to(PACKAGE).as_posix()
    found, length = "", 0
    for prefix, extra in EXTRA_OF_MODULE.items():
        if (relative == prefix or relative.startswith(prefix + "/")) and len(prefix) > length:
            found, length = extra, len(prefix)
    return found


def third_party_imports(path: Path) -> set[str]:
    """Top-level names of the absolute imports anywhere in ``path``, functions included,
    and of ``importlib.import_module("...")`` calls with a literal name."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and not node.args[0].value.startswith(".")
        ):
            names.add(node.args[0].value.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"jupyter_mlops", "__future__"}


def imports_by_extra() -> dict[str, dict[str, set[str]]]:
    """extra ("" for the core) -> distribution -> the modules that import it."""
    modules = [
        path
        for path in sorted(PACKAGE.rglob("*.py"))
        if "labextension" not in path.relative_to(PACKAGE).parts
    ]
    imports = {path: third_party_imports(path) for path in modules}
    # The mapping export uses for requirements.lock, so that both agree; it reads each
    # distribution's top_level.txt, then its RECORD, which Python 3.10's
    # packages_distributions() does not (click's wheel has no top_level.txt).
    providers = module_distributions(sorted(set().union(*imports.values())))
    found: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path, names in imports.items():
        for name in names:
            distributions = providers.get(name)
            if not distributions and name in INSTALLS_ON_SOME_PYTHONS:
                continue
            assert distributions, (
                f"{path.relative_to(PACKAGE.parent)} imports {name}, which no installed"
                " distribution provides: install it (scripts/setup) and declare it"
            )
            found[extra_of(path)][canonical(distributions[0])].add(
                path.relative_to(PACKAGE.parent).as_posix()
            )
    return found


def declared() -> dict[str, set[str]]:
    """extra ("" for the core) -> the distributions it declares."""
    dist = metadata.distribution("jupyter-mlops")
    extras = dist.metadata.get_all("Provides-Extra") or []
    found: dict[str, set[str]] = defaultdict(set)
    for text in dist.requires or []:
        requirement = Requirement(text)
        if requirement.marker is None:
            found[""].add(canonical(requirement.name))
            continue
        for extra in extras:
            if requirement.marker.evaluate({"extra": extra}):
                found[extra].add(canonical(requirement.name))
    return found


@pytest.fixture(scope="module")
def imported() -> dict[str, dict[str, set[str]]]:
    return imports_by_extra()


@pytest.fixture(scope="module")
def requirements() -> dict[str, set[str]]:
    return declared()


def test_every_import_is_declared_for_the_install_that_runs_it(imported, requirements):
    missing = []
    for extra, distributions in imported.items():
        allowed = requirements[""] | requirements[extra]
        where = f'the "{extra}" extra' if extra else "[project].dependencies"
        missing += [
            f"{', '.join(sorted(modules))} import(s) {name}, not declared: add it to {where}"
            for name, modules in sorted(distributions.items())
            if name not in allowed
        ]
    assert not missing, "\n".join(missing)


def test_every_declared_requirement_is_imported_by_what_it_installs_for(imported, requirements):
    unused = []
    for extra in ("", "jupyter", "kfp", "serve", "fairness"):
        where = f'the "{extra}" extra' if extra else "[project].dependencies"
        used = set(imported[extra]) | set(NOT_IMPORTED)
        unused += [
            f"{name} is in {where} but no module it serves imports it: remove it, or move it"
            " to the extra of the modules that do"
            for name in sorted(requirements[extra] - used)
        ]
    assert not unused, "\n".join(unused)


def test_core_install_declares_no_jupyter_package(requirements):
    assert requirements[""], "the installed jupyter-mlops declares no core dependency at all"
    assert not requirements[""] & JUPYTER, (
        f"{sorted(requirements[''] & JUPYTER)} belong in the jupyter extra, not the core"
    )
    assert JUPYTER <= requirements["jupyter"]


@pytest.mark.parametrize(
    ("relative", "extra"),
    [
        ("registry.py", ""),
        ("runner/step.py", ""),
        ("cli/__init__.py", ""),
        ("magics/base.py", "jupyter"),
        ("server/routes.py", "jupyter"),
        ("export/api.py", "jupyter"),
        ("export/kfp_target.py", "kfp"),
        ("serving/runtime.py", "serve"),
        ("serving/prediction_log.py", ""),
        ("gates/fairness.py", "fairness"),
        ("gates/fairness_rules.py", ""),
    ],
)
def test_modules_are_classified_by_the_install_that_runs_them(relative, extra):
    assert extra_of(PACKAGE / relative) == extra
