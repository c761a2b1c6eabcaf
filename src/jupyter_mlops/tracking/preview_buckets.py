"""The preview of a curve being logged: its min/max buckets, kept in memory by its run.

What a preview is, and why, is told in :mod:`.previews`. A
:class:`~jupyter_mlops.tracking.run.Run` keeps, for each metric, a dict from bucket
index (``step >> shift``) to ``[low_step, low, high_step, high]``: the lowest and
highest value logged in the bucket and their steps. Logging a point updates one bucket
in place (inline in the run's summary, where it costs a dict lookup and two
comparisons); a point in a new bucket goes through :func:`add_bucket`, which doubles
the buckets' width, merging them pairwise, when they are more than
:data:`~.previews.PREVIEW_BUCKETS`. A run's memory per metric
stays bounded whatever the number of points, and the steps may come in any order.

A NaN is no bucket's extreme (it compares false with everything); a bucket that holds
only NaN has ``low = inf, high = -inf`` (low above high) and is drawn as a gap.

    buckets: dict[int, list[float]] = {}
    shift = add_bucket(buckets, 0, step=0, value=1.0)
    preview_points(buckets, last_step=0, last=1.0)       # [(0, 1.0)]
"""

from __future__ import annotations

import math

from .previews import PREVIEW_BUCKETS, extremes_in_order

_INF = math.inf


def add_bucket(buckets: dict[int, list[float]], shift: int, step: int, value: float) -> int:
    """Open the bucket of ``step`` with its first ``value``; the buckets' shift after it
    (one more for each halving of their number when there are too many)."""
    if value == value:
        buckets[step >> shift] = [step, value, step, value]
    else:
        buckets[step >> shift] = [step, _INF, step, -_INF]
    while len(buckets) > PREVIEW_BUCKETS:
        merged: dict[int, list[float]] = {}
        for index, bucket in buckets.items():
            into = merged.get(index >> 1)
            if into is None:
                merged[index >> 1] = bucket
                continue
            if bucket[1] < into[1]:
                into[0], into[1] = bucket[0], bucket[1]
            if bucket[3] > into[3]:
                into[2], into[3] = bucket[2], bucket[3]
        buckets.clear()
        buckets.update(merged)
        shift += 1
    return shift


def preview_points(
    buckets: dict[int, list[float]], last_step: int, last: float
) -> list[tuple[int, float]]:
    """The preview's points: each bucket's extremes in step order, then the last point."""
    points: list[tuple[int, float]] = []
    for index in sorted(buckets):  # already in order when the steps came in order
        low_step, low, high_step, high = buckets[index]
        if low > high:  # only NaN in this bucket
            points.append((int(low_step), math.nan))
        else:
            points.extend(extremes_in_order(int(low_step), low, int(high_step), high))
    if points:
        end_step, end = points[-1]
        if end_step != last_step or not (end == last or (end != end and last != last)):
            points.append((last_step, last))
    return points
