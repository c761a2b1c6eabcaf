"""The registry under real faults: readers while writers commit, artifacts on a full disk,
a read-only filesystem, a registry from a newer version, a damaged artifact, and paths
and filters that are too long or too deep."""

from __future__ import annotations

import gc
import hashlib
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

import jupyter_mlops as mlops
from jupyter_mlops.cli import main
from jupyter_mlops.errors import (
    ArtifactIntegrityError,
    ExpressionError,
    RecordingError,
    RegistryCorruptError,
    RegistryError,
)
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.registry.location import ENV_VAR
from jupyter_mlops.tracking.session import SESSION, use_registry
from jupyter_mlops.tracking.unrecorded import UnrecordedRun

from .conftest import run_cell
from .filesystems import disk_full, needs_mount, read_only, small_tmpfs


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    with small_tmpfs(tmp_path / "disk", size_kib=32 * 1024) as mounted:
        yield mounted


def record_some(registry: Registry) -> None:
    with mlops.start_run("kept", experiment="faults", registry=registry) as run:
        run.log_params(depth=3)
        for step in range(4):
            run.log(loss=1.0 / (step + 1), step=step)


# -- 7. a list read while others write is one consistent state ------------------------------------

WRITER = textwrap.dedent(
    """
    import sys, time
    import jupyter_mlops as mlops
    registry = mlops.init(sys.argv[1])
    deadline = time.time() + float(sys.argv[2])
    n = 0
    while time.time() < deadline:
        with mlops.start_run(f"{sys.argv[3]}-{n}", experiment="busy") as run:
            run.log_params(lr=0.1, n=n)
            run.log(acc=n / 1000)
        n += 1
    print(n)
    """
)


@pytest.mark.slow
def test_runs_read_while_two_processes_write_are_always_whole(
    registry: Registry, tmp_path: Path, python_env: dict[str, str]
) -> None:
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path), "6", f"w{i}"],
            env=python_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    reads = 0
    try:
        while any(w.poll() is None for w in writers):
            frame = mlops.runs()  # raised KeyError when runs and values were read apart
            assert frame["run_id"].is_unique
            page = mlops.compare(*frame["run_id"].head(2)) if len(frame) >= 2 else None
            assert page is None or len(page.runs) == 2
            reads += 1
    finally:
        outputs = [w.communicate(timeout=60) for w in writers]
    assert all(w.returncode == 0 for w in writers), [err for _, err in outputs]
    written = sum(int(out) for out, _ in outputs)
    assert reads >= 20 and written >= 20
    final = mlops.runs(experiment="busy")
    assert len(final) == written and final["params.lr"].eq(0.1).all()


# -- 8. artifacts on a full disk: a clear error, the run goes on ----------------------------------


@needs_mount
def test_materializing_on_a_full_disk_says_so_and_leaves_the_run_running(
    disk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from IPython.core.interactiveshell import InteractiveShell

    registry = Registry.init(disk)
    use_registry(registry)
    record_some(registry)
    InteractiveShell.clear_instance()
    shell = InteractiveShell.instance()
    try:
        shell.run_cell("%load_ext jupyter_mlops", store_history=True)
        frame = pd.DataFrame({"x": range(200_000), "y": [f"v{i}" for i in range(200_000)]})
        shell.push({"frame": frame})
        run_cell(shell, "%mlops start materializing")
        with disk_full(disk):
            failed = run_cell(shell, "%mlops snapshot frame --name big --materialize")
            assert failed.error_in_exec is not None
            assert type(failed.error_in_exec).__name__ == "UsageError"
            assert "disk holding" in str(failed.error_in_exec)
            assert "is full" in str(failed.error_in_exec)
            assert "Traceback" not in capsys.readouterr().err
            in_code = run_cell(shell, "mlops.snapshot(frame, name='big2', materialize=True)")
            assert isinstance(in_code.error_in_exec, RecordingError)
        run = mlops.active_run()
        assert run is not None and run.status == "running"  # our failure is not the run's
        ok = run_cell(shell, "%mlops snapshot frame --name big --materialize")
        assert ok.error_in_exec is None
        run_cell(shell, "%mlops end")
    finally:
        shell.run_cell("%unload_ext jupyter_mlops")
        InteractiveShell.clear_instance()
    assert mlops.get_run("materializing").run.status == "finished"
    assert registry.integrity_check() == "ok"
    SESSION.reset()
    registry.close()


@needs_mount
def test_registering_a_model_on_a_full_disk_says_so_and_works_after(disk: Path) -> None:
    registry = Registry.init(disk)
    use_registry(registry)
    record_some(registry)
    model = {"weights": list(range(300_000))}
    with disk_full(disk):
        with pytest.raises(RecordingError, match="disk holding .* is full") as caught:
            mlops.register_model(model, "churn")
        assert "Free some space" in (caught.value.hint or "")
    del caught
    # The dump cut short leaves pickle's frame buffer and a view of it in a cycle (Python
    # 3.13); collected here, with nothing else alive, and not in the middle of a later test.
    gc.collect()
    version = mlops.register_model(model, "churn")
    assert version.version == 1 and mlops.load_model("churn") == model
    assert registry.integrity_check() == "ok"
    SESSION.reset()
    registry.close()


# -- 9. a registry on a read-only filesystem can be read ------------------------------------------


@needs_mount
def test_a_registry_on_a_read_only_filesystem_is_read_and_says_why_it_cannot_record(
    disk: Path,
) -> None:
    registry = Registry.init(disk)
    record_some(registry)
    registry.close()
    with read_only(disk):
        opened = Registry.open(disk)
        use_registry(opened)
        assert opened.read_only
        assert mlops.runs()["name"].tolist() == ["kept"]
        assert mlops.get_run("kept").series["loss"][-1] == (3, 0.25)
        result = CliRunner().invoke(main, ["runs", "--registry", str(disk)])
        assert result.exit_code == 0 and "kept" in result.output
        with pytest.raises(RecordingError, match="is read-only"):
            mlops.register_model({"a": 1}, "ro")
        with pytest.raises(RecordingError, match="on a read-only filesystem"):
            mlops.snapshot(pd.DataFrame({"a": [1, 2]}), name="ro")
        stand_in = mlops.start_run("while-read-only")
        assert isinstance(stand_in, UnrecordedRun)
        stand_in.log(acc=1.0)  # dropped, no error
        stand_in.end()
        assert not [n for n in os.listdir(disk / ".mlops") if n.endswith(("-wal", "-shm"))]
        SESSION.reset()
    with Registry.open(disk) as writable:  # the disk is writable again
        use_registry(writable)
        record_some(writable)
        assert writable.integrity_check() == "ok"
        assert len(mlops.runs()) == 2
        SESSION.reset()


@needs_mount
def test_artifacts_on_a_read_only_filesystem_are_refused_in_words_once_some_are_stored(
    disk: Path,
) -> None:
    registry = Registry.init(disk)
    use_registry(registry)
    record_some(registry)
    mlops.register_model({"weights": [1]}, "churn")  # the store's folders now exist
    mlops.snapshot(pd.DataFrame({"a": [1, 2]}), name="kept", materialize=True)
    SESSION.reset()
    registry.close()
    with read_only(disk):
        opened = Registry.open(disk)
        use_registry(opened)
        with pytest.raises(RecordingError, match="read-only"):  # was a raw OSError
            mlops.register_model({"weights": [2]}, "churn")
        with pytest.raises(RecordingError, match="read-only"):
            mlops.snapshot(pd.DataFrame({"a": [3, 4]}), name="new", materialize=True)
        assert mlops.load_model("churn@1") == {"weights": [1]}
        SESSION.reset()
    with Registry.open(disk) as writable:
        use_registry(writable)
        assert mlops.register_model({"weights": [2]}, "churn").version == 2
        assert writable.integrity_check() == "ok"
        SESSION.reset()


# -- 10. a registry from a newer version is refused untouched -------------------------------------


def test_a_newer_registry_is_refused_with_every_byte_unchanged(tmp_path: Path) -> None:
    registry = Registry.init(tmp_path)
    record_some(registry)
    registry.conn.execute("PRAGMA journal_mode = DELETE")  # as a newer version might keep it
    registry.conn.execute("PRAGMA user_version = 999")
    registry.close()
    path = tmp_path / ".mlops" / "registry.db"
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(RegistryCorruptError, match="newer version of jupyter-mlops"):
        Registry.open(path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert not [n for n in os.listdir(path.parent) if n.endswith(("-wal", "-shm"))]


# -- 11. storing the same bytes again repairs a damaged artifact ----------------------------------


def test_registering_the_same_model_again_repairs_its_damaged_file(registry: Registry) -> None:
    model = {"coef": [0.5, 1.5, 2.5]}
    first = mlops.register_model(model, "churn")
    stored = registry.artifacts.path_of(first.artifact_sha256)
    stored.write_bytes(b"damaged" + stored.read_bytes()[7:])
    with pytest.raises(ArtifactIntegrityError, match="was changed on disk"):
        mlops.load_model("churn@1")
    second = mlops.register_model(model, "churn")
    assert second.artifact_sha256 == first.artifact_sha256
    assert mlops.load_model("churn@2") == model
    assert mlops.load_model("churn@1") == model  # the same address, repaired


# -- 12. limits: a path too long, a filter too deep -----------------------------------------------

LONG = "/tmp/" + "x" * 300 + "/registry.db"


def test_a_registry_path_that_is_too_long_is_a_clear_error_everywhere(
    monkeypatch: pytest.MonkeyPatch, shell: Any
) -> None:
    with pytest.raises(RegistryError, match="File name too long") as caught:
        Registry.open(LONG, create=True)
    assert "shorter path" in (caught.value.hint or "")
    result = CliRunner().invoke(main, ["runs", "--registry", LONG])
    assert (
        result.exit_code == 1
        and result.exception is None
        or isinstance(result.exception, SystemExit)
    )
    assert "File name too long" in result.stderr and "Traceback" not in result.output
    magic = run_cell(shell, f"%mlops init {LONG[:-12]}")
    assert type(magic.error_in_exec).__name__ == "UsageError"
    assert "File name too long" in str(magic.error_in_exec)
    SESSION.reset()
    monkeypatch.setenv(ENV_VAR, LONG)
    with pytest.raises(RegistryError, match="File name too long"):
        mlops.runs()


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("-" * 1900 + "acc > 0.5", "nested more than 100 levels deep"),
        ("not " * 150 + "acc > 0.5", "nested more than 100 levels deep"),
        ("acc" + " + acc" * 300 + " > 1", "nested more than 100 levels deep"),
    ],
)
def test_a_filter_nested_too_deep_is_refused_in_words(
    registry: Registry, where: str, message: str
) -> None:
    record_some(registry)
    started = time.perf_counter()
    with pytest.raises(ExpressionError, match=message):
        mlops.runs(where=where)
    assert time.perf_counter() - started < 2
