"""The environment of a pipeline: a pinned lock of what the notebook imports and of
what the jupyter-mlops core requires.

``requirements.lock`` is not a ``pip freeze``: it starts from the modules the
notebook imports (mapped to their distributions through each distribution's
``top_level.txt``, then its ``RECORD``: see :func:`module_distributions`) and the runtime requirements of the installed jupyter-mlops core (its
``[project].dependencies``, no extras), then adds what those distributions require,
each pinned to the version installed where the export runs. Jupyter itself
(JupyterLab, IPython, ipywidgets, nbconvert) is never in it, nor jupyter-mlops: the
image installs that from a wheel (see :mod:`.container`).

    lock = requirements_lock({"sklearn", "pandas"})
    lock.text.splitlines()[-1]          # 'tzdata==2025.2'
"""

from __future__ import annotations

import functools
import importlib.metadata as metadata
import re
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from packaging.requirements import Requirement

DISTRIBUTION = "jupyter-mlops"
# Never installed in a pipeline image, even when a notebook imports them.
JUPYTER_ONLY = frozenset(
    {
        "jupyter-mlops", "jupyterlab", "notebook", "ipython", "ipykernel", "ipywidgets",
        "nbconvert", "nbclient", "nbformat", "jupyter-server", "jupyter-client",
        "jupyter-core", "widgetsnbextension", "jupyterlab-widgets", "traitlets", "tornado",
    }
)  # fmt: skip


def core_requirements() -> tuple[str, ...] | None:
    """The distributions the installed jupyter-mlops core requires (no extras), or None
    when jupyter-mlops is importable but not installed (a source checkout on sys.path)."""
    try:
        requires = metadata.requires(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None
    return tuple(dict.fromkeys(_canonical(r.name) for r in _applicable(requires or [])))


@dataclass(frozen=True)
class RequirementsLock:
    """The lock file's text and how imports were mapped."""

    text: str
    pins: tuple[tuple[str, str], ...]  # (distribution, version)
    imports: tuple[tuple[str, str], ...]  # (module, distribution)
    unresolved: tuple[str, ...]  # modules that are neither stdlib nor installed


def requirements_lock(
    modules: set[str] | tuple[str, ...],
    *,
    local: set[str] | frozenset[str] = frozenset(),
    runtime: tuple[str, ...] | None = None,
) -> RequirementsLock:
    """Pin the distributions behind ``modules``, the ``runtime`` ones (default: what the
    installed jupyter-mlops core requires) and everything they require."""
    stdlib = set(sys.stdlib_module_names)
    wanted = sorted(
        m for m in set(modules) if m not in stdlib and m not in local and not m.startswith("_")
    )
    mapping = module_distributions(wanted)
    imports: list[tuple[str, str]] = []
    unresolved: list[str] = []
    roots: dict[str, None] = {}
    for module in wanted:
        distributions = mapping.get(module)
        if not distributions:
            if module != "jupyter_mlops":
                unresolved.append(module)
            continue
        distribution = _canonical(distributions[0])
        imports.append((module, distribution))
        if distribution not in JUPYTER_ONLY:
            roots[distribution] = None
    if runtime is None:
        runtime = core_requirements() or ()
    for name in runtime:
        roots[_canonical(name)] = None
    pins = _closure(list(roots))
    lines = [
        "# Pinned by jupyter-mlops export: the distributions the notebook imports, the",
        "# jupyter-mlops core's runtime needs, and what they require, at the versions",
        "# installed where the notebook was exported. Install with:",
        "#   pip install -r requirements.lock",
    ]
    if imports:
        lines.append("# imports: " + ", ".join(f"{m} -> {d}" for m, d in imports))
    if unresolved:
        lines.append("# not installed where exported (add them by hand): " + ", ".join(unresolved))
    lines.extend(f"{name}=={version}" for name, version in pins)
    return RequirementsLock("\n".join(lines) + "\n", tuple(pins), tuple(imports), tuple(unresolved))


def module_distributions(modules: list[str]) -> dict[str, list[str]]:
    """The distributions that provide each top-level module, like
    ``importlib.metadata.packages_distributions()`` but cheaper: the declared
    ``top_level.txt`` of every distribution is read first, then the ``RECORD`` (the
    list of installed files) of those that declare none, searched as text for the
    modules still unknown (scikit-learn, for one, declares no ``top_level.txt``).
    ``packages_distributions()``, which builds a path object for every installed file
    and was the largest single cost of an export, is left for distributions without a
    ``RECORD``."""
    found: dict[str, list[str]] = {}
    for module in modules:  # most distributions are named like their module
        for candidate in dict.fromkeys((module, module.replace("_", "-"))):
            try:
                dist = metadata.distribution(candidate)
            except metadata.PackageNotFoundError:
                continue
            top_level = (dist.read_text("top_level.txt") or module).split()
            if module in top_level:
                found[module] = [dist.metadata["Name"]]
                break
    wanted = set(modules) - set(found)
    if not wanted:
        return found
    undeclared = []
    for dist in metadata.distributions():
        declared = dist.read_text("top_level.txt")
        if not declared:
            undeclared.append(dist)
            continue
        name = dist.metadata["Name"]
        for top in declared.split():
            if top in wanted and name not in found.setdefault(top, []):
                found[top].append(name)
    missing = wanted - set(found)
    unrecorded = False
    for dist in undeclared if missing else ():
        record = dist.read_text("RECORD")
        if record is None:
            unrecorded = True
            continue
        for module in missing:
            if _installs_module(record, module):
                name = dist.metadata["Name"]
                if name not in found.setdefault(module, []):
                    found[module].append(name)
    missing -= set(found)
    if missing and unrecorded:
        everything = metadata.packages_distributions()
        for module in missing:
            if module in everything:
                found[module] = list(everything[module])
    return found


def _installs_module(record: str, module: str) -> bool:
    """Whether a ``RECORD`` lists the top-level ``module``: a package directory
    (``sklearn/...``) or a module file (``six.py``, ``_cffi.cpython-311-x86_64.so``)."""
    start = rf"(?:^|\n){re.escape(module)}"
    if re.search(start + "/", record):
        return True
    return re.search(start + r"(?:\.[\w-]+)?\.(?:py|pyc|so|pyd)(?:,|$)", record, re.M) is not None


def _closure(roots: list[str]) -> list[tuple[str, str]]:
    pinned: dict[str, str] = {}
    queue = list(roots)
    while queue:
        name = queue.pop()
        if name in pinned or name in JUPYTER_ONLY:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        pinned[name] = dist.version
        queue.extend(_canonical(r.name) for r in _applicable(dist.requires or ()))
    return sorted(pinned.items())


def _applicable(requires: list[str] | tuple[str, ...]) -> list[Requirement]:
    """The requirements that apply on this Python and platform, extras left out."""
    from packaging.requirements import InvalidRequirement, Requirement

    environment = _marker_environment()
    applicable = []
    for text in requires:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue
        if requirement.marker is None or requirement.marker.evaluate(environment):
            applicable.append(requirement)
    return applicable


@functools.cache
def _marker_environment() -> dict[str, str]:
    from packaging.markers import default_environment

    environment = {key: str(value) for key, value in default_environment().items()}
    environment["extra"] = ""
    return environment


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
