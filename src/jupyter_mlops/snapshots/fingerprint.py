"""Fingerprints of the full content of a table: every row, every dtype, every name.

A fingerprint is a 256-bit hex digest that changes when any cell, any dtype, a column
name or the column order changes, and that stays the same for an equal copy of the
data wherever it lives in memory (another layout, a slice copied out of a larger
frame, Arrow data in one chunk or in several).

    fingerprint_frame(pd.DataFrame({"x": [1.0, 2.0]}))   # 'e5e1...' (64 hex digits)

Each fingerprint is recorded with its scheme. New ones use ``SCHEME``
("jupyter-mlops/fingerprint/2", BLAKE3); those recorded before it use
"jupyter-mlops/fingerprint/1" (SHA-256), which ``fingerprint_frame(..., scheme=...)``
still computes, so an old fingerprint is checked against data by computing its own
scheme. The two schemes differ only in the hash (:mod:`.hashing` says why BLAKE3):

1. **Fields.** The index levels (when the index policy says so, see below), then the
   columns in order. Each field is a role (index or column), a type-tagged name, a
   dtype descriptor and a few canonical buffers of little-endian bytes:

   ========================  =========================================================
   dtype                     canonical buffers
   ========================  =========================================================
   bool, int, uint, float    the values; every NaN hashes as the one quiet NaN
                             (complex: as pairs of floats). -0.0 and 0.0 differ.
   datetime64, timedelta64,  the int64 values (tz-aware: UTC instants; the timezone and
   period                    the unit are in the descriptor, so they count)
   Int*, Float*, boolean     ``nulls`` (one byte a row, only when a value is missing)
                             and the values with missing slots hashed as zero
   str, string, Arrow        ``nulls``, ``offsets`` (int64, rebased to start at 0 so
   strings and binaries      slices hash like copies) and the UTF-8 ``bytes``; null
                             slots are emptied first
   other Arrow types         fixed width: ``nulls`` and values with null slots zeroed;
                             nested: the Python values, type-tagged (below)
   category                  the codes, the categories (as a nested field) and
                             ``ordered`` in the descriptor
   interval, sparse          left and right bounds; the dense values
   object                    all ``str``: as a string column; otherwise every value
                             type-tagged and length-prefixed (``1``, ``1.0``, ``"1"``,
                             ``True``, ``None``, ``NaN``, ``pd.NA`` all differ; see
                             :mod:`jupyter_mlops.snapshots.encoding`)
   ========================  =========================================================

2. **Leaves.** Every buffer is cut into blocks of ``BLOCK_SIZE`` bytes (4 MiB); the
   hash of each block is a leaf. Blocks are hashed by a thread pool: the hashes and
   numpy release the GIL on large buffers, so two cores hash about twice as fast as
   one. The blocks are views of the column buffers (no copy) unless a NaN or a missing
   slot must be neutralized, which copies that piece of the block.

3. **Root.** The fingerprint is the hash of a manifest: the scheme, the row count,
   the column-axis names, then for each field its role, name and descriptor, and for
   each buffer its role, its length in bytes and its leaf digests, every item framed
   by its length. Block boundaries are fixed, so the result does not depend on the
   number of threads, and the framing keeps different tables from sharing a manifest.

**Index policy.** ``"auto"`` leaves out a default index (an unnamed ``RangeIndex(0..n)``
or unnamed integers ``0..n-1``): row order is already part of the content. Any other
index is hashed like columns, one field per level. ``"include"`` always hashes the
index, ``"ignore"`` never does. ``DataFrame.attrs`` and ``flags`` are not content.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InvalidInputError
from .encoding import UnsupportedValue, append_value, encode_value, type_name
from .hashing import (
    BLAKE3_SCHEME,
    BLOCK_SIZE,
    MAX_WORKERS,
    PARALLEL_MIN_BYTES,
    SCHEME,
    SCHEMES,
    SHA256_SCHEME,
    Buffer,
    Field,
    record,
    root_digest,
    scheme_of,
    worker_count,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "BLAKE3_SCHEME",
    "BLOCK_SIZE",
    "INDEX_POLICIES",
    "MAX_WORKERS",
    "PARALLEL_MIN_BYTES",
    "SCHEME",
    "SCHEMES",
    "SHA256_SCHEME",
    "check_index_policy",
    "fingerprint_frame",
    "index_is_hashed",
    "is_default_index",
    "scheme_of",
    "worker_count",
]

INDEX_POLICIES = ("auto", "include", "ignore")


# --------------------------------------------------------------------------- public


def check_index_policy(index: str) -> str:
    """Return ``index`` if it is a known index policy, else raise InvalidInputError."""
    if index not in INDEX_POLICIES:
        raise InvalidInputError(
            f'Unknown index policy "{index}"',
            hint='Use "auto" (skip a default RangeIndex, hash any other index), '
            '"include" or "ignore".',
        )
    return index


def is_default_index(index: pd.Index) -> bool:
    """True for an unnamed ``RangeIndex(0..n)`` or unnamed integers ``0..n-1``.

    Such an index says nothing that row order does not already say, so the ``"auto"``
    policy leaves it out of the fingerprint.

        is_default_index(pd.RangeIndex(3))        # True
        is_default_index(pd.RangeIndex(5, 8))     # False: a slice of a larger frame
    """
    import pandas as pd

    if index.nlevels != 1 or index.name is not None:
        return False
    if isinstance(index, pd.RangeIndex):
        return len(index) == 0 or (index.start == 0 and index.step == 1)
    if isinstance(index.dtype, np.dtype) and index.dtype.kind in "iu":
        values = np.asarray(index)
        return bool(np.array_equal(values, np.arange(len(values))))
    return False


def index_is_hashed(frame: pd.DataFrame, index: str) -> bool:
    """Whether the policy ``index`` puts this frame's index into its fingerprint."""
    check_index_policy(index)
    if index == "auto":
        return not is_default_index(frame.index)
    return index == "include"


def fingerprint_frame(
    frame: pd.DataFrame,
    *,
    index: str = "auto",
    workers: int | None = None,
    scheme: str = SCHEME,
) -> str:
    """The hex fingerprint of the full content of ``frame`` (see the module docstring).

    ``workers`` is the number of hashing threads (default: the usable cores, at most
    8); the result is the same for any number. ``scheme`` is the scheme to compute
    (default: the current one, BLAKE3); pass a stored fingerprint's recorded scheme
    to check data against it.

        a = pd.DataFrame({"x": [1, 2], "y": ["a", "b"]})
        fingerprint_frame(a) == fingerprint_frame(a.copy())           # True
        fingerprint_frame(a) == fingerprint_frame(a.iloc[::-1])       # False
        fingerprint_frame(a, scheme=SHA256_SCHEME)    # as recorded before BLAKE3
    """
    import pandas as pd

    hashes = scheme_of(scheme)
    if not isinstance(frame, pd.DataFrame):
        raise InvalidInputError(
            f"fingerprint_frame needs a pandas DataFrame, not a {type(frame).__name__}",
            hint="Use jupyter_mlops.snapshots.fingerprint for Series, arrays and files.",
        )
    fields = list(_frame_fields(frame, index_is_hashed(frame, index)))
    header = record(
        b"table",
        hashes.name.encode(),
        str(len(frame)).encode(),
        encode_value(tuple(frame.columns.names)),
        str(len(fields)).encode(),
    )
    return root_digest(header, fields, worker_count(workers), hashes)


# --------------------------------------------------------------------------- fields


def _frame_fields(frame: pd.DataFrame, hash_index: bool) -> Iterator[Field]:
    if hash_index:
        for level in range(frame.index.nlevels):
            values = frame.index.get_level_values(level)
            yield _field("index", values.name, values.array, f"index level {level}")
    for position, (label, column) in enumerate(frame.items()):
        yield _field("column", label, column.array, f'column "{label}" (position {position})')


def _field(role: str, label: object, values: Any, where: str) -> Field:
    try:
        name = encode_value(label)
    except UnsupportedValue as exc:
        raise InvalidInputError(
            f"The label of {where} is of type {type_name(exc.value)}, which cannot be"
            " fingerprinted",
            hint="Rename it to a string or a number.",
        ) from None
    descriptor, buffers = _encode_array(values, where)
    return Field(role, name, descriptor, tuple(buffers))


def _encode_array(values: Any, where: str, prefix: str = "") -> tuple[str, list[Buffer]]:
    """The descriptor and canonical buffers of one array (numpy or pandas extension)."""
    import pandas as pd

    # pandas 2.1 renamed PandasArray to NumpyExtensionArray and deprecated the old name
    numpy_backed = getattr(pd.arrays, "NumpyExtensionArray", None) or pd.arrays.PandasArray
    if isinstance(values, numpy_backed):
        values = values.to_numpy()
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        categories = dtype.categories
        inner, inner_buffers = _encode_array(categories.array, where, prefix + "categories.")
        codes = Buffer(prefix + "codes", _little_endian(np.asarray(values.codes)))
        return f"category[ordered={bool(dtype.ordered)}, {inner}]", [codes, *inner_buffers]
    if isinstance(dtype, pd.StringDtype):
        descriptor = f"{dtype}[{dtype.storage}]"
        return descriptor, _arrow_buffers(_arrow_of(values), where, prefix)
    if isinstance(dtype, pd.ArrowDtype):
        return str(dtype), _arrow_buffers(_arrow_of(values), where, prefix)
    if isinstance(
        values, (pd.arrays.IntegerArray, pd.arrays.FloatingArray, pd.arrays.BooleanArray)
    ):
        return str(dtype), _masked_buffers(values, prefix)
    if isinstance(dtype, (pd.DatetimeTZDtype, pd.PeriodDtype)) or (
        isinstance(dtype, np.dtype) and dtype.kind in "mM"
    ):
        ints = values.asi8 if hasattr(values, "asi8") else np.asarray(values).view(np.int64)
        return str(dtype), [Buffer(prefix + "values", _little_endian(ints))]
    if isinstance(dtype, pd.IntervalDtype):
        left_descriptor, left = _encode_array(values.left.array, where, prefix + "left.")
        right_descriptor, right = _encode_array(values.right.array, where, prefix + "right.")
        nulls = np.asarray(values.isna())
        buffers = [Buffer(prefix + "nulls", nulls.view(np.uint8))] if nulls.any() else []
        return f"{dtype}({left_descriptor}, {right_descriptor})", [*buffers, *left, *right]
    if isinstance(dtype, pd.SparseDtype):
        dense_descriptor, buffers = _encode_array(np.asarray(values.to_dense()), where, prefix)
        return f"{dtype}({dense_descriptor})", buffers
    if isinstance(dtype, np.dtype):
        array = np.asarray(values)
        if dtype.kind in "biufc":
            return str(dtype.newbyteorder("=")), [_numeric_buffer(array, where, prefix)]
        return "object", _object_buffers(array.astype(object, copy=False), where, prefix)
    # Any other extension type: its values as Python objects, type-tagged.
    descriptor = f"{type(dtype).__module__}.{type(dtype).__qualname__}:{dtype}"
    return descriptor, _object_buffers(np.asarray(values, dtype=object), where, prefix)


def _numeric_buffer(array: np.ndarray, where: str, prefix: str) -> Buffer:
    if array.dtype.itemsize not in (1, 2, 4, 8, 16) or array.dtype == np.longdouble:
        raise InvalidInputError(
            f"{where.capitalize()} has dtype {array.dtype}, which cannot be fingerprinted portably",
            hint="Convert it to float64 (or complex128) first.",
        )
    array = _little_endian(array)
    if array.dtype.kind == "c":
        array = array.view(array.real.dtype)
    return Buffer(prefix + "values", array, canonical_nan=array.dtype.kind == "f")


def _masked_buffers(values: Any, prefix: str) -> list[Buffer]:
    # _data/_mask are the two numpy arrays every pandas masked array is made of; the
    # public route (to_numpy with na_value, isna) would copy both.
    data = _little_endian(np.asarray(values._data))
    mask = np.ascontiguousarray(values._mask)
    buffers = []
    has_missing = bool(mask.any())
    if has_missing:
        buffers.append(Buffer(prefix + "nulls", mask.view(np.uint8)))
    buffers.append(
        Buffer(
            prefix + "values",
            data,
            canonical_nan=data.dtype.kind == "f",
            zero_where=mask if has_missing else None,
        )
    )
    return buffers


# --------------------------------------------------------------------------- Arrow


def _arrow_of(values: Any) -> Any:
    """The values as one contiguous pyarrow Array (chunks joined: chunking is not content)."""
    import pyarrow as pa

    data = values.__arrow_array__()
    if isinstance(data, pa.ChunkedArray):
        if data.num_chunks == 1:
            return data.chunk(0)
        if data.num_chunks == 0:
            return pa.array([], type=data.type)
        return data.combine_chunks()
    return data


def _is_view(pa: Any, kind: Any, of: str) -> bool:
    """Whether ``kind`` is pyarrow's ``string_view`` / ``binary_view`` (pyarrow 16 added them)."""
    check = getattr(pa.types, f"is_{of}_view", None)
    return check is not None and check(kind)


def _arrow_buffers(array: Any, where: str, prefix: str) -> list[Buffer]:
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = array.type
    if pa.types.is_dictionary(kind):
        return _arrow_buffers(array.dictionary_decode(), where, prefix)
    if _is_view(pa, kind, "string") or _is_view(pa, kind, "binary"):
        wide = pa.large_string() if _is_view(pa, kind, "string") else pa.large_binary()
        return _arrow_buffers(array.cast(wide), where, prefix)
    nulls = array.is_null().to_numpy(zero_copy_only=False) if array.null_count else None
    buffers = [Buffer(prefix + "nulls", nulls.view(np.uint8))] if nulls is not None else []
    if _is_variable_binary(kind):
        return buffers + _offset_buffers(array, nulls, prefix)
    if pa.types.is_boolean(kind):
        values = pc.fill_null(array, False).to_numpy(zero_copy_only=False)
        return buffers + [Buffer(prefix + "values", values)]
    try:
        width_bits = kind.bit_width
    except ValueError:
        width_bits = 0
    if width_bits and width_bits % 8 == 0 and len(array.buffers()) == 2:
        return buffers + [_fixed_width_buffer(array, width_bits // 8, nulls, prefix)]
    # Nested or exotic types (list, struct, map, union, null): their Python values.
    objects = np.empty(len(array), dtype=object)
    objects[:] = array.to_pylist()
    return _object_buffers(objects, where, prefix)


def _is_variable_binary(kind: Any) -> bool:
    import pyarrow as pa

    return bool(
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_binary(kind)
        or pa.types.is_large_binary(kind)
    )


def _offset_buffers(array: Any, nulls: np.ndarray | None, prefix: str) -> list[Buffer]:
    import pyarrow as pa
    import pyarrow.compute as pc

    large = pa.types.is_large_string(array.type) or pa.types.is_large_binary(array.type)
    offsets = _arrow_offsets(array, np.int64 if large else np.int32)
    if nulls is not None and np.diff(offsets)[nulls].any():
        # Bytes under a null slot are not content: empty them before hashing.
        empty = pa.scalar(
            b"" if pa.types.is_binary(array.type) or pa.types.is_large_binary(array.type) else "",
            type=array.type,
        )
        array = pc.fill_null(array, empty)
        offsets = _arrow_offsets(array, np.int64 if large else np.int32)
    start, end = int(offsets[0]), int(offsets[-1])
    data_buffer = array.buffers()[2]
    data = (
        np.frombuffer(data_buffer, dtype=np.uint8)[start:end]
        if data_buffer is not None
        else np.empty(0, dtype=np.uint8)
    )
    rebased = offsets[1:]
    if start != 0 or rebased.dtype != np.int64:
        rebased = rebased.astype(np.int64) - start
    return [Buffer(prefix + "offsets", _little_endian(rebased)), Buffer(prefix + "bytes", data)]


def _arrow_offsets(array: Any, dtype: Any) -> np.ndarray:
    n = len(array)
    offsets_buffer = array.buffers()[1]
    if offsets_buffer is None or n == 0:
        return np.zeros(1, dtype=dtype)
    return np.frombuffer(offsets_buffer, dtype=dtype)[array.offset : array.offset + n + 1]


def _fixed_width_buffer(array: Any, width: int, nulls: np.ndarray | None, prefix: str) -> Buffer:
    import pyarrow as pa

    n = len(array)
    raw_buffer = array.buffers()[1]
    raw = (
        np.frombuffer(raw_buffer, dtype=np.uint8)[array.offset * width : (array.offset + n) * width]
        if raw_buffer is not None
        else np.empty(0, dtype=np.uint8)
    )
    floating = pa.types.is_floating(array.type)
    unit = next(u for u in (8, 4, 2, 1) if width % u == 0)
    view_dtype = np.dtype(f"<f{unit}") if floating else np.dtype(f"<u{unit}")
    values = raw.view(view_dtype)
    zero_where = None
    if nulls is not None:
        zero_where = np.repeat(nulls, width // unit) if width != unit else nulls
    return Buffer(prefix + "values", values, canonical_nan=floating, zero_where=zero_where)


# --------------------------------------------------------------------------- objects


def _object_buffers(array: np.ndarray, where: str, prefix: str) -> list[Buffer]:
    """Canonical buffers of an object array: a string fast path, else type-tagged values."""
    import pandas as pd

    if pd.api.types.infer_dtype(array, skipna=False) == "string":
        import pyarrow as pa

        try:
            strings = pa.array(array, type=pa.large_string(), from_pandas=False)
        except (pa.ArrowException, UnicodeEncodeError):
            pass  # lone surrogates and the like: the tagged encoding below handles them
        else:
            return _offset_buffers(strings, None, prefix + "str.")
    out = bytearray()
    for row, value in enumerate(array.tolist()):
        try:
            append_value(out, value)
        except UnsupportedValue as exc:
            raise InvalidInputError(
                f"{where.capitalize()} holds a value of type {type_name(exc.value)} at row {row},"
                " which cannot be fingerprinted",
                hint="Supported in object columns: str, bytes, numbers, bool, None/NaN/NA, "
                "dates, times, Decimal, UUID, and lists, tuples, dicts and sets of those. "
                "Convert the column first, e.g. df[col] = df[col].astype(str).",
            ) from None
    return [Buffer(prefix + "tagged", np.frombuffer(bytes(out), dtype=np.uint8))]


# --------------------------------------------------------------------------- byte order


def _little_endian(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array)
    if array.ndim != 1:
        array = array.ravel()
    target = array.dtype.newbyteorder("<")
    if array.dtype != target:
        array = array.astype(target)
    if array.dtype.kind in "mM":
        array = array.view("<i8")
    return array
