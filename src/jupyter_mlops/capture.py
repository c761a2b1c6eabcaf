"""What a run records without being asked: parameters, inputs, estimators, environment, git.

Everything here reads code and objects; nothing evaluates user code. Cell source is
parsed with :mod:`ast` (after IPython has turned its magics into Python), so
``lr = 0.1`` becomes a parameter because it *is* a literal, not because it was run.

    literal_assignments("lr = 0.1\\ndepth = 6\\nmodel = fit(lr)")   # {'lr': 0.1, 'depth': 6}
    names_read_first("df = df.dropna()\\nn = len(df)")            # {'df', 'len'}
"""

from __future__ import annotations

import ast
import hashlib
import json
import logging
import os
import re
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

_MAX_PARAM_REPR = 2000
_MAX_ESTIMATOR_PARAMS = 200
_DATA_TYPES = {("pandas", "DataFrame"), ("pandas", "Series"), ("numpy", "ndarray")}


# -- parameters from code -----------------------------------------------------------


def parse_cell(source: str) -> ast.Module | None:
    """The cell's AST, or ``None`` when it is not valid Python (it is then not analysed)."""
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError):
        return None


def literal_assignments(source: str | ast.Module) -> dict[str, Any]:
    """Top-level assignments of literal values: ``lr = 0.1``, ``a, b = 1, "x"``, ``n: int = 3``.

    Values are whatever :func:`ast.literal_eval` accepts (numbers, strings, booleans,
    ``None``, and lists, tuples, dicts and sets of those); names starting with ``_``
    and values whose text is longer than 2,000 characters are left out.
    """
    tree = parse_cell(source) if isinstance(source, str) else source
    if tree is None:
        return {}
    found: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                _collect_literal(target, node.value, found)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            _collect_literal(node.target, node.value, found)
    return found


def _collect_literal(target: ast.expr, value: ast.expr, found: dict[str, Any]) -> None:
    if isinstance(target, ast.Name):
        if target.id.startswith("_"):
            return
        try:
            literal = ast.literal_eval(value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return
        normalised = _json_ready(literal)
        if normalised is _UNSUPPORTED or len(repr(normalised)) > _MAX_PARAM_REPR:
            return
        found[target.id] = normalised
    elif isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List)):
        if len(target.elts) == len(value.elts):
            for sub_target, sub_value in zip(target.elts, value.elts):
                _collect_literal(sub_target, sub_value, found)


_UNSUPPORTED = object()


def _json_ready(value: Any) -> Any:
    """Tuples become lists, sets sorted lists; anything JSON cannot hold is unsupported."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        items = [_json_ready(v) for v in value]
        return _UNSUPPORTED if any(i is _UNSUPPORTED for i in items) else items
    if isinstance(value, (set, frozenset)):
        try:
            return _json_ready(sorted(value))
        except TypeError:
            return _UNSUPPORTED
    if isinstance(value, dict):
        if not all(isinstance(k, (str, int, float, bool)) for k in value):
            return _UNSUPPORTED
        entries = {str(k): _json_ready(v) for k, v in value.items()}
        return _UNSUPPORTED if any(i is _UNSUPPORTED for i in entries.values()) else entries
    return _UNSUPPORTED


# -- names a cell reads -------------------------------------------------------------------


class _ReadsBeforeWrites(ast.NodeVisitor):
    """Collect names read before the cell assigns them, in evaluation order."""

    def __init__(self) -> None:
        self.assigned: set[str] = set()
        self.read_first: set[str] = set()
        self.mentioned: set[str] = set()

    def visit_Name(self, node: ast.Name) -> None:
        self.mentioned.add(node.id)
        if isinstance(node.ctx, ast.Load):
            if node.id not in self.assigned:
                self.read_first.add(node.id)
        else:
            self.assigned.add(node.id)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            self.visit(target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
        self.visit(node.target)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.visit(node.value)
        if isinstance(node.target, ast.Name):
            self.mentioned.add(node.target.id)
            if node.target.id not in self.assigned:
                self.read_first.add(node.target.id)
            self.assigned.add(node.target.id)
        else:
            self.visit(node.target)

    def visit_For(self, node: ast.For) -> None:
        self.visit(node.iter)
        self.visit(node.target)
        for statement in [*node.body, *node.orelse]:
            self.visit(statement)

    def _definition(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        self.assigned.add(node.name)
        self.mentioned.add(node.name)

    visit_FunctionDef = _definition
    visit_AsyncFunctionDef = _definition
    visit_ClassDef = _definition

    def visit_Lambda(self, node: ast.Lambda) -> None:
        return None

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        for alias in node.names:
            name = (alias.asname or alias.name).split(".")[0]
            self.assigned.add(name)

    visit_ImportFrom = visit_Import


def names_read_first(source: str | ast.Module) -> set[str]:
    """Names the cell reads before (or without) assigning them: its inputs.

    ``df = df.dropna()`` reads ``df`` first, so ``df`` is an input; in
    ``df = load(); df.head()`` it is not. Function bodies are not followed.
    """
    tree = parse_cell(source) if isinstance(source, str) else source
    if tree is None:
        return set()
    visitor = _ReadsBeforeWrites()
    visitor.visit(tree)
    return visitor.read_first


def names_mentioned(source: str | ast.Module) -> set[str]:
    """Every plain name the cell reads or assigns (outside function bodies)."""
    tree = parse_cell(source) if isinstance(source, str) else source
    if tree is None:
        return set()
    visitor = _ReadsBeforeWrites()
    visitor.visit(tree)
    return visitor.mentioned


# -- objects in a namespace ---------------------------------------------------------------


def is_data(value: object) -> bool:
    """A pandas DataFrame or Series, or a numpy array: something worth a data snapshot."""
    kind = type(value)
    return (kind.__module__.split(".")[0], kind.__name__) in _DATA_TYPES


def data_inputs(namespace: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """The data objects among ``names`` in ``namespace`` (arrays of fewer than 2 items skipped)."""
    found = {}
    for name in sorted(names):
        if name.startswith("_"):
            continue
        value = namespace.get(name)
        if value is not None and is_data(value) and getattr(value, "size", 2) >= 2:
            found[name] = value
    return found


def is_fitted_estimator(value: object) -> bool:
    """A scikit-learn-style estimator (``fit`` + ``get_params``) that has been fitted.

    Uses scikit-learn's own convention without importing it: ``__sklearn_is_fitted__``
    when defined, else any attribute ending in ``_`` set on the instance.
    """
    kind = type(value)
    if isinstance(value, type) or not (hasattr(kind, "get_params") and hasattr(kind, "fit")):
        return False
    is_fitted = getattr(value, "__sklearn_is_fitted__", None)
    if callable(is_fitted):
        try:
            return bool(is_fitted())
        except Exception:
            return False
    try:
        attributes = vars(value)
    except TypeError:
        return False
    return any(k.endswith("_") and not k.startswith("__") for k in attributes)


def estimator_params(namespace: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """``get_params()`` of the fitted estimators among ``names``, as ``var.param`` keys.

    Nested estimators (pipelines, ensembles) contribute their class name; values that
    are not plain data are recorded as their ``repr``. ``var.estimator`` holds the class.
    """
    params: dict[str, Any] = {}
    for name in sorted(names):
        value = namespace.get(name)
        if name.startswith("_") or value is None or not is_fitted_estimator(value):
            continue
        params[f"{name}.estimator"] = type(value).__name__
        try:
            raw = value.get_params(deep=True)
        except Exception as exc:  # a broken get_params must not stop the user's cell
            logger.debug("get_params() failed on %s: %s", name, exc)
            continue
        for key, param in list(raw.items())[:_MAX_ESTIMATOR_PARAMS]:
            normalised = _json_ready(param)
            if normalised is _UNSUPPORTED:
                normalised = type(param).__name__ if hasattr(param, "get_params") else repr(param)
            if isinstance(normalised, str) and len(normalised) > _MAX_PARAM_REPR:
                normalised = normalised[:_MAX_PARAM_REPR]
            params[f"{name}.{key}"] = normalised
    return params


# -- environment ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Environment:
    """Python, platform, and the versions of the distributions the process has imported."""

    python: str
    platform: str
    packages: tuple[tuple[str, str], ...]

    @property
    def hash(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return {"python": self.python, "platform": self.platform, "packages": dict(self.packages)}


def _normalise(name: str) -> str:
    """A distribution name as PEP 503 compares them: ``Scikit_Learn`` is ``scikit-learn``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_distributions(paths: Iterable[str] | None = None) -> dict[str, list[tuple[str, str]]]:
    """Top-level module name -> [(distribution, version)], read from ``*.dist-info`` folders.

    Reads each distribution's ``top_level.txt`` or, failing that, the first path component
    of its ``RECORD`` as plain text; name and version come from the folder's name. This is
    several times faster than :func:`importlib.metadata.packages_distributions`, which
    builds a path object for every installed file.
    """
    mapping: dict[str, list[tuple[str, str]]] = {}
    seen: set[str] = set()
    for entry in paths if paths is not None else sys.path:
        try:
            items = list(os.scandir(entry or "."))
        except OSError:
            continue
        for item in items:
            if not item.name.endswith((".dist-info", ".egg-info")):
                continue
            stem = item.name.rsplit(".", 1)[0]
            raw_name, _, version = stem.partition("-")
            name = _normalise(raw_name)
            if name in seen or not version:
                continue
            seen.add(name)
            for top in _top_level_modules(item.path) | {name.replace("-", "_")}:
                mapping.setdefault(top, []).append((name, version))
    return mapping


def _top_level_modules(dist_info: str) -> set[str]:
    try:
        with open(os.path.join(dist_info, "top_level.txt"), encoding="utf-8") as handle:
            return {line.strip() for line in handle if line.strip()}
    except OSError:
        pass
    tops: set[str] = set()
    try:
        with open(os.path.join(dist_info, "RECORD"), encoding="utf-8") as handle:
            for line in handle:
                first = line.split(",", 1)[0].split("/", 1)[0]
                if first.endswith((".dist-info", ".egg-info", ".data", ".pth")) or first in (
                    "..",
                    "__pycache__",
                    "",
                ):
                    continue
                tops.add(first[:-3] if first.endswith(".py") else first)
    except OSError:
        pass
    return tops


class _EnvironmentCache:
    """The installed distributions are read once per process, in a thread when asked early.

    :func:`warm_environment` (called by ``%load_ext``) starts reading them in the
    background, so the first run of a notebook does not wait for it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._distributions: dict[str, list[tuple[str, str]]] | None = None
        self._loader: threading.Thread | None = None
        self._last: tuple[int, Environment] | None = None

    def warm(self) -> None:
        with self._lock:
            if self._distributions is not None or self._loader is not None:
                return
            self._loader = threading.Thread(
                target=self._load, name="mlops-environment", daemon=True
            )
            self._loader.start()

    def ready(self) -> bool:
        return self._distributions is not None

    def _load(self) -> None:
        distributions = installed_distributions()
        with self._lock:
            if self._distributions is None:
                self._distributions = distributions

    def current(self) -> Environment:
        loader = self._loader
        if loader is not None:
            loader.join()
        if self._distributions is None:
            self._load()
        with self._lock:
            modules = {name.partition(".")[0] for name in list(sys.modules)}
            if self._last is not None and self._last[0] == len(modules):
                return self._last[1]
            assert self._distributions is not None
            packages: dict[str, str] = {}
            for module in modules:
                if not module.startswith("_"):
                    packages.update(self._distributions.get(module, ()))
            environment = Environment(
                python=sys.version.split()[0],
                platform=_platform(),
                packages=tuple(sorted(packages.items())),
            )
            self._last = (len(modules), environment)
            return environment


_PLATFORM: list[str] = []


def _platform() -> str:
    if not _PLATFORM:
        import platform

        _PLATFORM.append(platform.platform())
    return _PLATFORM[0]


_environment_cache = _EnvironmentCache()


def warm_environment() -> None:
    """Start reading the installed distributions in the background (idempotent)."""
    _environment_cache.warm()


def environment_ready() -> bool:
    """Whether :func:`current_environment` would answer without waiting for the scan."""
    return _environment_cache.ready()


def current_environment() -> Environment:
    """The environment of this process: Python, platform, versions of imported distributions."""
    return _environment_cache.current()


# -- git ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GitState:
    commit: str | None
    branch: str | None
    dirty: bool | None


def git_dir_of(start: Path) -> Path | None:
    """The git directory of the repository containing ``start``, if any."""
    for directory in (start, *start.parents):
        dot_git = directory / ".git"
        if dot_git.is_dir():
            return dot_git
        if dot_git.is_file():  # a worktree or submodule: "gitdir: <path>"
            text = dot_git.read_text(errors="replace").strip()
            if text.startswith("gitdir:"):
                target = Path(text[len("gitdir:") :].strip())
                return target if target.is_absolute() else (directory / target).resolve()
    return None


def read_head(git_dir: Path) -> tuple[str | None, str | None]:
    """(commit, branch) read from the git files directly: no subprocess, microseconds."""
    try:
        head = (git_dir / "HEAD").read_text().strip()
    except OSError:
        return None, None
    if not head.startswith("ref:"):
        return head or None, None
    ref = head[4:].strip()
    branch = ref.removeprefix("refs/heads/")
    common = git_dir
    commondir = git_dir / "commondir"
    if commondir.is_file():
        common = (git_dir / commondir.read_text().strip()).resolve()
    for base in (git_dir, common):
        try:
            return (base / ref).read_text().strip(), branch
        except OSError:
            continue
    try:
        for line in (common / "packed-refs").read_text().splitlines():
            if line.endswith(" " + ref):
                return line.split(" ", 1)[0], branch
    except OSError:
        pass
    return None, branch  # a branch with no commits yet


class _DirtyCache:
    """``git status`` takes tens of milliseconds, so it runs in a thread and is reused briefly."""

    TTL_SECONDS = 5.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._results: dict[Path, tuple[float, bool | None]] = {}
        self._running: dict[Path, threading.Thread] = {}

    def start(self, worktree: Path) -> None:
        with self._lock:
            cached = self._results.get(worktree)
            if cached and time.monotonic() - cached[0] < self.TTL_SECONDS:
                return
            if worktree in self._running:
                return
            thread = threading.Thread(target=self._run, args=(worktree,), daemon=True)
            self._running[worktree] = thread
        thread.start()

    def result(self, worktree: Path, wait: float) -> bool | None:
        with self._lock:
            thread = self._running.get(worktree)
        if thread is not None:
            thread.join(wait)
        with self._lock:
            cached = self._results.get(worktree)
        return cached[1] if cached else None

    def _run(self, worktree: Path) -> None:
        import subprocess

        dirty: bool | None
        try:
            completed = subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no"],
                cwd=worktree,
                capture_output=True,
                text=True,
                timeout=10,
            )
            dirty = bool(completed.stdout.strip()) if completed.returncode == 0 else None
        except (OSError, subprocess.SubprocessError):
            dirty = None
        with self._lock:
            self._results[worktree] = (time.monotonic(), dirty)
            self._running.pop(worktree, None)


_dirty_cache = _DirtyCache()


class GitProbe:
    """Git state for a run: the commit now, the dirty flag when ``git status`` answers."""

    def __init__(self, start: Path) -> None:
        start = start.resolve()
        git_dir = git_dir_of(start)
        self.worktree = start if git_dir is not None else None
        self.commit, self.branch = read_head(git_dir) if git_dir is not None else (None, None)
        if self.worktree is not None:
            _dirty_cache.start(self.worktree)

    def state(self, wait: float = 0.0) -> GitState:
        dirty = _dirty_cache.result(self.worktree, wait) if self.worktree is not None else None
        return GitState(self.commit, self.branch, dirty)
