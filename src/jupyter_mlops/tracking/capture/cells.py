"""What a cell's code tells: literal parameters, the names it reads, its data and estimators."""

from __future__ import annotations

import ast
import functools
import logging
import re
import types
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

logger = logging.getLogger(__name__)


_MAX_PARAM_REPR = 2000


_MAX_ESTIMATOR_PARAMS = 200


_DATA_TYPES = {("pandas", "DataFrame"), ("pandas", "Series"), ("numpy", "ndarray")}

# Types whose values are never data nor an estimator (their classes cannot gain a
# ``fit``): what most names of a cell hold, turned away by one set lookup.
_PLAIN_TYPES = frozenset(
    {
        int,
        float,
        complex,
        bool,
        str,
        bytes,
        type(None),
        list,
        tuple,
        dict,
        set,
        frozenset,
        type,
        types.FunctionType,
        types.BuiltinFunctionType,
        types.ModuleType,
    }
)


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


# An ``=`` that is not part of a comparison, ``:=`` or ``+=`` and the like, then what a literal value may start
# with (blanks and line continuations between): a digit or a dot, a quote (after a
# string prefix), a bracket, a sign, or None, True, False, not, set. The pattern starts
# with the ``=`` itself (the character before it is looked at after it), so that the
# search jumps from one ``=`` to the next instead of trying every position.
_LITERAL_VALUE = re.compile(
    r"=(?<![=!<>:+\-*/%@&|^]=)(?!=)[\s\\]*"
    r"(?:[-+~(\[{'\".0-9]|(?:None|True|False|not|set)\b|[rRbBuUfF]{1,2}['\"])"
)


def may_assign_literals(source: str) -> bool:
    """Whether :func:`literal_assignments` may find something in ``source``, told from
    its text without parsing it (a parse costs microseconds per line, and most cells set
    no literal): ``False`` when no ``=`` is followed by what starts a literal, so that
    there is nothing to find; ``True`` when there may be. Code that is not ASCII is
    always worth a parse (Python reads its names in NFKC form, which the text hides)::

        may_assign_literals("y = x + 1")     # False
        may_assign_literals("lr = 0.1")      # True
    """
    return not source.isascii() or _LITERAL_VALUE.search(source) is not None


# A word of ASCII code that may be a name (also in strings and comments: more than names).
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def possible_names(source: str) -> frozenset[str] | None:
    """Every word of ``source`` that may be a name: a superset of the names its code
    reads or assigns (:func:`names_mentioned`), found without parsing it. ``None`` when
    the code is not ASCII (Python reads non-ASCII names in NFKC form, which the text
    does not show)::

        possible_names("y = x + 1  # plus one")   # {"y", "x", "plus", "one"}
    """
    if not source.isascii():
        return None
    return frozenset(_WORD.findall(source))


def _collect_literal(target: ast.expr, value: ast.expr, found: dict[str, Any]) -> None:
    if isinstance(target, ast.Name):
        if target.id.startswith("_") or not _may_be_literal(value):
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


def _may_be_literal(value: ast.expr) -> bool:
    """Whether :func:`ast.literal_eval` may accept ``value``: a cheap look at its top node
    that spares the failed evaluation of ``y = x + 1`` or ``model = fit(X)``."""
    if isinstance(value, ast.BinOp):  # only complex numbers: 1 + 2j
        return isinstance(value.left, (ast.Constant, ast.UnaryOp)) and isinstance(
            value.right, ast.Constant
        )
    if isinstance(value, ast.Call):  # only set()
        return isinstance(value.func, ast.Name) and value.func.id == "set" and not value.args
    return isinstance(value, _LITERAL_NODES)


_LITERAL_NODES = (ast.Constant, ast.UnaryOp, ast.Tuple, ast.List, ast.Set, ast.Dict)

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


# node type -> the method of _ReadsBeforeWrites that visits it
_VISITS: dict[type, Callable[[Any, Any], object]] = {}


class _ReadsBeforeWrites(ast.NodeVisitor):
    """Collect names read before the cell assigns them, in evaluation order."""

    def __init__(self) -> None:
        self.assigned: set[str] = set()
        self.read_first: set[str] = set()
        self.mentioned: set[str] = set()

    # ast.NodeVisitor finds each node's method by name and walks fields through a
    # generator; a method found once per node type and a plain loop over ``_fields`` make
    # the walk (run before and after every cell of a run) about a third faster.
    def visit(self, node: ast.AST) -> None:
        kind = type(node)
        method = _VISITS.get(kind)
        if method is None:
            found: Callable[[Any, Any], object] = getattr(
                type(self), "visit_" + kind.__name__, type(self).generic_visit
            )
            method = _VISITS[kind] = found
        method(self, node)

    def generic_visit(self, node: ast.AST) -> None:
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        self.visit(item)
            elif isinstance(value, ast.AST):
                self.visit(value)

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


@dataclass(frozen=True)
class CellCode:
    """What a cell's code tells, read from one parse and one walk of its tree.

    ``inputs``: the names it reads before (or without) assigning them; ``mentioned``:
    every plain name it reads or assigns; ``literals``: its literal assignments (see
    :func:`literal_assignments`), read-only. Code that is not valid Python tells nothing.
    """

    inputs: frozenset[str] = frozenset()
    mentioned: frozenset[str] = frozenset()
    literals: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


def read_cell(source: str | ast.Module) -> CellCode:
    """The inputs, names and literal parameters of a cell's (IPython-transformed) code.

    One parse and one walk, for both cell hooks::

        read_cell("model = model.fit(X, y)").inputs    # {"model", "X", "y"}
        read_cell("lr = 0.1; depth = 6").literals      # {"lr": 0.1, "depth": 6}

    A notebook runs the same cells again and again: the readings of the last
    :data:`REMEMBERED_CELLS` texts are kept (texts of up to :data:`REMEMBERED_MAX_CHARS`
    characters) and shared, so ``literals`` is a read-only mapping.
    """
    if isinstance(source, str):
        if len(source) <= REMEMBERED_MAX_CHARS:
            return _read_text(source)
        return _read(parse_cell(source))
    return _read(source)


# How many cell texts read_cell remembers the reading of, and the longest one it keeps.
REMEMBERED_CELLS = 128
REMEMBERED_MAX_CHARS = 50_000


@functools.lru_cache(maxsize=REMEMBERED_CELLS)
def _read_text(source: str) -> CellCode:
    return _read(parse_cell(source))


def _read(tree: ast.Module | None) -> CellCode:
    if tree is None:
        return CellCode()
    visitor = _ReadsBeforeWrites()
    visitor.visit(tree)
    return CellCode(
        frozenset(visitor.read_first),
        frozenset(visitor.mentioned),
        MappingProxyType(literal_assignments(tree)),
    )


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


def is_data(value: object) -> bool:
    """A pandas DataFrame or Series, or a numpy array: something worth a data snapshot."""
    kind = type(value)
    return (kind.__module__.split(".")[0], kind.__name__) in _DATA_TYPES


def data_inputs(namespace: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """The data objects among ``names`` in ``namespace`` (arrays of fewer than 2 items skipped)."""
    found = {}
    for name in sorted(names):
        value = namespace.get(name)
        if value is not None and _is_input(name, value):
            found[name] = value
    return found


def names_data(namespace: Mapping[str, Any], names: Iterable[str]) -> bool:
    """Whether :func:`data_inputs` would find anything, without sorting ``names`` or
    collecting what it finds: what a cell hook asks of every word of a cell."""
    for name in namespace.keys() & names:  # the words that are names, in one C loop
        value = namespace[name]
        if type(value) not in _PLAIN_TYPES and _is_input(name, value):
            return True
    return False


def _is_input(name: str, value: Any) -> bool:
    return not name.startswith("_") and is_data(value) and _items(value) >= 2


def _items(data: Any) -> int:
    """How many values ``data`` holds, from its shape (``DataFrame.size`` costs a numpy call)."""
    count = 1
    for length in getattr(data, "shape", (2,)):
        count *= length
    return count


def may_be_estimator(value: object) -> bool:
    """Whether ``value`` is an instance of a class with ``fit`` and ``get_params``: what
    :func:`is_fitted_estimator` looks at first, without asking whether it is fitted."""
    kind = type(value)
    if kind in _PLAIN_TYPES:
        return False
    return not isinstance(value, type) and hasattr(kind, "get_params") and hasattr(kind, "fit")


def is_fitted_estimator(value: object) -> bool:
    """A scikit-learn-style estimator (``fit`` + ``get_params``) that has been fitted.

    Uses scikit-learn's own convention without importing it: ``__sklearn_is_fitted__``
    when defined, else any attribute ending in ``_`` set on the instance.
    """
    if not may_be_estimator(value):
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
            params[f"{name}.{key}"] = plain_param(param)
    return params


def plain_param(value: Any) -> Any:
    """An estimator's parameter as a run records it: plain data as it is (tuples as
    lists), a nested estimator as its class name, anything else as its ``repr``; text
    is cut at 2,000 characters."""
    normalised = _json_ready(value)
    if normalised is _UNSUPPORTED:
        normalised = type(value).__name__ if hasattr(value, "get_params") else repr(value)
    if isinstance(normalised, str) and len(normalised) > _MAX_PARAM_REPR:
        normalised = normalised[:_MAX_PARAM_REPR]
    return normalised
