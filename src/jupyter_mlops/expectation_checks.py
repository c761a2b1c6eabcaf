"""Checking data expectations on a DataFrame: every value is looked at, the outcome is exact.

    check_frame(expect.between("age", 0, 120, mostly=0.99), frame)
    # ExpectationOutcome(passed=True, actual=0.995, expected=">= 0.99 of values in [0, 120]", ...)

The verdict helpers here are shared with :mod:`jupyter_mlops.snapshot_checks`, which checks
the same expectations on a stored snapshot's schema and profile.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import InvalidInputError
from .expectations import (
    Between,
    DtypeIs,
    Expectation,
    HasColumns,
    InSet,
    NotNull,
    RowCount,
    Unique,
)

if TYPE_CHECKING:
    import pandas as pd


SHOWN_VALUES = 5


@dataclass(frozen=True)
class ExpectationOutcome:
    """The verdict of one expectation on one table.

    ``actual`` is what was measured: the share of values that pass (``between``,
    ``in_set``, ``unique``, ``not_null``, object-column ``dtype``), a dtype, a row count,
    or the missing columns. ``expected`` says what it had to be. ``exact`` is false when
    ``actual`` is an estimate from a snapshot's profile.
    """

    passed: bool
    actual: Any
    expected: str
    detail: str = ""
    exact: bool = True


# -- shared verdicts -------------------------------------------------------------------------------


def missing_column(expectation: Expectation, column: str | None) -> ExpectationOutcome:
    return ExpectationOutcome(False, None, expectation.requirement, f'column "{column}" is missing')


def row_count_outcome(expectation: RowCount, rows: int) -> ExpectationOutcome:
    low_ok = expectation.min is None or rows >= expectation.min
    high_ok = expectation.max is None or rows <= expectation.max
    return ExpectationOutcome(low_ok and high_ok, rows, expectation.requirement)


def columns_outcome(expectation: HasColumns, present: Sequence[str]) -> ExpectationOutcome:
    missing = [c for c in expectation.columns if c not in present]
    detail = f"missing: {', '.join(missing)}" if missing else ""
    return ExpectationOutcome(
        not missing, missing or "all present", expectation.requirement, detail
    )


def not_null_outcome(expectation: NotNull, nulls: int, rows: int) -> ExpectationOutcome:
    share = 1.0 if rows == 0 else (rows - nulls) / rows
    detail = f"{nulls:,} of {rows:,} missing" if nulls else ("no rows" if rows == 0 else "")
    return ExpectationOutcome(share >= expectation.mostly, share, expectation.requirement, detail)


def share_outcome(
    expectation: Expectation, passing: float, total: int, detail: str, *, exact: bool = True
) -> ExpectationOutcome:
    """The verdict from how many of ``total`` non-missing values pass."""
    mostly = float(getattr(expectation, "mostly", 1.0))
    if total == 0:
        return ExpectationOutcome(True, 1.0, expectation.requirement, "no values to check", exact)
    share = passing / total
    return ExpectationOutcome(share >= mostly, share, expectation.requirement, detail, exact)


def kinds_of_dtype(dtype: Any) -> set[str]:
    """The kinds of :data:`~jupyter_mlops.expectations.KINDS` a pandas dtype (or its name) is."""
    import pandas as pd

    api = pd.api.types
    if isinstance(dtype, str):
        try:
            dtype = api.pandas_dtype(dtype)
        except TypeError:
            return set()
    if isinstance(dtype, pd.CategoricalDtype):
        return {"category"}
    if api.is_bool_dtype(dtype):
        return {"bool"}
    if api.is_complex_dtype(dtype):
        return set()
    if api.is_integer_dtype(dtype):
        return {"integer", "numeric"}
    if api.is_float_dtype(dtype):
        return {"float", "numeric"}
    if api.is_numeric_dtype(dtype):
        return {"numeric"}
    if api.is_datetime64_any_dtype(dtype):
        return {"datetime"}
    if isinstance(dtype, pd.StringDtype):
        return {"string"}
    return set()


def same_dtype(actual: Any, expected: str) -> bool:
    """Whether the dtype named ``expected`` is ``actual`` (``int`` is ``int64`` here)."""
    import pandas as pd

    if str(actual) == expected:
        return True
    try:
        wanted = pd.api.types.pandas_dtype(expected)
        return bool(
            wanted == (pd.api.types.pandas_dtype(actual) if isinstance(actual, str) else actual)
        )
    except TypeError:
        return False


def dtype_verdict(expectation: DtypeIs, dtype: Any) -> ExpectationOutcome | None:
    """The verdict when the dtype alone decides it; ``None`` for object columns with a kind."""
    if expectation.dtype not in _KIND_NAMES:
        return ExpectationOutcome(
            same_dtype(dtype, expectation.dtype), str(dtype), expectation.requirement
        )
    if expectation.dtype in kinds_of_dtype(dtype):
        return ExpectationOutcome(True, str(dtype), expectation.requirement)
    if str(dtype) != "object":
        return ExpectationOutcome(False, str(dtype), expectation.requirement)
    return None


_KIND_NAMES = frozenset(("integer", "float", "numeric", "string", "datetime", "bool", "category"))


def timestamp(bound: float | str, tz: Any) -> Any:
    import pandas as pd

    try:
        stamp = pd.Timestamp(bound)
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(
            f"between: {bound!r} is not a date or time",
            hint="Write dates as ISO text: '2024-01-31'.",
        ) from exc
    if tz is not None and stamp.tzinfo is None:
        return stamp.tz_localize(tz)
    if tz is None and stamp.tzinfo is not None:
        return stamp.tz_convert(None)
    return stamp


# -- on a DataFrame -----------------------------------------------------------------------------------


def check_frame(expectation: Expectation, frame: pd.DataFrame) -> ExpectationOutcome:
    """The verdict of ``expectation`` on ``frame``, from every value (exact).

    >>> import pandas as pd
    >>> from jupyter_mlops.expectations import expect
    >>> check_frame(expect.between("age", 0, 120), pd.DataFrame({"age": [3, 140]})).actual
    0.5
    """
    if isinstance(expectation, RowCount):
        return row_count_outcome(expectation, len(frame))
    if isinstance(expectation, HasColumns):
        return columns_outcome(expectation, [str(c) for c in frame.columns])
    column = getattr(expectation, "column", None)
    series = _series(frame, column) if column is not None else None
    if series is None:
        return missing_column(expectation, column)
    if isinstance(expectation, NotNull):
        return not_null_outcome(expectation, int(series.isna().sum()), len(series))
    values = series.dropna()
    if isinstance(expectation, DtypeIs):
        return _dtype_on_frame(expectation, series, values)
    if isinstance(expectation, Between):
        return _between_on_frame(expectation, series, values)
    if isinstance(expectation, InSet):
        return _in_set_on_frame(expectation, values)
    if isinstance(expectation, Unique):
        return _unique_on_frame(expectation, values)
    raise InvalidInputError(f"Cannot check {expectation!r}")


def _series(frame: pd.DataFrame, column: str) -> pd.Series | None:
    for position, label in enumerate(frame.columns):
        if str(label) == column:
            return frame.iloc[:, position]
    return None


def _value_is(kind: str, value: Any) -> bool:
    import datetime as dt

    import numpy as np

    if kind == "string":
        return isinstance(value, str)
    if kind == "bool":
        return isinstance(value, (bool, np.bool_))
    if isinstance(value, (bool, np.bool_)):
        return False
    if kind == "integer":
        return isinstance(value, numbers.Integral)
    if kind == "float":
        return isinstance(value, (float, np.floating))
    if kind == "numeric":
        return isinstance(value, numbers.Real)
    if kind == "datetime":
        return isinstance(value, (dt.datetime, np.datetime64))
    return False


def _dtype_on_frame(
    expectation: DtypeIs, series: pd.Series, values: pd.Series
) -> ExpectationOutcome:
    decided = dtype_verdict(expectation, series.dtype)
    if decided is not None:
        return decided
    matching = sum(1 for value in values if _value_is(expectation.dtype, value))
    total = len(values)
    others = total - matching
    detail = (
        f"object column: {others:,} of {total:,} values are not {expectation.dtype}"
        if others
        else f"object column, every value is {expectation.dtype}"
    )
    return share_outcome(expectation, matching, total, detail)


def _between_on_frame(
    expectation: Between, series: pd.Series, values: pd.Series
) -> ExpectationOutcome:
    import numpy as np
    import pandas as pd

    kinds = kinds_of_dtype(series.dtype)
    numeric_objects = str(series.dtype) == "object" and pd.api.types.infer_dtype(values) in (
        "integer",
        "floating",
        "mixed-integer-float",
    )
    if "datetime" in kinds:
        tz = getattr(series.dtype, "tz", None)
        low = None if expectation.min is None else timestamp(expectation.min, tz)
        high = None if expectation.max is None else timestamp(expectation.max, tz)
        data: Any = values
    elif "numeric" in kinds or numeric_objects:
        if isinstance(expectation.min, str) or isinstance(expectation.max, str):
            return ExpectationOutcome(
                False, None, expectation.requirement, f"date bounds for a {series.dtype} column"
            )
        low, high = expectation.min, expectation.max
        data = pd.to_numeric(values, errors="coerce").astype("float64")
    else:
        return ExpectationOutcome(
            False,
            None,
            expectation.requirement,
            f"the column is {series.dtype}, not numbers or dates",
        )
    inside = np.ones(len(data), dtype=bool)
    if low is not None:
        inside &= (data > low if expectation.strict else data >= low).to_numpy()
    if high is not None:
        inside &= (data < high if expectation.strict else data <= high).to_numpy()
    passing = int(inside.sum())
    detail = ""
    if len(data):
        detail = f"observed min {show(data.min())}, max {show(data.max())}"
        if passing < len(data):
            detail += f"; {len(data) - passing:,} of {len(data):,} values outside"
    return share_outcome(expectation, passing, len(data), detail)


def show(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _in_set_on_frame(expectation: InSet, values: pd.Series) -> ExpectationOutcome:
    allowed = [v for v in expectation.values if v is not None]
    try:
        inside = values.isin(allowed).to_numpy()
    except TypeError:  # unhashable values: compare their text
        inside = values.astype(str).isin([str(v) for v in allowed]).to_numpy()
    passing = int(inside.sum())
    detail = ""
    if passing < len(values):
        unexpected = values[~inside].astype(str).value_counts()
        shown = ", ".join(
            f"{label!r} ({count:,})" for label, count in unexpected.head(SHOWN_VALUES).items()
        )
        more = len(unexpected) - SHOWN_VALUES
        detail = f"not allowed: {shown}" + (f" and {more} more" if more > 0 else "")
    return share_outcome(expectation, passing, len(values), detail)


def _unique_on_frame(expectation: Unique, values: pd.Series) -> ExpectationOutcome:
    try:
        duplicated = values.duplicated(keep=False).to_numpy()
    except TypeError:  # unhashable values such as lists: compare their text
        duplicated = values.astype(str).duplicated(keep=False).to_numpy()
    repeated = int(duplicated.sum())
    detail = ""
    if repeated:
        counts = values[duplicated].astype(str).value_counts()
        shown = ", ".join(
            f"{label!r} x{count}" for label, count in counts.head(SHOWN_VALUES).items()
        )
        detail = f"{len(counts):,} value(s) repeated: {shown}"
    return share_outcome(expectation, len(values) - repeated, len(values), detail)
