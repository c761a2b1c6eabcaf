"""Backups and copies of a registry: one consistent file while writers run, what copying
``registry.db`` alone loses, and what a process leaves behind when it exits."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import jupyter_mlops as mlops
from jupyter_mlops.cli import main
from jupyter_mlops.errors import InvalidInputError
from jupyter_mlops.registry.backup import backup_registry
from jupyter_mlops.registry.connection import Registry

from .conftest import run_cell

WRITER = textwrap.dedent(
    """
    import sys, time
    import jupyter_mlops as mlops
    mlops.init(sys.argv[1])
    deadline = time.time() + float(sys.argv[2])
    n = 0
    while time.time() < deadline:
        with mlops.start_run(f"{sys.argv[3]}-{n}", experiment="busy") as run:
            for step in range(20):
                run.log(loss=1.0 / (step + 1), step=step)
        n += 1
    print(n)
    """
)


def count_runs(path: Path) -> int:
    with Registry.open(path) as opened:
        return int(opened.query_one("SELECT COUNT(*) FROM runs")[0])  # type: ignore[index]


@pytest.mark.slow
def test_a_backup_made_while_two_processes_write_is_whole_and_up_to_its_moment(
    registry: Registry, tmp_path: Path, python_env: dict[str, str]
) -> None:
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path), "5", f"w{i}"],
            env=python_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    backups = []
    try:
        waited = time.monotonic() + 60  # a loaded machine can take seconds to start Python
        while count_runs(registry.path) == 0 and time.monotonic() < waited:
            time.sleep(0.1)
        for index in range(3):
            before = int(registry.query_one("SELECT COUNT(*) FROM runs")[0])  # type: ignore[index]
            result = backup_registry(registry, tmp_path / "backups" / f"{index}.db")
            backups.append((before, result))
            time.sleep(0.5)
    finally:
        outputs = [w.communicate(timeout=60) for w in writers]
    assert all(w.returncode == 0 for w in writers), [err for _, err in outputs]
    for before, result in backups:
        assert result.runs >= before >= 1
        assert not result.path.with_name(result.path.name + "-wal").exists()
        with Registry.open(result.path) as copy:
            assert copy.integrity_check() == "ok"
            torn = copy.query(  # a finished run has every point it logged
                "SELECT runs.id FROM runs JOIN metric_summaries ms ON ms.run_id = runs.id"
                " WHERE runs.status = 'finished' AND ms.count != 20"
            )
            assert torn == []
    assert backups[-1][1].runs <= count_runs(registry.path)


KILLED_WRITER = textwrap.dedent(
    """
    import sys, time
    import jupyter_mlops as mlops
    mlops.init(sys.argv[1])
    for n in range(3):
        with mlops.start_run(f"run-{n}") as run:
            run.log(acc=n / 10)
    print("recorded", flush=True)
    time.sleep(60)
    """
)


def test_copying_registry_db_alone_loses_the_runs_in_the_wal_and_a_backup_does_not(
    tmp_path: Path, python_env: dict[str, str]
) -> None:
    project = tmp_path / "project"
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(project)],
        env=python_env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "recorded"
    child.send_signal(signal.SIGKILL)  # no close, no checkpoint: the runs are in the WAL
    child.wait(timeout=30)
    child.stdout.close()
    source = project / ".mlops" / "registry.db"
    assert source.with_name("registry.db-wal").stat().st_size > 0
    naive = tmp_path / "naive" / "registry.db"
    naive.parent.mkdir()
    shutil.copyfile(source, naive)
    assert count_runs(naive) < 3  # what the documentation warns about
    with Registry.open(source) as opened:
        result = backup_registry(opened, tmp_path / "backup.db")
    assert result.runs == 3 and count_runs(result.path) == 3


EXITING_WRITER = textwrap.dedent(
    """
    import sys
    import jupyter_mlops as mlops
    mlops.init(sys.argv[1])
    run = mlops.start_run("left-open")
    run.log(acc=0.5)
    """
)


def test_a_process_that_exits_leaves_what_it_recorded_in_registry_db_itself(
    tmp_path: Path, python_env: dict[str, str]
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", EXITING_WRITER, str(tmp_path)],
        env=python_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    folder = tmp_path / ".mlops"
    assert not (folder / "registry.db-wal").exists()
    alone = tmp_path / "alone.db"
    shutil.copyfile(folder / "registry.db", alone)
    with Registry.open(alone) as copy:
        row = copy.query_one("SELECT name, status FROM runs")
        assert row is not None and tuple(row) == ("left-open", "finished")


def test_backup_never_overwrites_by_accident_nor_targets_the_registry(
    registry: Registry, tmp_path: Path
) -> None:
    with mlops.start_run("one") as run:
        run.log(acc=1.0)
    first = backup_registry(registry, tmp_path / "out")  # a directory: out/registry.db
    assert first.path == tmp_path / "out" / "registry.db" and first.runs == 1
    with pytest.raises(InvalidInputError, match="exists already; it was left as it is"):
        backup_registry(registry, first.path)
    with pytest.raises(InvalidInputError, match="is the registry itself"):
        backup_registry(registry, registry.path, overwrite=True)
    with mlops.start_run("two"):
        pass
    assert backup_registry(registry, first.path, overwrite=True).runs == 2


def test_backup_with_artifacts_opens_as_a_registry_from_the_cli_and_the_magic(
    registry: Registry, tmp_path: Path, shell: Any
) -> None:
    with mlops.start_run("trained"):
        version = mlops.register_model({"coef": [1, 2, 3]}, "churn")
    result = CliRunner().invoke(
        main, ["backup", str(tmp_path / "copy" / "registry.db"), "--artifacts"]
    )
    assert result.exit_code == 0, result.output
    assert "Backed up 1 run(s)" in result.stdout and "1 copied" in result.stdout
    with Registry.open(tmp_path / "copy" / "registry.db") as copy:
        from jupyter_mlops.models.versions import load

        assert load(copy, "churn@1") == {"coef": [1, 2, 3]}
        assert copy.artifacts.exists(version.artifact_sha256)
    again = CliRunner().invoke(main, ["backup", str(tmp_path / "copy" / "registry.db")])
    assert again.exit_code == 1 and "--force" in again.stderr
    cell = run_cell(shell, f"%mlops backup {tmp_path / 'magic.db'}")
    assert cell.error_in_exec is None
    assert (tmp_path / "magic.db").is_file() and os.path.getsize(tmp_path / "magic.db") > 0
