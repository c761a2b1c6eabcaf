"""Tests of the type-tagged value encoding that fingerprints object columns."""

from __future__ import annotations

import datetime
import decimal

import numpy as np
import pandas as pd
import pytest

from jupyter_mlops.snapshots.encoding import UnsupportedValue, encode_value, type_name

SAME = [
    (7, np.int64(7)),
    (0.5, np.float32(0.5)),
    (True, np.bool_(True)),
    (float("nan"), -np.float64("nan")),
    ({"a": 1, "b": [2]}, {"b": [2], "a": 1}),
    (frozenset({1, 2}), frozenset({2, 1})),
    (np.arange(3), np.arange(3).astype(">i8")),
    (np.array(["2020-01-01"], dtype="datetime64[s]"), np.array([1577836800], "datetime64[s]")),
]

DIFFERENT = [
    (1, "1"),
    (1, 1.0),
    (1, True),
    (0, None),
    (None, float("nan")),
    (pd.NA, None),
    (pd.NaT, None),
    ("a", b"a"),
    ([1, 2], (1, 2)),
    ({1, 2}, [1, 2]),
    (0.0, -0.0),
    (2**64, 2**64 + 1),
    (-1, 255),
    (decimal.Decimal("1.0"), decimal.Decimal("1.00")),
    (datetime.date(2020, 1, 1), datetime.datetime(2020, 1, 1)),
    (datetime.time(1, 2), datetime.time(1, 2, tzinfo=datetime.timezone.utc)),
    (pd.Timedelta(1, "ns"), pd.Timedelta(0)),
    (np.arange(4).reshape(2, 2), np.arange(4)),
    (("ab", "c"), ("a", "bc")),
]


@pytest.mark.parametrize(("left", "right"), SAME)
def test_encode_value_equal_values_encode_the_same(left: object, right: object) -> None:
    assert encode_value(left) == encode_value(right)


@pytest.mark.parametrize(("left", "right"), DIFFERENT)
def test_encode_value_different_values_encode_differently(left: object, right: object) -> None:
    assert encode_value(left) != encode_value(right)


def test_encode_value_is_self_delimiting() -> None:
    # Concatenations of encodings of different sequences must differ.
    first = encode_value("a") + encode_value("bc")
    second = encode_value("ab") + encode_value("c")
    assert first != second


@pytest.mark.parametrize("value", [object(), len, [1, object()], {"k": type}])
def test_encode_value_refuses_unknown_kinds_and_names_them(value: object) -> None:
    with pytest.raises(UnsupportedValue) as raised:
        encode_value(value)
    assert str(raised.value) in {"object", "builtin_function_or_method", "type"}


@pytest.mark.parametrize(
    ("value", "name"),
    [({}, "dict"), (np.float64(1), "numpy.float64"), (datetime.date(2020, 1, 1), "datetime.date")],
)
def test_type_name_shows_the_module_except_for_builtins(value: object, name: str) -> None:
    assert type_name(value) == name
