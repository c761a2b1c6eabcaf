"""A request's numeric inputs as stored in the prediction log: a NumPy ``.npy`` file of one
structured array, a field per column.

    blob = columns_npy(frame)          # bytes, or None for inputs JSON must hold
    NumericInputs(labels, matrix).npy()  # the same, from the writer's form of a request
    stored_inputs(blob)                # {column: [values]}, as from the JSON of other inputs
    numpy.load(io.BytesIO(blob))       # anyone's NumPy reads it: arr["age"], arr.dtype.names

The prediction log's writer spends most of its time per record turning numbers into text:
3,000 values (100 rows of 30 columns) take orjson about 200 µs, a tenth of a millisecond more
than the whole request took the server. Inputs of one numeric dtype (float64, integers,
booleans: what a server reads from a request) are stored as their bytes instead, behind a
``.npy`` header that names the columns, in about 5 µs; the header of a set of columns is
made once. Everything else (text, mixed dtypes, float32, whose JSON is its shortest
decimal form) stays JSON ``{column: [values]}``.

Readers see no difference: :func:`stored_inputs` gives the same ``{column: [values]}`` from
either, NaN and infinities as ``None`` as in the JSON. In SQL the column is a BLOB for these
rows (``typeof(inputs) = 'blob'``), so ``json_extract`` reads only the JSON ones.
"""

from __future__ import annotations

import functools
import io
import json
import math
from dataclasses import dataclass
from typing import Any

# float64, signed and unsigned integers, booleans: their values read back exactly as the JSON
# of them would (float32 would not: its JSON is the shortest float32 decimal, 0.1)
_STORED_KINDS = frozenset("iub")
_MAGIC = b"\x93NUMPY"
# a header of thousands of columns is long; NumPy refuses headers past 10,000 bytes by
# default, as a guard against untrusted files
_MAX_HEADER = 10_000_000


@dataclass(frozen=True, eq=False)
class NumericInputs:
    """A request's inputs as the log's writer process receives them: the column labels and
    one 2-D array of numbers, rows by columns. A DataFrame costs the writer more to build (about
    35 µs for 100 rows) than everything else it does with the inputs but the insert; this
    form goes to :meth:`npy` as it is, and to a model as :meth:`frame`."""

    labels: tuple[Any, ...]
    matrix: Any

    def __len__(self) -> int:
        return int(self.matrix.shape[0])

    def npy(self) -> bytes | None:
        """The ``.npy`` bytes of these inputs (see :func:`columns_npy`)."""
        return _matrix_npy(self.labels, self.matrix)

    def frame(self) -> Any:
        """These inputs as the DataFrame the server had (a model checks the names)."""
        import pandas as pd

        return pd.DataFrame(self.matrix, columns=list(self.labels), copy=False)


def columns_npy(frame: Any) -> bytes | None:
    """The ``.npy`` bytes of a DataFrame whose columns share one numeric dtype; ``None`` for
    any other inputs (and for column names a structured array cannot hold: repeated ones)."""
    to_numpy = getattr(frame, "to_numpy", None)
    columns = getattr(frame, "columns", None)
    if to_numpy is None or columns is None or getattr(frame, "ndim", 0) != 2:
        return None
    return _matrix_npy(tuple(columns.tolist()), to_numpy())


def _matrix_npy(labels: tuple[Any, ...], matrix: Any) -> bytes | None:
    import numpy as np

    if matrix.ndim != 2 or matrix.shape[1] == 0 or not _stored(matrix.dtype):
        return None
    header = _header(tuple(map(str, labels)), matrix.dtype.str, matrix.shape[0])
    if header is None:
        return None
    return header + np.ascontiguousarray(matrix).tobytes()


def _stored(dtype: Any) -> bool:
    return dtype.kind in _STORED_KINDS or dtype.str in ("<f8", ">f8")


@functools.lru_cache(maxsize=256)
def _header(names: tuple[str, ...], dtype: str, rows: int) -> bytes | None:
    """The ``.npy`` header of ``rows`` records of one ``dtype`` field per name."""
    import numpy as np
    from numpy.lib import format as npy

    if len(set(names)) != len(names):
        return None
    description = {
        "descr": npy.dtype_to_descr(np.dtype([(name, dtype) for name in names])),
        "fortran_order": False,
        "shape": (rows,),
    }
    out = io.BytesIO()
    try:
        npy.write_array_header_1_0(out, description)
    except ValueError:  # past 65,535 bytes: format 2.0 holds it
        out = io.BytesIO()
        npy.write_array_header_2_0(out, description)
    return out.getvalue()


def stored_inputs(value: str | bytes | None) -> dict[str, list[Any]] | None:
    """``{column: [values]}`` of a ``predictions.inputs`` value, JSON or ``.npy``."""
    if value is None:
        return None
    if isinstance(value, (bytes, memoryview)) and bytes(value[:6]) == _MAGIC:
        return columns_from_npy(bytes(value))
    return json.loads(value)


def columns_from_npy(blob: bytes) -> dict[str, list[Any]]:
    """The columns of ``.npy`` bytes made by :func:`columns_npy`; NaN and infinities as
    ``None``, as the JSON of other inputs has them."""
    import numpy as np

    dtype, rows, offset = _read_header(blob[: _header_length(blob)])
    records = np.frombuffer(blob, dtype=dtype, count=rows, offset=offset)
    return {name: _plain(records[name]) for name in dtype.names}


def _header_length(blob: bytes) -> int:
    """The length of the magic, version, header length and header of a ``.npy``."""
    major = blob[6]
    if major == 1:
        return 10 + int.from_bytes(blob[8:10], "little")
    return 12 + int.from_bytes(blob[8:12], "little")


@functools.lru_cache(maxsize=256)
def _read_header(header: bytes) -> tuple[Any, int, int]:
    """The dtype, the number of records and the data's offset of a ``.npy`` header (read
    once per set of columns: NumPy's own reading parses it with ``ast``, 0.2 ms)."""
    from numpy.lib import format as npy

    source = io.BytesIO(header)
    version = npy.read_magic(source)
    read = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
    shape, _, dtype = read(source, max_header_size=_MAX_HEADER)
    return dtype, int(shape[0]), len(header)


def _plain(values: Any) -> list[Any]:
    import numpy as np

    listed = values.tolist()
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        return [value if math.isfinite(value) else None for value in listed]
    return listed
