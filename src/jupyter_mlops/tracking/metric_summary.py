"""A metric's summary while its run records it: last, min and max with their steps, the
number of points, and the min/max buckets of its curve's preview (:mod:`.preview_buckets`).

A flush of the run writes it to ``metric_summaries`` and, for a curve longer than a page
shows whole, its preview (:func:`~jupyter_mlops.registry.previews.write_preview`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .preview_buckets import add_bucket, preview_points


@dataclass
class MetricSummary:
    last: float
    last_step: int
    min: float | None
    min_step: int | None
    max: float | None
    max_step: int | None
    count: int
    shift: int = 0  # the preview's buckets are 2**shift steps wide
    buckets: dict[int, list[float]] = field(default_factory=dict)

    @classmethod
    def starting(cls, step: int, value: float) -> MetricSummary:
        """The summary of a metric's first point."""
        finite = value if value == value else None
        first = step if finite is not None else None
        summary = cls(value, step, finite, first, finite, first, 1)
        summary.shift = add_bucket(summary.buckets, 0, step, value)
        return summary

    def add(self, step: int, value: float) -> None:
        self.count += 1
        if step >= self.last_step:
            self.last, self.last_step = value, step
        if value == value:  # not NaN
            if self.min is None or value < self.min:
                self.min, self.min_step = value, step
            if self.max is None or value > self.max:
                self.max, self.max_step = value, step
        bucket = self.buckets.get(step >> self.shift)
        if bucket is None:
            self.shift = add_bucket(self.buckets, self.shift, step, value)
        else:  # a NaN is neither lower nor higher
            if value < bucket[1]:
                bucket[0], bucket[1] = step, value
            if value > bucket[3]:
                bucket[2], bucket[3] = step, value

    def row(self, run_id: str, key: str) -> tuple[Any, ...]:
        """The summary as ``metric_summaries`` stores it."""
        return (
            run_id,
            key,
            nan_to_none(self.last),
            self.last_step,
            self.min,
            self.min_step,
            self.max,
            self.max_step,
            self.count,
        )

    def preview_row(self, run_id: str, key: str) -> tuple[str, str, int, int, list[Any]]:
        """What :func:`~jupyter_mlops.registry.previews.write_preview` stores for this curve."""
        points = preview_points(self.buckets, self.last_step, self.last)
        return (run_id, key, self.count, 1 << self.shift, points)


def nan_to_none(value: float | None) -> float | None:
    return None if value is None or value != value else value
