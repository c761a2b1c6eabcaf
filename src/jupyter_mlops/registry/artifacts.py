"""Content-addressed files under ``.mlops/artifacts/``.

Every artifact is named by the sha256 of its bytes: ``artifacts/ab/abcdef...``.
A file is written to ``artifacts/tmp/`` first, flushed to disk, then renamed into
place, so a reader never sees half of one. Before anything is loaded its bytes are
hashed again and compared with its name: a file that was changed on disk is refused,
never unpickled. Storing bytes whose address is already taken checks the file there
first, so storing the same bytes again repairs a damaged copy. A write that fails
(a full disk, a read-only directory) is a :class:`RecordingError` that says why.

    store = ArtifactStore(Path(".mlops/artifacts"))
    sha = store.put_bytes(b"hello")
    store.read_bytes(sha)          # b"hello", after checking the hash
"""

from __future__ import annotations

import errno
import logging
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from ..errors import ArtifactIntegrityError, NotFoundError, RecordingError

logger = logging.getLogger(__name__)

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 4 * 1024 * 1024
# A temp file older than this belongs to a writer that died; it is removed on open.
STALE_TEMP_SECONDS = 3600.0


def sha256_file(path: Path) -> str:
    """The hex sha256 of a file's bytes, read in chunks."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def storage_error(exc: OSError, where: Path, what: str = "an artifact") -> RecordingError:
    """An operating-system error while writing ``what`` under ``where``, in words."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return RecordingError(
            f"Could not store {what}: the disk holding {where} is full",
            hint="Free some space and try again; nothing already recorded was lost.",
        )
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return RecordingError(
            f"Could not store {what}: {where} is read-only",
            hint="Check the permissions of the registry's directory, or use a writable one.",
        )
    return RecordingError(
        f"Could not store {what} in {where}: {exc.strerror or exc}",
        hint="Check that the disk has room and the directory is writable.",
    )


def check_sha256(sha: str) -> str:
    """Return ``sha`` if it is 64 lowercase hex digits, else raise: never a path."""
    if not isinstance(sha, str) or not _SHA256.match(sha):
        raise NotFoundError(
            f'"{sha}" is not an artifact hash',
            hint="Artifacts are named by the 64 hex digits of their sha256.",
        )
    return sha


class ArtifactStore:
    """A directory of files named by their sha256."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.tmp = self.root / "tmp"

    def path_of(self, sha: str) -> Path:
        """Where the artifact ``sha`` lives (it may not exist)."""
        sha = check_sha256(sha)
        return self.root / sha[:2] / sha

    def exists(self, sha: str) -> bool:
        return self.path_of(sha).is_file()

    def put_bytes(self, data: bytes) -> str:
        """Store ``data``; return its sha256. Storing the same bytes twice is free."""
        return self.put_writer(lambda handle: handle.write(data))

    def put_writer(self, write: Callable[[IO[bytes]], object]) -> str:
        """Store whatever ``write(handle)`` writes into a binary file handle."""
        path = self._write_temp(write)
        return self.adopt(path)

    def put_path_writer(self, write: Callable[[Path], object]) -> str:
        """Store the file that ``write(path)`` creates, for libraries that take a path.

        ``pandas.DataFrame.to_parquet`` and ``joblib.dump`` want a path rather than a
        handle; they get a path inside ``tmp/`` that is moved into place afterwards.
        """
        temp = self._new_temp()
        try:
            write(temp)
        except OSError as exc:  # pyarrow's and joblib's I/O errors are OSErrors too
            temp.unlink(missing_ok=True)
            raise storage_error(exc, self.root) from exc
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return self.adopt(temp)

    def adopt(self, temp: Path) -> str:
        """Hash a finished file in ``tmp/``, then rename it to its content address."""
        try:
            with open(temp, "rb+") as handle:
                os.fsync(handle.fileno())
            sha = sha256_file(temp)
            final = self.path_of(sha)
            final.parent.mkdir(parents=True, exist_ok=True)
            if self._holds(final, sha):
                temp.unlink()
            else:
                os.replace(temp, final)
            return sha
        except OSError as exc:
            temp.unlink(missing_ok=True)
            raise storage_error(exc, self.root) from exc

    @staticmethod
    def _holds(final: Path, sha: str) -> bool:
        """Whether the file at ``final`` is intact; a damaged one is replaced by the caller."""
        if not final.is_file():
            return False
        if sha256_file(final) == sha:
            return True
        logger.warning("Artifact %s was damaged on disk; storing its bytes again repairs it", sha)
        return False

    def verified_path(self, sha: str) -> Path:
        """The artifact's path, after checking that its bytes still hash to ``sha``."""
        path = self.path_of(sha)
        if not path.is_file():
            raise NotFoundError(
                f"Artifact {sha[:12]} is missing from {self.root}",
                hint="It may have been deleted by hand; re-run the step that produced it.",
            )
        actual = sha256_file(path)
        if actual != sha:
            raise ArtifactIntegrityError(
                f"Artifact {sha[:12]} was changed on disk (its bytes now hash to {actual[:12]});"
                " refusing to load it",
                hint="Restore the file from a backup or re-create it; it will not be loaded as is.",
            )
        return path

    def read_bytes(self, sha: str) -> bytes:
        """The artifact's bytes, verified against its hash."""
        import hashlib

        data = self.verified_path(sha).read_bytes()
        if hashlib.sha256(data).hexdigest() != sha:  # changed between the check and the read
            raise ArtifactIntegrityError(f"Artifact {sha[:12]} changed while it was read")
        return data

    def remove_stale_temps(self, older_than: float = STALE_TEMP_SECONDS) -> int:
        """Delete temp files left by writers that died; return how many were removed."""
        if not self.tmp.is_dir():
            return 0
        cutoff = time.time() - older_than
        removed = 0
        for entry in self.tmp.iterdir():
            try:
                if entry.stat().st_mtime < cutoff:
                    entry.unlink()
                    removed += 1
            except OSError:
                continue
        return removed

    def _ensure_dirs(self) -> None:
        try:
            self.tmp.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise storage_error(exc, self.root) from exc

    def _new_temp(self) -> Path:
        """A new empty file in ``tmp/``; a disk that cannot take it is a RecordingError."""
        import tempfile

        self._ensure_dirs()
        try:
            fd, name = tempfile.mkstemp(dir=self.tmp, prefix="w-")
        except OSError as exc:  # a read-only disk, or no inode left
            raise storage_error(exc, self.root) from exc
        os.close(fd)
        return Path(name)

    def _write_temp(self, write: Callable[[IO[bytes]], object]) -> Path:
        temp = self._new_temp()
        try:
            with open(temp, "wb") as handle:
                write(handle)
                handle.flush()
            return temp
        except BaseException as exc:
            temp.unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise storage_error(exc, self.root) from exc
            raise
