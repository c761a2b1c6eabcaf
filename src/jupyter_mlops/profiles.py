"""Data profiles: a compact statistical summary of a DataFrame, one entry per column.

A profile is what a data snapshot keeps about the data besides its fingerprint, and it is
enough to serve later as the *reference* of a drift check (see :mod:`jupyter_mlops.drift`):

- numeric and datetime columns keep 101 exact quantiles (0 %, 1 %, ..., 100 %), mean, std,
  min, max, a histogram for drawing, and a seeded, sorted subsample of at most
  :data:`SAMPLE_CAP` values (the two-sample KS test and the Wasserstein distance run on it);
  low-cardinality numeric columns (at most :data:`DISCRETE_CAP` distinct values) also keep
  their value counts, so drift can test them as categories;
- categorical, string and boolean columns keep their value counts, most frequent first, up
  to :data:`CATEGORY_CAP` values, and the count of the rest;
- every column keeps its dtype, its kind, and its null count.

Everything here is pure: pandas/numpy in, frozen dataclasses out, no I/O. ``to_dict`` gives a
compact JSON-able form (samples and quantiles as base64 of byte-shuffled, zlib-compressed
little-endian float64) and ``from_dict`` reads it back exactly.

    >>> import pandas as pd
    >>> frame = pd.DataFrame({"age": [31, 45, None], "city": ["Oslo", "Rome", "Oslo"]})
    >>> profile = profile_frame(frame)
    >>> profile.column("age").kind, profile.column("age").null_count
    ('numeric', 1)
    >>> profile.column("city").categories
    (('Oslo', 2), ('Rome', 1))
"""

from __future__ import annotations

import base64
import heapq
import logging
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import InvalidInputError, NotFoundError

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

SAMPLE_CAP = 10_000
"""Values kept per numeric column: a seeded subsample, sorted."""

CATEGORY_CAP = 1_000
"""Distinct values kept per categorical column, most frequent first; the rest are counted."""

DISTINCT_CAP = 1_000
"""Distinct values of a numeric column are counted exactly up to this many, else ``None``."""

DISCRETE_CAP = 20
"""Numeric columns with at most this many distinct values also keep their value counts."""

HISTOGRAM_BINS = 20
"""Equal-width bins of the drawing histogram of a numeric column."""

QUANTILE_LEVELS: tuple[float, ...] = tuple(i / 100 for i in range(101))
"""The probabilities at which ``ColumnProfile.quantiles`` are taken: 0.00, 0.01, ..., 1.00."""

PROFILE_FORMAT = "jupyter-mlops/profile"
PROFILE_VERSION = 1

KINDS = ("numeric", "categorical", "datetime", "boolean", "empty", "unsupported")
"""What a column is treated as; decides which statistics it has and which drift test applies."""

_SECONDS_PER_UNIT = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}
_NUMERIC_OBJECT_TYPES = {"integer", "floating", "mixed-integer-float", "decimal"}


@dataclass(frozen=True)
class ColumnProfile:
    """Summary statistics of one column.

    ``count`` is the number of usable values (non-null, and finite for numbers);
    ``count + null_count + inf_count`` is the number of rows. Datetimes are described in
    epoch seconds (UTC for tz-aware columns), timedeltas in seconds.

    Example::

        col = profile_frame(df).column("income")
        col.quantiles[50]        # the median
        col.null_count / (col.count + col.null_count + col.inf_count)   # null rate
    """

    name: str
    dtype: str
    kind: str
    count: int
    null_count: int
    mean: float | None = None
    std: float | None = None
    min: float | None = None
    max: float | None = None
    quantiles: tuple[float, ...] = ()
    sample: tuple[float, ...] = ()
    histogram: tuple[tuple[float, ...], tuple[int, ...]] | None = None
    distinct: int | None = None
    categories: tuple[tuple[str, int], ...] = ()
    other_count: int = 0
    inf_count: int = 0
    note: str = ""

    @property
    def n_rows(self) -> int:
        """Rows in the profiled column: usable values, nulls and infinities."""
        return self.count + self.null_count + self.inf_count

    @property
    def null_rate(self) -> float | None:
        """Share of rows that are null, or ``None`` for a column with no rows."""
        rows = self.n_rows
        return self.null_count / rows if rows else None

    @property
    def is_sampled(self) -> bool:
        """True when ``sample`` holds a subsample rather than every usable value."""
        return len(self.sample) < self.count


@dataclass(frozen=True)
class DataProfile:
    """The profile of a whole DataFrame: its row count and one :class:`ColumnProfile` per column.

    Example::

        profile = profile_frame(train_df)
        stored = json.dumps(profile.to_dict())
        again = DataProfile.from_dict(json.loads(stored))
        assert again == profile
    """

    n_rows: int
    columns: tuple[ColumnProfile, ...]
    sample_cap: int = SAMPLE_CAP
    seed: int = 0

    @property
    def column_names(self) -> tuple[str, ...]:
        """Names of the profiled columns, in frame order."""
        return tuple(col.name for col in self.columns)

    def __contains__(self, name: object) -> bool:
        return any(col.name == name for col in self.columns)

    def column(self, name: str) -> ColumnProfile:
        """The profile of column ``name``; ``NotFoundError`` naming it when it was not profiled."""
        for col in self.columns:
            if col.name == name:
                return col
        known = ", ".join(self.column_names[:20]) or "none"
        raise NotFoundError(
            f'Column "{name}" is not in this profile (columns: {known})',
            hint="Check the column name; profiles keep the frame's column names as strings.",
        )

    def to_dict(self) -> dict[str, Any]:
        """A compact JSON-able form; ``DataProfile.from_dict`` reads it back exactly."""
        return {
            "format": PROFILE_FORMAT,
            "version": PROFILE_VERSION,
            "n_rows": self.n_rows,
            "sample_cap": self.sample_cap,
            "seed": self.seed,
            "columns": [_column_to_dict(col) for col in self.columns],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DataProfile:
        """Rebuild a profile from ``to_dict()`` output; ``InvalidInputError`` if it is not one."""
        if not isinstance(data, dict) or data.get("format") != PROFILE_FORMAT:
            raise InvalidInputError(
                "This is not a jupyter-mlops data profile (missing its format marker)",
                hint="Pass the dictionary produced by DataProfile.to_dict().",
            )
        version = data.get("version")
        if version != PROFILE_VERSION:
            raise InvalidInputError(
                f"Data profile version {version!r} is not supported (this library reads "
                f"version {PROFILE_VERSION})",
                hint="Upgrade jupyter-mlops to read profiles written by a newer version.",
            )
        try:
            return cls(
                n_rows=int(data["n_rows"]),
                columns=tuple(_column_from_dict(col) for col in data["columns"]),
                sample_cap=int(data.get("sample_cap", SAMPLE_CAP)),
                seed=int(data.get("seed", 0)),
            )
        except (KeyError, TypeError, ValueError, zlib.error) as exc:
            raise InvalidInputError(
                f"The data profile is damaged: {exc}",
                hint="Re-create it with profile_frame() from the data.",
            ) from exc


@dataclass(frozen=True, eq=False)
class ColumnValues:
    """One column read into typed arrays: the raw material of a profile and of a drift test.

    ``numbers`` holds the finite values of numeric, datetime (epoch seconds) and timedelta
    (seconds) columns, unsorted, as float64. ``labels``/``label_counts`` hold the distinct
    values of categorical and boolean columns as strings with their counts, most frequent
    first (ties by label) for the first ``CATEGORY_CAP``. ``note`` says why a column is
    ``unsupported``.
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


def profile_frame(
    frame: pd.DataFrame, *, sample_cap: int = SAMPLE_CAP, seed: int = 0
) -> DataProfile:
    """Profile every column of ``frame``.

    ``sample_cap`` bounds the sorted subsample kept per numeric column; ``seed`` makes the
    subsample reproducible (each column draws from its own stream, derived from the seed and
    the column name, so adding a column does not change the others' samples).

    Column names are kept as strings; two columns whose names read the same are refused.
    Cost is one sort per numeric column (about 70 ms per million values) and one hash pass
    per categorical column.

    Example::

        >>> import numpy as np, pandas as pd
        >>> df = pd.DataFrame({"x": np.arange(1000.0), "flag": [True, False] * 500})
        >>> p = profile_frame(df)
        >>> p.n_rows, p.column("x").quantiles[50], p.column("flag").categories
        (1000, 499.5, (('False', 500), ('True', 500)))
    """
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise InvalidInputError(
            f"profile_frame() needs a pandas DataFrame, not {type(frame).__name__}",
            hint="Wrap a Series with .to_frame(), or build a DataFrame from your data first.",
        )
    if isinstance(sample_cap, bool) or not isinstance(sample_cap, int) or sample_cap < 1:
        raise InvalidInputError(
            f"sample_cap must be a positive integer, not {sample_cap!r}",
            hint=f"Use the default ({SAMPLE_CAP}) unless memory is tight.",
        )
    names = column_names(frame)
    columns = tuple(
        profile_values(column_values(frame.iloc[:, position], name), sample_cap, seed)
        for position, name in enumerate(names)
    )
    return DataProfile(n_rows=len(frame), columns=columns, sample_cap=sample_cap, seed=seed)


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


def profile_values(
    values: ColumnValues, sample_cap: int = SAMPLE_CAP, seed: int = 0
) -> ColumnProfile:
    """Summarise one :class:`ColumnValues` into a :class:`ColumnProfile`."""
    base: dict[str, Any] = {
        "name": values.name,
        "dtype": values.dtype,
        "count": values.count,
        "null_count": values.null_count,
        "inf_count": values.inf_count,
    }
    if values.kind in ("categorical", "boolean"):
        if values.count == 0:
            return ColumnProfile(kind="empty", **base)
        kept = min(len(values.labels), CATEGORY_CAP)
        return ColumnProfile(
            kind=values.kind,
            categories=tuple(zip(values.labels[:kept], values.label_counts[:kept], strict=True)),
            other_count=int(sum(values.label_counts[kept:])),
            distinct=len(values.labels),
            **base,
        )
    if values.kind in ("numeric", "datetime"):
        if values.count == 0 or values.numbers is None:
            return ColumnProfile(kind="empty", **base)
        return _numeric_profile(values, base, sample_cap, seed)
    return ColumnProfile(kind=values.kind, note=values.note, **base)


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


# --- reading columns -------------------------------------------------------------------------


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


# --- numeric summaries ------------------------------------------------------------------------


def _numeric_profile(
    values: ColumnValues, base: dict[str, Any], sample_cap: int, seed: int
) -> ColumnProfile:
    assert values.numbers is not None
    ordered = np.sort(values.numbers)
    n = len(ordered)
    low, high = float(ordered[0]), float(ordered[-1])
    with np.errstate(over="ignore", invalid="ignore"):  # sums near the float limits overflow
        mean = _finite_or_none(ordered.mean())
        std = _finite_or_none(ordered.std(ddof=1)) if n > 1 else None
    uniques, counts = distinct_counts(ordered)
    distinct = len(uniques) if len(uniques) <= DISTINCT_CAP else None
    categories: tuple[tuple[str, int], ...] = ()
    if len(uniques) <= DISCRETE_CAP:
        order = np.lexsort((uniques, -counts))
        categories = tuple((number_label(uniques[i]), int(counts[i])) for i in order)
    return ColumnProfile(
        kind=values.kind,
        mean=mean,
        std=std,
        min=low,
        max=high,
        quantiles=tuple(quantiles_of_sorted(ordered, np.asarray(QUANTILE_LEVELS)).tolist()),
        sample=tuple(sorted_sample(ordered, sample_cap, column_rng(seed, values.name)).tolist()),
        histogram=_histogram(ordered, low, high),
        distinct=distinct,
        categories=categories,
        **base,
    )


def _histogram(
    ordered: np.ndarray, low: float, high: float
) -> tuple[tuple[float, ...], tuple[int, ...]] | None:
    if low == high:
        return (low, high), (len(ordered),)
    with np.errstate(over="ignore", invalid="ignore"):
        edges = np.linspace(low, high, HISTOGRAM_BINS + 1)
    if not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
        return None
    edges[-1] = high
    cuts = np.searchsorted(ordered, edges[1:-1], side="left")
    counts = np.diff(np.concatenate(([0], cuts, [len(ordered)])))
    return tuple(edges.tolist()), tuple(int(c) for c in counts)


def _finite_or_none(value: Any) -> float | None:
    number = float(value)
    return number if np.isfinite(number) else None


# --- serialisation ----------------------------------------------------------------------------

_FLOAT_ARRAY_ENCODING = "f8le-shuffle-zlib-b64"


def encode_floats(values: tuple[float, ...] | np.ndarray) -> str:
    """Float64 values as compact text: little-endian bytes, byte-shuffled, zlib, base64.

    Shuffling puts the sign/exponent bytes of neighbouring values together, which is what
    makes sorted samples compress.
    """
    array = np.asarray(values, dtype="<f8")
    shuffled = array.view(np.uint8).reshape(-1, 8).T.copy()
    return base64.b64encode(zlib.compress(shuffled.tobytes(), 6)).decode("ascii")


def decode_floats(text: str) -> tuple[float, ...]:
    """The inverse of :func:`encode_floats`."""
    raw = np.frombuffer(zlib.decompress(base64.b64decode(text.encode("ascii"))), dtype=np.uint8)
    if raw.size % 8:
        raise ValueError("float array bytes are not a multiple of 8")
    unshuffled = raw.reshape(8, -1).T.copy()
    return tuple(unshuffled.view("<f8").ravel().tolist())


_SCALARS = ("mean", "std", "min", "max", "distinct")


def _column_to_dict(col: ColumnProfile) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": col.name,
        "dtype": col.dtype,
        "kind": col.kind,
        "count": col.count,
        "null_count": col.null_count,
    }
    for key in _SCALARS:
        if getattr(col, key) is not None:
            out[key] = getattr(col, key)
    if col.quantiles:
        out["quantiles"] = encode_floats(col.quantiles)
    if col.sample:
        out["sample"] = encode_floats(col.sample)
        out["encoding"] = _FLOAT_ARRAY_ENCODING
    if col.histogram is not None:
        out["histogram"] = {"edges": list(col.histogram[0]), "counts": list(col.histogram[1])}
    if col.categories:
        out["categories"] = [[label, count] for label, count in col.categories]
    if col.other_count:
        out["other_count"] = col.other_count
    if col.inf_count:
        out["inf_count"] = col.inf_count
    if col.note:
        out["note"] = col.note
    return out


def _column_from_dict(data: dict[str, Any]) -> ColumnProfile:
    kind = data["kind"]
    if kind not in KINDS:
        raise ValueError(f"unknown column kind {kind!r}")
    histogram = data.get("histogram")
    return ColumnProfile(
        name=str(data["name"]),
        dtype=str(data["dtype"]),
        kind=kind,
        count=int(data["count"]),
        null_count=int(data["null_count"]),
        mean=_optional_float(data.get("mean")),
        std=_optional_float(data.get("std")),
        min=_optional_float(data.get("min")),
        max=_optional_float(data.get("max")),
        quantiles=decode_floats(data["quantiles"]) if "quantiles" in data else (),
        sample=decode_floats(data["sample"]) if "sample" in data else (),
        histogram=(
            (
                tuple(float(e) for e in histogram["edges"]),
                tuple(int(c) for c in histogram["counts"]),
            )
            if histogram is not None
            else None
        ),
        distinct=int(data["distinct"]) if data.get("distinct") is not None else None,
        categories=tuple((str(label), int(count)) for label, count in data.get("categories", ())),
        other_count=int(data.get("other_count", 0)),
        inf_count=int(data.get("inf_count", 0)),
        note=str(data.get("note", "")),
    )


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)
