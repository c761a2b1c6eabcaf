"""Model versions copied into another registry: the rows that describe them (with the
aliases their references name) and their files, checked against their hashes on the way.
Runs and snapshots stay behind (the copy's versions link to neither): what an image that
serves the versions needs, and nothing else.

    copy_versions(registry, [("churn@champion", resolve_version(registry, "churn@champion"))],
                  Path("churn-kserve/registry"))      # ('churn@4',)
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ArtifactIntegrityError
from ..registry.connection import Registry
from .refs import parse_ref
from .versions import ModelVersion


def copy_versions(
    registry: Registry, versions: list[tuple[str, ModelVersion]], folder: Path
) -> tuple[str, ...]:
    """A registry under ``folder`` holding ``versions`` (with the aliases their references
    name), their files copied after their hashes are checked."""
    target = Registry.init(folder)
    copied = []
    try:
        for ref, version in versions:
            try:
                data = registry.artifacts.read_bytes(version.artifact_sha256)
            except ArtifactIntegrityError as exc:
                raise ArtifactIntegrityError(
                    f"The stored file of {version.ref} does not match the hash recorded when it"
                    f" was registered ({version.artifact_sha256[:12]}), so it is not copied",
                    hint=f"Restore {registry.artifacts.path_of(version.artifact_sha256)} from a"
                    " backup, or register the model again.",
                ) from exc
            target.artifacts.put_bytes(data)
            row = registry.query_one(
                "SELECT signature, libraries, description, created_at FROM model_versions"
                " WHERE id = ?",
                (version.id,),
            )
            assert row is not None
            alias = parse_ref(ref).alias
            with target.transaction("the copied version") as connection:
                connection.execute(
                    "INSERT OR IGNORE INTO models (name, description, created_at)"
                    " VALUES (?, NULL, ?)",
                    (version.model, row[3]),
                )
                (model_id,) = connection.execute(
                    "SELECT id FROM models WHERE name = ?", (version.model,)
                ).fetchone()
                connection.execute(
                    "INSERT OR IGNORE INTO artifacts (sha256, size, format, created_at)"
                    " VALUES (?, ?, 'joblib', ?)",
                    (version.artifact_sha256, len(data), row[3]),
                )
                cursor = connection.execute(
                    "INSERT INTO model_versions (model_id, version, run_id, snapshot_id,"
                    " artifact_sha256, flavor, model_class, signature, libraries, description,"
                    " created_at) VALUES (?, ?, NULL, NULL, ?, ?, ?, ?, ?, ?, ?)",
                    (model_id, version.version, version.artifact_sha256, version.flavor,
                     version.model_class, row[0], row[1], row[2], row[3]),
                )  # fmt: skip
                if alias is not None:
                    connection.execute(
                        "INSERT OR REPLACE INTO model_aliases (model_id, alias, version_id,"
                        " updated_at) VALUES (?, ?, ?, ?)",
                        (model_id, alias, cursor.lastrowid, row[3]),
                    )
            copied.append(version.ref)
    finally:
        target.close()
    return tuple(copied)
