"""MLflow's registered models, their versions and aliases, imported as the registry's.

A version's artifact is downloaded through the server's artifact proxy and stored by its
hash. Its ``source`` is resolved first: ``mlflow-artifacts:/...`` as it is,
``runs:/RUN/PATH`` under that run's artifacts, ``models:/m-...`` (an MLflow 3 logged
model) under that model's artifacts. Then:

- a **file** (``model.pkl``) is stored as its bytes; a pickle (``.pkl``, ``.pickle``,
  ``.joblib``) gets the flavor ``pickle`` and loads with ``mlops.load_model`` (its class
  is read from the pickle's opcodes, never by unpickling it); another file gets the
  flavor ``file``;
- a **folder** (an MLflow model directory with its ``MLmodel``) is stored as one tar
  archive of its files, made the same way every time, with the flavor ``mlflow`` and as
  class ``mlflow.FLAVOR`` (the first flavor of its ``MLmodel`` other than
  ``python_function``); ``tar -xf`` unpacks it into a folder ``mlflow.pyfunc.load_model``
  reads.

A version keeps MLflow's number when it is free here; a version pushed from a registry
(tagged ``mlops.version``, ``mlops.run_id``, ``mlops.created_at``) that registry's number
and exact registration time. A version is the one already here
when the model has a version with the same number, run and time (nothing is downloaded
again), or with the same bytes (a version pushed from here; of a version that carries its
exact time, with the same bytes and time); a number taken by another
version here makes the import the next number, and the report says so. An alias points
at the version it points at in MLflow, each move kept in the alias history with the
reason ``import``. MLflow's stages (``Staging``, ``Production``) and version tags other
than the push's have no counterpart and are named in the report.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from ..errors import MlopsError, TrackingServerError
from ..models.aliases import record_alias_move
from ..models.refs import check_alias, check_model_name
from ..registry.connection import Registry
from .mlflow_api import PROXIED_SCHEME, MlflowServer
from .mlflow_import_artifacts import mlmodel_flavors, pickled_class, store_file, store_folder, walk
from .mlflow_import_report import ImportProgress, ProgressCallback, Tally

PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib")
PUSHED_VERSION_TAGS = frozenset({"mlops.version", "mlops.run_id", "mlops.created_at"})
"""The tags a push gives a version: its number, run and registration time here."""


@dataclass(frozen=True)
class StoredVersion:
    """A version's artifact, stored: its hash and size, flavor and class."""

    sha256: str
    size: int
    flavor: str
    model_class: str


def import_models(
    registry: Registry,
    server: MlflowServer,
    run_ids: dict[str, str],
    tally: Tally,
    *,
    only_imported_runs: bool,
    progress: ProgressCallback | None = None,
) -> None:
    """Import every registered model (with ``only_imported_runs``: only the versions of
    runs this import brought, ``run_ids`` mapping MLflow's run ids to the ids here)."""
    models = list(
        server.pages("GET", "registered-models/search", {"max_results": 1000}, "registered_models")
    )
    work: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    for model in models:
        name = model["name"]
        tags = {t["key"]: t.get("value") for t in model.get("tags", ())}
        if tags.get("mlflow.prompt.is_prompt") == "true":
            tally.skip(f'prompt "{name}": MLflow prompts have no counterpart here')
            continue
        try:
            check_model_name(name)
        except MlopsError as exc:
            tally.skip(f'model "{name}": {exc.message}')
            continue
        versions = list(
            server.pages(
                "GET",
                "model-versions/search",
                {"filter": f"name = '{_quoted(name)}'", "max_results": 1000},
                "model_versions",
            )
        )
        versions.sort(key=lambda v: int(v["version"]))
        if only_imported_runs:
            versions = [v for v in versions if v.get("run_id") in run_ids]
            if not versions:
                continue
        work.append((model, versions))
    total = sum(len(versions) for _, versions in work)
    done = 0
    for model, versions in work:
        model_row_id = _model_row(registry, model, tally)
        numbers: dict[int, int] = {}  # MLflow's version number -> the version's row id here
        for version in versions:
            row_id = _import_version(registry, server, model_row_id, version, run_ids, tally)
            if row_id is not None:
                numbers[int(version["version"])] = row_id
            done += 1
            if progress is not None:
                progress(ImportProgress("versions", done, total))
        _import_aliases(registry, model_row_id, model, numbers, tally)


def _quoted(name: str) -> str:
    return name.replace("'", "\\'")


def _model_row(registry: Registry, model: dict[str, Any], tally: Tally) -> int:
    name = model["name"]
    description = model.get("description") or None
    row = registry.query_one("SELECT id, description FROM models WHERE name = ?", (name,))
    if row is not None:
        if row[1] is None and description is not None:
            with registry.transaction(f'the description of model "{name}"') as conn:
                conn.execute(
                    "UPDATE models SET description = ? WHERE id = ?", (description, row[0])
                )
            tally.count("models", "updated")
        else:
            tally.count("models", "unchanged")
        return int(row[0])
    with registry.transaction(f'model "{name}"') as conn:
        cursor = conn.execute(
            "INSERT INTO models (name, description, created_at) VALUES (?, ?, ?)",
            (name, description, int(model.get("creation_timestamp") or 0) / 1000),
        )
    tally.count("models", "added")
    return int(cursor.lastrowid or 0)


def _import_version(
    registry: Registry,
    server: MlflowServer,
    model_row_id: int,
    version: dict[str, Any],
    run_ids: dict[str, str],
    tally: Tally,
) -> int | None:
    """The row id here of an MLflow version, imported if it is not here yet."""
    ref = f"{version['name']}@{version['version']}"
    if version.get("status", "READY") != "READY":
        tally.skip(f"version {ref}: its registration is {version.get('status')} in MLflow")
        return None
    stage = version.get("current_stage")
    if stage and stage != "None":
        tally.skip(f"version {ref}: stage {stage} (MLflow stages have no counterpart; aliases do)")
    tags = {tag["key"]: tag.get("value", "") for tag in version.get("tags", ())}
    for key in sorted(set(tags) - PUSHED_VERSION_TAGS):
        tally.skip(f"version {ref}: tag {key} (version tags have no counterpart)")
    number, created_at = _number_and_time(version, tags)
    mlflow_run = version.get("run_id") or None
    run_id = run_ids.get(mlflow_run) if mlflow_run else None
    if (
        run_id is None
        and mlflow_run
        and registry.query_one("SELECT 1 FROM runs WHERE id = ?", (mlflow_run,))
    ):
        run_id = mlflow_run
    same = registry.query_one(
        "SELECT id FROM model_versions WHERE model_id = ? AND version = ? AND created_at = ?"
        " AND run_id IS ?",
        (model_row_id, number, created_at, run_id),
    )
    if same is not None:
        tally.count("versions", "unchanged")
        return int(same[0])
    try:
        stored = _store_artifact(registry, server, version, pushed="mlops.run_id" in tags)
    except TrackingServerError as exc:
        tally.skip(f"version {ref}: its artifact could not be downloaded ({exc.message})")
        return None
    if stored is None:
        tally.skip(
            f"version {ref}: its source {version.get('source')} is not served by the"
            " server's artifact proxy"
        )
        return None
    with registry.transaction(f"the import of version {ref}") as conn:
        # a version of the same bytes here is this one; of a version that carries its
        # exact time (pushed from a registry), only at that time: a model may have two
        # versions of the same bytes, registered apart
        timed = "mlops.created_at" in tags
        twin = conn.execute(
            "SELECT id FROM model_versions WHERE model_id = ? AND artifact_sha256 = ?"
            + (" AND created_at = ?" if timed else ""),
            (model_row_id, stored.sha256, *((created_at,) if timed else ())),
        ).fetchone()
        if twin is not None:
            tally.count("versions", "unchanged")
            return int(twin[0])
        taken = conn.execute(
            "SELECT 1 FROM model_versions WHERE model_id = ? AND version = ?",
            (model_row_id, number),
        ).fetchone()
        if taken is not None:
            here = conn.execute(
                "SELECT MAX(version) + 1 FROM model_versions WHERE model_id = ?", (model_row_id,)
            ).fetchone()[0]
            tally.notes.append(
                f"version {ref} is version {here} here (version {number} here is another model)"
            )
            number = here
        row_id = _insert_version(conn, model_row_id, number, run_id, stored, version, created_at)
    tally.count("versions", "added")
    return row_id


def _number_and_time(version: dict[str, Any], tags: dict[str, str]) -> tuple[int, float]:
    """The version's number and registration time: a version pushed from a registry
    has its own in its tags (MLflow numbers versions its way and times them by its clock)."""
    number = int(version["version"])
    created_at = int(version.get("creation_timestamp") or 0) / 1000
    if "mlops.run_id" in tags:
        try:
            number = int(tags.get("mlops.version", number))
            created_at = float(tags.get("mlops.created_at", created_at))
        except ValueError:
            pass  # not written by a push: MLflow's are kept
    return number, created_at


def _insert_version(
    conn: sqlite3.Connection,
    model_row_id: int,
    number: int,
    run_id: str | None,
    stored: StoredVersion,
    version: dict[str, Any],
    created_at: float,
) -> int:
    conn.execute(
        "INSERT OR IGNORE INTO artifacts (sha256, size, format, created_at) VALUES (?, ?, ?, ?)",
        (stored.sha256, stored.size, "bytes", created_at),
    )
    cursor = conn.execute(
        "INSERT INTO model_versions (model_id, version, run_id, snapshot_id, artifact_sha256,"
        " flavor, model_class, signature, libraries, description, created_at)"
        " VALUES (?, ?, ?, NULL, ?, ?, ?, NULL, '{}', ?, ?)",
        (model_row_id, number, run_id, stored.sha256, stored.flavor, stored.model_class,
         version.get("description") or None, created_at),
    )  # fmt: skip
    return int(cursor.lastrowid or 0)


def _stored_file(registry: Registry, sha: str, size: int, path: str) -> StoredVersion:
    name = path.rsplit("/", 1)[-1]
    if name.lower().endswith(PICKLE_SUFFIXES):
        data = registry.artifacts.read_bytes(sha)
        return StoredVersion(sha, size, "pickle", pickled_class(data) or "pickle")
    return StoredVersion(sha, size, "file", f"file.{name}")


def _store_artifact(
    registry: Registry, server: MlflowServer, version: dict[str, Any], *, pushed: bool
) -> StoredVersion | None:
    """Download a version's file or folder into the store; ``None`` when its source is
    not reachable through the artifact proxy. A version ``pushed`` from a registry is
    its one model file."""
    location = _proxied_location(server, str(version.get("source") or ""))
    if location is None:
        return None
    files = walk(server, location)
    if not files:  # a file: the listing of a file is empty
        return _stored_file(registry, *store_file(server, registry, location, ""), location)
    if pushed and len(files) == 1 and files[0][0].startswith("model."):
        # a push's models/NAME/vN/model.EXT: the registry's bytes, as they were there
        path = files[0][0]
        return _stored_file(registry, *store_file(server, registry, location, path), path)
    sha, size = store_folder(server, registry, location, files)
    has_mlmodel = any(path == "MLmodel" for path, _ in files)
    flavors = _mlmodel_flavors(server, location) if has_mlmodel else ()
    named = [f for f in flavors if f != "python_function"] or list(flavors) or ["model"]
    return StoredVersion(sha, size, "mlflow", f"mlflow.{named[0]}")


def _mlmodel_flavors(server: MlflowServer, location: str) -> tuple[str, ...]:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="mlops-mlmodel-") as scratch:
        path = server.download(location, "MLmodel", Path(scratch) / "MLmodel")
        return mlmodel_flavors(path.read_text(errors="replace"))


def _proxied_location(server: MlflowServer, source: str) -> str | None:
    """The ``mlflow-artifacts:`` address of a version's source, or ``None``."""
    if source.startswith(PROXIED_SCHEME):
        return source
    if source.startswith("runs:/"):
        run_id, _, path = source[len("runs:/") :].partition("/")
        info = server.get("runs/get", run_id=run_id)["run"]["info"]
        root = str(info.get("artifact_uri", ""))
        return f"{root}/{path}".rstrip("/") if root.startswith(PROXIED_SCHEME) else None
    if source.startswith("models:/m-"):
        model_id = source[len("models:/") :].split("/", 1)[0]
        info = server.get(f"logged-models/{model_id}")["model"]["info"]
        root = str(info.get("artifact_uri", ""))
        return root if root.startswith(PROXIED_SCHEME) else None
    return None


def _import_aliases(
    registry: Registry,
    model_row_id: int,
    model: dict[str, Any],
    numbers: dict[int, int],
    tally: Tally,
) -> None:
    for entry in model.get("aliases", ()):
        alias, number = entry["alias"], int(entry["version"])
        try:
            check_alias(alias)
        except MlopsError as exc:
            tally.skip(f"alias {model['name']}@{alias}: {exc.message}")
            continue
        target = numbers.get(number)
        if target is None:
            tally.skip(f"alias {model['name']}@{alias}: its version {number} was not imported")
            continue
        row = registry.query_one(
            "SELECT version_id FROM model_aliases WHERE model_id = ? AND alias = ?",
            (model_row_id, alias),
        )
        if row is not None and int(row[0]) == target:
            tally.count("aliases", "unchanged")
            continue
        with registry.transaction(f"alias {model['name']}@{alias}") as conn:
            record_alias_move(conn, model_row_id, alias, target, reason="import")
        tally.count("aliases", "added" if row is None else "updated")
