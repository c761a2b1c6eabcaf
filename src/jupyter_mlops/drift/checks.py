"""A drift check from end to end: find the two sides, compare them, store the report.

The reference is what the data should look like: a DataFrame, a stored snapshot (by name,
id or record: its profile is the reference, the data itself is not needed), the training
snapshot of a registered model version (``"churn@champion"``), or a CSV/parquet file. The
current data is a DataFrame, a CSV/parquet file, or a stored snapshot whose data was
materialized. :func:`run_drift_check` resolves both, runs
:func:`~jupyter_mlops.drift.deciding.drift_report` and stores the result with
:func:`~jupyter_mlops.drift.store.record_drift_report`; the magics, the command line, the
Python API, the drift gate and pipeline steps all go through it.

    stored = run_drift_check(registry, "train", todays_df, current_name="todays_df",
                             critical=["amount"], run_id=run.id)
    stored.decision            # monitor | review | retrain
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInputError, NotFoundError
from ..snapshots.profiles import DataProfile
from .columns import DISCRETE_MAX
from .deciding import MAX_ROWS, drift_report
from .report import DriftReport
from .store import StoredDriftReport, get_drift_report, record_drift_report

if TYPE_CHECKING:
    import pandas as pd

    from ..registry.connection import Registry

logger = logging.getLogger(__name__)

DATA_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq", ".gz", ".bz2", ".zip", ".xz", ".zst")
"""File name endings read as data (CSV may be compressed), as snapshots read them."""


@dataclass(frozen=True, eq=False)
class DriftSide:
    """One side of a drift check, resolved: the data (or a profile) and what to call it.

    ``kind`` is ``dataframe``, ``file``, ``snapshot`` or ``profile``; ``snapshot_id`` is set
    for a stored snapshot; ``model_ref`` when the reference is a model version's training
    snapshot (the report is then linked to that version unless another is given).
    """

    data: pd.DataFrame | DataProfile
    name: str
    kind: str
    snapshot_id: str | None = None
    model_ref: str | None = None


def reference_side(
    registry: Registry | None, reference: Any, *, name: str | None = None
) -> DriftSide:
    """The reference of a drift check, from any of the forms the module doc lists.

    Text is tried as an existing file, then as a stored snapshot's id or name, then as a
    model version (``churn@3``) whose training snapshot is taken. ``registry`` may be
    ``None`` when no stored object is named.

        side = reference_side(registry, "train")       # the newest snapshot named train
        side.kind, side.snapshot_id
    """
    side = _object_side(registry, reference, name, "reference")
    if side is not None:
        return side
    text = _text(reference, "reference")
    if Path(text).expanduser().exists():
        return _file_side(text, name)
    if registry is not None:
        from ..snapshots.store import load_snapshot

        snapshot_id = _snapshot_id(registry, text)
        if snapshot_id is not None:
            snapshot = load_snapshot(registry, snapshot_id)
            return DriftSide(snapshot.profile, name or snapshot.name, "snapshot", snapshot_id)
        if "@" in text:
            return _training_side(registry, text, name)
    raise _not_found(registry, text, "reference")


def current_side(registry: Registry | None, current: Any, *, name: str | None = None) -> DriftSide:
    """The current data of a drift check: a DataFrame, a file, or a snapshot stored with its
    data (``--materialize``); a snapshot that kept only its profile cannot be the current side.

        side = current_side(registry, "data/today.parquet")
    """
    if isinstance(current, DataProfile) or _is_snapshot_object(current):
        raise InvalidInputError(
            "The current side of a drift check must be the data itself, not a profile",
            hint="Pass the DataFrame (or a CSV/parquet file) you want to check.",
        )
    side = _object_side(registry, current, name, "current")
    if side is not None:
        return side
    text = _text(current, "current data")
    if Path(text).expanduser().exists():
        return _file_side(text, name)
    if registry is not None:
        snapshot_id = _snapshot_id(registry, text)
        if snapshot_id is not None:
            return _materialized_side(registry, snapshot_id, name)
    raise _not_found(registry, text, "current")


def run_drift_check(
    registry: Registry,
    reference: Any,
    current: Any,
    *,
    reference_name: str | None = None,
    current_name: str | None = None,
    columns: Iterable[str] | None = None,
    alpha: float = 0.05,
    critical: Iterable[str] = (),
    effect_threshold: float = 0.1,
    correction: str = "bh",
    retrain_alpha: float = 0.01,
    max_rows: int = MAX_ROWS,
    discrete_max: int = DISCRETE_MAX,
    seed: int = 0,
    name: str | None = None,
    run_id: str | None = None,
    model: str | None = None,
    origin: str = "python",
    notebook_path: str | None = None,
) -> StoredDriftReport:
    """Resolve both sides, compare them column by column, store and return the report.

    The settings are :func:`~jupyter_mlops.drift.deciding.drift_report`'s. ``reference_name`` and
    ``current_name`` label the sides (a variable's name, say); ``run_id`` and ``model`` link
    the report (a reference given as ``churn@3`` links that version by itself).

        stored = run_drift_check(registry, "churn@champion", "data/today.csv", critical=["amount"])
    """
    ref = reference_side(registry, reference, name=reference_name)
    cur = current_side(registry, current, name=current_name)
    report = compare_sides(
        ref,
        cur,
        columns=columns,
        alpha=alpha,
        critical=critical,
        effect_threshold=effect_threshold,
        correction=correction,
        retrain_alpha=retrain_alpha,
        max_rows=max_rows,
        discrete_max=discrete_max,
        seed=seed,
    )
    report_id = store_report(
        registry,
        report,
        ref,
        cur,
        name=name,
        run_id=run_id,
        model=model,
        origin=origin,
        notebook_path=notebook_path,
    )
    return get_drift_report(registry, report_id)


def store_report(
    registry: Registry,
    report: DriftReport,
    reference: DriftSide,
    current: DriftSide,
    *,
    name: str | None = None,
    run_id: str | None = None,
    model: str | None = None,
    origin: str = "python",
    notebook_path: str | None = None,
) -> str:
    """Store the report of two resolved sides with what they were; return the report's id.

    A reference taken from a model version links the report to that version unless
    ``model`` names another.
    """
    return record_drift_report(
        registry,
        report,
        reference_name=reference.name,
        current_name=current.name,
        reference_snapshot_id=reference.snapshot_id,
        reference_kind=reference.kind,
        current_kind=current.kind,
        current_snapshot_id=current.snapshot_id,
        run_id=run_id,
        model=model if model is not None else reference.model_ref,
        name=name,
        origin=origin,
        notebook_path=notebook_path,
    )


def compare_sides(
    reference: DriftSide,
    current: DriftSide,
    *,
    columns: Iterable[str] | None = None,
    alpha: float = 0.05,
    critical: Iterable[str] = (),
    effect_threshold: float = 0.1,
    correction: str = "bh",
    retrain_alpha: float = 0.01,
    max_rows: int = MAX_ROWS,
    discrete_max: int = DISCRETE_MAX,
    seed: int = 0,
) -> DriftReport:
    """The drift report of two resolved sides, not stored (the command line without a registry)."""
    assert not isinstance(current.data, DataProfile)
    report = drift_report(
        reference.data,
        current.data,
        columns=columns,
        alpha=alpha,
        critical=critical,
        effect_threshold=effect_threshold,
        correction=correction,
        retrain_alpha=retrain_alpha,
        max_rows=max_rows,
        discrete_max=discrete_max,
        seed=seed,
    )
    logger.info("drift %s vs %s: %s", reference.name, current.name, report.decision)
    return report


def split_names(text: str | Iterable[str] | None) -> tuple[str, ...] | None:
    """Column names from ``"a,b"`` (as options give them) or from a list, kept as given;
    ``None`` stays None."""
    if text is None:
        return None
    if not isinstance(text, str):
        return tuple(str(item).strip() for item in text)
    names = tuple(item.strip() for item in text.split(",") if item.strip())
    if not names:
        raise InvalidInputError(
            f"{text!r} names no column", hint="Separate column names with commas: amount,age."
        )
    return names


# -- the sides --------------------------------------------------------------------------------


def _object_side(
    registry: Registry | None, value: Any, name: str | None, role: str
) -> DriftSide | None:
    """A side for anything but text: frames, series, arrays, profiles and snapshots."""
    import numpy as np

    from ..snapshots.snapshot import DataSnapshot

    if isinstance(value, DataProfile):
        return DriftSide(value, name or role, "profile")
    if isinstance(value, DataSnapshot):
        snapshot_id = None
        if registry is not None:
            row = registry.query_one(
                "SELECT id FROM snapshots WHERE name = ? AND fingerprint = ?"
                " AND fingerprint_scheme = ?",
                (value.name, value.fingerprint, value.fingerprint_scheme),
            )
            snapshot_id = None if row is None else str(row[0])
        kind = "snapshot" if snapshot_id else "profile"
        return DriftSide(value.profile, name or value.name, kind, snapshot_id)
    if _is_snapshot_object(value):
        if registry is None:
            raise InvalidInputError(
                f"The {role} is a stored snapshot, but no registry was given to read it from",
                hint="Open the registry first (%mlops init, or --registry).",
            )
        from ..snapshots.store import load_snapshot, resolve_snapshot

        snapshot_id = resolve_snapshot(registry, value)
        if role == "current":
            return _materialized_side(registry, snapshot_id, name)
        snapshot = load_snapshot(registry, snapshot_id)
        return DriftSide(snapshot.profile, name or snapshot.name, "snapshot", snapshot_id)
    if isinstance(value, (str, os.PathLike)):
        return None
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        return DriftSide(value, name or role, "dataframe")
    if isinstance(value, (pd.Series, np.ndarray)):
        from ..snapshots.inputs import as_frame

        return DriftSide(as_frame(value), name or role, "dataframe")
    raise InvalidInputError(
        f"The {'reference' if role == 'reference' else 'current data'} of a drift check cannot"
        f" be of type {type(value).__name__}",
        hint="Give a pandas DataFrame, a CSV/parquet file"
        + (", or a stored snapshot's name or id." if role == "reference" else "."),
    )


def _is_snapshot_object(value: Any) -> bool:
    """A stored snapshot's record (``mlops.snapshot(...)`` returns one): it has an id and a
    fingerprint."""
    return hasattr(value, "fingerprint") and isinstance(getattr(value, "id", None), str)


def _text(value: Any, role: str) -> str:
    text = os.fspath(value)
    if not isinstance(text, str) or not text.strip():
        raise InvalidInputError(
            f"The {role} of a drift check is empty",
            hint="Give a DataFrame, a CSV/parquet file, or a stored snapshot's name.",
        )
    return text.strip()


def _file_side(text: str, name: str | None) -> DriftSide:
    from ..snapshots.inputs import as_frame

    return DriftSide(as_frame(text), name or text, "file")


def _snapshot_id(registry: Registry, text: str) -> str | None:
    row = registry.query_one("SELECT id FROM snapshots WHERE id = ?", (text,))
    if row is None:
        row = registry.query_one(
            "SELECT id FROM snapshots WHERE name = ? ORDER BY created_at DESC LIMIT 1", (text,)
        )
    return None if row is None else str(row[0])


def _training_side(registry: Registry, text: str, name: str | None) -> DriftSide:
    from ..models.versions import resolve_version
    from ..snapshots.store import load_snapshot

    version = resolve_version(registry, text)
    if version.snapshot_id is None:
        raise NotFoundError(
            f"{version.ref} has no training snapshot to compare with",
            hint="Register it with --snapshot NAME (or snapshot= in register_model), or "
            "give the reference data or snapshot directly.",
        )
    snapshot = load_snapshot(registry, version.snapshot_id)
    return DriftSide(
        snapshot.profile,
        name or f"{snapshot.name} ({text})",
        "snapshot",
        version.snapshot_id,
        version.ref,
    )


def _materialized_side(registry: Registry, snapshot_id: str, name: str | None) -> DriftSide:
    from ..snapshots.store import load_snapshot_data

    stored = registry.query_one("SELECT name FROM snapshots WHERE id = ?", (snapshot_id,))
    assert stored is not None
    frame = load_snapshot_data(registry, snapshot_id)
    if frame is None:
        raise InvalidInputError(
            f'Snapshot "{stored[0]}" keeps only its profile, not its data, so it cannot be '
            "the current side of a drift check",
            hint="Pass the DataFrame or the file itself, or snapshot it with --materialize "
            "(materialize=True) to keep its data.",
        )
    return DriftSide(frame, name or str(stored[0]), "snapshot", snapshot_id)


def _not_found(registry: Registry | None, text: str, role: str) -> NotFoundError:
    side = "reference" if role == "reference" else "current data"
    looks_like_file = Path(text).suffix.lower() in DATA_SUFFIXES or os.sep in text
    if looks_like_file:
        return NotFoundError(
            f'No file at "{text}" (the {side} of the drift check)',
            hint=f"Check the path; a relative path is read from {Path.cwd()}.",
        )
    if registry is None:
        return NotFoundError(
            f'No file at "{text}", and no registry to look for a snapshot of that name '
            f"(the {side} of the drift check)",
            hint="Give a CSV/parquet file, or open a registry (%mlops init, --registry) "
            "to use stored snapshots; stored snapshots need a registry.",
        )
    names = [r[0] for r in registry.query(
        "SELECT name FROM snapshots GROUP BY name ORDER BY MAX(created_at) DESC LIMIT 10"
    )]  # fmt: skip
    what = "file, snapshot or model version" if role == "reference" else "file or snapshot"
    return NotFoundError(
        f'No {what} named "{text}" (the {side} of the drift check)',
        hint=f"Stored snapshots: {', '.join(names) or 'none yet'}. In a notebook, a DataFrame "
        "variable works too; take a reference with %mlops snapshot VAR --name NAME.",
    )
