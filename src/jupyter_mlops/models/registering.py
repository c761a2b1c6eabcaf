"""Registering a model: its file stored, its flavor, signature and training data recorded."""

from __future__ import annotations

import json
import logging
import pickle
import platform
import sys
import time
from typing import Any

from ..errors import InvalidInputError, NotFoundError
from ..registry.connection import Registry
from ..snapshots.store import resolve_snapshot
from .aliases import record_alias_move
from .refs import check_alias, check_model_name
from .signatures import ModelSignature, learn_signature, schema_dtypes, signature_of
from .versions import ModelVersion, version_by_id

logger = logging.getLogger(__name__)


FLAVORS = ("sklearn", "pickle")


def register(
    registry: Registry,
    model: object,
    name: str,
    *,
    run_id: str | None = None,
    snapshot: object = None,
    signature: object = None,
    description: str | None = None,
    alias: str | None = None,
) -> ModelVersion:
    """Store ``model`` as the next version of ``name`` and return that version.

    ``run_id`` links the version to the run that trained it (its metrics are what gates
    compare). ``snapshot`` names the training data (a snapshot record, id or name); by
    default it is the run's snapshot with role ``train`` when there is exactly one.
    ``signature`` (a DataFrame, a ``{column: dtype}`` mapping, a list of column names or
    a :class:`ModelSignature`) defaults to the training snapshot's schema, else what the
    fitted estimator knows (``feature_names_in_`` / ``n_features_in_``). ``alias`` points
    an alias at the new version right away.

        version = register(registry, clf, "churn", run_id=run.id, alias="challenger")
        version.ref      # 'churn@4'
    """
    check_model_name(name)
    if alias is not None:
        check_alias(alias)
    if description is not None and not isinstance(description, str):
        raise InvalidInputError(f"description must be text, got {type(description).__name__}")
    if (
        run_id is not None
        and registry.query_one("SELECT 1 FROM runs WHERE id = ?", (run_id,)) is None
    ):
        raise NotFoundError(f'No run with id "{run_id}"', hint="See %mlops runs for the runs.")
    snapshot_id = _training_snapshot(registry, snapshot, run_id)
    if signature is not None:
        learned: ModelSignature | None = signature_of(signature)
    else:
        learned = learn_signature(model, *_snapshot_schema(registry, snapshot_id))
    flavor = flavor_of(model)
    sha256, size = _store(registry, model)
    libraries = _libraries(model, flavor)
    now = time.time()
    with registry.transaction(f'a new version of model "{name}"') as conn:
        conn.execute(
            "INSERT OR IGNORE INTO models (name, description, created_at) VALUES (?, ?, ?)",
            (name, description, now),
        )
        model_row_id = conn.execute("SELECT id FROM models WHERE name = ?", (name,)).fetchone()[0]
        version = conn.execute(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM model_versions WHERE model_id = ?",
            (model_row_id,),
        ).fetchone()[0]
        conn.execute(
            "INSERT OR IGNORE INTO artifacts (sha256, size, format, created_at) VALUES (?, ?, ?, ?)",
            (sha256, size, "joblib", now),
        )
        cursor = conn.execute(
            "INSERT INTO model_versions (model_id, version, run_id, snapshot_id, artifact_sha256,"
            " flavor, model_class, signature, libraries, description, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                model_row_id,
                version,
                run_id,
                snapshot_id,
                sha256,
                flavor,
                f"{type(model).__module__}.{type(model).__qualname__}",
                None if learned is None else json.dumps(learned.to_dict()),
                json.dumps(libraries),
                description,
                now,
            ),
        )
        version_id = int(cursor.lastrowid or 0)
        if run_id is not None:
            conn.execute(
                "INSERT OR REPLACE INTO run_artifacts (run_id, name, sha256) VALUES (?, ?, ?)",
                (run_id, f"model:{name}@{version}", sha256),
            )
        if alias is not None:
            record_alias_move(conn, model_row_id, alias, version_id, reason="register")
    logger.info("Registered %s@%d (%s, %d bytes)", name, version, flavor, size)
    return version_by_id(registry, version_id)


def flavor_of(model: object) -> str:
    """``sklearn`` for scikit-learn estimators and pipelines (and compatible estimators
    built on ``sklearn.base.BaseEstimator``), ``pickle`` for anything else."""
    base = sys.modules.get("sklearn.base")
    if base is not None and isinstance(model, base.BaseEstimator):
        return "sklearn"
    return "pickle"


def _store(registry: Registry, model: object) -> tuple[str, int]:
    """Dump ``model`` with joblib into the artifact store; refuse what cannot be pickled."""
    import joblib

    kind = f"{type(model).__module__}.{type(model).__qualname__}"

    def write(path: Any) -> None:
        try:
            joblib.dump(model, path)
        except (pickle.PicklingError, TypeError, AttributeError, RecursionError) as exc:
            raise InvalidInputError(
                f"Cannot register an object of type {kind}: it cannot be pickled ({exc})"[:400],
                hint="Register the fitted model itself; objects holding open files, locks, "
                "generators or lambdas cannot be stored.",
            ) from exc

    sha256 = registry.artifacts.put_path_writer(write)
    return sha256, registry.artifacts.path_of(sha256).stat().st_size


def _libraries(model: object, flavor: str) -> dict[str, str]:
    """The versions that loading the model later depends on."""
    found = {"python": platform.python_version()}
    roots = {"joblib", "numpy", type(model).__module__.split(".")[0]}
    if flavor == "sklearn":
        roots.add("sklearn")
    for root in sorted(roots):
        module = sys.modules.get(root)
        version = getattr(module, "__version__", None)
        if isinstance(version, str):
            found[root] = version
    return found


def _training_snapshot(registry: Registry, snapshot: object, run_id: str | None) -> str | None:
    if snapshot is not None:
        return resolve_snapshot(registry, snapshot)
    if run_id is None:
        return None
    rows = registry.query(
        "SELECT snapshot_id FROM run_snapshots WHERE run_id = ? AND role = 'train'", (run_id,)
    )
    if len(rows) == 1:
        return str(rows[0][0])
    if rows:
        logger.info(
            "Run %s has %d training snapshots; none is linked (name one with snapshot=)",
            run_id,
            len(rows),
        )
    return None


def _snapshot_schema(
    registry: Registry, snapshot_id: str | None
) -> tuple[str | None, dict[str, str]]:
    """(name, {column: dtype}) of a stored snapshot, for learning a signature from it."""
    if snapshot_id is None:
        return None, {}
    row = registry.query_one("SELECT name, schema FROM snapshots WHERE id = ?", (snapshot_id,))
    return (None, {}) if row is None else (str(row["name"]), schema_dtypes(row["schema"]))
