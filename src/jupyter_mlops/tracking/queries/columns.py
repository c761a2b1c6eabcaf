"""Which columns a runs table shows: the parameters that tell the listed runs apart and
the metrics they logged, or the columns someone chose for the experiment.

Every face shows the same columns (the notebook's table and its static form, the
panel, ``jupyter mlops runs``). Columns are named as sorts and filters name values:
``params.lr``, ``metrics.auc``. A parameter with one value in every listed run says
nothing about the runs and is left out by default (an estimator's 21 ``get_params()``
of which two were swept show as two); a chosen set of columns, saved per experiment
(:mod:`..column_choices`), wins over the default.

Parameters recorded from an estimator are nested under its name (``gbm.max_depth``,
``gbm.learning_rate``...): they form a :class:`ParamGroup`, which a table shows as one
column (``gbm`` and its count) until it is expanded::

    columns = table_columns(registry, page, experiment="churn")
    columns.params          # ("lr", "gbm.max_depth")
    columns.groups          # (ParamGroup("gbm", ("gbm.max_depth",), 21),)
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from ...registry.connection import Registry
from ..column_choices import chosen_columns
from .records import RunRow, RunsPage

# A table shows at most this many parameters by default; the chooser reaches the rest.
MAX_DEFAULT_PARAMS = 12


@dataclass(frozen=True)
class ParamGroup:
    """The parameters of one estimator (``gbm.*``): those the table shows, and how many
    the listed runs recorded in all."""

    name: str
    shown: tuple[str, ...]
    keys: tuple[str, ...]

    @property
    def total(self) -> int:
        return len(self.keys)

    def label(self, key: str) -> str:
        """``key`` without the group's name: ``max_depth`` for ``gbm.max_depth``."""
        return key[len(self.name) + 1 :]


@dataclass(frozen=True)
class TableColumns:
    """The columns of a runs table: parameters and metrics shown (in order), every one
    the runs have (for a chooser), the estimator groups, and whether they were chosen
    (saved for the experiment) rather than the default."""

    params: tuple[str, ...]
    metrics: tuple[str, ...]
    all_params: tuple[str, ...]
    all_metrics: tuple[str, ...]
    groups: tuple[ParamGroup, ...] = ()
    chosen: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        """The shown columns by name: ``("params.lr", "metrics.auc")``."""
        return (*(f"params.{k}" for k in self.params), *(f"metrics.{k}" for k in self.metrics))

    @property
    def all_names(self) -> tuple[str, ...]:
        return (
            *(f"params.{k}" for k in self.all_params),
            *(f"metrics.{k}" for k in self.all_metrics),
        )

    def group_of(self, key: str) -> ParamGroup | None:
        """The estimator group parameter ``key`` belongs to, if any."""
        for group in self.groups:
            if key.startswith(group.name + "."):
                return group
        return None


def param_cells(
    columns: TableColumns, expanded: Collection[str] = ()
) -> list[tuple[str, tuple[str, ...]]]:
    """The parameter columns of a table, in order: (title, keys). A group not in
    ``expanded`` is one column, ``gbm (21)``, whose cell lists its shown parameters; an
    expanded group shows each of its parameters."""
    cells: list[tuple[str, tuple[str, ...]]] = []
    placed: set[str] = set()
    for key in columns.params:
        group = columns.group_of(key)
        if group is None:
            cells.append((key, (key,)))
        elif group.name in placed:
            continue
        elif group.name in expanded:
            placed.add(group.name)
            cells += [(member, (member,)) for member in group.keys]
        else:
            placed.add(group.name)
            cells.append((f"{group.name} ({group.total})", group.shown))
    return cells


def differing_params(runs: Sequence[RunRow], keys: Iterable[str]) -> tuple[str, ...]:
    """The parameter ``keys`` whose value is not the same in every run of ``runs`` (a
    run without the parameter counts as a value of its own). With fewer than two runs
    nothing differs and every key is kept."""
    keys = tuple(keys)
    if len(runs) < 2:
        return keys
    missing = object()
    kept = []
    for key in keys:
        first = runs[0].params.get(key, missing)
        if any(_differ(first, run.params.get(key, missing)) for run in runs[1:]):
            kept.append(key)
    return tuple(kept)


def _differ(a: object, b: object) -> bool:
    if type(a) is not type(b):
        return True
    try:
        return bool(a != b)
    except Exception:  # an odd value whose comparison fails: compare what it shows
        return repr(a) != repr(b)


def param_groups(keys: Iterable[str], shown: Iterable[str]) -> tuple[ParamGroup, ...]:
    """Estimator groups of the parameter ``keys``: the names before a dot that at least
    two keys share (``gbm`` of ``gbm.max_depth`` and ``gbm.criterion``)."""
    by_prefix: dict[str, list[str]] = {}
    for key in keys:
        prefix, dot, _ = key.partition(".")
        if dot and prefix:
            by_prefix.setdefault(prefix, []).append(key)
    shown_set = set(shown)
    return tuple(
        ParamGroup(prefix, tuple(k for k in members if k in shown_set), tuple(members))
        for prefix, members in sorted(by_prefix.items())
        if len(members) >= 2
    )


def default_columns(
    runs: Sequence[RunRow],
    param_keys: Sequence[str],
    metric_keys: Sequence[str],
    *,
    max_params: int = MAX_DEFAULT_PARAMS,
) -> TableColumns:
    """The parameters that differ between ``runs`` (the first ``max_params`` of them,
    those most runs have first) and every metric. A list of one run has nothing to
    tell apart: its own parameters show, an estimator's nested ones left folded away."""
    differing = differing_params(runs, param_keys)
    if len(runs) < 2:
        nested = {key for group in param_groups(param_keys, ()) for key in group.keys}
        differing = tuple(key for key in differing if key not in nested)
    counts = {key: sum(key in run.params for run in runs) for key in differing}
    ranked = sorted(differing, key=lambda key: (-counts[key], param_keys.index(key)))
    shown = set(ranked[:max_params])
    params = tuple(key for key in param_keys if key in shown)
    return TableColumns(
        params,
        tuple(metric_keys),
        tuple(param_keys),
        tuple(metric_keys),
        param_groups(param_keys, params),
    )


def table_columns(
    registry: Registry | None, page: RunsPage, *, experiment: str | None = None
) -> TableColumns:
    """The columns of ``page``'s table: those chosen for ``experiment`` (or for the one
    experiment every listed run belongs to) that the runs have, else the default."""
    default = default_columns(page.runs, page.param_keys, page.metric_keys)
    if experiment is None:
        experiments = {run.experiment for run in page.runs}
        experiment = experiments.pop() if len(experiments) == 1 else None
    if registry is None or experiment is None:
        return default
    return apply_choice(default, chosen_columns(registry, experiment))


def apply_choice(default: TableColumns, chosen: Sequence[str] | None) -> TableColumns:
    """``default`` with its shown columns replaced by ``chosen`` (those the runs have, in
    the order chosen); ``default`` itself when nothing chosen is there."""
    if not chosen:
        return default
    params = tuple(
        name[7:] for name in chosen if name.startswith("params.") and name[7:] in default.all_params
    )
    metrics = tuple(
        name[8:]
        for name in chosen
        if name.startswith("metrics.") and name[8:] in default.all_metrics
    )
    if not params and not metrics:
        return default
    return TableColumns(
        params,
        metrics,
        default.all_params,
        default.all_metrics,
        param_groups(default.all_params, params),
        chosen=True,
    )
