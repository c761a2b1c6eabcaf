"""The files of a merge: the source's artifacts the target lacks, checked, then copied.

Every file the source's ``artifacts`` rows name and the target's store lacks is hashed
before anything is merged: a file that is missing or whose bytes no longer hash to its
name is an :class:`ArtifactIntegrityError` naming the file, and the merge stops with the
target untouched (no row written, no file copied). The files are then copied through
the target's store (a temp file, hashed again, renamed into place), so a file changed
between the check and the copy is caught too.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from ..errors import ArtifactIntegrityError
from ..registry.artifacts import ArtifactStore, sha256_file


def missing_artifacts(conn: sqlite3.Connection, target: ArtifactStore) -> list[str]:
    """The sha256 of each artifact of the source (attached as ``src``) the target lacks."""
    return [
        sha
        for (sha,) in conn.execute("SELECT sha256 FROM src.artifacts ORDER BY sha256")
        if not target.exists(sha)
    ]


def check_files(source: ArtifactStore, shas: list[str]) -> int:
    """Hash each file of ``shas`` in ``source``; their total size. An
    :class:`ArtifactIntegrityError` names the first one missing or changed."""
    total = 0
    for sha in shas:
        path = source.path_of(sha)
        if not path.is_file():
            raise ArtifactIntegrityError(
                f"The artifact file {path} is missing, so nothing was merged",
                hint="Copy the source registry again with its artifacts folder, whole"
                " (jupyter mlops backup makes such a copy).",
            )
        actual = sha256_file(path)
        if actual != sha:
            raise ArtifactIntegrityError(
                f"The artifact file {path} was changed (its bytes hash to {actual[:12]},"
                f" not {sha[:12]}), so nothing was merged",
                hint="Restore the file in the source from a backup, or remove what refers"
                " to it there; the target registry was left as it was.",
            )
        total += path.stat().st_size
    return total


def copy_files(source: ArtifactStore, target: ArtifactStore, shas: list[str]) -> None:
    """Copy each checked file into the target's store, hashed again on the way in."""
    for sha in shas:
        path = source.path_of(sha)

        def copy(temporary: Path, path: Path = path) -> None:
            shutil.copyfile(path, temporary)

        stored = target.put_path_writer(copy)
        if stored != sha:
            raise ArtifactIntegrityError(
                f"The artifact file {path} changed while it was copied (its bytes hash to"
                f" {stored[:12]}, not {sha[:12]})",
                hint="Merge again once nothing writes to the source registry.",
            )
