"""The model registry: named models, numbered versions, and aliases that point at versions.

    version = register(registry, model, "churn", run_id=run.id)   # churn version 1, 2, 3...
    load(registry, "churn@champion")    # the version the alias points at
    load(registry, "churn@3")           # version 3
    load(registry, "churn")             # the latest version

A version stores the fitted object as a joblib file in the content-addressed artifact
store, and records the run that trained it (so its metrics can be compared), the
training data snapshot, its flavor (``sklearn`` for scikit-learn estimators and
pipelines, ``pickle`` for any other picklable object), the class, the versions of the
libraries needed to load it, and its input signature. Loading reads the file's bytes
once, checks them against the recorded sha256 and unpickles exactly those bytes: a
file changed on disk is refused with :class:`ArtifactIntegrityError`.

Version numbers are taken inside the write transaction that inserts the version, so two
processes registering the same name at once get distinct, consecutive numbers.

Aliases (``champion``, ``challenger``, any identifier) name one version each. Moving them
(and their history) is :mod:`jupyter_mlops.aliases`; moving one behind validation gates
is :func:`jupyter_mlops.gates.promote`.
"""

from __future__ import annotations

import io
import json
import logging
import pickle
import platform
import re
import sqlite3
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import InvalidInputError, NotFoundError
from .queries import resolve_snapshot
from .registry import Registry
from .signatures import ModelSignature, learn_signature, schema_dtypes, signature_of

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

FLAVORS = ("sklearn", "pickle")
RESERVED_ALIASES = frozenset({"latest", "params", "param", "metrics", "metric"})
_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
_ALIAS = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_VERSION = re.compile(r"^v?([0-9]+)$")


# -- values ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelVersion:
    """One registered version of a model, with its aliases and its run's metrics."""

    id: int
    model: str
    version: int
    aliases: tuple[str, ...]
    flavor: str
    model_class: str
    artifact_sha256: str
    size: int | None
    run_id: str | None
    run_name: str | None
    snapshot_id: str | None
    snapshot_name: str | None
    signature: ModelSignature | None
    libraries: dict[str, str]
    description: str | None
    created_at: float
    metrics: dict[str, float | None] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        """How to name this version: ``churn@3``."""
        return f"{self.model}@{self.version}"

    @property
    def class_name(self) -> str:
        return self.model_class.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class RegisteredModel:
    """A model name with its versions (newest first) and its aliases (alias -> version)."""

    name: str
    description: str | None
    created_at: float
    versions: tuple[ModelVersion, ...]
    aliases: dict[str, int]

    @property
    def latest(self) -> ModelVersion:
        return self.versions[0]


@dataclass(frozen=True)
class ModelRef:
    """A parsed ``name[@version|@alias]``: exactly one of ``version`` / ``alias`` or neither."""

    name: str
    version: int | None = None
    alias: str | None = None

    @property
    def text(self) -> str:
        if self.version is not None:
            return f"{self.name}@{self.version}"
        return f"{self.name}@{self.alias}" if self.alias else self.name


# -- names ------------------------------------------------------------------------------------


def check_model_name(name: object) -> str:
    """``name`` if it can name a model (letters, digits, ``. _ -``), else InvalidInputError."""
    if not isinstance(name, str) or not _MODEL_NAME.match(name):
        raise InvalidInputError(
            f"{name!r} cannot name a model",
            hint="Use letters, digits, '.', '_' and '-' (up to 200), starting with a letter "
            "or digit, e.g. churn or churn-rf.",
        )
    return name


def check_alias(alias: object) -> str:
    """``alias`` if it can name an alias (an identifier usable in gate rules)."""
    if not isinstance(alias, str) or not _ALIAS.match(alias):
        raise InvalidInputError(
            f"{alias!r} cannot name an alias",
            hint="An alias is a name like champion or challenger: letters, digits and '_', "
            "starting with a letter, so that rules can say champion.accuracy.",
        )
    if alias in RESERVED_ALIASES:
        raise InvalidInputError(
            f'"{alias}" is reserved and cannot be an alias',
            hint="Choose another name, e.g. champion, challenger or staging.",
        )
    return alias


def parse_ref(text: object) -> ModelRef:
    """Read ``churn``, ``churn@3`` (or ``churn@v3``), ``churn@champion`` or ``churn@latest``.

    >>> parse_ref("churn@champion")
    ModelRef(name='churn', version=None, alias='champion')
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidInputError(
            f"{text!r} does not name a model",
            hint="Write NAME, NAME@VERSION or NAME@ALIAS, e.g. churn@champion.",
        )
    name, sep, selector = text.strip().partition("@")
    check_model_name(name)
    if not sep or selector == "latest":
        return ModelRef(name)
    number = _VERSION.match(selector)
    if number:
        version = int(number.group(1))
        if version < 1:
            raise InvalidInputError(f'"{text}": versions start at 1', hint=f"Try {name}@1.")
        return ModelRef(name, version=version)
    return ModelRef(name, alias=check_alias(selector))


# -- registering ------------------------------------------------------------------------------


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
    return _version_by_id(registry, version_id)


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


# -- aliases -------------------------------------------------------------------------------------


def record_alias_move(
    conn: sqlite3.Connection,
    model_row_id: int,
    alias: str,
    version_id: int | None,
    *,
    reason: str,
    evaluation_id: str | None = None,
) -> int | None:
    """Point ``alias`` at ``version_id`` (``None`` removes it) and keep the move in history.

    Runs inside the caller's transaction; returns the version id the alias left.
    """
    row = conn.execute(
        "SELECT version_id FROM model_aliases WHERE model_id = ? AND alias = ?",
        (model_row_id, alias),
    ).fetchone()
    previous = None if row is None else int(row[0])
    now = time.time()
    if version_id is None:
        conn.execute(
            "DELETE FROM model_aliases WHERE model_id = ? AND alias = ?", (model_row_id, alias)
        )
    else:
        conn.execute(
            "INSERT OR REPLACE INTO model_aliases (model_id, alias, version_id, updated_at)"
            " VALUES (?, ?, ?, ?)",
            (model_row_id, alias, version_id, now),
        )
    conn.execute(
        "INSERT INTO model_alias_history (model_id, alias, from_version_id, to_version_id,"
        " evaluation_id, reason, moved_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (model_row_id, alias, previous, version_id, evaluation_id, reason, now),
    )
    return previous


def alias_target(registry: Registry, model: str, alias: str) -> ModelVersion | None:
    """The version ``model@alias`` points at, or ``None`` when the alias is not set."""
    row = registry.query_one(
        "SELECT model_aliases.version_id FROM model_aliases JOIN models"
        " ON models.id = model_aliases.model_id WHERE models.name = ? AND model_aliases.alias = ?",
        (model, alias),
    )
    return None if row is None else _version_by_id(registry, int(row[0]))


def aliases_of(registry: Registry, model: str) -> dict[str, int]:
    """Every alias of ``model`` and the version number it points at."""
    rows = registry.query(
        "SELECT model_aliases.alias, model_versions.version FROM model_aliases"
        " JOIN models ON models.id = model_aliases.model_id"
        " JOIN model_versions ON model_versions.id = model_aliases.version_id"
        " WHERE models.name = ? ORDER BY model_aliases.alias",
        (model,),
    )
    return {str(r[0]): int(r[1]) for r in rows}


# -- reading ------------------------------------------------------------------------------------


def resolve_version(registry: Registry, ref: str | ModelRef) -> ModelVersion:
    """The version ``ref`` names: ``churn`` (latest), ``churn@3``, ``churn@champion``."""
    parsed = ref if isinstance(ref, ModelRef) else parse_ref(ref)
    model_row_id = model_id(registry, parsed.name)
    if parsed.alias is not None:
        row = registry.query_one(
            "SELECT version_id FROM model_aliases WHERE model_id = ? AND alias = ?",
            (model_row_id, parsed.alias),
        )
        if row is None:
            raise no_alias_error(registry, parsed.name, parsed.alias)
        return _version_by_id(registry, int(row[0]))
    if parsed.version is not None:
        row = registry.query_one(
            "SELECT id FROM model_versions WHERE model_id = ? AND version = ?",
            (model_row_id, parsed.version),
        )
        if row is None:
            latest = registry.query_one(
                "SELECT MAX(version) FROM model_versions WHERE model_id = ?", (model_row_id,)
            )
            raise NotFoundError(
                f'Model "{parsed.name}" has no version {parsed.version}',
                hint=f"Its versions go from 1 to {latest[0] if latest else 0}.",
            )
        return _version_by_id(registry, int(row[0]))
    row = registry.query_one(
        "SELECT id FROM model_versions WHERE model_id = ? ORDER BY version DESC LIMIT 1",
        (model_row_id,),
    )
    if row is None:
        raise NotFoundError(f'Model "{parsed.name}" has no versions yet')
    return _version_by_id(registry, int(row[0]))


def load(registry: Registry, ref: str) -> Any:
    """The stored object of the version ``ref`` names, after checking its bytes' sha256.

    The bytes are read once, hashed, and exactly those bytes are unpickled, so a file
    swapped between the check and the load cannot slip through.

        model = load(registry, "churn@champion")
    """
    import joblib

    version = resolve_version(registry, ref)
    data = registry.artifacts.read_bytes(version.artifact_sha256)  # ArtifactIntegrityError
    try:
        return joblib.load(io.BytesIO(data))
    except (ModuleNotFoundError, AttributeError) as exc:
        needs = ", ".join(f"{k} {v}" for k, v in version.libraries.items())
        raise InvalidInputError(
            f"Cannot load {version.ref} ({version.model_class}): {exc}",
            hint=f"Load it where the class is importable; it was stored with {needs}.",
        ) from exc


def list_models(registry: Registry, name: str | None = None) -> tuple[RegisteredModel, ...]:
    """Every model (or the one called ``name``) with its versions, aliases and metrics."""
    if name is not None:
        model_id(registry, check_model_name(name))
    models = registry.query(
        "SELECT id, name, description, created_at FROM models"
        + (" WHERE name = ?" if name is not None else "")
        + " ORDER BY name",
        (name,) if name is not None else (),
    )
    versions = _versions(
        registry, "models.name = ?" if name is not None else "1", (name,) if name else ()
    )
    by_model: dict[str, list[ModelVersion]] = {}
    for version in versions:
        by_model.setdefault(version.model, []).append(version)
    found = []
    for row in models:
        mine = sorted(by_model.get(row["name"], []), key=lambda v: v.version, reverse=True)
        aliases = {alias: v.version for v in mine for alias in v.aliases}
        found.append(
            RegisteredModel(
                row["name"],
                row["description"],
                row["created_at"],
                tuple(mine),
                dict(sorted(aliases.items())),
            )
        )
    return tuple(found)


def versions_frame(registry: Registry, name: str | None = None) -> pd.DataFrame:
    """Versions as a DataFrame: one row each, newest first per model, ``metrics.*`` columns."""
    import pandas as pd

    rows = []
    for model in list_models(registry, name):
        for v in model.versions:
            row: dict[str, Any] = {
                "model": v.model,
                "version": v.version,
                "aliases": ", ".join(v.aliases),
                "flavor": v.flavor,
                "class": v.class_name,
                "run_id": v.run_id,
                "run_name": v.run_name,
                "snapshot": v.snapshot_name,
                "created_at": pd.Timestamp(v.created_at, unit="s", tz="UTC"),
                "sha256": v.artifact_sha256,
            }
            row.update({f"metrics.{k}": v.metrics[k] for k in sorted(v.metrics)})
            rows.append(row)
    columns = [
        "model", "version", "aliases", "flavor", "class", "run_id", "run_name", "snapshot",
        "created_at", "sha256",
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=None if rows else columns)
    metric_columns = [c for c in frame.columns if c.startswith("metrics.")]
    for column in metric_columns:
        frame[column] = frame[column].astype("float64")
    return frame


def model_names(registry: Registry) -> list[str]:
    return [str(r[0]) for r in registry.query("SELECT name FROM models ORDER BY name")]


def model_id(registry: Registry, name: str) -> int:
    """The row id of the model ``name``; NotFoundError (with close names) when there is none."""
    row = registry.query_one("SELECT id FROM models WHERE name = ?", (name,))
    if row is None:
        import difflib

        known = model_names(registry)
        close = difflib.get_close_matches(name, known, n=3)
        hint = (
            f"Did you mean {', '.join(close)}?"
            if close
            else f"Registered models: {', '.join(known[:20]) or 'none yet'}. "
            "Register one with %mlops register VAR --name NAME."
        )
        raise NotFoundError(f'No model named "{name}"', hint=hint)
    return int(row[0])


def no_alias_error(registry: Registry, model: str, alias: str) -> NotFoundError:
    """The error for an alias that is not set, listing the ones that are."""
    known = aliases_of(registry, model)
    listed = ", ".join(f"{a} (v{v})" for a, v in known.items()) or "none yet"
    return NotFoundError(
        f'Model "{model}" has no alias "{alias}"',
        hint=f"Its aliases: {listed}. Set one with %mlops promote {model}@VERSION --alias {alias}.",
    )


_VERSION_SELECT = (
    "SELECT model_versions.id, models.name AS model, model_versions.version,"
    " model_versions.flavor, model_versions.model_class, model_versions.artifact_sha256,"
    " artifacts.size, model_versions.run_id, runs.name AS run_name, model_versions.snapshot_id,"
    " snapshots.name AS snapshot_name, model_versions.signature, model_versions.libraries,"
    " model_versions.description, model_versions.created_at"
    " FROM model_versions JOIN models ON models.id = model_versions.model_id"
    " LEFT JOIN artifacts ON artifacts.sha256 = model_versions.artifact_sha256"
    " LEFT JOIN runs ON runs.id = model_versions.run_id"
    " LEFT JOIN snapshots ON snapshots.id = model_versions.snapshot_id"
)


def _versions(registry: Registry, condition: str, params: Sequence[Any]) -> list[ModelVersion]:
    rows = registry.query(f"{_VERSION_SELECT} WHERE {condition}", params)
    if not rows:
        return []
    ids = [int(r["id"]) for r in rows]
    marks = ", ".join("?" for _ in ids)
    aliases: dict[int, list[str]] = {}
    for version_id, alias in registry.query(
        f"SELECT version_id, alias FROM model_aliases WHERE version_id IN ({marks}) ORDER BY alias",
        ids,
    ):
        aliases.setdefault(int(version_id), []).append(str(alias))
    run_ids = sorted({r["run_id"] for r in rows if r["run_id"] is not None})
    metrics: dict[str, dict[str, float | None]] = {}
    if run_ids:
        run_marks = ", ".join("?" for _ in run_ids)
        for run_id, key, last in registry.query(
            f"SELECT run_id, key, last FROM metric_summaries WHERE run_id IN ({run_marks})"
            " ORDER BY key",
            run_ids,
        ):
            metrics.setdefault(str(run_id), {})[str(key)] = last
    return [
        ModelVersion(
            id=int(r["id"]),
            model=r["model"],
            version=int(r["version"]),
            aliases=tuple(aliases.get(int(r["id"]), ())),
            flavor=r["flavor"],
            model_class=r["model_class"],
            artifact_sha256=r["artifact_sha256"],
            size=r["size"],
            run_id=r["run_id"],
            run_name=r["run_name"],
            snapshot_id=r["snapshot_id"],
            snapshot_name=r["snapshot_name"],
            signature=(
                None
                if r["signature"] is None
                else ModelSignature.from_dict(json.loads(r["signature"]))
            ),
            libraries=json.loads(r["libraries"]),
            description=r["description"],
            created_at=r["created_at"],
            metrics=dict(metrics.get(r["run_id"], {})) if r["run_id"] else {},
        )
        for r in rows
    ]


def _version_by_id(registry: Registry, version_id: int) -> ModelVersion:
    found = _versions(registry, "model_versions.id = ?", (version_id,))
    if not found:
        raise NotFoundError(f"No model version with id {version_id}")
    return found[0]
