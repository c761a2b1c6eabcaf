"""Model versions read back: one by reference, every version of a model, the versions a
run was registered as, and a version's file loaded after its hash is checked.

    version = resolve_version(registry, "churn@champion")
    model = load(registry, "churn@3")
    list_models(registry)            # every model with its versions and aliases
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInputError, NotFoundError
from ..registry.connection import Registry
from .refs import ModelRef, check_model_name, parse_ref
from .signatures import ModelSignature

if TYPE_CHECKING:
    import pandas as pd


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


def alias_target(registry: Registry, model: str, alias: str) -> ModelVersion | None:
    """The version ``model@alias`` points at, or ``None`` when the alias is not set."""
    row = registry.query_one(
        "SELECT model_aliases.version_id FROM model_aliases JOIN models"
        " ON models.id = model_aliases.model_id WHERE models.name = ? AND model_aliases.alias = ?",
        (model, alias),
    )
    return None if row is None else version_by_id(registry, int(row[0]))


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
        return version_by_id(registry, int(row[0]))
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
        return version_by_id(registry, int(row[0]))
    row = registry.query_one(
        "SELECT id FROM model_versions WHERE model_id = ? ORDER BY version DESC LIMIT 1",
        (model_row_id,),
    )
    if row is None:
        raise NotFoundError(f'Model "{parsed.name}" has no versions yet')
    return version_by_id(registry, int(row[0]))


LOADABLE_FLAVORS = frozenset({"sklearn", "pickle"})
"""Flavors whose file is a (joblib) pickle; an imported MLflow model directory
(``mlflow``, a tar archive) or another file (``file``) is stored, not loaded."""

_UNLOADABLE = {
    "mlflow": "an MLflow model directory, stored as a tar archive",
    "file": "a file imported from MLflow that is not a pickle",
}


def load(registry: Registry, ref: str) -> Any:
    """The stored object of the version ``ref`` names, after checking its bytes' sha256.

    The bytes are read once, hashed, and exactly those bytes are unpickled, so a file
    swapped between the check and the load cannot slip through.

        model = load(registry, "churn@champion")
    """
    import joblib

    version = resolve_version(registry, ref)
    if version.flavor not in LOADABLE_FLAVORS:
        path = registry.artifacts.path_of(version.artifact_sha256)
        raise InvalidInputError(
            f"{version.ref} is {_UNLOADABLE.get(version.flavor, 'not a pickled object')}"
            f" (flavor {version.flavor}), so it cannot be loaded as an object",
            hint=f"Its file is {path}"
            + (" (tar -xf it, then mlflow.pyfunc.load_model the folder)."
               if version.flavor == "mlflow" else "."),
        )  # fmt: skip
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


def version_by_id(registry: Registry, version_id: int) -> ModelVersion:
    found = _versions(registry, "model_versions.id = ?", (version_id,))
    if not found:
        raise NotFoundError(f"No model version with id {version_id}")
    return found[0]


@dataclass(frozen=True)
class VersionRef:
    """A model version named from elsewhere (a run's page): model, number, aliases."""

    model: str
    version: int
    aliases: tuple[str, ...]

    @property
    def ref(self) -> str:
        return f"{self.model}@{self.version}"


def versions_of_run(registry: Registry, run_id: str) -> tuple[VersionRef, ...]:
    """The model versions registered from the run ``run_id``, with their aliases.

    Example::

        [v.ref for v in versions_of_run(registry, run.id)]      # ['churn@3']
    """
    rows = registry.query(
        "SELECT models.name AS model, model_versions.version AS version,"
        " (SELECT group_concat(alias, ',') FROM (SELECT alias FROM model_aliases"
        "   WHERE model_aliases.version_id = model_versions.id ORDER BY alias)) AS aliases"
        " FROM model_versions JOIN models ON models.id = model_versions.model_id"
        " WHERE model_versions.run_id = ? ORDER BY models.name, model_versions.version",
        (run_id,),
    )
    return tuple(
        VersionRef(
            row["model"],
            int(row["version"]),
            tuple(row["aliases"].split(",")) if row["aliases"] else (),
        )
        for row in rows
    )
