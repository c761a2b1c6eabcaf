"""Tests of data profiles: statistics against numpy, kinds, caps, seeding and the stored form."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from jupyter_mlops.errors import InvalidInputError, NotFoundError
from jupyter_mlops.snapshots.column_values import CATEGORY_CAP, quantiles_of_sorted
from jupyter_mlops.snapshots.profiles import (
    DISCRETE_CAP,
    QUANTILE_LEVELS,
    SAMPLE_CAP,
    DataProfile,
    decode_floats,
    encode_floats,
    profile_frame,
)

from .conftest import PARSED_DATES, STRINGS

RNG_SEED = 20240611


def _rich_frame(n: int = 5_000, seed: int = RNG_SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "normal": rng.normal(3, 2, n),
            "integer": rng.integers(0, 1_000, n),
            "small_int": rng.integers(0, 4, n),
            "city": rng.choice(["Oslo", "Rome", "Lima", "Pune"], n),
            "flag": rng.random(n) < 0.3,
            "when": pd.Timestamp("2024-01-01", tz="Europe/Paris")
            + pd.to_timedelta(rng.integers(0, 10**6, n), unit="s"),
            "nullable": pd.array(
                np.where(rng.random(n) < 0.1, None, rng.integers(0, 9, n)), "Int64"
            ),
            "category": pd.Categorical(rng.choice(["lo", "mid", "hi"], n)),
            "mixed": pd.Series([1, "a"] * (n // 2), dtype=object),
            "nothing": pd.Series([None] * n, dtype=object),
        }
    )
    frame.loc[rng.random(n) < 0.05, "normal"] = np.nan
    return frame


@pytest.mark.parametrize(
    "values",
    [
        np.random.default_rng(1).normal(0, 1, 50_000),
        np.random.default_rng(2).lognormal(0, 1.5, 12_345),
        np.random.default_rng(3).integers(-5, 5, 30_001).astype(float),
        np.array([7.25]),
        np.array([1.0, 1.0, 1.0, 2.0]),
    ],
    ids=["normal", "lognormal", "ties", "single", "two-values"],
)
def test_profile_frame_numeric_statistics_match_numpy(values: np.ndarray) -> None:
    col = profile_frame(pd.DataFrame({"x": values})).column("x")
    np.testing.assert_allclose(col.quantiles, np.quantile(values, QUANTILE_LEVELS), rtol=1e-12)
    assert col.mean == pytest.approx(values.mean(), rel=1e-12)
    assert col.min == values.min() and col.max == values.max()
    if len(values) > 1:
        assert col.std == pytest.approx(values.std(ddof=1), rel=1e-9)
    else:
        assert col.std is None
    uniques = np.unique(values)
    assert col.distinct == (len(uniques) if len(uniques) <= 1_000 else None)
    assert col.count == len(values) and col.null_count == 0
    assert len(col.sample) == min(len(values), SAMPLE_CAP)
    assert list(col.sample) == sorted(col.sample)
    assert np.isin(col.sample, values).all()
    assert col.histogram is not None and sum(col.histogram[1]) == len(values)


@pytest.mark.parametrize("n", [1, 2, 3, 10, 101, 1_000])
def test_quantiles_of_sorted_agrees_with_numpy(n: int) -> None:
    values = np.sort(np.random.default_rng(n).standard_t(3, n))
    levels = np.asarray(QUANTILE_LEVELS)
    np.testing.assert_allclose(
        quantiles_of_sorted(values, levels), np.quantile(values, levels), rtol=1e-13
    )


@pytest.mark.parametrize(
    ("column", "kind", "dtype"),
    [
        ("normal", "numeric", "float64"),
        ("integer", "numeric", "int64"),
        ("city", "categorical", STRINGS),
        ("flag", "boolean", "bool"),
        ("when", "datetime", PARSED_DATES.replace("]", ", Europe/Paris]")),
        ("nullable", "numeric", "Int64"),
        ("category", "categorical", "category"),
        ("mixed", "unsupported", "object"),
        ("nothing", "empty", "object"),
    ],
)
def test_profile_frame_kind_follows_dtype(column: str, kind: str, dtype: str) -> None:
    col = profile_frame(_rich_frame()).column(column)
    assert (col.kind, col.dtype) == (kind, dtype)


@pytest.mark.parametrize(
    ("series", "kind"),
    [
        (pd.Series(["a", "b", None], dtype=object), "categorical"),
        (pd.Series([1, 2.5, None], dtype=object), "numeric"),
        (pd.Series([True, False, None], dtype=object), "boolean"),
        (pd.Series([pd.Timestamp("2020-01-01"), None], dtype=object), "datetime"),
        (pd.Series([1, "a", 2.0], dtype=object), "unsupported"),
        (pd.Series([b"a", b"b"]), "unsupported"),
        (pd.Series([{"a": 1}, {"b": 2}]), "unsupported"),
        (pd.Series(pd.period_range("2020-01", periods=2, freq="M")), "unsupported"),
        (
            pd.Series(pd.to_datetime(["2020-01-01", None])).astype("timestamp[ns][pyarrow]"),
            "datetime",
        ),
        (pd.Series([1, None], dtype="int64[pyarrow]"), "numeric"),
        (pd.Series(["a", pd.NA], dtype="string"), "categorical"),
        (pd.Series([True, None], dtype="boolean"), "boolean"),
        (pd.Series([1 + 2j, 3j]), "unsupported"),
        (pd.Series(pd.to_timedelta([1, 2], unit="h")), "numeric"),
        (pd.Series([], dtype=float), "empty"),
        (pd.Series([np.nan, np.nan]), "empty"),
    ],
    ids=[
        "strings",
        "numbers",
        "booleans",
        "datetimes",
        "mixed",
        "bytes",
        "dicts",
        "period",
        "arrow-timestamp",
        "arrow-int",
        "string-na",
        "boolean-na",
        "complex",
        "timedelta",
        "no-rows",
        "all-nan",
    ],
)
def test_profile_frame_reads_object_and_odd_dtypes(series: pd.Series, kind: str) -> None:
    assert profile_frame(series.to_frame("v")).column("v").kind == kind


def test_profile_frame_unsupported_column_says_why() -> None:
    col = profile_frame(_rich_frame()).column("mixed")
    assert "mixed value types (int, str)" in col.note
    assert col.count == 5_000 and col.null_count == 0
    single = profile_frame(pd.DataFrame({"b": [b"x", None]})).column("b")
    assert single.note.startswith("values of type bytes are not profiled")
    assert single.null_count == 1


def test_profile_frame_counts_nulls_and_infinities_apart() -> None:
    frame = pd.DataFrame({"x": [1.0, np.nan, np.inf, -np.inf, 2.0, np.nan]})
    col = profile_frame(frame).column("x")
    assert (col.count, col.null_count, col.inf_count) == (2, 2, 2)
    assert col.null_rate == pytest.approx(2 / 6)
    assert (col.min, col.max, col.mean) == (1.0, 2.0, 1.5)


def test_profile_frame_datetimes_are_utc_epoch_seconds() -> None:
    stamps = pd.Series(pd.to_datetime(["2024-03-01 12:00", "2024-03-02 00:30", None]))
    aware = stamps.dt.tz_localize("UTC").dt.tz_convert("Asia/Tokyo")
    naive_col = profile_frame(stamps.to_frame("t")).column("t")
    aware_col = profile_frame(aware.to_frame("t")).column("t")
    assert naive_col.min == pd.Timestamp("2024-03-01 12:00", tz="UTC").timestamp()
    assert aware_col.quantiles == naive_col.quantiles
    assert aware_col.null_count == 1


def test_profile_frame_categories_most_frequent_first_ties_by_label() -> None:
    frame = pd.DataFrame({"c": ["b", "a", "c", "c", "b", "a", "d", None]})
    col = profile_frame(frame).column("c")
    assert col.categories == (("a", 2), ("b", 2), ("c", 2), ("d", 1))
    assert (col.distinct, col.null_count, col.other_count) == (4, 1, 0)


def test_profile_frame_caps_categories_and_counts_the_rest() -> None:
    n_labels = CATEGORY_CAP + 250
    labels = [f"id{i:05d}" for i in range(n_labels)]
    values = labels + ["id00007"] * 3
    col = profile_frame(pd.DataFrame({"c": values})).column("c")
    assert len(col.categories) == CATEGORY_CAP
    assert col.categories[0] == ("id00007", 4)
    assert col.categories[1:3] == (("id00000", 1), ("id00001", 1))
    assert col.other_count == 250
    assert col.distinct == n_labels
    assert sum(c for _, c in col.categories) + col.other_count == len(values)


def test_profile_frame_keeps_value_counts_of_discrete_numbers_only() -> None:
    rng = np.random.default_rng(RNG_SEED)
    frame = pd.DataFrame(
        {"few": rng.integers(0, 3, 1_000).astype(float), "many": rng.integers(0, 500, 1_000)}
    )
    profile = profile_frame(frame)
    few = dict(profile.column("few").categories)
    assert set(few) == {"0", "1", "2"}
    assert sum(few.values()) == 1_000
    assert profile.column("many").distinct is not None
    assert profile.column("many").distinct > DISCRETE_CAP
    assert profile.column("many").categories == ()


def test_profile_frame_sample_is_seeded_and_per_column() -> None:
    rng = np.random.default_rng(RNG_SEED)
    frame = pd.DataFrame({"x": rng.normal(size=30_000), "y": rng.normal(size=30_000)})
    first = profile_frame(frame, seed=1)
    assert profile_frame(frame, seed=1) == first
    assert profile_frame(frame, seed=2).column("x").sample != first.column("x").sample
    wider = profile_frame(frame.assign(z=1.0), seed=1)
    assert wider.column("x").sample == first.column("x").sample
    assert first.column("x").is_sampled


@pytest.mark.parametrize("cap", [1, 10, 999])
def test_profile_frame_sample_cap_bounds_the_sample(cap: int) -> None:
    frame = pd.DataFrame({"x": np.arange(5_000.0)})
    assert len(profile_frame(frame, sample_cap=cap).column("x").sample) == cap


def test_profile_frame_zero_rows_keeps_dtypes() -> None:
    frame = pd.DataFrame({"x": pd.Series([], dtype="int64"), "s": pd.Series([], dtype=STRINGS)})
    profile = profile_frame(frame)
    assert profile.n_rows == 0
    assert [(c.kind, c.dtype, c.count) for c in profile.columns] == [
        ("empty", "int64", 0),
        ("empty", STRINGS, 0),
    ]


def test_data_profile_column_unknown_name_raises_not_found() -> None:
    with pytest.raises(NotFoundError, match='Column "age" is not in this profile'):
        profile_frame(pd.DataFrame({"x": [1]})).column("age")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: profile_frame(pd.Series([1, 2])), "needs a pandas DataFrame, not Series"),
        (lambda: profile_frame([[1, 2]]), "needs a pandas DataFrame, not list"),
        (lambda: profile_frame(pd.DataFrame({"x": [1]}), sample_cap=0), "sample_cap must be"),
        (
            lambda: profile_frame(pd.DataFrame([[1, 2]], columns=["a", "a"])),
            "duplicate column names: a",
        ),
        (
            lambda: profile_frame(pd.DataFrame([[1, 2]], columns=[1, "1"])),
            "duplicate column names: 1",
        ),
    ],
)
def test_profile_frame_bad_input_raises_invalid_input(call, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        call()


def test_data_profile_round_trips_through_json_exactly() -> None:
    profile = profile_frame(_rich_frame(20_000), seed=5)
    text = json.dumps(profile.to_dict(), allow_nan=False)
    again = DataProfile.from_dict(json.loads(text))
    assert again == profile
    assert again.column("normal").sample == profile.column("normal").sample


def test_data_profile_to_dict_is_compact() -> None:
    profile = profile_frame(pd.DataFrame({"x": np.random.default_rng(0).normal(size=100_000)}))
    size = len(json.dumps(profile.to_dict()))
    raw_base64 = SAMPLE_CAP * 8 * 4 / 3
    assert size < raw_base64


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(
        np.float64,
        st.integers(0, 300),
        elements=st.floats(allow_nan=True, allow_infinity=True, width=64),
    )
)
def test_data_profile_round_trip_property(values: np.ndarray) -> None:
    profile = profile_frame(pd.DataFrame({"x": values}))
    assert (
        DataProfile.from_dict(json.loads(json.dumps(profile.to_dict(), allow_nan=False))) == profile
    )


@given(hnp.arrays(np.float64, st.integers(0, 2_000), elements=st.floats(width=64)))
def test_encode_floats_round_trips_bits(values: np.ndarray) -> None:
    decoded = np.asarray(decode_floats(encode_floats(values)), dtype=np.float64)
    assert decoded.tobytes() == values.astype("<f8").tobytes()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "not a jupyter-mlops data profile"),
        ([], "not a jupyter-mlops data profile"),
        ({"format": "jupyter-mlops/profile", "version": 99}, "version 99 is not supported"),
        ({"format": "jupyter-mlops/profile", "version": 1, "columns": []}, "damaged"),
        (
            {
                "format": "jupyter-mlops/profile",
                "version": 1,
                "n_rows": 1,
                "columns": [
                    {"name": "x", "dtype": "f", "kind": "weird", "count": 1, "null_count": 0}
                ],
            },
            "unknown column kind",
        ),
        (
            {
                "format": "jupyter-mlops/profile",
                "version": 1,
                "n_rows": 1,
                "columns": [
                    {
                        "name": "x",
                        "dtype": "f",
                        "kind": "numeric",
                        "count": 1,
                        "null_count": 0,
                        "sample": "bm90IHpsaWI=",
                    }
                ],
            },
            "damaged",
        ),
    ],
)
def test_data_profile_from_dict_rejects_bad_input(data, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        DataProfile.from_dict(data)
