"""The registry: one SQLite file plus a directory of content-addressed artifacts.

Where it is, the way git finds ``.git``:

1. the ``MLOPS_REGISTRY`` environment variable (a ``.db`` file, or a directory that
   holds ``registry.db``), created on first use;
2. else the nearest ``.mlops/registry.db`` from the working directory upwards;
3. else nothing, until ``%mlops init`` / ``jupyter mlops init`` creates
   ``.mlops/registry.db`` in the working directory.

Several kernels and pipeline processes write at once. Every write is one
``BEGIN IMMEDIATE`` transaction (a writer waits for the lock instead of failing when
it upgrades a read), the journal is WAL (readers never wait for writers), and the
busy timeout is long; a write still locked out after it is reported as a
:class:`RecordingError` naming what was not recorded. A file that is not an SQLite
database, or not a jupyter-mlops registry, is refused and never overwritten.

    registry = Registry.open()                 # found from the working directory
    registry = Registry.init(Path("project"))  # project/.mlops/registry.db
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .artifacts import ArtifactStore
from .errors import RecordingError, RegistryCorruptError, RegistryError, RegistryNotFoundError
from .schema import MIGRATIONS

if TYPE_CHECKING:
    import logging

    import sqlite_utils


def _logger() -> logging.Logger:
    """The module's logger, imported on first use: opening a registry stays cheap."""
    import logging

    return logging.getLogger(__name__)


ENV_VAR = "MLOPS_REGISTRY"
DIRECTORY_NAME = ".mlops"
FILE_NAME = "registry.db"
BUSY_TIMEOUT_SECONDS = 60.0
# A run on another host whose heartbeat is older than this is taken to have crashed.
HEARTBEAT_STALE_SECONDS = 600.0
_SQLITE_HEADER = b"SQLite format 3\x00"


def locate(start: Path | None = None) -> Path | None:
    """The registry file that applies from ``start`` (default: the working directory).

    Returns ``None`` when there is no ``MLOPS_REGISTRY`` and no ``.mlops/registry.db``
    in ``start`` or any of its parents.
    """
    configured = os.environ.get(ENV_VAR)
    if configured:
        return _file_for(Path(configured).expanduser())
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / DIRECTORY_NAME / FILE_NAME
        if candidate.is_file():
            return candidate
    return None


def _file_for(path: Path) -> Path:
    """The registry file a path names: a ``.db`` file, a project directory holding
    ``.mlops/registry.db``, or a directory holding ``registry.db``."""
    if path.is_dir() and (path / DIRECTORY_NAME / FILE_NAME).is_file():
        return path / DIRECTORY_NAME / FILE_NAME
    return path / FILE_NAME if path.is_dir() or path.suffix == "" else path


def process_token(pid: int) -> str | None:
    """A string that identifies a live process, so that a reused pid is not mistaken for it.

    On Linux it is the boot id and the process start time; elsewhere ``None`` (the pid
    alone is then checked).
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):  # zombie or dead: the process has ended
        return None
    return f"{boot_id}:{fields[19]}"


def hostname() -> str:
    """This machine's name, as runs record it (no socket import on POSIX)."""
    if hasattr(os, "uname"):
        return os.uname().nodename
    import socket

    return socket.gethostname()


def _process_alive(pid: int, token: str | None) -> bool:
    if token is not None and Path("/proc").is_dir():
        return process_token(pid) == token
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Registry:
    """An open registry. Use :meth:`open` or :meth:`init`, and :meth:`close` when done.

    ``conn`` is a plain :mod:`sqlite3` connection in autocommit mode; writes go through
    :meth:`transaction`. ``db`` wraps the same connection in a ``sqlite_utils.Database``
    for table introspection and ad-hoc queries.
    """

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self.directory = path.parent
        self.conn = conn
        self.artifacts = ArtifactStore(self.directory / "artifacts")
        self._db: sqlite_utils.Database | None = None
        self._in_transaction = False
        # Ids that cannot change while this file is open (an experiment's, an environment's),
        # kept per opened registry so that a new file at the same path starts afresh.
        self.memo: dict[tuple[str, str], int] = {}

    # -- opening -----------------------------------------------------------------

    @classmethod
    def open(
        cls, path: str | Path | None = None, *, create: bool = False, start: Path | None = None
    ) -> Registry:
        """Open the registry at ``path``, or the one :func:`locate` finds.

        A registry named by ``MLOPS_REGISTRY`` or by an explicit ``path`` with
        ``create=True`` is created when missing; otherwise a missing registry raises
        :class:`RegistryNotFoundError`. Opening marks runs whose process has died as
        crashed.
        """
        if path is not None:
            target = _file_for(Path(path).expanduser())
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
        if not target.exists() and not create:
            raise RegistryNotFoundError(
                f"No registry at {target}",
                hint="Create it with %mlops init (or `jupyter mlops init`).",
            )
        registry = cls(target, _connect(target))
        try:
            registry._migrate()
            registry.mark_crashed_runs()
            registry.artifacts.remove_stale_temps()
        except BaseException:
            registry.close()
            raise
        return registry

    @classmethod
    def init(cls, directory: str | Path | None = None) -> Registry:
        """Create ``.mlops/registry.db`` in ``directory`` (default: the working directory).

        An existing registry there is opened as it is, never reset.
        """
        base = Path(directory) if directory is not None else Path.cwd()
        return cls.open(base / DIRECTORY_NAME / FILE_NAME, create=True)

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Registry {self.path}>"

    @property
    def db(self) -> sqlite_utils.Database:
        """The connection as a ``sqlite_utils.Database`` (imported on first use)."""
        if self._db is None:
            import sqlite_utils

            self._db = sqlite_utils.Database(self.conn, execute_plugins=False)
        return self._db

    # -- reading and writing ----------------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        """Rows of a read-only query, as :class:`sqlite3.Row` (index by name or position)."""
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            raise _translate(exc, self.path, "read from the registry") from exc

    def query_one(
        self, sql: str, params: Sequence[Any] | dict[str, Any] = ()
    ) -> sqlite3.Row | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def has_table(self, name: str) -> bool:
        """Whether the registry has the table ``name`` (capabilities add tables as they land)."""
        row = self.query_one("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,))
        return row is not None

    @contextlib.contextmanager
    def transaction(self, what: str = "the change") -> Iterator[sqlite3.Connection]:
        """One write transaction; ``what`` names what is lost if it fails.

        The lock is taken up front (``BEGIN IMMEDIATE``), so concurrent writers queue
        for it instead of failing. Nested use joins the outer transaction.
        """
        if self._in_transaction:
            yield self.conn
            return
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.DatabaseError as exc:
            raise _translate(exc, self.path, f"record {what}") from exc
        self._in_transaction = True
        try:
            yield self.conn
            self.conn.execute("COMMIT")
        except BaseException as exc:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.DatabaseError):
                raise _translate(exc, self.path, f"record {what}") from exc
            raise
        finally:
            self._in_transaction = False

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

        On this host the recorded process is checked directly; a run from another host
        (a container, another machine) is crashed when its heartbeat is stale.
        """
        rows = self.query(
            "SELECT id, host, pid, process_token, heartbeat_at, started_at FROM runs"
            " WHERE status = 'running'"
        )
        if not rows:
            return []
        host = hostname()
        now = time.time()
        crashed = []
        for row in rows:
            if row["host"] == host and row["pid"] is not None:
                alive = _process_alive(row["pid"], row["process_token"])
            else:
                last_sign = row["heartbeat_at"] or row["started_at"]
                alive = now - last_sign < HEARTBEAT_STALE_SECONDS
            if not alive:
                crashed.append(row["id"])
        if crashed:
            try:
                with self.transaction("crashed runs"):
                    self.conn.executemany(
                        "UPDATE runs SET status = 'crashed',"
                        " ended_at = COALESCE(heartbeat_at, started_at),"
                        " error = 'the process ended without closing the run'"
                        " WHERE id = ? AND status = 'running'",
                        [(run_id,) for run_id in crashed],
                    )
            except RecordingError as exc:  # a read-only registry can still be read
                _logger().warning("Could not mark crashed runs: %s", exc)
                return []
            _logger().info("Marked %d run(s) as crashed: %s", len(crashed), ", ".join(crashed))
        return crashed

    def integrity_check(self) -> str:
        """SQLite's own ``PRAGMA integrity_check``: ``"ok"`` or the problems found."""
        rows = self.query("PRAGMA integrity_check")
        return "\n".join(str(row[0]) for row in rows)

    def _migrate(self) -> None:
        try:
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise _translate(exc, self.path, "open the registry") from exc
        if version == len(MIGRATIONS):
            return
        if version > len(MIGRATIONS):
            raise _newer_schema(self.path)
        with self.transaction("the registry's schema"):
            has_migrations = self.conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='schema_migrations'"
            ).fetchone()
            if not has_migrations:
                self.conn.execute(
                    "CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)"
                )
            applied = {row[0] for row in self.conn.execute("SELECT name FROM schema_migrations")}
            known = {migration.name for migration in MIGRATIONS}
            if applied - known:
                raise _newer_schema(self.path)
            for migration in MIGRATIONS:
                if migration.name in applied:
                    continue
                for statement in _statements(migration.sql):
                    self.conn.execute(statement)
                self.conn.execute(
                    "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                    (migration.name, time.time()),
                )
                _logger().info("Applied migration %s to %s", migration.name, self.path)
            if not applied:
                from . import __version__

                self.conn.execute(
                    "INSERT OR IGNORE INTO registry_info (key, value) VALUES"
                    " ('created_at', ?), ('created_by', ?)",
                    (str(time.time()), f"jupyter-mlops {__version__}"),
                )
            self.conn.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (migrations hold no ';' inside strings)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]


def _connect(path: Path) -> sqlite3.Connection:
    if path.exists():
        _check_header(path)
    else:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RegistryError(
                f"Cannot create the registry directory {path.parent}: {exc.strerror or exc}",
                hint="Choose a writable directory.",
            ) from exc
    conn: sqlite3.Connection | None = None
    try:
        conn = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
        )
        conn.row_factory = sqlite3.Row
        tables = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        if tables and "schema_migrations" not in tables:
            conn.close()
            raise RegistryCorruptError(
                f"{path} is an SQLite database but not a jupyter-mlops registry"
                f" (it has tables {', '.join(sorted(tables)[:5])})",
                hint=f"Point {ENV_VAR} elsewhere or run %mlops init in another directory;"
                " this file is left untouched.",
            )
        # Only now that the file is known to be ours (or empty) may its settings change.
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.DatabaseError as exc:
        if conn is not None:  # a damaged file: nothing of it stays open
            conn.close()
        raise _translate(exc, path, "open the registry") from exc
    return conn


def _check_header(path: Path) -> None:
    try:
        with open(path, "rb") as handle:
            header = handle.read(len(_SQLITE_HEADER))
    except OSError as exc:
        raise RegistryError(
            f"Cannot read the registry {path}: {exc.strerror or exc}",
            hint="Check the file's permissions.",
        ) from exc
    if header and header != _SQLITE_HEADER:
        raise RegistryCorruptError(
            f"{path} is not an SQLite database",
            hint="Move the file aside (it is left untouched) or point "
            f"{ENV_VAR} at a real registry; %mlops init creates a new one.",
        )


def _newer_schema(path: Path) -> RegistryCorruptError:
    return RegistryCorruptError(
        f"{path} was written by a newer version of jupyter-mlops",
        hint="Upgrade with `pip install -U jupyter-mlops`; the registry is left untouched.",
    )


def _translate(exc: sqlite3.DatabaseError, path: Path, action: str) -> RegistryError:
    """Turn an sqlite3 error into one of ours that says what was not done and why."""
    text = str(exc)
    lowered = text.lower()
    if "locked" in lowered or "busy" in lowered:
        return RecordingError(
            f"Could not {action}: the registry {path} stayed locked by another process"
            f" for more than {BUSY_TIMEOUT_SECONDS:.0f} s",
            hint="Another kernel or pipeline holds a long write; retry when it finishes.",
        )
    if "readonly" in lowered or "read-only" in lowered:
        return RecordingError(
            f"Could not {action}: the registry {path} is read-only",
            hint="Check the permissions of the file and of its directory (SQLite writes beside it).",
        )
    if "disk is full" in lowered or "disk full" in lowered:
        return RecordingError(
            f"Could not {action}: the disk holding {path} is full",
            hint="Free some space; nothing already recorded was lost.",
        )
    if "not a database" in lowered or "malformed" in lowered or "corrupt" in lowered:
        return RegistryCorruptError(
            f"Could not {action}: {path} is damaged ({text})",
            hint="Restore it from a backup; the file is left untouched.",
        )
    if isinstance(exc, sqlite3.OperationalError) and "unable to open" in lowered:
        return RegistryError(
            f"Could not {action}: cannot open {path}",
            hint="Check that the directory exists and is writable.",
        )
    return RecordingError(f"Could not {action} in {path}: {text}")
