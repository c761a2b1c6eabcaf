"""Previews of long metric curves: what a run's page draws instead of a million points.

A curve of a million points takes more than a second to read and is drawn a few hundred
pixels wide. So a curve longer than :data:`SERIES_FULL_UP_TO` points is shown as its
*preview*: its steps are cut into at most :data:`PREVIEW_BUCKETS` buckets of the same
width (a power of two, aligned on multiples of it), and each bucket gives its lowest and
its highest point, in step order; the curve's last point closes it. A preview has at most
``2 * PREVIEW_BUCKETS + 1`` points whatever the curve's length, so a 1M-point run's page
reads and draws as fast as a 1k-point run's.

Why the lowest and highest point of each bucket, rather than LTTB or every n-th point:

- a bucket's extremes are exact: a one-step spike in a million-point loss curve is a
  bucket's highest point, so it is drawn (taking every n-th point misses it 999 times in
  1,000; LTTB keeps one point per bucket, chosen by triangle area, and may keep another);
- min/max buckets merge: two buckets of width ``w`` make one of width ``2w`` by comparing
  their extremes. The :class:`~jupyter_mlops.tracking.run.Run` that logs the points keeps
  the buckets in memory as points arrive (O(1) a point, :data:`PREVIEW_BUCKETS` lists at
  most) and doubles their width when they are too many; LTTB needs the points themselves.

Why kept up to date by the writer rather than computed when read: reading the extremes of
a million points from SQLite, even in SQL over the ``(run_id, key, step)`` index, takes a
few hundred milliseconds (:func:`computed_preview`); the writer already sees every point.
Each flush that adds points to a long curve writes its preview in the same transaction,
with the number of points it stands for (``count``). A reader uses the stored preview when
its count is the curve's count (``metric_summaries.count``), and otherwise computes one
from the points (a registry that a future merge or import filled without previews).
The migration that adds the table fills it for the long curves already recorded, in SQL.

The preview is derived data: the ``metrics`` table holds every point, and a deleted
preview row is computed again when read. How its row is stored:
:mod:`jupyter_mlops.registry.previews`; the buckets a run keeps while it logs:
:mod:`.preview_buckets`.

    bucket_steps, points = computed_preview(registry.conn, run_id, "loss")
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from ..registry.previews import Points, write_preview

if TYPE_CHECKING:
    import sqlite_utils

PREVIEW_BUCKETS = 1024
"""The most buckets a preview has: twice the points of a wide chart, so nothing is lost."""

SERIES_FULL_UP_TO = 2 * PREVIEW_BUCKETS
"""A curve of up to this many points is read whole: its preview would not be shorter."""


def computed_preview(conn: sqlite3.Connection, run_id: str, key: str) -> tuple[int, Points]:
    """The preview of a curve computed in SQL from its points: (bucket_steps, points).

    Two aggregates per bucket over the ``(run_id, key, step)`` index (SQLite gives the
    step of the row that ``min()`` or ``max()`` picked), so no row reaches Python: a few
    hundred milliseconds for a million points, where reading them takes seconds.
    """
    where = "FROM metrics WHERE run_id = ? AND key = ?"
    low, high = conn.execute(f"SELECT min(step), max(step) {where}", (run_id, key)).fetchone()
    if low is None:
        return 1, ()
    shift = 0
    while (high >> shift) - (low >> shift) >= PREVIEW_BUCKETS:
        shift += 1
    lowest = f"SELECT step, min(value), count(*) {where} AND step BETWEEN ? AND ?"
    highest = f"SELECT step, max(value) {where} AND step BETWEEN ? AND ?"
    points: list[tuple[int, float | None]] = []
    for bucket in range(low >> shift, (high >> shift) + 1):
        # inclusive bounds: the last bucket may end at the largest step SQLite can hold
        bounds = (run_id, key, bucket << shift, ((bucket + 1) << shift) - 1)
        low_step, low_value, count = conn.execute(lowest, bounds).fetchone()
        if not count:
            continue
        if low_value is None:  # only NaN here: a gap
            points.append((low_step, None))
            continue
        high_step, high_value = conn.execute(highest, bounds).fetchone()
        points.extend(extremes_in_order(low_step, low_value, high_step, high_value))
    # the last point as the run's summary has it: at the highest step, the latest logged
    (last,) = conn.execute(
        f"SELECT value {where} AND step = ? ORDER BY timestamp DESC, rowid DESC LIMIT 1",
        (run_id, key, high),
    ).fetchone()
    if points[-1] != (high, last):
        points.append((high, last))
    return 1 << shift, tuple(points)


def extremes_in_order(
    low_step: int, low: float, high_step: int, high: float
) -> tuple[tuple[int, float], ...]:
    """A bucket's lowest and highest points as a curve passes them: in step order, once
    when they are the same point."""
    if low_step == high_step:
        return ((low_step, low),) if low == high else ((low_step, low), (high_step, high))
    if low_step < high_step:
        return ((low_step, low), (high_step, high))
    return ((high_step, high), (low_step, low))


def fill_previews(db: sqlite_utils.Database) -> None:
    """The migration's step: a preview for every curve already longer than
    :data:`SERIES_FULL_UP_TO` points, computed in SQL (about 0.3 s per million points)."""
    conn = db.conn
    long_curves = conn.execute(
        "SELECT run_id, key, count FROM metric_summaries WHERE count > ?", (SERIES_FULL_UP_TO,)
    ).fetchall()
    rows = []
    for run_id, key, count in long_curves:
        bucket_steps, points = computed_preview(conn, run_id, key)
        if points:
            rows.append((run_id, key, count, bucket_steps, points))
    write_preview(conn, rows)
