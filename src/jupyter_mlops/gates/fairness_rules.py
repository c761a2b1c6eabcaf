"""Fairness functions in gate rules, computed on the evaluation data a gate is given.

    check(registry, ["demographic_parity_difference(sex) <= 0.05",
                     "equalized_odds_difference(age_band) <= 0.1",
                     "min_by(accuracy, sex) >= 0.8"],
          data=scored, prediction="predicted", label="churned")

The data is a DataFrame (or a snapshot stored with its data, ``materialize=True``) with one
row per example: the model's prediction in column ``prediction``, the true label in
column ``label`` (needed only by the functions that compare errors) and the sensitive
columns the rules name. :class:`ScoredData` reads each call of a rule
(``FUNCTION(COLUMN)``, or ``FUNCTION(METRIC, COLUMN)`` for ``min_by``, ``max_by``,
``difference_by`` and ``ratio_by``) and computes it with :mod:`.fairness`; the operand
carries the value of each group, shown beside the verdict.

A call that cannot mean anything is an :class:`ExpressionError` naming what to fix: an
unknown function or metric, a column the data does not have (its columns are listed), no
data, no prediction column, no labels for a function that needs them, a column with one
group.

:func:`fairness_outcomes` evaluates such rules on a frame alone, with no registry and
nothing stored: what a monitoring window of logged predictions and their labels checks.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from ..errors import ExpressionError, InvalidInputError
from ..registry.connection import Registry
from ..tracking import expressions as ex
from .fairness_functions import AGGREGATES, DISPARITIES, FUNCTIONS, GROUP_METRICS
from .rules import Operand, RuleOutcome, evaluate

DATA_HINT = (
    "Give data= a DataFrame with one row per example (--data), prediction='COLUMN' naming"
    " the column of the model's predictions (--prediction) and label='COLUMN' the true"
    " labels (--label)."
)


@dataclass
class ScoredData:
    """Rows with a model's predictions, their labels and sensitive columns, for the calls
    of fairness rules; ``source`` is the rule being read, for messages."""

    frame: Any  # pandas.DataFrame
    prediction: str | None
    label: str | None = None
    positive: Any = None
    source: str = ""
    _computed: dict[ex.Call, Operand] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        for role, column in (("prediction", self.prediction), ("label", self.label)):
            if column is not None and column not in self.frame.columns:
                raise InvalidInputError(
                    f'The {role} column "{column}" is not in the data',
                    hint=f"{_columns_hint(self.frame, column)} Name it with {role}='COLUMN'"
                    f" (--{role}).",
                )

    def call(self, node: ex.Call) -> Operand:
        """The value of one call of a rule, with its per-group table."""
        if node not in self._computed:
            self._computed[node] = self._compute(node)
        return self._computed[node]

    def _compute(self, node: ex.Call) -> Operand:
        shown = ex.to_text(node)
        function = check_function(node, self.source)
        metric = _argument(node, 0, self.source) if function in AGGREGATES else None
        if metric is not None and metric not in GROUP_METRICS:
            raise ExpressionError(
                f'Unknown metric "{metric}" in {shown!r} of {self.source!r}',
                expression=self.source,
                hint=_suggest(metric, GROUP_METRICS, "Metrics"),
            )
        column = _argument(node, len(node.args) - 1, self.source)
        if column not in self.frame.columns:
            raise ExpressionError(
                f'Column "{column}" of {shown!r} is not in the data the gate was given',
                expression=self.source,
                hint=_columns_hint(self.frame, column),
            )
        if self.prediction is None:
            raise ExpressionError(
                f"{shown!r} needs the model's predictions, and no prediction column was named",
                expression=self.source,
                hint="Name the column of the data that holds them: prediction='COLUMN'"
                " (--prediction).",
            )
        needs = DISPARITIES[function].needs_labels if function in DISPARITIES else None
        if (needs or (metric is not None and GROUP_METRICS[metric])) and self.label is None:
            raise ExpressionError(
                f"{shown!r} compares the predictions with the true labels, and no label"
                " column was named",
                expression=self.source,
                hint="Name the column of true labels: label='COLUMN' (--label). Without"
                " labels, demographic_parity_difference and selection_rate still work.",
            )
        from .fairness import fairness_value  # pandas and fairlearn: when a rule needs them

        try:
            found = fairness_value(
                function,
                sensitive=self.frame[column],
                predictions=self.frame[self.prediction],
                labels=None if self.label is None else self.frame[self.label],
                metric=metric,
                positive=self.positive,
                column=column,
                of=shown,
            )
        except InvalidInputError as error:  # of the data: named with the rule it broke
            raise ExpressionError(
                f"{error.message} (rule {self.source!r})",
                expression=self.source,
                hint=error.hint,
            ) from error
        return Operand(found.value, note=found.note, groups=found.table)


def fairness_outcomes(
    rules: str | list[str] | tuple[str, ...],
    data: Any,
    *,
    prediction: str,
    label: str | None = None,
    positive: Any = None,
) -> list[RuleOutcome]:
    """Fairness rules evaluated on the DataFrame ``data`` alone: no registry, no run, nothing
    stored. Rules compare fairness functions with numbers; any other name is an error.

        window = logged.assign(label=feedback)            # a window of served predictions
        [o.passed for o in fairness_outcomes(
            ["demographic_parity_difference(sex) <= 0.05"], window, prediction="output")]
    """
    scored = ScoredData(data, prediction, label, positive)
    outcomes = []
    for rule in [rules] if isinstance(rules, str) else list(rules):
        tree = ex.parse(rule, functions=FUNCTIONS)
        scored.source = rule

        def no_names(name: ex.Name, rule: str = rule) -> Operand:
            raise ExpressionError(
                f'"{name.dotted}" in {rule!r} is read where there are only the data\'s'
                " fairness functions",
                expression=rule,
                hint="Compare the functions with numbers, e.g."
                " demographic_parity_difference(sex) <= 0.05; check run metrics with check().",
            )

        outcomes.append(evaluate(tree, no_names, source=rule, call=scored.call))
    return outcomes


def check_function(node: ex.Call, source: str) -> str:
    """The function a call names, with the number of arguments it takes, or an error."""
    function = node.function
    if function not in FUNCTIONS:
        raise ExpressionError(
            f'Unknown function "{function}" in {source!r}',
            expression=source,
            hint=_suggest(function, FUNCTIONS, "Functions"),
        )
    wanted = 2 if function in AGGREGATES else 1
    if len(node.args) != wanted:
        example = f"{function}(accuracy, sex)" if wanted == 2 else f"{function}(sex)"
        what = "a metric and a sensitive column" if wanted == 2 else "the sensitive column"
        raise ExpressionError(
            f"{function} takes {what}, got {len(node.args)} argument(s) in {source!r}",
            expression=source,
            hint=f"For example {example}.",
        )
    return function


@dataclass
class RuleCalls:
    """The fairness calls of a gate's rules and the data they are computed on: ``data``
    is read at the first call (a stored snapshot's rows are loaded then), each call is
    computed once. ``calls(node, rule)`` gives a call's :class:`Operand`."""

    registry: Registry
    data: Any
    prediction: str | None
    label: str | None
    positive: Any = None
    data_name: str | None = None
    _scored: ScoredData | None = field(default=None, init=False, repr=False)

    def __call__(self, node: ex.Call, rule: str) -> Operand:
        check_function(node, rule)
        if self._scored is None:
            frame = rows_of(self.registry, self.data, node, rule, self.data_name)
            self._scored = ScoredData(frame, self.prediction, self.label, self.positive)
        self._scored.source = rule
        return self._scored.call(node)

    @property
    def columns(self) -> dict[str, Any]:
        """The columns the calls read, for the evaluation's record."""
        return {"prediction": self.prediction, "label": self.label, "positive": self.positive}

    def compute_all(self, rules: list[tuple[str, ex.Expression]]) -> None:
        """Compute every call of ``rules`` now (a promotion does, before it takes the lock:
        fairlearn takes its time on large data); reading the rules then only looks up."""
        for rule, tree in rules:
            for node in ex.calls_in(tree):
                self(node, rule)


def rule_calls(
    registry: Registry,
    rules: list[tuple[str, ex.Expression]],
    data: Any,
    *,
    prediction: str | None,
    label: str | None,
    positive: Any = None,
    data_name: str | None = None,
) -> RuleCalls | None:
    """What the calls of gate ``rules`` (``(text, parsed)`` pairs) are computed on, or
    ``None`` when no rule calls a function; naming columns for no such rule is an error."""
    if any(ex.calls_in(tree) for _, tree in rules):
        return RuleCalls(registry, data, prediction, label, positive, data_name)
    given = [
        f"{name}={value!r}"
        for name, value in (("prediction", prediction), ("label", label), ("positive", positive))
        if value is not None
    ]
    if given:
        raise InvalidInputError(
            f"{', '.join(given)}: these are for fairness rules, and no rule uses one",
            hint="Add a rule such as demographic_parity_difference(sex) <= 0.05, or leave"
            " them out.",
        )
    return None


def rows_of(
    registry: Registry, data: Any, node: ex.Call, source: str, data_name: str | None
) -> Any:
    """The DataFrame a call is computed on: ``data`` itself or a stored snapshot's rows."""
    import pandas as pd

    shown = ex.to_text(node)
    if data is None:
        raise ExpressionError(
            f"{shown!r} is computed on evaluation data, and none was given",
            expression=source,
            hint=DATA_HINT,
        )
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, str) or hasattr(data, "fingerprint"):
        from ..snapshots.store import load_snapshot_data

        frame = load_snapshot_data(registry, data)
        if frame is None:
            name = data_name or getattr(data, "name", None) or data
            raise ExpressionError(
                f'Snapshot "{name}" keeps only its profile, and {shown!r} needs its rows',
                expression=source,
                hint="Snapshot the data with materialize=True (--materialize), or give the"
                " DataFrame itself.",
            )
        return frame
    raise InvalidInputError(
        f"Cannot compute {shown!r} on {type(data).__name__}",
        hint="Give a pandas DataFrame or the name of a snapshot stored with its data.",
    )


def _argument(node: ex.Call, index: int, source: str) -> str:
    arg = node.args[index]
    if isinstance(arg, ex.Name):
        return arg.dotted
    if isinstance(arg.value, str):
        return arg.value
    raise ExpressionError(
        f"{ex.to_text(node)!r} takes names, not {arg.value!r}, in {source!r}",
        expression=source,
        hint=f"Name the column: {node.function}(sex), or `age band` in backticks.",
    )


def _columns_hint(frame: Any, column: str) -> str:
    columns = [str(c) for c in frame.columns]
    close = difflib.get_close_matches(column, columns, n=1)
    listed = ", ".join(columns[:20]) + (", ..." if len(columns) > 20 else "")
    return (f"Did you mean {close[0]}? " if close else "") + f"Its columns: {listed}."


def _suggest(name: str, known: Any, what: str) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return (f"Did you mean {close[0]}? " if close else "") + f"{what}: {', '.join(known)}."
