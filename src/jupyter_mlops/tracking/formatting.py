"""How recorded values read as text: the same in the notebook's views and in a terminal.

The widgets and the command line show the same numbers, times and durations; both take
them from here, so a run's duration or a drift report's p-value reads alike in each.

    value_text(0.912345678)     # '0.912346'
    value_text([1, 2])          # '[1, 2]'
    timestamp(1700000000.0)     # '2023-11-14 23:13:20' (local time)
    duration(95.0)              # '1.6 min'
    figure(0.00012)             # '1.20e-04'
    percent(0.125)              # '12.5%'
    downsampled_note(1955, 1_000_000)   # 'downsampled: 1,955 of 1,000,000 points'
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from typing import Any


def value_text(value: Any) -> str:
    """A parameter, metric or field value as a table cell shows it: floats to six
    significant digits, lists and dicts as JSON, nothing for None."""
    if value is None:
        return ""
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else f"{value:.6g}"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def timestamp(epoch: float | None) -> str:
    """Seconds since the epoch as local date and time to the second; nothing for None."""
    if epoch is None:
        return ""
    return _dt.datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M:%S")


def duration(seconds: float | None) -> str:
    """A duration in the unit that reads best: ``12.34 s``, ``1.6 min``, ``2.0 h``."""
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.2f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def figure(value: float | None, *, missing: str = "") -> str:
    """A statistic, p-value or effect size: three significant digits, scientific notation
    below 0.001 so that small p-values keep their magnitude; ``missing`` for None."""
    if value is None:
        return missing
    if value != 0 and abs(value) < 1e-3:
        return f"{value:.2e}"
    return f"{value:.3g}"


def percent(share: float | None, *, missing: str = "") -> str:
    """A share from 0 to 1 as a percentage with one decimal; ``missing`` for None."""
    return missing if share is None else f"{100 * share:.1f}%"


DOWNSAMPLED_EXPLANATION = (
    "Each step range shows its lowest and highest value, so spikes stay visible;"
    " mlops.metrics(run, key) gives every point."
)


def downsampled_note(shown: int, logged: int) -> str:
    """What a chart of a curve's preview says about it: how many of its points it draws."""
    return f"downsampled: {shown:,} of {logged:,} points"


def size_text(size: int | None) -> str:
    """A file size for people: ``812 B``, ``14.2 KiB``, ``3.1 MiB``."""
    if size is None:
        return ""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if unit == "B" and value < 1024:
            return f"{size} B"
        if value < 1024 or unit == "GiB":
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"  # pragma: no cover - the loop returns


def children_text(count: int) -> str:
    """A run's number of children as a list shows it: "", "1 child", "12 children"."""
    if not count:
        return ""
    return f"{count:,} child" if count == 1 else f"{count:,} children"
