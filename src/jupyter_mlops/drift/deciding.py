"""Data drift: is the current data still distributed like the reference data?

Pure statistics on frames and profiles, no I/O. For every column the reference and the
current values are compared with a significance test *and* an effect size, because at
100,000 rows a test finds every harmless wobble significant:

==========================  ===============================  ===============================
column                      significance (p-value)           effect (materiality)
==========================  ===============================  ===============================
numeric, datetime           two-sample Kolmogorov-Smirnov    Wasserstein distance / ref. std
                                                             (IQR/1.349 when the std is 0)
categorical, boolean,       chi-squared homogeneity on the   Jensen-Shannon distance, base 2
numeric with <= 5 values    union of categories, rare ones
                            pooled (expected count < 5)
null rate (every column)    two-proportion z-test            Cohen's h
==========================  ===============================  ===============================

When the reference has neither spread nor interquartile range (a constant column tested as
numbers), any significant change counts as material and the reason says so. PSI on the
reference deciles (or on the categories) and the share of unseen categories are reported
alongside. P-values are adjusted across columns (Benjamini-Hochberg by default,
value tests and null-rate tests as two families). A column *drifts* when its adjusted p is at
most ``alpha`` and its effect is at least ``effect_threshold``; its decision is ``retrain``
(adjusted p <= ``retrain_alpha``), ``review`` (up to ``alpha``) or ``monitor``. A null-rate
change alone asks for ``review``: missing values point at the data feed, which retraining
does not fix. Columns that vanished or changed kind also ask for ``review``. The report's
decision is the worst of its columns'; ``gate_passed`` is false when a column named
``critical`` has any decision other than ``monitor``.

The reference may be a DataFrame or a stored :class:`~jupyter_mlops.snapshots.profiles.DataProfile`;
a profile carries what every test needs (its sorted sample for KS and Wasserstein, its
quantiles for PSI, its category counts for chi-squared and Jensen-Shannon).

    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> ref = pd.DataFrame({"x": rng.normal(0, 1, 5_000)})
    >>> cur = pd.DataFrame({"x": rng.normal(1, 1, 5_000)})
    >>> report = drift_report(ref, cur)
    >>> report.decision, report.column("x").drifted
    ('retrain', True)"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InvalidInputError, NotFoundError
from ..snapshots.column_values import column_names
from ..snapshots.profiles import DataProfile
from ..tracking.formatting import figure, percent
from .columns import DISCRETE_MAX, ColumnComparison, FrameSides, compare_column, side_from_profile
from .report import CORRECTIONS, DECISIONS, ColumnDrift, DriftReport
from .statistics import adjust_p_values

if TYPE_CHECKING:
    from collections.abc import Iterable

    import pandas as pd

    from .columns import ColumnSide


logger = logging.getLogger(__name__)


MAX_ROWS = 1_000_000


def drift_report(
    reference: pd.DataFrame | DataProfile,
    current: pd.DataFrame,
    *,
    columns: Iterable[str] | None = None,
    alpha: float = 0.05,
    effect_threshold: float = 0.1,
    correction: str = "bh",
    critical: Iterable[str] = (),
    max_rows: int = MAX_ROWS,
    retrain_alpha: float = 0.01,
    discrete_max: int = DISCRETE_MAX,
    seed: int = 0,
    unseen_threshold: float = 0.1,
) -> DriftReport:
    """Compare ``current`` with ``reference`` column by column; see the module doc for the tests.

    ``reference`` is a DataFrame or a :class:`DataProfile` (e.g. a stored snapshot's).
    ``columns`` limits the comparison (default: every column of either side; a column on one
    side only gets a stated verdict). ``critical`` names columns whose drift fails the gate.
    Sides longer than ``max_rows`` are subsampled with ``seed``; ``discrete_max`` sets when a
    numeric column is tested as categories. A column whose current values are more than
    ``unseen_threshold`` categories the reference never had asks at least for review, tested
    or not (1 turns this off, e.g. for identifiers).

    Example::

        >>> import numpy as np, pandas as pd
        >>> rng = np.random.default_rng(1)
        >>> n = 20_000
        >>> ref = pd.DataFrame({"amount": rng.gamma(2, 10, n), "tier": rng.choice(list("abc"), n)})
        >>> cur = ref.assign(amount=ref["amount"] * 1.05)
        >>> r = drift_report(ref, cur, critical=["amount"])
        >>> r.decision, r.gate_passed, r.column("amount").verdict
        ('monitor', True, 'immaterial')
    """
    import pandas as pd

    settings = _Settings.checked(
        alpha,
        retrain_alpha,
        effect_threshold,
        correction,
        max_rows,
        discrete_max,
        seed,
        unseen_threshold,
    )
    if not isinstance(current, pd.DataFrame):
        raise InvalidInputError(
            f"drift_report() needs the current data as a pandas DataFrame, not "
            f"{type(current).__name__}",
            hint="Pass the DataFrame you want to check against the reference.",
        )
    cur_frame, n_current = _capped(current, max_rows, seed, "current")
    if isinstance(reference, DataProfile):
        if reference.n_rows == 0:
            raise InvalidInputError(
                "The reference profile has no rows, so there is nothing to compare against",
                hint="Snapshot a non-empty reference (e.g. the training data).",
            )
        ref_sides: dict[str, ColumnSide] | FrameSides = {
            col.name: side_from_profile(col) for col in reference.columns
        }
        ref_names = list(reference.column_names)
        n_reference = n_reference_used = reference.n_rows
        source = "profile"
    elif isinstance(reference, pd.DataFrame):
        ref_frame, n_reference = _capped(reference, max_rows, seed, "reference")
        ref_names = column_names(ref_frame)
        ref_sides = FrameSides(ref_frame, ref_names)
        n_reference_used = len(ref_frame)
        source = "frame"
    else:
        raise InvalidInputError(
            f"The drift reference must be a DataFrame or a DataProfile, not "
            f"{type(reference).__name__}",
            hint="Pass the training DataFrame or a snapshot's profile.",
        )
    cur_names = column_names(cur_frame)
    cur_sides = FrameSides(cur_frame, cur_names)
    names = _chosen_columns(columns, ref_names, cur_names)
    critical_names = _chosen_critical(critical, names)

    figures = [
        compare_column(name, ref_sides.get(name), cur_sides.get(name), discrete_max)
        for name in names
    ]
    p_adjusted = _adjusted(figures, "p_value", correction)
    null_p_adjusted = _adjusted(figures, "null_p", correction)
    results = tuple(
        _decide(fig, p, null_p, settings, fig.column in critical_names)
        for fig, p, null_p in zip(figures, p_adjusted, null_p_adjusted, strict=True)
    )
    decision = max((c.decision for c in results), key=DECISIONS.index, default="monitor")
    report = DriftReport(
        decision=decision,
        columns=results,
        alpha=settings.alpha,
        retrain_alpha=settings.retrain_alpha,
        effect_threshold=settings.effect_threshold,
        correction=correction,
        critical=tuple(sorted(critical_names)),
        gate_passed=not any(c.critical and c.decision != "monitor" for c in results),
        reference_source=source,
        n_reference=n_reference,
        n_current=n_current,
        n_reference_used=n_reference_used,
        n_current_used=len(cur_frame),
        subsampled=n_reference_used < n_reference or len(cur_frame) < n_current,
        max_rows=max_rows,
        seed=settings.seed,
        unseen_threshold=settings.unseen_threshold,
    )
    logger.debug("%s", report.summary())
    return report


@dataclass(frozen=True)
class _Settings:
    alpha: float
    retrain_alpha: float
    effect_threshold: float
    correction: str
    max_rows: int
    discrete_max: int
    seed: int
    unseen_threshold: float

    @classmethod
    def checked(
        cls,
        alpha: float,
        retrain_alpha: float,
        effect_threshold: float,
        correction: str,
        max_rows: int,
        discrete_max: int,
        seed: int,
        unseen_threshold: float,
    ) -> _Settings:
        def bad(what: str, hint: str) -> InvalidInputError:
            return InvalidInputError(what, hint=hint)

        if not (isinstance(alpha, (int, float)) and 0 < alpha < 1):
            raise bad(f"alpha must be between 0 and 1, not {alpha!r}", "The usual value is 0.05.")
        if not (isinstance(retrain_alpha, (int, float)) and 0 < retrain_alpha <= alpha):
            raise bad(
                f"retrain_alpha must be above 0 and at most alpha ({alpha}), not {retrain_alpha!r}",
                "The usual value is 0.01.",
            )
        if not (isinstance(effect_threshold, (int, float)) and effect_threshold >= 0):
            raise bad(
                f"effect_threshold must be a number >= 0, not {effect_threshold!r}",
                "The usual value is 0.1; 0 makes every significant change material.",
            )
        if isinstance(unseen_threshold, bool) or not (
            isinstance(unseen_threshold, (int, float)) and 0 <= unseen_threshold <= 1
        ):
            raise bad(
                f"unseen_threshold must be a share between 0 and 1, not {unseen_threshold!r}",
                "The usual value is 0.1; 1 never flags categories the reference lacks.",
            )
        if correction not in CORRECTIONS:
            raise bad(
                f"correction {correction!r} is unknown",
                f"Use one of: {', '.join(CORRECTIONS)}.",
            )
        for label, value, low in (("max_rows", max_rows, 1), ("discrete_max", discrete_max, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise bad(
                    f"{label} must be an integer >= {low}, not {value!r}",
                    "Leave it at its default unless you have a reason.",
                )
        return cls(
            float(alpha),
            float(retrain_alpha),
            float(effect_threshold),
            correction,
            max_rows,
            discrete_max,
            int(seed),
            float(unseen_threshold),
        )


def _adjusted(figures: list[ColumnComparison], raw: str, method: str) -> list[float | None]:
    """Adjusted p-values of one family (value tests or null-rate tests), None where untested."""
    tested = [i for i, fig in enumerate(figures) if getattr(fig, raw) is not None]
    values = adjust_p_values([getattr(figures[i], raw) for i in tested], method)
    adjusted: list[float | None] = [None] * len(figures)
    for i, value in zip(tested, values, strict=True):
        adjusted[i] = float(value)
    return adjusted


def _decide(
    o: ColumnComparison,
    p_adjusted: float | None,
    null_p_adjusted: float | None,
    s: _Settings,
    critical: bool,
) -> ColumnDrift:
    significant = p_adjusted is not None and p_adjusted <= s.alpha
    unseen = o.unseen_share is not None and o.unseen_share > s.unseen_threshold
    material = (
        o.constant_scale or unseen or (o.effect is not None and o.effect >= s.effect_threshold)
    )
    drifted = significant and material
    null_drifted = (
        null_p_adjusted is not None
        and null_p_adjusted <= s.alpha
        and o.null_effect is not None
        and o.null_effect >= s.effect_threshold
    )
    decision = "monitor"
    if drifted:
        assert p_adjusted is not None
        decision = "retrain" if p_adjusted <= s.retrain_alpha else "review"
    elif null_drifted or o.schema_change or unseen:
        decision = "review"
    reasons = []
    if unseen:
        assert o.unseen_share is not None
        reasons.append(
            f"{_percent(o.unseen_share)} of the current values are categories the reference "
            f"never had (more than {_percent(s.unseen_threshold)})"
        )
    if o.untested:
        reasons.append(f"values not tested: {o.untested}")
    elif o.test == "none":
        reasons.append(o.note)
    else:
        reasons.append(_value_reason(o, p_adjusted, s, significant, material))
    if o.null_p is not None and (null_drifted or o.null_rate_ref != o.null_rate_cur):
        reasons.append(_null_reason(o, null_p_adjusted, null_drifted))
    if o.note and o.test != "none" and not o.untested:
        reasons.append(o.note)
    if drifted:
        verdict = "drift"
    elif null_drifted:
        verdict = "null-rate drift"
    elif unseen:
        verdict = "unseen categories"
    elif o.untested:
        verdict = "not tested"
    elif significant:
        verdict = "immaterial"
    else:
        verdict = "no drift"
    values = {f.name: getattr(o, f.name) for f in fields(ColumnDrift) if hasattr(o, f.name)}
    values.update(
        p_adjusted=p_adjusted,
        null_p_adjusted=null_p_adjusted,
        drifted=drifted,
        null_drifted=null_drifted,
        decision=decision,
        verdict=verdict,
        reason="; ".join(r for r in reasons if r),
        critical=critical,
    )
    return ColumnDrift(**values)


def _value_reason(
    o: ColumnComparison, p_adjusted: float | None, s: _Settings, significant: bool, material: bool
) -> str:
    test = {"ks": "KS", "chi2": "chi-squared"}[o.test]
    p_text = f"{test} p={_figure(o.p_value)} (adjusted {_figure(p_adjusted)})"
    effect = f"{o.effect_name} {_figure(o.effect)}" if o.effect is not None else o.effect_name
    if significant and material:
        return (
            f"{p_text} <= {s.alpha:g} and {effect} >= {s.effect_threshold:g}: distribution changed"
        )
    if significant:
        return f"{p_text} is significant but {effect} < {s.effect_threshold:g}: immaterial"
    return f"{p_text} > {s.alpha:g}: no significant change ({effect})"


def _null_reason(o: ColumnComparison, null_p_adjusted: float | None, null_drifted: bool) -> str:
    rates = f"null rate {_percent(o.null_rate_ref)} -> {_percent(o.null_rate_cur)}"
    detail = f"p adjusted {_figure(null_p_adjusted)}, Cohen's h {_figure(o.null_effect)}"
    return f"{rates} ({detail}){': changed' if null_drifted else ''}"


def _figure(value: float | None) -> str:
    return figure(value, missing="n/a")


def _percent(value: float | None) -> str:
    return percent(value, missing="n/a")


def _capped(frame: pd.DataFrame, max_rows: int, seed: int, side: str) -> tuple[pd.DataFrame, int]:
    n_rows = len(frame)
    if n_rows == 0:
        raise InvalidInputError(
            f"The {side} data has no rows, so there is nothing to compare",
            hint="Check the query or filter that produced it.",
        )
    if n_rows <= max_rows:
        return frame, n_rows
    rng = np.random.default_rng([seed, 0 if side == "reference" else 1])
    rows = np.sort(rng.choice(n_rows, size=max_rows, replace=False))
    logger.info("drift: %s data subsampled from %d to %d rows", side, n_rows, max_rows)
    return frame.iloc[rows], n_rows


def _chosen_columns(
    columns: Iterable[str] | None, ref_names: list[str], cur_names: list[str]
) -> list[str]:
    if columns is None:
        ref_set = set(ref_names)
        return ref_names + [name for name in cur_names if name not in ref_set]
    if isinstance(columns, str):
        columns = [columns]
    chosen = [str(name) for name in columns]
    known = set(ref_names) | set(cur_names)
    missing = [name for name in chosen if name not in known]
    if missing:
        raise NotFoundError(
            f"Column {', '.join(repr(m) for m in missing)} is in neither the reference nor the "
            "current data",
            hint=f"Known columns: {', '.join(sorted(known)[:20])}.",
        )
    return list(dict.fromkeys(chosen))


def _chosen_critical(critical: Iterable[str], names: list[str]) -> set[str]:
    chosen = {critical} if isinstance(critical, str) else {str(name) for name in critical}
    unknown = sorted(chosen - set(names))
    if unknown:
        raise InvalidInputError(
            f"Critical column {', '.join(repr(u) for u in unknown)} is not among the compared "
            "columns",
            hint="Check the spelling; a gate on a column that is not compared would always pass.",
        )
    return chosen
