"""A type-tagged, self-delimiting byte encoding of Python values, for fingerprints.

Object columns hold anything; to fingerprint them every value is written as a tag byte
for its kind, then its content, with lengths wherever a length is not fixed, so no two
different sequences of values share an encoding: ``1``, ``1.0``, ``"1"``, ``True``,
``None``, ``NaN``, ``pd.NA`` and ``pd.NaT`` all differ, while equal values of equivalent
types (``np.int64(1)`` and ``1``, any NaN payload) encode the same. Containers are
encoded recursively; dicts and sets in a canonical order.

    encode_value(1) != encode_value("1")                      # True
    encode_value({"a": 1, "b": 2}) == encode_value({"b": 2, "a": 1})   # True

Supported: str, bytes, bool, int (any size), float, complex, numpy scalars, None,
``pd.NA``, ``pd.NaT``, dates, datetimes (with their timezone), times, timedeltas,
Decimal, UUID, ``pd.Period``, ``pd.Interval``, numpy arrays, and lists, tuples, dicts,
sets and frozensets of those. Anything else raises :class:`UnsupportedValue`, which the
caller turns into an ``InvalidInputError`` naming the column and row.
"""

from __future__ import annotations

import datetime
import decimal
import struct
import uuid
from collections.abc import Iterable
from typing import Any

import numpy as np

_PACK_U64 = struct.Struct("<Q").pack
_PACK_F64 = struct.Struct("<d").pack
_NAN = float("nan")


class UnsupportedValue(Exception):
    """A value of a kind the encoding does not know; never escapes the core.

    It carries the value out of the recursion so that the caller can name the column
    and row in the ``InvalidInputError`` it raises instead.
    """

    def __init__(self, value: object) -> None:
        super().__init__(type_name(value))
        self.value = value


def type_name(value: object) -> str:
    """The type of ``value`` as an error message shows it: ``dict``, ``numpy.float64``."""
    kind = type(value)
    return (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )


def encode_value(value: object) -> bytes:
    """The encoding of one value, as bytes."""
    out = bytearray()
    append_value(out, value)
    return bytes(out)


def _put_bytes(out: bytearray, tag: bytes, payload: bytes) -> None:
    out += tag
    out += _PACK_U64(len(payload))
    out += payload


def append_value(out: bytearray, value: Any) -> None:
    """Append the type-tagged, self-delimiting encoding of ``value`` to ``out``."""
    kind = type(value)
    if kind is str:
        _put_bytes(out, b"s", value.encode("utf-8", "surrogatepass"))
    elif kind is float:
        out += b"f"
        out += _PACK_F64(value if value == value else _NAN)
    elif value is None:
        out += b"N"
    elif kind is bool:
        out += b"T" if value else b"F"
    elif kind is int:
        _put_int(out, value)
    else:
        _put_other(out, value)


def _put_int(out: bytearray, number: int) -> None:
    _put_bytes(out, b"i", number.to_bytes((number.bit_length() + 8) // 8, "little", signed=True))


def _put_other(out: bytearray, value: Any) -> None:
    """The less common values: numpy scalars, missing markers, dates, containers..."""
    import pandas as pd

    if isinstance(value, (np.datetime64, np.timedelta64)):  # before np.integer: a subclass
        unit, count = np.datetime_data(value.dtype)
        stamp = f"{value.dtype.kind}:{count}{unit}:{int(value.view(np.int64))}"
        _put_bytes(out, b"M", stamp.encode())
    elif isinstance(value, np.bool_):
        out += b"T" if value else b"F"
    elif isinstance(value, str):  # str subclasses, e.g. a StrEnum
        _put_bytes(out, b"s", value.encode("utf-8", "surrogatepass"))
    elif isinstance(value, (int, np.integer)):
        _put_int(out, int(value))
    elif isinstance(value, (float, np.floating)):
        out += b"f"
        number = float(value)
        out += _PACK_F64(number if number == number else _NAN)
    elif value is pd.NA:
        out += b"A"
    elif value is pd.NaT:
        out += b"Z"
    elif isinstance(value, (complex, np.complexfloating)):
        out += b"c"
        for part in (value.real, value.imag):
            out += _PACK_F64(part if part == part else _NAN)
    elif isinstance(value, (bytes, bytearray, memoryview)):
        _put_bytes(out, b"b", bytes(value))
    elif isinstance(value, datetime.datetime):
        stamp = value.isoformat() + "|" + (str(value.tzinfo) if value.tzinfo else "")
        _put_bytes(out, b"t", stamp.encode())
    elif isinstance(value, datetime.date):
        _put_bytes(out, b"d", value.isoformat().encode())
    elif isinstance(value, datetime.time):
        stamp = value.isoformat() + "|" + (str(value.tzinfo) if value.tzinfo else "")
        _put_bytes(out, b"h", stamp.encode())
    elif isinstance(value, datetime.timedelta):
        nanos = getattr(value, "nanoseconds", 0)
        parts = f"{value.days},{value.seconds},{value.microseconds},{nanos}"
        _put_bytes(out, b"D", parts.encode())
    elif isinstance(value, decimal.Decimal):
        _put_bytes(out, b"e", str(value).encode())
    elif isinstance(value, uuid.UUID):
        _put_bytes(out, b"u", value.bytes)
    elif isinstance(value, pd.Period):
        _put_bytes(out, b"p", f"{value}|{value.freqstr}".encode())
    elif isinstance(value, pd.Interval):
        _put_bytes(out, b"I", value.closed.encode())
        append_value(out, value.left)
        append_value(out, value.right)
    elif isinstance(value, (list, tuple)):
        _put_sequence(out, b"L" if isinstance(value, list) else b"(", value)
    elif isinstance(value, dict):
        items = sorted(encode_value(k) + encode_value(v) for k, v in value.items())
        _put_sequence_encoded(out, b"{", items)
    elif isinstance(value, (set, frozenset)):
        _put_sequence_encoded(out, b"<", sorted(encode_value(v) for v in value))
    elif isinstance(value, np.ndarray):
        _put_ndarray(out, value)
    else:
        raise UnsupportedValue(value)


def _put_sequence(out: bytearray, tag: bytes, items: Iterable[object]) -> None:
    values = list(items)
    out += tag
    out += _PACK_U64(len(values))
    for item in values:
        append_value(out, item)


def _put_sequence_encoded(out: bytearray, tag: bytes, encoded: list[bytes]) -> None:
    out += tag
    out += _PACK_U64(len(encoded))
    for item in encoded:
        out += item


def _put_ndarray(out: bytearray, array: np.ndarray) -> None:
    _put_bytes(out, b"a", f"{array.dtype.newbyteorder('=')}|{array.shape}".encode())
    if array.dtype.kind == "O":
        _put_sequence(out, b"L", array.ravel().tolist())
    else:
        flat = np.ascontiguousarray(array).ravel()
        if flat.dtype.kind in "mM":
            flat = flat.view(flat.dtype.byteorder.replace("|", "=") + "i8")
        flat = flat.astype(flat.dtype.newbyteorder("<"), copy=False)
        _put_bytes(out, b"b", flat.tobytes())
