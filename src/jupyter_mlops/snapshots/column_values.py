"""One column's values, read the same way for every dtype, for profiles and drift checks."""

from __future__ import annotations

import dataclasses
import heapq
import re
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InvalidInputError

if TYPE_CHECKING:
    import pandas as pd


CATEGORY_CAP = 1_000


_SECONDS_PER_UNIT = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}


_NUMERIC_OBJECT_TYPES = {"integer", "floating", "mixed-integer-float", "decimal"}


ISO_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}"  # a date, then optionally a time and an offset
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?"
)
"""ISO 8601 dates and times as text files hold them: ``2024-05-01``, ``2024-05-01T12:30:00Z``."""


_ISO_SAMPLE = 64


@dataclass(frozen=True, eq=False)
class ColumnValues:
    """One column read into typed arrays: the raw material of a profile and of a drift test.

    ``numbers`` holds the finite values of numeric, datetime (epoch seconds) and timedelta
    (seconds) columns, unsorted, as float64. ``labels``/``label_counts`` hold the distinct
    values of categorical and boolean columns as strings with their counts, most frequent
    first (ties by label) for the first ``CATEGORY_CAP``. ``note`` says why a column is
    ``unsupported``, or that its datetimes were read from text.
    """

    name: str
    dtype: str
    kind: str
    n_rows: int
    null_count: int
    inf_count: int = 0
    numbers: np.ndarray | None = None
    labels: tuple[str, ...] = ()
    label_counts: tuple[int, ...] = ()
    note: str = field(default="")

    @property
    def count(self) -> int:
        """Usable values: rows that are neither null nor infinite."""
        return self.n_rows - self.null_count - self.inf_count


def column_names(frame: pd.DataFrame) -> list[str]:
    """The frame's column names as strings; ``InvalidInputError`` when two read the same."""
    names = [str(name) for name in frame.columns]
    if len(set(names)) != len(names):
        duplicates = sorted({name for name in names if names.count(name) > 1})
        raise InvalidInputError(
            f"The frame has duplicate column names: {', '.join(duplicates)}",
            hint="Rename the columns so each name is unique (df.columns = [...]).",
        )
    return names


def column_values(series: pd.Series, name: str | None = None) -> ColumnValues:
    """Read one column into a :class:`ColumnValues`, deciding its kind from its dtype.

    Object columns are inspected: all strings are categorical, all numbers numeric, all
    booleans boolean, all datetimes datetime; a mix of types is ``unsupported`` with a note
    naming the types found, because comparing "3" with 3 would hide a data problem.
    """
    import pandas as pd

    label = str(series.name) if name is None else name
    dtype = series.dtype
    dtype_name = str(dtype)
    n_rows = len(series)
    if isinstance(dtype, pd.CategoricalDtype):
        return _categorical_values(series, label, dtype_name)
    if pd.api.types.is_bool_dtype(dtype):
        return _boolean_values(series, label, dtype_name)
    if isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(dtype):
        return _datetime_values(series, label, dtype_name)
    if pd.api.types.is_timedelta64_dtype(dtype):
        return _timedelta_values(series, label, dtype_name)
    if pd.api.types.is_complex_dtype(dtype):
        return _unsupported(
            series, label, dtype_name, f"complex dtype {dtype_name} is not profiled"
        )
    if pd.api.types.is_numeric_dtype(dtype):
        return _numeric_values(series, label, dtype_name)
    if pd.api.types.is_string_dtype(dtype) or (isinstance(dtype, np.dtype) and dtype.kind == "O"):
        inferred = pd.api.types.infer_dtype(series, skipna=True)
        if inferred == "empty":
            return ColumnValues(label, dtype_name, "empty", n_rows, int(series.isna().sum()))
        if inferred == "string":
            stamps = _iso_datetimes(series)
            if stamps is not None:
                values = _datetime_values(stamps, label, dtype_name)
                return dataclasses.replace(values, note="ISO dates read from text")
            return _categorical_values(series, label, dtype_name)
        if inferred == "boolean":
            return _boolean_values(series, label, dtype_name)
        if inferred in _NUMERIC_OBJECT_TYPES:
            numeric = pd.to_numeric(series, errors="coerce")
            return _numeric_values(numeric, label, dtype_name)
        if inferred in ("datetime", "datetime64", "date"):
            try:
                converted = pd.to_datetime(series, utc=True)
            except (ValueError, TypeError) as exc:
                return _unsupported(
                    series, label, dtype_name, f"datetimes that do not convert: {exc}"
                )
            return _datetime_values(converted, label, dtype_name)
        types = sorted({type(value).__name__ for value in series.dropna()})
        note = (
            f"mixed value types ({', '.join(types[:6])}); cast the column to one type"
            if len(types) > 1
            else f"values of type {types[0]} are not profiled; convert them to numbers, "
            "strings or datetimes"
        )
        return _unsupported(series, label, dtype_name, note)
    if pd.api.types.is_datetime64_any_dtype(dtype):  # e.g. pyarrow timestamps
        as_numpy = pd.Series(pd.DatetimeIndex(series), index=series.index)
        return _datetime_values(as_numpy, label, dtype_name)
    return _unsupported(series, label, dtype_name, f"dtype {dtype_name} is not profiled")


def sorted_sample(sorted_values: np.ndarray, cap: int, rng: np.random.Generator) -> np.ndarray:
    """At most ``cap`` of ``sorted_values`` picked at random without replacement, still sorted."""
    if len(sorted_values) <= cap:
        return sorted_values
    picks = rng.choice(len(sorted_values), size=cap, replace=False)
    picks.sort()
    return sorted_values[picks]


def quantiles_of_sorted(sorted_values: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Linear-interpolation quantiles (numpy's default method) of an already sorted array."""
    n = len(sorted_values)
    position = levels * (n - 1)
    below = np.floor(position).astype(np.intp)
    above = np.minimum(below + 1, n - 1)
    weight = position - below
    low, high = sorted_values[below], sorted_values[above]
    with np.errstate(over="ignore", invalid="ignore"):
        span = high - low
        result = np.where(weight >= 0.5, high - span * (1 - weight), low + span * weight)
        overflowed = ~np.isfinite(result) & np.isfinite(low) & np.isfinite(high)
        if overflowed.any():  # values near the float limits: interpolate without the span
            blended = low * (1 - weight) + high * weight
            result[overflowed] = blended[overflowed]
    exact = weight == 0
    result[exact] = low[exact]
    return result


def number_label(value: float) -> str:
    """The category label of a number: ``"3"`` for integral values, else ``repr`` of the float."""
    number = float(value)
    if number.is_integer() and abs(number) < 2**53:
        return str(int(number))
    return repr(number)


def distinct_counts(sorted_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of a sorted array and how often each occurs."""
    if len(sorted_values) == 0:
        return sorted_values, np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate(([True], sorted_values[1:] != sorted_values[:-1])))
    counts = np.diff(np.append(starts, len(sorted_values)))
    return sorted_values[starts], counts


def column_rng(seed: int, name: str) -> np.random.Generator:
    """The random stream of one column: fixed by the seed and the column's name."""
    return np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])


def _numeric_values(series: pd.Series, name: str, dtype_name: str) -> ColumnValues:
    numbers = series.to_numpy(dtype=np.float64, na_value=np.nan)
    return _from_float_array(numbers, name, dtype_name, "numeric")


def _from_float_array(numbers: np.ndarray, name: str, dtype_name: str, kind: str) -> ColumnValues:
    null_mask = np.isnan(numbers)
    null_count = int(null_mask.sum())
    finite_mask = np.isfinite(numbers)
    inf_count = len(numbers) - null_count - int(finite_mask.sum())
    usable = numbers if null_count == 0 and inf_count == 0 else numbers[finite_mask]
    return ColumnValues(name, dtype_name, kind, len(numbers), null_count, inf_count, numbers=usable)


def _iso_datetimes(series: pd.Series) -> pd.Series | None:
    """The column as UTC datetimes when every value is an ISO 8601 date or time, else None.

    A CSV or JSON file has no datetime type: a column of timestamps arrives as text and would
    be compared as categories, where a shift of months shows as nothing but new labels.
    The first values decide whether the whole column is parsed.
    """
    import pandas as pd

    sample = series.dropna().head(_ISO_SAMPLE)
    if sample.empty or not all(ISO_DATETIME.fullmatch(str(value)) for value in sample):
        return None
    try:
        return pd.to_datetime(series, format="ISO8601", utc=True)
    except (ValueError, TypeError, OverflowError):
        return None  # a later value is not a date after all: the column stays text


def _datetime_values(series: pd.Series, name: str, dtype_name: str) -> ColumnValues:
    import pandas as pd

    if isinstance(series.dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_convert(None)
    stamps = series.to_numpy()
    return _from_time_array(stamps, name, dtype_name, "datetime")


def _timedelta_values(series: pd.Series, name: str, dtype_name: str) -> ColumnValues:
    return _from_time_array(series.to_numpy(), name, dtype_name, "numeric")


def _from_time_array(stamps: np.ndarray, name: str, dtype_name: str, kind: str) -> ColumnValues:
    unit, _ = np.datetime_data(stamps.dtype)
    missing = np.isnat(stamps)
    ticks = stamps.view(np.int64)
    seconds = ticks.astype(np.float64) / _SECONDS_PER_UNIT.get(unit, 1e9)
    seconds[missing] = np.nan
    return _from_float_array(seconds, name, dtype_name, kind)


def _categorical_values(series: pd.Series, name: str, dtype_name: str) -> ColumnValues:
    import pandas as pd

    counts = series.value_counts(dropna=True, sort=False)
    counts = counts[counts.to_numpy() > 0]
    index = counts.index
    if pd.api.types.is_string_dtype(index.dtype) and pd.api.types.infer_dtype(index) == "string":
        labels = index.to_numpy(dtype=object)
    else:
        labels = np.array([str(label) for label in index], dtype=object)
    return _labelled(series, name, dtype_name, "categorical", labels, counts.to_numpy())


def _boolean_values(series: pd.Series, name: str, dtype_name: str) -> ColumnValues:
    counts = series.value_counts(dropna=True, sort=False)
    labels = np.array([str(bool(label)) for label in counts.index], dtype=object)
    return _labelled(series, name, dtype_name, "boolean", labels, counts.to_numpy())


def _labelled(
    series: pd.Series,
    name: str,
    dtype_name: str,
    kind: str,
    labels: np.ndarray,
    counts: np.ndarray,
) -> ColumnValues:
    counts = counts.astype(np.int64)
    if len(labels) != len(set(labels.tolist())):  # distinct values that print the same
        merged: dict[str, int] = {}
        for label, count in zip(labels.tolist(), counts.tolist(), strict=True):
            merged[label] = merged.get(label, 0) + int(count)
        labels = np.array(list(merged), dtype=object)
        counts = np.array(list(merged.values()), dtype=np.int64)
    order = _frequency_order(labels, counts, CATEGORY_CAP)
    n_rows = len(series)
    return ColumnValues(
        name,
        dtype_name,
        kind,
        n_rows,
        n_rows - int(counts.sum()),
        labels=tuple(labels[order].tolist()),
        label_counts=tuple(counts[order].tolist()),
    )


def _frequency_order(labels: np.ndarray, counts: np.ndarray, head: int) -> np.ndarray:
    """Positions ordering labels most frequent first, ties by label, for the first ``head``.

    Beyond ``head`` the order is unspecified: sorting a million distinct identifiers by
    label would cost seconds for values that are only counted.
    """
    if len(labels) <= head:
        return np.lexsort((labels.astype(str), -counts))
    threshold = np.partition(counts, len(counts) - head)[len(counts) - head]
    above = np.flatnonzero(counts > threshold)
    tied = np.flatnonzero(counts == threshold)
    wanted = head - len(above)
    tied_kept = np.array(
        [
            i
            for _, i in heapq.nsmallest(
                wanted, zip(labels[tied].tolist(), tied.tolist(), strict=True)
            )
        ],
        dtype=np.intp,
    )
    kept = np.concatenate((above, tied_kept))
    kept = kept[np.lexsort((labels[kept].astype(str), -counts[kept]))]
    rest = np.ones(len(labels), dtype=bool)
    rest[kept] = False
    return np.concatenate((kept, np.flatnonzero(rest)))


def _unsupported(series: pd.Series, name: str, dtype_name: str, note: str) -> ColumnValues:
    return ColumnValues(
        name, dtype_name, "unsupported", len(series), int(series.isna().sum()), note=note
    )
