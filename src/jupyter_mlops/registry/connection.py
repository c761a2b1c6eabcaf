"""An open registry: the SQLite connection, its transactions and its errors."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..errors import RecordingError, RegistryCorruptError, RegistryError, RegistryNotFoundError
from .artifacts import ArtifactStore
from .liveness import mark_crashed_runs
from .location import (
    DIRECTORY_NAME,
    ENV_VAR,
    FILE_NAME,
    locate,
    registry_file_for,
    unusable_path,
)
from .migrations import migrate
from .pending_cells import recover_pending_cells
from .schema import MIGRATIONS
from .sqlite_errors import newer_schema_error, translate_error

BUSY_TIMEOUT_SECONDS = 60.0


class Registry:
    """An open registry. Use :meth:`open` or :meth:`init`, and :meth:`close` when done.

    ``conn`` is a plain :mod:`sqlite3` connection in autocommit mode; writes go through
    :meth:`transaction`. An open registry always has the whole schema: :meth:`open`
    migrates it before anything reads it.
    """

    def __init__(
        self,
        path: Path,
        conn: sqlite3.Connection,
        *,
        busy_timeout: float = BUSY_TIMEOUT_SECONDS,
        read_only: bool = False,
    ) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        # On a read-only filesystem the registry can be read; every write says why it fails.
        self.read_only = read_only
        self.directory = path.parent
        self.conn = conn
        self.artifacts = ArtifactStore(self.directory / "artifacts")
        self._in_transaction = False
        # Ids that cannot change while this file is open (an experiment's, an environment's),
        # kept per opened registry so that a new file at the same path starts afresh. What
        # a transaction learns is kept only once it commits (see :meth:`remember`).
        self._memo: dict[tuple[str, str], int] = {}
        self._pending_memo: dict[tuple[str, str], int] = {}

    # -- opening -----------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | Path | None = None,
        *,
        create: bool = False,
        start: Path | None = None,
        busy_timeout: float = BUSY_TIMEOUT_SECONDS,
    ) -> Registry:
        """Open the registry at ``path``, or the one :func:`locate` finds.

        A registry named by ``MLOPS_REGISTRY`` or by an explicit ``path`` with
        ``create=True`` is created when missing; otherwise a missing registry raises
        :class:`RegistryNotFoundError`. Opening marks runs whose process has died as
        crashed. A write waits up to ``busy_timeout`` seconds for another process's.
        """
        try:
            if path is not None:
                target = registry_file_for(Path(path).expanduser())
            else:
                found = locate(start)
                if found is None:
                    raise RegistryNotFoundError(
                        f"No registry found in {(start or Path.cwd()).resolve()} or its parents",
                        hint="Create one with %mlops init (or `jupyter mlops init`), "
                        f"or point {ENV_VAR} at one.",
                    )
                target = found
                create = create or bool(os.environ.get(ENV_VAR))
            exists = target.exists()
        except OSError as exc:  # a name too long, a loop of links, a path through a file
            raise unusable_path(str(path), exc) from exc
        if not exists and not create:
            raise RegistryNotFoundError(
                f"No registry at {target}",
                hint="Create it with %mlops init (or `jupyter mlops init`).",
            )
        conn, read_only = _connect(target, busy_timeout)
        registry = cls(target, conn, busy_timeout=busy_timeout, read_only=read_only)
        try:
            migrate(registry)
            if not read_only:
                mark_crashed_runs(registry)
                recover_pending_cells(registry)
                registry.artifacts.remove_stale_temps()
        except BaseException:
            registry.close()
            raise
        return registry

    @classmethod
    def init(cls, directory: str | Path | None = None) -> Registry:
        """Create ``.mlops/registry.db`` in ``directory``; without one, the registry
        ``MLOPS_REGISTRY`` names when it is set (where this process records: a notebook's
        ``%mlops init`` then records where a reproduction or a job told it to), else the
        working directory's.

        An existing registry there is opened as it is, never reset.
        """
        if directory is None and os.environ.get(ENV_VAR):
            return cls.open(registry_file_for(Path(os.environ[ENV_VAR]).expanduser()), create=True)
        base = Path(directory) if directory is not None else Path.cwd()
        return cls.open(base / DIRECTORY_NAME / FILE_NAME, create=True)

    def another_connection(self, *, busy_timeout: float | None = None) -> Registry:
        """This registry through a connection of its own, for another thread; its writes
        wait ``busy_timeout`` seconds for another writer's (default: as this one's).

        Nothing is migrated or swept: opening this registry did that. The caller closes it.
        """
        busy_timeout = self.busy_timeout if busy_timeout is None else busy_timeout
        conn = _open_connection(self.path, busy_timeout, self.read_only)
        try:
            if not self.read_only:
                conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise translate_error(
                exc, self.path, "open the registry", busy_timeout=busy_timeout
            ) from exc
        return Registry(self.path, conn, busy_timeout=busy_timeout, read_only=self.read_only)

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Registry {self.path}>"

    # -- reading and writing ----------------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        """Rows of a read-only query, as :class:`sqlite3.Row` (index by name or position)."""
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            raise translate_error(
                exc, self.path, "read from the registry", busy_timeout=self.busy_timeout
            ) from exc

    def query_tuples(
        self, sql: str, params: Sequence[Any] | dict[str, Any] = ()
    ) -> list[tuple[Any, ...]]:
        """Rows as plain tuples: a third faster than :meth:`query` when there are many."""
        cursor = self.conn.cursor()
        cursor.row_factory = None
        try:
            return cursor.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            raise translate_error(
                exc, self.path, "read from the registry", busy_timeout=self.busy_timeout
            ) from exc

    def query_one(
        self, sql: str, params: Sequence[Any] | dict[str, Any] = ()
    ) -> sqlite3.Row | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def recall(self, key: tuple[str, str]) -> int | None:
        """An id remembered with :meth:`remember`, or ``None``."""
        found = self._pending_memo.get(key)
        return self._memo.get(key) if found is None else found

    def remember(self, key: tuple[str, str], value: int) -> None:
        """Remember the id of a row this registry will keep (an experiment's, an
        environment's). Inside a transaction it counts only once the transaction
        commits: a rolled-back insert leaves no id behind that points at nothing."""
        if self._in_transaction:
            self._pending_memo[key] = value
        else:
            self._memo[key] = value

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """Reads inside see one state of the registry, whatever other processes commit
        meanwhile (a deferred read transaction; WAL readers never block writers).

        A list built from several queries (runs, then their values) needs this: read
        apart, a run committed between two queries has values but no row.
        """
        if self._in_transaction or self.conn.in_transaction:
            yield
            return
        try:
            self.conn.execute("BEGIN")
        except sqlite3.DatabaseError as exc:
            raise translate_error(
                exc, self.path, "read from the registry", busy_timeout=self.busy_timeout
            ) from exc
        try:
            yield
        finally:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("COMMIT")

    @contextlib.contextmanager
    def transaction(self, what: str = "the change") -> Iterator[sqlite3.Connection]:
        """One write transaction; ``what`` names what is lost if it fails.

        The lock is taken up front (``BEGIN IMMEDIATE``), so concurrent writers queue
        for it instead of failing. Nested use joins the outer transaction.
        """
        if self._in_transaction:
            yield self.conn
            return
        if self.read_only:
            raise RecordingError(
                f"Could not record {what}: the registry {self.path} is on a read-only"
                " filesystem (it can be read, not written)",
                hint="Copy it somewhere writable (jupyter mlops backup) or remount the disk"
                " read-write; nothing already recorded was lost.",
            )
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.DatabaseError as exc:
            raise translate_error(
                exc, self.path, f"record {what}", busy_timeout=self.busy_timeout
            ) from exc
        self._in_transaction = True
        try:
            yield self.conn
            self.conn.execute("COMMIT")
            self._memo.update(self._pending_memo)
        except BaseException as exc:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.DatabaseError):
                raise translate_error(
                    exc, self.path, f"record {what}", busy_timeout=self.busy_timeout
                ) from exc
            raise
        finally:
            self._in_transaction = False
            self._pending_memo.clear()

    def change_marker(self) -> str:
        """A cheap string that changes whenever anything is committed to the registry.

        Built from the size and modification time of the database file and its WAL,
        so polling it costs two ``stat`` calls and no query.
        """
        parts = []
        for file in (self.path, self.path.with_name(self.path.name + "-wal")):
            try:
                stat = file.stat()
                parts.append(f"{stat.st_mtime_ns}.{stat.st_size}")
            except OSError:
                parts.append("0")
        return "-".join(parts)

    # -- housekeeping ----------------------------------------------------------------

    def mark_crashed_runs(self) -> list[str]:
        """Mark as crashed every running run whose process is gone; return their ids.

        The cells such a run's notebook had not written yet are recovered with it.
        """
        crashed = mark_crashed_runs(self)
        recover_pending_cells(self)
        return crashed

    def integrity_check(self) -> str:
        """SQLite's own ``PRAGMA integrity_check``: ``"ok"`` or the problems found."""
        rows = self.query("PRAGMA integrity_check")
        return "\n".join(str(row[0]) for row in rows)


def _connect(path: Path, busy_timeout: float) -> tuple[sqlite3.Connection, bool]:
    """An open connection to the registry at ``path``, and whether it is read-only.

    Nothing is written before the file is known to be a registry this version can use:
    a foreign database or a newer registry keeps every byte of its header. SQLite itself
    tells a file that is no database (see :func:`_not_sqlite`). A registry on
    a read-only filesystem (or in a directory that cannot be written) is opened for
    reading, without the WAL's shared-memory file it could not create.
    """
    if path.exists():
        _check_readable(path)
        read_only = not _writable(path)
    else:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RegistryError(
                f"Cannot create the registry directory {path.parent}: {exc.strerror or exc}",
                hint="Choose a writable directory.",
            ) from exc
        read_only = False
    conn: sqlite3.Connection | None = None
    try:
        conn = _open_connection(path, busy_timeout, read_only)
        tables = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        if tables and "schema_migrations" not in tables:
            raise RegistryCorruptError(
                f"{path} is an SQLite database but not a jupyter-mlops registry"
                f" (it has tables {', '.join(sorted(tables)[:5])})",
                hint=f"Point {ENV_VAR} elsewhere or run %mlops init in another directory;"
                " this file is left untouched.",
            )
        if conn.execute("PRAGMA user_version").fetchone()[0] > len(MIGRATIONS):
            raise newer_schema_error(path)
        # Only now that the file is known to be ours (or empty) may its settings change.
        if not read_only:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
    except BaseException as exc:
        if conn is not None:
            conn.close()
        if isinstance(exc, sqlite3.DatabaseError) and "not a database" in str(exc):
            raise _not_sqlite(path) from exc
        if isinstance(exc, sqlite3.DatabaseError):
            raise translate_error(
                exc, path, "open the registry", busy_timeout=busy_timeout
            ) from exc
        raise
    return conn, read_only


def _writable(path: Path) -> bool:
    """Whether SQLite may write the file and create its journal files beside it."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def _open_connection(path: Path, busy_timeout: float, read_only: bool) -> sqlite3.Connection:
    if not read_only:
        conn = sqlite3.connect(
            path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
        conn.row_factory = sqlite3.Row
        return conn
    # Without its -shm file a WAL database can be read only as immutable; with one (a
    # writer on another mount may have left it) SQLite reads the WAL's frames as well.
    from urllib.parse import quote

    uri = f"file:{quote(str(path))}?mode=ro"
    has_shm = path.with_name(path.name + "-shm").exists()
    conn = sqlite3.connect(
        uri if has_shm else uri + "&immutable=1",
        timeout=busy_timeout,
        isolation_level=None,
        check_same_thread=False,
        uri=True,
    )
    conn.row_factory = sqlite3.Row
    return conn


def _check_readable(path: Path) -> None:
    # Never open the file to look at it: closing any descriptor of it would drop the
    # POSIX locks of this process's other connections to it (one that Registry.open gave
    # earlier, still in use), and another process could then checkpoint and truncate
    # the write-ahead log under them: lost writes, a malformed database.
    if not os.access(path, os.R_OK):
        raise RegistryError(
            f"Cannot read the registry {path}: permission denied",
            hint="Check the file's permissions.",
        )


def _not_sqlite(path: Path) -> RegistryCorruptError:
    return RegistryCorruptError(
        f"{path} is not an SQLite database",
        hint="Move the file aside (it is left untouched) or point "
        f"{ENV_VAR} at a real registry; %mlops init creates a new one.",
    )
