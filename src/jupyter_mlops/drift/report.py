"""A drift report as a value: each column's verdict and figures, the decision, and
the JSON form it is stored in."""

from __future__ import annotations

import math
from dataclasses import MISSING, dataclass, fields
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInputError, NotFoundError

if TYPE_CHECKING:
    import pandas as pd


DECISIONS = ("monitor", "review", "retrain")


CORRECTIONS = ("bh", "bonferroni", "none")


VERDICTS = ("drift", "null-rate drift", "unseen categories", "immaterial", "no drift", "not tested")


VERDICT_SEVERITY = (
    "drift",
    "null-rate drift",
    "unseen categories",
    "not tested",
    "immaterial",
    "no drift",
)


REPORT_FORMAT = "jupyter-mlops/drift-report"


REPORT_VERSION = 1


@dataclass(frozen=True)
class ColumnDrift:
    """The drift verdict of one column, with every figure behind it and what a view draws.

    ``p_value``/``p_adjusted`` belong to the value test (``test``: ``"ks"``, ``"chi2"`` or
    ``"none"``); ``null_p``/``null_p_adjusted`` to the null-rate test. ``effect`` is measured
    as ``effect_name`` says. ``n_ref``/``n_cur`` are the values the test used (non-null; the
    reference sample when the reference is a profile). For drawing, numeric columns give
    ``bins`` (shared edges; the end bins take the tails) and categorical ones ``labels``;
    ``ref_shares``/``cur_shares`` are the shares of each side in them.
    """

    column: str
    kind: str
    test: str
    statistic: float | None
    p_value: float | None
    p_adjusted: float | None
    effect: float | None
    effect_name: str
    psi: float | None
    null_rate_ref: float | None
    null_rate_cur: float | None
    null_p: float | None
    null_p_adjusted: float | None
    null_effect: float | None
    unseen_share: float | None
    n_ref: int
    n_cur: int
    drifted: bool
    null_drifted: bool
    decision: str
    verdict: str
    reason: str
    critical: bool = False
    bins: tuple[float, ...] = ()
    labels: tuple[str, ...] = ()
    ref_shares: tuple[float, ...] = ()
    cur_shares: tuple[float, ...] = ()


@dataclass(frozen=True)
class DriftReport:
    """Drift of current data against a reference, column by column, and what to do about it.

    Example::

        report = drift_report(train_profile, todays_df, critical=["amount"])
        report.decision          # "monitor" | "review" | "retrain"
        report.gate_passed       # False when a critical column needs attention
        report.to_frame()        # one row per column, for display
        stored = report.to_dict(); again = DriftReport.from_dict(stored)
    """

    decision: str
    columns: tuple[ColumnDrift, ...]
    alpha: float
    retrain_alpha: float
    effect_threshold: float
    correction: str
    critical: tuple[str, ...]
    gate_passed: bool
    reference_source: str
    n_reference: int
    n_current: int
    n_reference_used: int
    n_current_used: int
    subsampled: bool
    max_rows: int
    seed: int
    unseen_threshold: float = 0.1

    @property
    def drifted_columns(self) -> tuple[str, ...]:
        """Columns whose value distribution drifted (significant and material)."""
        return tuple(col.column for col in self.columns if col.drifted)

    @property
    def null_drifted_columns(self) -> tuple[str, ...]:
        """Columns whose null rate changed significantly and materially."""
        return tuple(col.column for col in self.columns if col.null_drifted)

    @property
    def failed_critical(self) -> tuple[str, ...]:
        """Critical columns whose decision is not ``monitor``: why the gate failed."""
        return tuple(c.column for c in self.columns if c.critical and c.decision != "monitor")

    def by_severity(self) -> tuple[ColumnDrift, ...]:
        """The columns, most severe first: by decision, then verdict (drift, null-rate drift,
        not tested, immaterial, no drift), then adjusted p (smallest first) and effect.

        What tables and lists show first is what needs attention first.
        """

        def key(col: ColumnDrift) -> tuple[int, int, float, float]:
            verdict = VERDICT_SEVERITY.index(col.verdict) if col.verdict in VERDICT_SEVERITY else 9
            p = col.p_adjusted if col.p_adjusted is not None else 1.0
            effect = col.effect if col.effect is not None else 0.0
            return (-DECISIONS.index(col.decision), verdict, p, -effect)

        return tuple(sorted(self.columns, key=key))

    def column(self, name: str) -> ColumnDrift:
        """The verdict of column ``name``; ``NotFoundError`` naming it when it was not compared."""
        for col in self.columns:
            if col.column == name:
                return col
        raise NotFoundError(
            f'Column "{name}" is not in this drift report',
            hint="Use report.columns to see the compared columns.",
        )

    def summary(self) -> str:
        """One line for people: the decision, what drifted, and the gate."""
        parts = [f"Drift decision: {self.decision}"]
        compared = len(self.columns)
        drifted = self.drifted_columns
        parts.append(
            f"{len(drifted)} of {compared} columns drifted"
            + (f" ({', '.join(drifted)})" if drifted else "")
        )
        if self.null_drifted_columns:
            parts.append(f"null rate changed in {', '.join(self.null_drifted_columns)}")
        untested = [c.column for c in self.columns if c.verdict == "not tested"]
        if untested:
            parts.append(f"not tested: {', '.join(untested)}")
        if self.critical:
            failed = self.failed_critical
            parts.append("gate passed" if not failed else f"gate failed on {', '.join(failed)}")
        if self.subsampled:
            parts.append(f"subsampled to {self.n_reference_used:,} / {self.n_current_used:,} rows")
        return "; ".join(parts)

    def __str__(self) -> str:
        return self.summary()

    def to_frame(self) -> pd.DataFrame:
        """One row per column with the figures a table shows (drawing data left out)."""
        import pandas as pd

        skip = {"bins", "labels", "ref_shares", "cur_shares"}
        rows = [
            {f.name: getattr(col, f.name) for f in fields(ColumnDrift) if f.name not in skip}
            for col in self.columns
        ]
        return pd.DataFrame(rows).set_index("column") if rows else pd.DataFrame()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form without NaN or infinity; ``from_dict`` reads it back exactly."""
        data: dict[str, Any] = {"format": REPORT_FORMAT, "version": REPORT_VERSION}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "columns":
                value = [_column_to_dict(col) for col in value]
            elif f.name == "critical":
                value = list(value)
            data[f.name] = value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DriftReport:
        """Rebuild a report from ``to_dict()`` output; ``InvalidInputError`` if it is not one."""
        if not isinstance(data, dict) or data.get("format") != REPORT_FORMAT:
            raise InvalidInputError(
                "This is not a jupyter-mlops drift report (missing its format marker)",
                hint="Pass the dictionary produced by DriftReport.to_dict().",
            )
        if data.get("version") != REPORT_VERSION:
            raise InvalidInputError(
                f"Drift report version {data.get('version')!r} is not supported "
                f"(this library reads version {REPORT_VERSION})",
                hint="Upgrade jupyter-mlops to read reports written by a newer version.",
            )
        try:
            values = {
                f.name: data[f.name] for f in fields(cls) if f.name in data or not _has_default(f)
            }
            values["columns"] = tuple(_column_from_dict(col) for col in data["columns"])
            values["critical"] = tuple(str(name) for name in data["critical"])
            return cls(**values)
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(
                f"The drift report is damaged: {exc!r}",
                hint="Re-run drift_report() on the data.",
            ) from exc


def _column_to_dict(col: ColumnDrift) -> dict[str, Any]:
    data = {f.name: getattr(col, f.name) for f in fields(col)}
    for key in ("bins", "labels", "ref_shares", "cur_shares"):
        data[key] = list(data[key])
    for key, value in data.items():
        if isinstance(value, float) and not math.isfinite(value):
            data[key] = None
    return data


def _column_from_dict(data: dict[str, Any]) -> ColumnDrift:
    values = {f.name: data[f.name] for f in fields(ColumnDrift)}
    for key in ("bins", "ref_shares", "cur_shares"):
        values[key] = tuple(float(v) for v in values[key])
    values["labels"] = tuple(str(v) for v in values["labels"])
    return ColumnDrift(**values)


def _has_default(field: Any) -> bool:
    """Whether a report field may be missing from a stored report (added since, with a default)."""
    return field.default is not MISSING
