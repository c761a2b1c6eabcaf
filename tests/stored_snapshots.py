"""Stored snapshots for tests of models and expectations.

Snapshots are taken the real way (``record_snapshot``). To test what a profile
with few categories kept looks like, ``category_cap`` below 1,000 writes a row the way the
snapshots module stores one, with a profile computed here: samples and quantiles are left
out, which is the case where expectations on a snapshot have the least to go on.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import numpy as np
import pandas as pd

from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.snapshots.store import record_snapshot


def store_snapshot(
    registry: Registry,
    frame: pd.DataFrame,
    name: str,
    *,
    run_id: str | None = None,
    role: str = "train",
    category_cap: int = 1000,
) -> str:
    """Store ``frame`` as a snapshot called ``name``; link it to ``run_id`` with ``role``."""
    if category_cap == 1000:
        return record_snapshot(registry, frame, name=name, role=role, run_id=run_id).id
    snapshot_id = secrets.token_hex(6)
    schema = [
        {
            "name": str(label),
            "dtype": str(column.dtype),
            "nullable": not (isinstance(column.dtype, np.dtype) and column.dtype.kind in "biu"),
            "null_count": int(column.isna().sum()),
        }
        for label, column in frame.items()
    ]
    profile = {
        "format": "jupyter-mlops/profile",
        "version": 1,
        "n_rows": len(frame),
        "columns": [
            _column_profile(str(label), column, category_cap) for label, column in frame.items()
        ],
    }
    with registry.transaction("a test snapshot") as conn:
        conn.execute(
            "INSERT INTO snapshots (id, name, fingerprint, kind, n_rows, n_columns, schema, profile,"
            " index_policy, index_hashed, index_schema, fingerprint_scheme, created_at)"
            " VALUES (?, ?, ?, 'dataframe', ?, ?, ?, ?, 'auto', 0, '[]', 'test', ?)",
            (
                snapshot_id,
                name,
                secrets.token_hex(32),
                len(frame),
                frame.shape[1],
                json.dumps(schema),
                json.dumps(profile),
                time.time(),
            ),
        )
        if run_id is not None:
            conn.execute(
                "INSERT INTO run_snapshots (run_id, snapshot_id, role, variable) VALUES (?, ?, ?, ?)",
                (run_id, snapshot_id, role, name),
            )
    return snapshot_id


def _kind(column: pd.Series) -> str:
    dtype = column.dtype
    api = pd.api.types
    if isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
    if api.is_bool_dtype(dtype):
        return "boolean"
    if api.is_datetime64_any_dtype(dtype):
        return "datetime"
    if api.is_numeric_dtype(dtype):
        return "numeric"
    inferred = api.infer_dtype(column, skipna=True)
    if inferred == "string":
        return "categorical"
    if inferred == "empty":
        return "empty"
    return "unsupported"


def _label(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return str(int(number)) if number.is_integer() else repr(number)
    return str(value)


def _column_profile(name: str, column: pd.Series, category_cap: int) -> dict[str, Any]:
    kind = _kind(column)
    nulls = int(column.isna().sum())
    entry: dict[str, Any] = {"name": name, "dtype": str(column.dtype), "kind": kind}
    values = column.dropna()
    if kind in ("categorical", "boolean"):
        counts = values.astype(str).value_counts()
        counts = counts.sort_values(ascending=False, kind="stable")
        kept = counts.iloc[:category_cap]
        entry.update(
            count=len(values),
            null_count=nulls,
            distinct=len(counts),
            categories=[[str(k), int(v)] for k, v in kept.items()],
        )
        if len(counts) > category_cap:
            entry["other_count"] = int(counts.iloc[category_cap:].sum())
        return entry
    if kind in ("numeric", "datetime"):
        if kind == "datetime":
            series = column.dt.tz_convert(None) if column.dt.tz is not None else column
            numbers = ((series.dropna() - pd.Timestamp(0)) / pd.Timedelta(seconds=1)).to_numpy()
        else:
            numbers = values.astype("float64").to_numpy()
        finite = numbers[np.isfinite(numbers)]
        entry.update(count=len(finite), null_count=nulls)
        if len(numbers) > len(finite):
            entry["inf_count"] = int(len(numbers) - len(finite))
        if len(finite) == 0:
            entry["kind"] = "empty"
            return entry
        low, high = float(finite.min()), float(finite.max())
        distinct, counts = np.unique(finite, return_counts=True)
        entry.update(mean=float(finite.mean()), std=float(finite.std()), min=low, max=high)
        entry["distinct"] = int(len(distinct)) if len(distinct) <= 1000 else None
        if len(distinct) <= 20:
            entry["categories"] = [[_label(v), int(c)] for v, c in zip(distinct, counts)]
        if low == high:
            entry["histogram"] = {"edges": [low, high], "counts": [len(finite)]}
        else:
            hist, edges = np.histogram(finite, bins=20, range=(low, high))
            entry["histogram"] = {"edges": edges.tolist(), "counts": hist.tolist()}
        return entry
    entry.update(count=len(values), null_count=nulls, note="mixed value types")
    return entry
