"""The registry: finding it, creating it, refusing what is not ours, crashes and concurrency."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from jupyter_mlops.errors import (
    RecordingError,
    RegistryCorruptError,
    RegistryNotFoundError,
)
from jupyter_mlops.registry.artifacts import STALE_TEMP_SECONDS
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.registry.location import ENV_VAR, locate
from jupyter_mlops.registry.schema import MIGRATIONS


def test_locate_walks_up_to_the_nearest_registry(tmp_path: Path) -> None:
    Registry.init(tmp_path).close()
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    assert locate(nested) == tmp_path / ".mlops" / "registry.db"


def test_locate_prefers_the_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Registry.init(tmp_path).close()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.setenv(ENV_VAR, str(elsewhere))
    assert locate(tmp_path) == elsewhere / "registry.db"
    monkeypatch.setenv(ENV_VAR, str(elsewhere / "team.db"))
    assert locate(tmp_path) == elsewhere / "team.db"


def test_locate_finds_nothing_in_an_empty_tree(tmp_path: Path) -> None:
    assert locate(tmp_path) is None


def test_open_without_a_registry_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(RegistryNotFoundError, match="No registry found") as caught:
        Registry.open(start=tmp_path)
    assert "%mlops init" in (caught.value.hint or "")


def test_environment_variable_registry_is_created_on_first_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "shared" / "runs.db"
    monkeypatch.setenv(ENV_VAR, str(target))
    with Registry.open() as opened:
        assert opened.path == target
    assert target.is_file()


def test_init_twice_keeps_what_was_recorded(tmp_path: Path) -> None:
    with Registry.init(tmp_path) as first, first.transaction() as conn:
        conn.execute("INSERT INTO experiments (name, created_at) VALUES ('kept', 0)")
    with Registry.init(tmp_path) as second:
        assert [r[0] for r in second.query("SELECT name FROM experiments")] == ["kept"]


def test_new_registry_uses_wal_and_records_its_schema(registry: Registry) -> None:
    assert registry.query_one("PRAGMA journal_mode")[0] == "wal"
    assert registry.query_one("PRAGMA user_version")[0] == len(MIGRATIONS)
    applied = [r[0] for r in registry.query("SELECT name FROM schema_migrations")]
    assert applied == [m.name for m in MIGRATIONS]


def test_registry_file_is_readable_by_sqlite_utils_and_pandas(registry: Registry) -> None:
    import pandas as pd
    import sqlite_utils

    from jupyter_mlops.tracking.session import start_run

    with start_run("visible", registry=registry) as run:
        run.log(acc=0.5)
    db = sqlite_utils.Database(registry.path)
    try:
        assert {"runs", "metrics", "params", "snapshots"} <= set(db.table_names())
    finally:
        db.close()
    listed = subprocess.run(
        [sys.executable, "-m", "sqlite_utils", "tables", str(registry.path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "runs" in listed.stdout
    # sqlite3's own context manager ends a transaction but leaves the connection open
    with contextlib.closing(sqlite3.connect(registry.path)) as conn:
        frame = pd.read_sql("SELECT name, status FROM runs_view", conn)
    assert frame.to_dict("records") == [{"name": "visible", "status": "finished"}]


def test_non_sqlite_file_is_refused_and_left_untouched(tmp_path: Path) -> None:
    target = tmp_path / ".mlops" / "registry.db"
    target.parent.mkdir()
    target.write_bytes(b"this is a spreadsheet, not a database\n" * 10)
    before = target.read_bytes()
    with pytest.raises(RegistryCorruptError, match="not an SQLite database"):
        Registry.open(start=tmp_path)
    assert target.read_bytes() == before


def test_opening_a_registry_again_in_one_process_loses_no_other_process_writes(
    tmp_path: Path,
) -> None:
    # The runner opens the registry by path while the notebook's is open; a step process
    # writes and closes meanwhile. Each open must keep the locks of the connections before.
    from jupyter_mlops.tracking.session import end_run, start_run

    first = Registry.init(tmp_path)
    second = Registry.open(first.path)
    writer = (
        "import sys\nfrom jupyter_mlops.registry.connection import Registry\n"
        "from jupyter_mlops.tracking.session import end_run, start_run\n"
        "with Registry.open(sys.argv[1]) as registry:\n"
        "    start_run('theirs', registry=registry).log(x=1.0)\n"
        "    end_run()\n"
    )
    try:
        for number in range(3):
            subprocess.run([sys.executable, "-c", writer, str(first.path)], check=True)
            start_run(f"mine{number}", registry=second).log(y=2.0)
            end_run()
        with Registry.open(first.path) as third:
            names = sorted(row[0] for row in third.query("SELECT name FROM runs"))
            assert third.integrity_check() == "ok"
    finally:
        second.close()
        first.close()
    assert names == ["mine0", "mine1", "mine2", "theirs", "theirs", "theirs"]


def test_foreign_sqlite_database_is_refused_and_left_untouched(tmp_path: Path) -> None:
    target = tmp_path / "other.db"
    with contextlib.closing(sqlite3.connect(target)) as conn, conn:
        conn.execute("CREATE TABLE invoices (id INTEGER)")
    before = target.read_bytes()
    with pytest.raises(RegistryCorruptError, match="not a jupyter-mlops registry"):
        Registry.open(target)
    assert target.read_bytes() == before


def test_truncated_registry_is_reported_as_damaged(tmp_path: Path) -> None:
    with Registry.init(tmp_path) as opened:
        path = opened.path
    data = path.read_bytes()
    path.write_bytes(data[:16] + b"\x00" * 84 + b"garbage" * 200)
    with pytest.raises(RegistryCorruptError):
        Registry.open(path)


def test_registry_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    with Registry.init(tmp_path) as opened, opened.transaction() as conn:
        conn.execute("INSERT INTO schema_migrations VALUES ('9999_future', 0)")
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(RegistryCorruptError, match="newer version"):
        Registry.open(start=tmp_path)


def test_failed_transaction_leaves_nothing_behind(registry: Registry) -> None:
    with pytest.raises(ZeroDivisionError), registry.transaction() as conn:
        conn.execute("INSERT INTO experiments (name, created_at) VALUES ('half', 0)")
        1 / 0  # noqa: B018
    assert registry.query("SELECT * FROM experiments WHERE name = 'half'") == []


def test_write_to_a_read_only_registry_names_what_was_lost(registry: Registry) -> None:
    registry.conn.execute("PRAGMA query_only = ON")
    with pytest.raises(RecordingError, match="read-only") as caught:
        with registry.transaction("3 metric point(s)") as conn:
            conn.execute("INSERT INTO experiments (name, created_at) VALUES ('x', 0)")
    assert "3 metric point(s)" in caught.value.message


def test_lock_held_too_long_is_a_recording_error(tmp_path: Path) -> None:
    opened = Registry.open(tmp_path / "registry.db", create=True, busy_timeout=0.2)
    holder = sqlite3.connect(opened.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(RecordingError, match="locked .* for more than 0.2 s"):
            with opened.transaction("a parameter"):
                pass
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        opened.close()


def test_change_marker_moves_when_something_is_written(registry: Registry) -> None:
    before = registry.change_marker()
    time.sleep(0.01)
    with registry.transaction() as conn:
        conn.execute("INSERT INTO experiments (name, created_at) VALUES ('new', 0)")
    assert registry.change_marker() != before


def test_stale_temp_files_are_removed_on_open(tmp_path: Path) -> None:
    with Registry.init(tmp_path) as opened:
        temp_dir = opened.artifacts.tmp
    temp_dir.mkdir(parents=True, exist_ok=True)
    stale = temp_dir / "w-dead-writer"
    stale.write_bytes(b"half of a model")
    old = time.time() - 2 * STALE_TEMP_SECONDS
    os.utime(stale, (old, old))
    fresh = temp_dir / "w-live-writer"
    fresh.write_bytes(b"being written right now")
    Registry.open(start=tmp_path).close()
    assert not stale.exists()
    assert fresh.exists()


# -- processes -----------------------------------------------------------------------------------

_CRASHING_RUN = textwrap.dedent(
    """
    import sys, time
    import jupyter_mlops as mlops
    from jupyter_mlops.registry.connection import Registry
    registry = Registry.open(sys.argv[1])
    run = mlops.start_run("doomed", registry=registry)
    run.log(loss=1.0)
    run.flush()
    def forever(handle):
        handle.write(b"x" * 1024)
        handle.flush()
        print("ready", flush=True)
        time.sleep(60)
    registry.artifacts.put_writer(forever)
    """
)


@pytest.mark.slow
def test_killed_process_leaves_a_sound_registry_and_a_crashed_run(
    registry: Registry, python_env: dict[str, str]
) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", _CRASHING_RUN, str(registry.path)],
        stdout=subprocess.PIPE,
        env=python_env,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    assert registry.query_one("SELECT status FROM runs WHERE name='doomed'")[0] == "running"
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stdout.close()
    with Registry.open(registry.path) as reopened:
        assert reopened.integrity_check() == "ok"
        row = reopened.query_one("SELECT status, error FROM runs WHERE name = 'doomed'")
        assert row["status"] == "crashed"
        assert "ended without closing" in row["error"]
        assert reopened.query_one("SELECT COUNT(*) FROM metrics")[0] == 1
        # the half-written artifact is only ever in tmp/, never under a content address
        stored = [p for p in reopened.artifacts.root.rglob("*") if p.is_file()]
        assert all(p.parent == reopened.artifacts.tmp for p in stored)


_WRITER = textwrap.dedent(
    """
    import sys
    import jupyter_mlops as mlops
    from jupyter_mlops.registry.connection import Registry
    registry = Registry.open(sys.argv[1])
    for i in range(int(sys.argv[2])):
        with mlops.start_run(f"{sys.argv[3]}-{i}", registry=registry) as run:
            for step in range(20):
                run.log(loss=1.0 / (step + 1), step=step)
    print("done", flush=True)
    """
)


@pytest.mark.slow
def test_two_processes_writing_at_once_lose_nothing(
    registry: Registry, python_env: dict[str, str]
) -> None:
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(registry.path), "500", name],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=python_env,
            text=True,
        )
        for name in ("left", "right")
    ]
    outputs = [child.communicate(timeout=300) for child in children]
    for child, (out, err) in zip(children, outputs):
        assert child.returncode == 0, err
        assert "database is locked" not in err
        assert out.strip() == "done"
    assert registry.query_one("SELECT COUNT(*) FROM runs")[0] == 1000
    assert registry.query_one("SELECT COUNT(*) FROM metrics")[0] == 1000 * 20
    per_run = registry.query("SELECT COUNT(*) FROM metrics GROUP BY run_id")
    assert {row[0] for row in per_run} == {20}
    assert registry.query_one("SELECT COUNT(*) FROM runs WHERE status != 'finished'")[0] == 0


def test_run_of_a_live_process_is_not_marked_crashed(registry: Registry) -> None:
    from jupyter_mlops.tracking.session import start_run

    with start_run("alive", registry=registry):
        with Registry.open(registry.path) as other:
            assert other.mark_crashed_runs() == []
            assert other.query_one("SELECT status FROM runs")[0] == "running"


def test_run_from_another_host_is_crashed_only_when_its_heartbeat_is_stale(
    registry: Registry,
) -> None:
    now = time.time()
    with registry.transaction() as conn:
        conn.execute("INSERT INTO experiments (id, name, created_at) VALUES (1, 'e', 0)")
        for run_id, beat in (("fresh", now - 30), ("stale", now - 3600)):
            conn.execute(
                "INSERT INTO runs (id, experiment_id, name, status, started_at, heartbeat_at, host,"
                " pid) VALUES (?, 1, ?, 'running', ?, ?, 'container-7f3a', 12)",
                (run_id, run_id, beat, beat),
            )
    assert registry.mark_crashed_runs() == ["stale"]
    statuses = dict(registry.query("SELECT id, status FROM runs"))
    assert statuses == {"fresh": "running", "stale": "crashed"}


def test_migrations_are_applied_once_when_two_processes_create_a_registry(
    tmp_path: Path, python_env: dict[str, str]
) -> None:
    target = tmp_path / "race.db"
    script = (
        "import sys; from jupyter_mlops.registry.connection import Registry;"
        " Registry.open(sys.argv[1], create=True).close(); print('ok')"
    )
    children = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(target)],
            env=python_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = [child.communicate(timeout=60) for child in children]
    assert all(child.returncode == 0 for child in children), [err for _, err in results]
    with contextlib.closing(sqlite3.connect(target)) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM schema_migrations")]
    assert names == [m.name for m in MIGRATIONS]
    assert json.dumps(names)  # a plain list of names


def test_init_without_a_directory_opens_the_registry_mlops_registry_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "team" / "runs.db"
    elsewhere.parent.mkdir()
    monkeypatch.setenv("MLOPS_REGISTRY", str(elsewhere))
    monkeypatch.chdir(tmp_path)

    with Registry.init() as registry:
        assert registry.path == elsewhere
    assert not (tmp_path / ".mlops").exists()
    with Registry.init(tmp_path / "here") as registry:  # a directory given is that one
        assert registry.path == tmp_path / "here" / ".mlops" / "registry.db"
