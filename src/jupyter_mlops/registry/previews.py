"""How the previews of long metric curves are stored (table ``metric_previews``).

What a preview is, how it is computed and when it is written is a tracking concept:
:mod:`jupyter_mlops.tracking.previews`. Here is only its row: the run and metric, the
number of points it stands for (``count``, compared with ``metric_summaries.count`` by
its readers), the width of its step buckets, and its points as two BLOBs, little-endian
arrays of the steps (int64) and the values (float64, NaN where a bucket holds only NaN),
readable from any language (numpy: ``np.frombuffer(steps, "<i8")``). The table itself is
created by migration 0007 (:mod:`.tables.previews`).

    steps, values = encode_points([(0, 1.0), (1023, 0.2)])
    decode_points(steps, values)            # ((0, 1.0), (1023, 0.2))
"""

from __future__ import annotations

import sqlite3
import sys
from array import array
from collections.abc import Iterable, Sequence

Points = tuple[tuple[int, float | None], ...]
"""(step, value) pairs in step order; ``None`` stands for NaN (a gap in the curve)."""


def encode_points(points: Iterable[tuple[int, float | None]]) -> tuple[bytes, bytes]:
    """The steps and values of ``points`` as the two BLOBs of a preview row."""
    steps = array("q")
    values = array("d")
    nan = float("nan")
    for step, value in points:
        steps.append(step)
        values.append(nan if value is None else value)
    return _little_endian(steps), _little_endian(values)


def decode_points(steps: bytes, values: bytes) -> Points:
    """The (step, value) pairs of a preview row's BLOBs; NaN becomes ``None``."""
    step_array = array("q")
    step_array.frombytes(steps)
    value_array = array("d")
    value_array.frombytes(values)
    if sys.byteorder != "little":
        step_array.byteswap()
        value_array.byteswap()
    return tuple(
        (step, None if value != value else value)
        for step, value in zip(step_array, value_array, strict=True)
    )


def _little_endian(numbers: array[int] | array[float]) -> bytes:
    if sys.byteorder != "little":
        numbers = array(numbers.typecode, numbers)
        numbers.byteswap()
    return numbers.tobytes()


def write_preview(
    conn: sqlite3.Connection,
    rows: Iterable[tuple[str, str, int, int, Sequence[tuple[int, float | None]]]],
) -> None:
    """Store previews: ``(run_id, key, count, bucket_steps, points)`` each, replacing any."""
    conn.executemany(
        "INSERT OR REPLACE INTO metric_previews"
        " (run_id, key, count, bucket_steps, points, steps, vals) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (run_id, key, count, bucket_steps, len(points), *encode_points(points))
            for run_id, key, count, bucket_steps, points in rows
        ],
    )
