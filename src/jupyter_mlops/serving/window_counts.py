"""What each monitor window of a served model holds, counted in SQL without reading the log:
its scored rows, its labelled rows and when its newest label came. The monitor compares
these with the windows it stored to read only the traffic of the windows that changed.

    counts = window_counts(registry, "churn", 3600.0)     # {start: WindowCounts}
    still_holds(stored_window, counts[start])             # nothing new since it was stored

A window's start is a multiple of its length since the epoch, as :mod:`.windows` cuts them;
a request's rows count once each (``n_rows``), a label once per row it names that is not
``null``, as :func:`.live_rows.live_rows` reads them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..models.versions import model_id
from ..registry.connection import Registry
from .window_store import StoredWindow


@dataclass(frozen=True)
class WindowCounts:
    """One window's served rows, labelled rows and newest label (unix seconds; NaN: none)."""

    start: float
    n_predictions: int
    n_labelled: int
    newest_label: float


def window_counts(
    registry: Registry, model: str, length: float, *, since: float | None = None
) -> dict[float, WindowCounts]:
    """The counts of each window of ``length`` seconds holding requests ``model`` served
    (at or after ``since``), by start, oldest first."""
    condition, params = "", [length, model_id(registry, model)]
    if since is not None:
        condition = " AND predictions.served_at >= ?"
        params.append(since)
    rows = registry.query_tuples(
        "SELECT CAST(predictions.served_at / ? AS INTEGER) AS slot, SUM(predictions.n_rows),"
        " SUM(CASE WHEN prediction_labels.labels IS NULL THEN 0 ELSE ("
        "  SELECT count(*) FROM json_each(prediction_labels.labels) AS label"
        "  WHERE label.type != 'null' AND label.key < predictions.n_rows) END),"
        " MAX(prediction_labels.recorded_at)"
        " FROM predictions"
        " JOIN model_versions ON model_versions.id = predictions.model_version_id"
        " LEFT JOIN prediction_labels ON prediction_labels.request_id = predictions.request_id"
        " WHERE model_versions.model_id = ? AND predictions.role = 'served'"
        f"{condition} GROUP BY slot ORDER BY slot",
        params,
    )
    return {
        slot * length: WindowCounts(
            slot * length, int(served), int(labelled), math.nan if newest is None else newest
        )
        for slot, served, labelled, newest in rows
    }


def still_holds(kept: StoredWindow | None, counts: WindowCounts) -> bool:
    """Whether the stored window ``kept`` is still what its traffic says: it had ended when it
    was computed, and it gained no request and no label since."""
    return (
        kept is not None
        and kept.end <= kept.computed_at
        and (kept.n_predictions, kept.n_labelled) == (counts.n_predictions, counts.n_labelled)
        and not counts.newest_label > kept.computed_at  # NaN: no label at all
    )
