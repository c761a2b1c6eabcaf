"""A run's artifacts read back: the list, one by name, their bytes checked by hash, and
the previews a page shows (images, a table's first rows, the start of a text).

    artifacts_of(registry, "baseline")                 # (ArtifactRecord, ...) by name
    record = find_artifact(registry, "baseline", "roc.png")
    save_artifact(registry, record, Path("roc.png"))   # verified against its sha256
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import NotFoundError
from ...registry.artifacts import check_sha256
from ...registry.connection import Registry
from .records import ArtifactRecord
from .refs import resolve_run

# Images up to this size are shown inline; a larger one is listed, not embedded.
PREVIEW_IMAGE_MAX_BYTES = 2 * 1024 * 1024
PREVIEW_TEXT_CHARS = 2_000
# Media types a browser shows as an image.
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/svg+xml", "image/webp"})
_TEXT_TYPES = ("text/", "application/json")

# Rows written without details (a registered model, a pipeline value) get the kind and
# media type their name and format imply, as migration 0008 gave the older ones.
_SELECT = (
    "SELECT run_artifacts.run_id, run_artifacts.name, COALESCE(run_artifacts.kind,"
    " CASE WHEN run_artifacts.name LIKE 'model:%' THEN 'model'"
    " WHEN artifacts.format = 'parquet' THEN 'table' ELSE 'file' END),"
    " COALESCE(run_artifacts.media_type, CASE artifacts.format"
    " WHEN 'parquet' THEN 'application/vnd.apache.parquet' WHEN 'json' THEN 'application/json'"
    " ELSE 'application/octet-stream' END),"
    " COALESCE(run_artifacts.size, artifacts.size, 0), run_artifacts.sha256,"
    " COALESCE(run_artifacts.created_at, artifacts.created_at), run_artifacts.execution_count,"
    " run_artifacts.cell_id, run_artifacts.preview_sha256"
    " FROM run_artifacts LEFT JOIN artifacts ON artifacts.sha256 = run_artifacts.sha256"
)


@dataclass(frozen=True)
class ArtifactPreview:
    """What a page shows of an artifact: an image's bytes, a table's first rows
    (``columns``, ``rows``, ``total_rows``) or the start of a text; else nothing."""

    name: str
    image: bytes | None = None
    media_type: str | None = None
    table: dict[str, Any] | None = None
    text: str | None = None
    truncated: bool = False


def run_artifacts(registry: Registry, run_id: str) -> tuple[ArtifactRecord, ...]:
    """The artifacts of the run ``run_id``, by name."""
    return tuple(
        ArtifactRecord(*row)
        for row in registry.query_tuples(
            _SELECT + " WHERE run_artifacts.run_id = ? ORDER BY run_artifacts.name", (run_id,)
        )
    )


def artifacts_of(registry: Registry, ref: str) -> tuple[ArtifactRecord, ...]:
    """The artifacts of the run ``ref`` names (id, prefix, name or ``last``), by name."""
    return run_artifacts(registry, resolve_run(registry, ref))


def find_artifact(registry: Registry, ref: str, name: str) -> ArtifactRecord:
    """The artifact ``name`` of the run ``ref``; a NotFoundError lists the names it has."""
    run_id = resolve_run(registry, ref)
    rows = registry.query_tuples(
        _SELECT + " WHERE run_artifacts.run_id = ? AND run_artifacts.name = ?", (run_id, name)
    )
    if rows:
        return ArtifactRecord(*rows[0])
    names = [record.name for record in run_artifacts(registry, run_id)]
    shown = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")
    raise NotFoundError(
        f'Run {run_id} has no artifact "{name}"',
        hint=f"Its artifacts: {shown}." if names else "It has no artifacts.",
    )


def artifact_media_type(registry: Registry, sha: str) -> str:
    """The media type the artifact ``sha`` was logged with; NotFoundError when the registry
    does not know the hash."""
    sha = check_sha256(sha)
    row = registry.query_one(
        "SELECT media_type FROM run_artifacts WHERE sha256 = ? AND media_type IS NOT NULL LIMIT 1",
        (sha,),
    )
    if row is not None:
        return str(row[0])
    known = registry.query_one("SELECT format FROM artifacts WHERE sha256 = ?", (sha,))
    if known is None:
        raise NotFoundError(
            f"No artifact {sha[:12]} in the registry",
            hint="List a run's artifacts (jupyter mlops artifacts RUN) for their hashes.",
        )
    return {
        "json": "application/json",
        "parquet": "application/vnd.apache.parquet",
        "png": "image/png",
        "svg": "image/svg+xml",
        "csv": "text/csv",
        "html": "text/html",
        "txt": "text/plain",
    }.get(str(known[0]), "application/octet-stream")


def artifact_bytes(registry: Registry, sha: str) -> bytes:
    """The bytes of the artifact ``sha``, checked against the hash (ArtifactIntegrityError)."""
    artifact_media_type(registry, sha)  # a hash the registry does not know is not served
    return registry.artifacts.read_bytes(sha)


def save_artifact(registry: Registry, record: ArtifactRecord, dest: Path) -> Path:
    """Write the artifact's bytes, checked against its hash, to ``dest`` (a directory takes
    the artifact's file name); returns the path written."""
    data = registry.artifacts.read_bytes(record.sha256)  # ArtifactIntegrityError
    target = dest / Path(record.name).name if dest.is_dir() else dest
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


def previews(
    registry: Registry, records: tuple[ArtifactRecord, ...], *, images: bool = True
) -> dict[str, ArtifactPreview]:
    """What a page shows of each artifact that can be shown (by name); ``images=False``
    leaves images out (a browser fetches them by hash). An artifact whose file is missing
    or damaged gets no preview: the list still shows it."""
    shown: dict[str, ArtifactPreview] = {}
    for record in records:
        if not images and record.media_type in IMAGE_TYPES:
            continue
        try:
            preview = _preview(registry, record)
        except Exception:  # noqa: BLE001 - a broken preview must not hide the run's page
            preview = None
        if preview is not None:
            shown[record.name] = preview
    return shown


def _preview(registry: Registry, record: ArtifactRecord) -> ArtifactPreview | None:
    store = registry.artifacts
    if record.preview_sha256 is not None:
        table = json.loads(store.read_bytes(record.preview_sha256))
        return ArtifactPreview(record.name, table=table)
    if record.media_type in IMAGE_TYPES and record.size <= PREVIEW_IMAGE_MAX_BYTES:
        return ArtifactPreview(
            record.name, image=store.read_bytes(record.sha256), media_type=record.media_type
        )
    if record.media_type.startswith(_TEXT_TYPES) and record.media_type != "text/html":
        if record.size > 4 * PREVIEW_TEXT_CHARS:
            with open(store.verified_path(record.sha256), "rb") as handle:
                head = handle.read(4 * PREVIEW_TEXT_CHARS)
        else:
            head = store.read_bytes(record.sha256)
        text = head.decode("utf-8", errors="replace")
        truncated = len(text) > PREVIEW_TEXT_CHARS or record.size > len(head)
        return ArtifactPreview(record.name, text=text[:PREVIEW_TEXT_CHARS], truncated=truncated)
    return None
