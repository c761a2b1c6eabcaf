"""The environment of a pipeline: a pinned lock of what the notebook imports, and a
wheel of jupyter-mlops itself.

``requirements.lock`` is not a ``pip freeze``: it starts from the modules the
notebook imports (mapped to their distributions through each distribution's
``top_level.txt``, then ``importlib.metadata.packages_distributions()`` for the
rest) and the runtime needs of the
jupyter-mlops core (numpy, pandas, pyarrow, joblib, ...), then adds what those
distributions require, each pinned to the version installed where the export runs.
Jupyter itself (JupyterLab, IPython, ipywidgets, nbconvert) is never in it.

The wheel is built from the installed package's Python files (no build tool needed,
reproducible bytes), and installed in the image with ``--no-deps``.

    lock = requirements_lock({"sklearn", "pandas"})
    lock.text.splitlines()[-1]          # 'tzdata==2025.2'
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata as metadata
import io
import re
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

# What the jupyter-mlops core needs at run time in a pipeline step: values between
# steps (numpy, pandas, pyarrow, joblib) and the registry (sqlite-utils).
CORE_RUNTIME = ("numpy", "pandas", "pyarrow", "joblib", "sqlite-utils")
# Added when the pipeline checks drift (the statistics live in scipy).
DRIFT_RUNTIME = ("scipy",)
# Never installed in a pipeline image, even when a notebook imports them.
JUPYTER_ONLY = frozenset(
    {
        "jupyter-mlops", "jupyterlab", "notebook", "ipython", "ipykernel", "ipywidgets",
        "nbconvert", "nbclient", "nbformat", "jupyter-server", "jupyter-client",
        "jupyter-core", "widgetsnbextension", "jupyterlab-widgets", "traitlets", "tornado",
    }
)  # fmt: skip
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


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
    runtime: tuple[str, ...] = CORE_RUNTIME,
) -> RequirementsLock:
    """Pin the distributions behind ``modules`` and everything they require."""
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
    ``top_level.txt`` of every distribution is read first, and only modules still
    unknown pay for ``packages_distributions()``, which lists every installed file."""
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
    for dist in metadata.distributions():
        declared = dist.read_text("top_level.txt")
        if not declared:
            continue
        name = dist.metadata["Name"]
        for top in declared.split():
            if top in wanted and name not in found.setdefault(top, []):
                found[top].append(name)
    missing = wanted - set(found)
    if missing:
        everything = metadata.packages_distributions()
        for module in missing:
            if module in everything:
                found[module] = list(everything[module])
    return found


def _closure(roots: list[str]) -> list[tuple[str, str]]:
    from packaging.markers import default_environment
    from packaging.requirements import InvalidRequirement, Requirement

    environment: dict[str, str] = {key: str(value) for key, value in default_environment().items()}
    environment["extra"] = ""
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
        for text in dist.requires or ():
            try:
                requirement = Requirement(text)
            except InvalidRequirement:
                continue
            if requirement.marker is not None and not requirement.marker.evaluate(environment):
                continue
            queue.append(_canonical(requirement.name))
    return sorted(pinned.items())


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def build_core_wheel() -> tuple[str, bytes]:
    """``(file name, bytes)`` of a wheel of the installed jupyter_mlops package.

    Only Python files (and ``py.typed``) go in; the labextension's assets do not,
    since a pipeline image runs no Jupyter. Entries are sorted with fixed times so
    the same sources give the same bytes.
    """
    import jupyter_mlops

    package_dir = Path(jupyter_mlops.__file__).resolve().parent
    version = getattr(jupyter_mlops, "__version__", "0.0.0")
    dist_info = f"jupyter_mlops-{version}.dist-info"
    files: list[tuple[str, bytes]] = []
    # The panel's folders are never walked: a panel build may be rewriting them meanwhile.
    tops = (p for p in package_dir.iterdir() if p.name not in ("labextension", "static"))
    paths = (q for top in tops for q in ([top, *top.rglob("*")] if top.is_dir() else [top]))
    for path in sorted(paths):
        relative = path.relative_to(package_dir)
        if not path.is_file() or "__pycache__" in relative.parts:
            continue
        if path.suffix != ".py" and path.name != "py.typed":
            continue
        files.append((f"jupyter_mlops/{relative.as_posix()}", path.read_bytes()))
    files.append(
        (
            f"{dist_info}/METADATA",
            (
                f"Metadata-Version: 2.1\nName: jupyter-mlops\nVersion: {version}\n"
                "Summary: jupyter-mlops core and pipeline runner (built for a pipeline image)\n"
            ).encode(),
        )
    )
    files.append(
        (
            f"{dist_info}/WHEEL",
            b"Wheel-Version: 1.0\nGenerator: jupyter-mlops export\nRoot-Is-Purelib: true\n"
            b"Tag: py3-none-any\n",
        )
    )
    record_lines = [f"{name},sha256={_urlsafe_digest(data)},{len(data)}" for name, data in files]
    record_lines.append(f"{dist_info}/RECORD,,")
    files.append((f"{dist_info}/RECORD", ("\n".join(record_lines) + "\n").encode()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return f"jupyter_mlops-{version}-py3-none-any.whl", buffer.getvalue()


def _urlsafe_digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
