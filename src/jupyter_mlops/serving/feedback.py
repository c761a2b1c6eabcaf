"""Ground truth that comes after the answer: the true labels of served requests, by request id.

    record_feedback(registry, ["order-1", "order-2"], [1, 0])         # one row per request
    record_feedback(registry, "batch-7", [[1, 0, 0]])                   # a request of 3 rows

Each request id must be one the prediction log holds, and its labels must count its rows:
anything else is refused before a label is written, with the request named. A later label
for the same request replaces the earlier one. :mod:`.live_metrics` compares them with what
each version answered.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from typing import Any

from ..errors import InvalidInputError, NotFoundError
from ..registry.connection import Registry


def record_feedback(registry: Registry, request_ids: Any, labels: Any) -> int:
    """Store ``labels`` (one per request: a value, or a list of one value per row) for
    ``request_ids``; return how many requests got labels."""
    ids = [request_ids] if isinstance(request_ids, str) else [str(r) for r in _listed(request_ids)]
    given = _listed(labels)
    if isinstance(request_ids, str) and len(given) != 1:
        given = [given]  # one request of several rows: feedback("r1", [1, 0, 0])
    if len(ids) != len(given):
        raise InvalidInputError(
            f"{len(ids)} request ids and {len(given)} labels were given",
            hint="Give one label per request id (a list of labels for a request of several rows).",
        )
    if not ids:
        return 0
    rows = _rows_of(registry, ids)
    unknown = [request_id for request_id in ids if request_id not in rows]
    if unknown:
        listed = ", ".join(f'"{r}"' for r in unknown[:5])
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        raise NotFoundError(
            f"No prediction was logged for request {listed}{more}",
            hint='Labels go with the id of a request a server answered (its "id", in the'
            " answer too); see mlops.predictions().",
        )
    encoded = []
    for request_id, label in zip(ids, given):
        values = _listed(label) if rows[request_id] > 1 or _is_list(label) else [label]
        if len(values) != rows[request_id]:
            raise InvalidInputError(
                f'Request "{request_id}" had {rows[request_id]} rows, {len(values)} labels were given',
                hint="Give one label per row of the request, in its order.",
            )
        encoded.append((request_id, json.dumps([_plain(v) for v in values]), time.time()))
    with registry.transaction(f"the labels of {len(encoded)} requests") as conn:
        conn.executemany(
            "INSERT OR REPLACE INTO prediction_labels (request_id, labels, recorded_at)"
            " VALUES (?, ?, ?)",
            encoded,
        )
    return len(encoded)


def _rows_of(registry: Registry, ids: Sequence[str]) -> dict[str, int]:
    """How many rows each logged request had (the served prediction's)."""
    found: dict[str, int] = {}
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        marks = ", ".join("?" for _ in chunk)
        for request_id, n_rows in registry.query_tuples(
            f"SELECT request_id, MAX(n_rows) FROM predictions WHERE request_id IN ({marks})"
            " GROUP BY request_id",
            chunk,
        ):
            found[str(request_id)] = int(n_rows)
    return found


def _is_list(value: Any) -> bool:
    return (
        isinstance(value, (list, tuple))
        or hasattr(value, "tolist")
        and getattr(value, "ndim", 0) > 0
    )


def _listed(values: Any) -> list[Any]:
    if hasattr(values, "tolist"):  # numpy arrays, pandas Series
        values = values.tolist()
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        return [values]
    return list(values)


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise InvalidInputError(
        f"A label must be a number, text or a boolean, not {type(value).__name__}",
        hint="Give the true value each row should have had.",
    )
