"""Randomness without a seed, found in the exported cells before it breaks parity.

A pipeline step reproduces its notebook run only if what it draws at random is drawn
the same way. The exporter reads every exported cell's AST (imports resolved, as
:mod:`.names` reads names) and names each call that draws from an unseeded generator:

- a scikit-learn estimator or splitter built without ``random_state`` when it takes one
  (``train_test_split``, ``RandomForestClassifier``, ``KFold(shuffle=True)``...): the
  real class's signature says so when scikit-learn is loaded (an export from the
  notebook's kernel), else a known list (importing scikit-learn only to ask would cost
  seconds);
  a splitter whose ``shuffle`` is off draws nothing and is not named, nor is an estimator
  that uses ``random_state`` only with options not given (``LogisticRegression()``'s
  default solver, ``SVC()`` without ``probability=True``);
- NumPy's global generator (``np.random.rand``, ``np.random.shuffle``...) when neither
  the setup code nor the step calls ``np.random.seed``; ``np.random.default_rng()``
  and ``RandomState()`` without a seed, always (``--seed`` cannot reach them);
- Python's ``random`` functions when neither the setup code nor the step calls
  ``random.seed``.

A seed counts for the step it is in and, in setup code, for every step: each step
runs in a process of its own. The export warns about each call (cell, line, call,
what to do), and the spec keeps them so that a parity mismatch can name them.

    calls = unseeded_calls(layout)
    calls[0].describe()
    # 'Cell 4, line 2: `train_test_split(X, y)` has no random_state; pass random_state=0'
"""

from __future__ import annotations

import ast
import importlib
import inspect
import sys
from collections.abc import Iterable
from typing import Any

from ..runner.spec import UnseededCallSpec
from .layout import CodeCell, NotebookLayout

# NumPy's global generator: every function of numpy.random but these.
_NUMPY_NOT_GLOBAL = frozenset(
    {
        "seed", "get_state", "set_state", "default_rng", "Generator", "RandomState",
        "SeedSequence", "BitGenerator", "PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64",
        "get_bit_generator", "set_bit_generator",
    }
)  # fmt: skip
_PYTHON_RANDOM = frozenset(
    {
        "random", "randint", "randrange", "choice", "choices", "shuffle", "sample", "uniform",
        "gauss", "normalvariate", "lognormvariate", "triangular", "betavariate",
        "expovariate", "gammavariate", "paretovariate", "weibullvariate", "vonmisesvariate",
        "getrandbits", "randbytes", "binomialvariate",
    }
)  # fmt: skip
# What takes random_state in scikit-learn when it cannot be imported to ask.
_SKLEARN_KNOWN = frozenset(
    {
        "train_test_split", "KFold", "StratifiedKFold", "GroupKFold", "RepeatedKFold",
        "RepeatedStratifiedKFold", "ShuffleSplit", "StratifiedShuffleSplit",
        "GroupShuffleSplit", "RandomForestClassifier", "RandomForestRegressor",
        "ExtraTreesClassifier", "ExtraTreesRegressor", "GradientBoostingClassifier",
        "GradientBoostingRegressor", "HistGradientBoostingClassifier",
        "HistGradientBoostingRegressor", "DecisionTreeClassifier", "DecisionTreeRegressor",
        "ExtraTreeClassifier", "ExtraTreeRegressor", "BaggingClassifier", "BaggingRegressor",
        "AdaBoostClassifier", "AdaBoostRegressor", "IsolationForest", "KMeans",
        "MiniBatchKMeans", "SGDClassifier", "SGDRegressor", "MLPClassifier", "MLPRegressor",
        "LogisticRegression", "LinearSVC", "SVC", "PCA", "TruncatedSVD", "TSNE",
        "RandomizedSearchCV", "Perceptron", "PassiveAggressiveClassifier",
        "LogisticRegressionCV", "NuSVC", "Ridge", "RidgeClassifier", "Lasso", "LassoCV",
        "ElasticNet", "ElasticNetCV", "MultiTaskLasso", "MultiTaskElasticNet",
        "make_classification", "make_regression", "make_blobs", "make_moons", "make_circles",
    }
)  # fmt: skip
_SHUFFLE_OFF_BY_DEFAULT = frozenset({"KFold", "StratifiedKFold", "GroupKFold"})
# Estimators whose random_state is used only with some options (scikit-learn's docs):
# name -> (option, the values that draw); the default draws nothing.
_DRAWS_ONLY_WITH = {
    "LogisticRegression": ("solver", frozenset({"sag", "saga", "liblinear"})),
    "LogisticRegressionCV": ("solver", frozenset({"sag", "saga", "liblinear"})),
    "SVC": ("probability", frozenset({True})),
    "NuSVC": ("probability", frozenset({True})),
    "Ridge": ("solver", frozenset({"sag", "saga"})),
    "RidgeClassifier": ("solver", frozenset({"sag", "saga"})),
    "Lasso": ("selection", frozenset({"random"})),
    "LassoCV": ("selection", frozenset({"random"})),
    "ElasticNet": ("selection", frozenset({"random"})),
    "ElasticNetCV": ("selection", frozenset({"random"})),
    "MultiTaskLasso": ("selection", frozenset({"random"})),
    "MultiTaskElasticNet": ("selection", frozenset({"random"})),
}


def unseeded_calls(
    layout: NotebookLayout, *, ask_sklearn: bool | None = None
) -> tuple[UnseededCallSpec, ...]:
    """Every call in the exported cells of ``layout`` that draws with no seed, in cell order.

    ``ask_sklearn``: read scikit-learn's real signatures (importing it), or only the known
    list; None: the real ones when scikit-learn is loaded already.
    """
    if ask_sklearn is None:
        ask_sklearn = "sklearn" in sys.modules
    setup = list(layout.setup_cells) + list(layout.parameter_cells)
    aliases = _aliases(c.tree for c in [*setup, *(c for s in layout.steps for c in s.cells)])
    setup_seeds = _seeds(setup, aliases)
    found: list[UnseededCallSpec] = []
    for cell in sorted(setup, key=lambda c: c.index):
        found.extend(_in_cell(cell, aliases, setup_seeds, ask_sklearn))
    for step in layout.steps:
        seeds = setup_seeds | _seeds(step.cells, aliases)
        for cell in step.cells:
            found.extend(_in_cell(cell, aliases, seeds, ask_sklearn, step=step.name))
    return tuple(found)


def unseeded_in_cells(
    cells: Iterable[CodeCell], *, ask_sklearn: bool | None = None
) -> tuple[UnseededCallSpec, ...]:
    """Every call in ``cells``, run one after the other in one process (a notebook's
    kernel), that draws with no seed: a seed anywhere in them counts for all."""
    if ask_sklearn is None:
        ask_sklearn = "sklearn" in sys.modules
    cells = list(cells)
    aliases = _aliases(c.tree for c in cells)
    seeds = _seeds(cells, aliases)
    return tuple(call for cell in cells for call in _in_cell(cell, aliases, seeds, ask_sklearn))


def describe(call: UnseededCallSpec) -> str:
    """One line naming the cell, the line, the call and what to do."""
    return f"Cell {call.cell_index + 1}, line {call.line}: `{call.call}` {call.reason}"


def _aliases(trees: Iterable[ast.Module]) -> dict[str, str]:
    """Local name -> dotted module path, from every import of the exported code."""
    found: dict[str, str] = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        found[alias.asname] = alias.name
                    else:
                        head = alias.name.split(".")[0]
                        found[head] = head
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    if alias.name != "*":
                        found[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return found


def _dotted(node: ast.expr, aliases: dict[str, str]) -> str | None:
    """``np.random.rand`` -> ``numpy.random.rand`` when ``np`` is an imported module."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in aliases:
        return None
    return ".".join([aliases[node.id], *reversed(parts)])


def _seeds(cells: Iterable[CodeCell], aliases: dict[str, str]) -> frozenset[str]:
    """Which global generators the cells seed: ``python`` (random.seed), ``numpy``."""
    seeded: set[str] = set()
    for cell in cells:
        for node in ast.walk(cell.tree):
            if isinstance(node, ast.Call):
                name = _dotted(node.func, aliases)
                if name == "random.seed" and node.args:
                    seeded.add("python")
                elif name == "numpy.random.seed" and node.args:
                    seeded.add("numpy")
    return frozenset(seeded)


def _in_cell(
    cell: CodeCell,
    aliases: dict[str, str],
    seeds: frozenset[str],
    ask_sklearn: bool,
    *,
    step: str | None = None,
) -> list[UnseededCallSpec]:
    found = []
    for node in ast.walk(cell.tree):
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func, aliases)
        if name is None:
            continue
        reason = _reason(name, node, seeds, ask_sklearn)
        if reason is None:
            continue
        text = ast.get_source_segment(cell.source, node) or ast.unparse(node)
        text = " ".join(text.split())
        found.append(
            UnseededCallSpec(
                cell_index=cell.index,
                line=node.lineno,
                call=text if len(text) <= 80 else text[:77] + "...",
                reason=reason,
                step=step,
                seedable=not reason.startswith("draws from a new generator"),
            )
        )
    return sorted(found, key=lambda c: c.line)


def _reason(name: str, call: ast.Call, seeds: frozenset[str], ask_sklearn: bool) -> str | None:
    """Why the call draws with no seed, with the fix; None when it does not."""
    head, _, last = name.rpartition(".")
    if head == "numpy.random":
        if last in ("default_rng", "RandomState") and not _given(call, "seed", 0):
            return (
                "draws from a new generator seeded by the operating system; pass a seed,"
                f" as in {last}(0) (--seed cannot reach it)"
            )
        if last not in _NUMPY_NOT_GLOBAL and "numpy" not in seeds:
            return (
                "draws from NumPy's global generator, which nothing seeds; call"
                " np.random.seed(0) in setup code or use np.random.default_rng(0),"
                " or export with --seed N"
            )
        return None
    if name == "random.Random" and not _given(call, "x", 0):
        return (
            "draws from a new generator seeded by the operating system; pass a seed,"
            " as in random.Random(0) (--seed cannot reach it)"
        )
    if head == "random" and last in _PYTHON_RANDOM and "python" not in seeds:
        return (
            "draws from Python's random module, which nothing seeds; call random.seed(0)"
            " in setup code, or export with --seed N"
        )
    if name.startswith("sklearn."):
        return _sklearn_reason(name, last, call, ask_sklearn)
    return None


def _sklearn_reason(name: str, last: str, call: ast.Call, ask_sklearn: bool) -> str | None:
    signature = _signature(name) if ask_sklearn else None
    if signature is None:
        if last not in _SKLEARN_KNOWN:
            return None
        takes_shuffle_off = last in _SHUFFLE_OFF_BY_DEFAULT
        position = None
    else:
        parameters = signature.parameters
        if "random_state" not in parameters:
            return None
        shuffle = parameters.get("shuffle")
        takes_shuffle_off = shuffle is not None and shuffle.default is False
        position = _position(signature, "random_state")
    if last in _DRAWS_ONLY_WITH:
        option, drawing = _DRAWS_ONLY_WITH[last]
        value = _keyword(call, option)
        if value is None:
            return None
        if isinstance(value, ast.Constant) and value.value not in drawing:
            return None
    shuffle_given = _keyword(call, "shuffle")
    if takes_shuffle_off and (shuffle_given is None or _is_false(shuffle_given)):
        return None  # draws nothing: no shuffling
    if shuffle_given is not None and _is_false(shuffle_given):
        return None
    if any(k.arg is None for k in call.keywords):
        return None  # **options may hold it
    state = _keyword(call, "random_state")
    if state is None and position is not None and len(call.args) > position:
        state = call.args[position]
    if state is not None and not (isinstance(state, ast.Constant) and state.value is None):
        return None
    return (
        "has no random_state, so each run draws differently; pass random_state=0"
        " (or a parameter), or export with --seed N"
    )


def _signature(name: str) -> inspect.Signature | None:
    module, _, attribute = name.rpartition(".")
    try:
        target: Any = getattr(importlib.import_module(module), attribute)
        return inspect.signature(target)
    except (ImportError, AttributeError, TypeError, ValueError):
        return None


def _position(signature: inspect.Signature, parameter: str) -> int | None:
    for index, item in enumerate(signature.parameters.values()):
        if item.kind is inspect.Parameter.VAR_POSITIONAL:
            return None
        if item.name == parameter:
            return index if item.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD else None
    return None


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _given(call: ast.Call, name: str, position: int) -> bool:
    value = _keyword(call, name)
    if value is None and len(call.args) > position:
        value = call.args[position]
    return value is not None and not (isinstance(value, ast.Constant) and value.value is None)


def _is_false(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is False
