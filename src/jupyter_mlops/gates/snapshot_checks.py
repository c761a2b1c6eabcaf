"""Checking data expectations on a stored snapshot, from its schema and profile.

Only the snapshot's schema (names, dtypes, null counts), its row count and its profile
(per column: min, max, distinct count, category counts, a histogram, and when the
profiles module can decode them a sorted sample and quantiles) are at hand, not the data.
What they decide exactly is reported as exact: row counts, columns, dtypes, null shares,
a range that holds the whole [min, max] or none of it, allowed values when every
category was counted. What they can only estimate (the part of the values inside a
range, uniqueness beyond the distinct count) is reported with ``exact=False`` and a
detail that says how it was estimated. When the profile cannot tell at all, the
expectation fails and says why, rather than passing unseen.

    facts = load_snapshot_facts(registry, "churn-train")
    check_snapshot(expect.between("age", 0, 120), facts)
"""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInputError
from ..registry.connection import Registry
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
from .frame_checks import (
    SHOWN_VALUES,
    ExpectationOutcome,
    columns_outcome,
    dtype_verdict,
    missing_column,
    not_null_outcome,
    row_count_outcome,
    share_outcome,
    show,
    timestamp,
)


@dataclass(frozen=True)
class ColumnFacts:
    """What a snapshot's schema and profile say about one column.

    ``count`` is the number of usable values (not missing, finite); ``inf_count`` the
    infinities. ``categories`` holds (label, count) of the most frequent values and
    ``other_count`` how many values the rest account for. ``sample`` and ``quantiles``
    are present when the profile could be decoded.
    """

    name: str
    dtype: str
    kind: str | None
    count: int | None
    null_count: int
    inf_count: int = 0
    min: float | None = None
    max: float | None = None
    distinct: int | None = None
    categories: tuple[tuple[str, int], ...] = ()
    other_count: int = 0
    histogram: tuple[tuple[float, ...], tuple[int, ...]] | None = None
    sample: tuple[float, ...] | None = None
    quantiles: tuple[float, ...] | None = None
    note: str = ""

    @property
    def non_null(self) -> int:
        return (self.count or 0) + self.inf_count

    @property
    def all_categories_counted(self) -> bool:
        return (
            bool(self.categories)
            and self.other_count == 0
            and (sum(c for _, c in self.categories) == self.count)
        )

    @property
    def full_sample(self) -> bool:
        return self.sample is not None and len(self.sample) == self.count


@dataclass(frozen=True)
class SnapshotFacts:
    id: str
    name: str
    n_rows: int
    columns: tuple[ColumnFacts, ...]

    def column(self, name: str) -> ColumnFacts | None:
        for column in self.columns:
            if column.name == name:
                return column
        return None


def load_snapshot_facts(registry: Registry, snapshot: Any) -> SnapshotFacts:
    """Read a stored snapshot's schema and profile (given by record, id or name)."""
    from ..snapshots.store import resolve_snapshot

    snapshot_id = resolve_snapshot(registry, snapshot)
    row = registry.query_one(
        "SELECT id, name, n_rows, schema, profile FROM snapshots WHERE id = ?", (snapshot_id,)
    )
    assert row is not None
    schema = _json(row["schema"])
    profile = _json(row["profile"])
    entries = schema.get("columns", ()) if isinstance(schema, dict) else schema or ()
    profiled = {
        str(c.get("name")): c
        for c in (profile.get("columns", ()) if isinstance(profile, dict) else ())
        if isinstance(c, dict)
    }
    columns = []
    for entry in entries:
        if not isinstance(entry, dict) or "name" not in entry:
            continue
        name = str(entry["name"])
        columns.append(_column_facts(name, entry, profiled.get(name)))
    return SnapshotFacts(row["id"], row["name"], int(row["n_rows"]), tuple(columns))


def _json(text: str | None) -> Any:
    try:
        return json.loads(text or "null")
    except ValueError:
        return None


def _column_facts(name: str, schema: dict[str, Any], profile: dict[str, Any] | None) -> ColumnFacts:
    nulls = int(schema.get("null_count") or 0)
    if profile is None:
        return ColumnFacts(name, str(schema.get("dtype", "")), None, None, nulls)
    histogram = profile.get("histogram")
    return ColumnFacts(
        name=name,
        dtype=str(schema.get("dtype") or profile.get("dtype", "")),
        kind=str(profile.get("kind")),
        count=int(profile.get("count", 0)),
        null_count=int(profile.get("null_count", nulls)),
        inf_count=int(profile.get("inf_count", 0)),
        min=_number(profile.get("min")),
        max=_number(profile.get("max")),
        distinct=None if profile.get("distinct") is None else int(profile["distinct"]),
        categories=tuple(
            (str(label), int(count)) for label, count in profile.get("categories", ())
        ),
        other_count=int(profile.get("other_count", 0)),
        histogram=(
            (
                tuple(float(e) for e in histogram["edges"]),
                tuple(int(c) for c in histogram["counts"]),
            )
            if isinstance(histogram, dict)
            else None
        ),
        sample=_floats(profile.get("sample")),
        quantiles=_floats(profile.get("quantiles")),
        note=str(profile.get("note", "")),
    )


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _floats(value: Any) -> tuple[float, ...] | None:
    """Arrays the profiles module stores compressed; plain lists are taken as they are."""
    if isinstance(value, list):
        return tuple(float(v) for v in value)
    if not isinstance(value, str):
        return None
    try:
        from ..snapshots.profiles import decode_floats

        return tuple(decode_floats(value))
    except (ImportError, ValueError, TypeError):
        return None


def _unknown(expectation: Expectation, why: str) -> ExpectationOutcome:
    return ExpectationOutcome(
        False,
        None,
        expectation.requirement,
        f"cannot be told from the snapshot's profile: {why}; check the DataFrame itself",
        exact=False,
    )


def _epoch(bound: float | str | None, datetimes: bool) -> float | None:
    """A bound as a number comparable with a profile: dates become epoch seconds (UTC)."""
    if bound is None:
        return None
    if not datetimes:
        return float(bound)
    return float(timestamp(bound, None).timestamp())


def check_snapshot(expectation: Expectation, facts: SnapshotFacts) -> ExpectationOutcome:
    """The verdict of ``expectation`` on a stored snapshot, exact where the profile decides it."""
    if isinstance(expectation, RowCount):
        return row_count_outcome(expectation, facts.n_rows)
    if isinstance(expectation, HasColumns):
        return columns_outcome(expectation, [c.name for c in facts.columns])
    column = facts.column(getattr(expectation, "column", ""))
    if column is None:
        return missing_column(expectation, getattr(expectation, "column", None))
    if isinstance(expectation, NotNull):
        return not_null_outcome(expectation, column.null_count, facts.n_rows)
    if isinstance(expectation, DtypeIs):
        return _dtype_on_profile(expectation, column)
    if column.kind is None:
        return _unknown(expectation, f'column "{column.name}" has no profile')
    if column.kind == "empty" or column.non_null == 0:
        return share_outcome(expectation, 0, 0, "")
    if isinstance(expectation, Between):
        return _between_on_profile(expectation, column)
    if isinstance(expectation, InSet):
        return _in_set_on_profile(expectation, column)
    if isinstance(expectation, Unique):
        return _unique_on_profile(expectation, column)
    raise InvalidInputError(f"Cannot check {expectation!r}")


_PROFILE_KINDS = {
    "categorical": "string",
    "numeric": "numeric",
    "boolean": "bool",
    "datetime": "datetime",
}


def _dtype_on_profile(expectation: DtypeIs, column: ColumnFacts) -> ExpectationOutcome:
    decided = dtype_verdict(expectation, column.dtype)
    if decided is not None:
        return decided
    if column.kind == "empty":
        return share_outcome(expectation, 0, 0, "")
    held = _PROFILE_KINDS.get(column.kind or "")
    if held is None:
        why = column.note or "the profile does not say which types the values have"
        return _unknown(expectation, f"object column with {why}")
    if held == "numeric" and expectation.dtype in ("integer", "float"):
        return _unknown(
            expectation, "object column of numbers; the profile does not keep their types"
        )
    total = column.non_null
    detail = f"object column, every value is {held}"
    return share_outcome(expectation, total if held == expectation.dtype else 0, total, detail)


def _between_on_profile(expectation: Between, column: ColumnFacts) -> ExpectationOutcome:
    if column.kind not in ("numeric", "datetime") or column.min is None or column.max is None:
        return ExpectationOutcome(
            False,
            None,
            expectation.requirement,
            f"the column is {column.dtype}, not numbers or dates",
        )
    datetimes = column.kind == "datetime"
    if not datetimes and (isinstance(expectation.min, str) or isinstance(expectation.max, str)):
        return ExpectationOutcome(
            False, None, expectation.requirement, f"date bounds for a {column.dtype} column"
        )
    low, high = _epoch(expectation.min, datetimes), _epoch(expectation.max, datetimes)
    total = column.non_null
    count = column.count or 0
    observed = f"observed min {_show_bound(column.min, datetimes)}, max {_show_bound(column.max, datetimes)}"
    infinities = ""
    if column.inf_count:
        infinities = f"; {column.inf_count:,} infinite value(s) counted as outside"

    def inside(value: float) -> bool:
        above = low is None or (value > low if expectation.strict else value >= low)
        below = high is None or (value < high if expectation.strict else value <= high)
        return above and below

    if inside(column.min) and inside(column.max):
        return share_outcome(
            expectation, count, total, observed + infinities, exact=not column.inf_count
        )
    above_all = high is not None and not inside(column.min) and column.min >= high
    below_all = low is not None and not inside(column.max) and column.max <= low
    if above_all or below_all:
        return share_outcome(expectation, 0, total, observed + "; every value outside")
    if column.kind == "numeric" and column.all_categories_counted:
        passing = sum(n for label, n in column.categories if _label_inside(label, inside))
        return share_outcome(
            expectation, passing, total, observed + infinities, exact=not column.inf_count
        )
    if column.full_sample:
        assert column.sample is not None
        passing = sum(1 for v in column.sample if inside(v))
        return share_outcome(
            expectation, passing, total, observed + infinities, exact=not column.inf_count
        )
    estimate = _estimated_share_inside(column, low, high)
    if estimate is None:
        return _unknown(expectation, "the profile keeps no sample, quantiles or histogram")
    share, how = estimate
    return share_outcome(
        expectation,
        share * count,
        total,
        f"{observed}; estimated from {how}{infinities}",
        exact=False,
    )


def _show_bound(value: float, datetimes: bool) -> str:
    if not datetimes:
        return show(value)
    import pandas as pd

    return str(pd.Timestamp(value, unit="s"))


def _label_inside(label: str, inside: Any) -> bool:
    try:
        return bool(inside(float(label)))
    except ValueError:
        return False


def _estimated_share_inside(
    column: ColumnFacts, low: float | None, high: float | None
) -> tuple[float, str] | None:
    """The share of usable values in [low, high], from the sample, quantiles or histogram."""
    if column.sample:
        ordered = sorted(column.sample)
        left = 0 if low is None else bisect.bisect_left(ordered, low)
        right = len(ordered) if high is None else bisect.bisect_right(ordered, high)
        return max(0, right - left) / len(ordered), f"a sample of {len(ordered):,} values"
    if column.quantiles and len(column.quantiles) > 1:
        return _cdf_between(column.quantiles, low, high), f"{len(column.quantiles)} quantiles"
    if column.histogram is not None:
        return _histogram_between(column.histogram, low, high), "the histogram"
    return None


def _cdf_between(quantiles: tuple[float, ...], low: float | None, high: float | None) -> float:
    import numpy as np

    levels = np.linspace(0.0, 1.0, len(quantiles))
    values = np.asarray(quantiles)
    below_high = 1.0 if high is None else float(np.interp(high, values, levels))
    below_low = 0.0 if low is None else float(np.interp(low, values, levels))
    return max(0.0, below_high - below_low)


def _histogram_between(
    histogram: tuple[tuple[float, ...], tuple[int, ...]], low: float | None, high: float | None
) -> float:
    edges, counts = histogram
    total = sum(counts)
    if total == 0:
        return 0.0
    covered = 0.0
    for index, count in enumerate(counts):
        left, right = edges[index], edges[index + 1]
        start = left if low is None else max(left, low)
        end = right if high is None else min(right, high)
        if right == left:  # a constant column: one bin of zero width
            inside = (low is None or left >= low) and (high is None or left <= high)
            covered += count if inside else 0
        elif end > start:
            covered += count * (end - start) / (right - left)
    return covered / total


def _in_set_on_profile(expectation: InSet, column: ColumnFacts) -> ExpectationOutcome:
    total = column.non_null
    if not column.categories:
        if column.full_sample and all(isinstance(v, (int, float)) for v in expectation.values):
            assert column.sample is not None
            allowed = {float(v) for v in expectation.values if isinstance(v, (int, float))}
            passing = sum(1 for v in column.sample if v in allowed)
            return share_outcome(expectation, passing, total, "from every value's sample")
        return _unknown(expectation, "the profile keeps no category counts for this column")
    labels = _allowed_labels(expectation.values, column.kind)
    passing = sum(n for label, n in column.categories if label in labels)
    unexpected = [(label, n) for label, n in column.categories if label not in labels]
    shown = ", ".join(f"{label!r} ({n:,})" for label, n in unexpected[:SHOWN_VALUES])
    detail = f"not allowed: {shown}" if unexpected else ""
    if column.other_count or column.inf_count:
        rest = column.other_count + column.inf_count
        more = f"{rest:,} value(s) beyond the {len(column.categories):,} counted categories taken as not allowed"
        return share_outcome(
            expectation, passing, total, "; ".join(filter(None, [detail, more])), exact=False
        )
    return share_outcome(expectation, passing, total, detail)


def _allowed_labels(values: tuple[Any, ...], kind: str | None) -> set[str]:
    """The profile labels the allowed values stand for (profiles label values as text)."""
    labels = set()
    for value in values:
        if value is None:
            continue
        if kind == "boolean" and isinstance(value, bool):
            labels.add(str(value))
        elif kind == "categorical" and isinstance(value, str):
            labels.add(value)
        elif kind == "numeric" and isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
            labels.add(
                str(int(number)) if number.is_integer() and abs(number) < 2**53 else repr(number)
            )
    return labels


def _unique_on_profile(expectation: Unique, column: ColumnFacts) -> ExpectationOutcome:
    total = column.non_null
    if column.all_categories_counted and not column.inf_count:
        ones = sum(1 for _, n in column.categories if n == 1)
        repeated = [(label, n) for label, n in column.categories if n > 1]
        shown = ", ".join(f"{label!r} x{n}" for label, n in repeated[:SHOWN_VALUES])
        return share_outcome(
            expectation,
            ones,
            total,
            f"{len(repeated):,} value(s) repeated: {shown}" if repeated else "",
        )
    if column.full_sample and not column.inf_count:
        assert column.sample is not None
        counts: dict[float, int] = {}
        for value in column.sample:
            counts[value] = counts.get(value, 0) + 1
        ones = sum(1 for n in counts.values() if n == 1)
        return share_outcome(expectation, ones, total, "from every value's sample")
    if column.distinct is not None:
        kept = {label: n for label, n in column.categories}
        known_ones = sum(1 for n in kept.values() if n == 1)
        rest_labels = column.distinct - len(kept) + (1 if column.inf_count else 0)
        rest_values = total - sum(kept.values())
        if rest_values == rest_labels:
            return share_outcome(
                expectation, known_ones + rest_labels, total, f"{column.distinct:,} distinct values"
            )
        lowest = known_ones + max(0, 2 * rest_labels - rest_values)
        highest = known_ones + max(0, rest_labels - 1)
        mostly = expectation.mostly
        detail = (
            f"{column.distinct:,} distinct among {total:,} values: between {lowest / total:.4g}"
            f" and {highest / total:.4g} of the values are unique; the lower bound is shown"
        )
        decided = lowest / total >= mostly or highest / total < mostly
        return share_outcome(expectation, lowest, total, detail, exact=decided)
    if column.sample:
        tally: dict[float, int] = {}
        for value in column.sample:
            tally[value] = tally.get(value, 0) + 1
        share = sum(1 for n in tally.values() if n == 1) / len(column.sample)
        has_repeats = share < 1
        how = f"a sample of {len(column.sample):,} values ({'with' if has_repeats else 'without'} repeats)"
        # A repeat inside the sample is a repeat in the data: "all unique" is then surely false.
        certain = has_repeats and expectation.mostly >= 1
        return share_outcome(
            expectation, share * total, total, f"estimated from {how}", exact=certain
        )
    return _unknown(expectation, "the profile does not count distinct values of this column")
