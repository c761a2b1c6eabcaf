"""Recording under real faults: a full disk at every stage of a run, values SQLite cannot
store, and scripts that exit without ending their run. After each fault the registry
passes ``PRAGMA integrity_check``, what was recorded before is still there, the user's
code ran to the end with its result, and recording works again once the cause is gone,
in the same process."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import jupyter_mlops as mlops
from jupyter_mlops.errors import InvalidInputError, RecordingError
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.registry.location import ENV_VAR
from jupyter_mlops.tracking.run import FLUSH_EVERY_POINTS
from jupyter_mlops.tracking.session import SESSION, use_registry
from jupyter_mlops.tracking.unrecorded import UnrecordedRun

from .conftest import run_cell
from .filesystems import disk_full, needs_mount, small_tmpfs


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 MiB filesystem of its own, so that it can be filled for real."""
    with small_tmpfs(tmp_path / "disk", size_kib=64 * 1024) as mounted:
        yield mounted


@pytest.fixture
def small_registry(disk: Path) -> Iterator[Registry]:
    """The registry runs record into, on ``disk``, with one run recorded before any fault."""
    registry = Registry.init(disk)
    use_registry(registry)
    with mlops.start_run("before", experiment="old") as run:
        run.log_params(lr=0.1)
        run.log(acc=0.9)
    yield registry
    SESSION.reset()
    registry.close()


@pytest.fixture
def notebook(small_registry: Registry) -> Iterator[Any]:
    """A real IPython shell with the extension loaded, recording into ``small_registry``."""
    from IPython.core.interactiveshell import InteractiveShell

    InteractiveShell.clear_instance()
    ipython = InteractiveShell.instance()
    ipython.run_cell("%load_ext jupyter_mlops", store_history=True)
    yield ipython
    ipython.run_cell("%unload_ext jupyter_mlops")
    InteractiveShell.clear_instance()


def runs_by_name(registry: Registry) -> dict[str, Any]:
    return {row["name"]: row for row in registry.query("SELECT * FROM runs")}


def assert_intact(registry: Registry) -> None:
    """The fault left a sound registry that still holds the run recorded before it."""
    assert registry.integrity_check() == "ok"
    before = mlops.get_run("before")
    assert before.run.status == "finished"
    assert before.run.params == {"lr": 0.1} and before.run.metrics == {"acc": 0.9}


# -- 1. a failed write leaves no cached state behind ----------------------------------------------


@needs_mount
def test_a_write_that_fails_leaves_no_id_behind_and_recording_resumes(
    small_registry: Registry, disk: Path
) -> None:
    with disk_full(disk):
        lost = mlops.start_run("lost", experiment="new")  # its experiment row is rolled back
        assert isinstance(lost, UnrecordedRun) and "is full" in lost.reason
        lost.end()
    with mlops.start_run("after", experiment="new") as run:  # the same experiment, afresh
        run.log(acc=0.5)
    assert_intact(small_registry)
    assert set(runs_by_name(small_registry)) == {"before", "after"}
    assert mlops.get_run("after").run.experiment == "new"


# -- 2. a run that cannot start: the cell runs, its logging is dropped ----------------------------


@needs_mount
def test_a_cell_whose_run_cannot_start_runs_to_its_result(
    small_registry: Registry, disk: Path, notebook: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    with disk_full(disk):
        result = run_cell(
            notebook,
            "%%mlops run unlucky\n"
            "total = 0\n"
            "for step in range(3):\n"
            "    total += step\n"
            "    mlops.log(loss=1 / (step + 1), step=step)\n"
            "mlops.log_params(depth=4)\n"
            "total * 7",
        )
    assert result.error_in_exec is None and result.result == 21
    err = capsys.readouterr().err
    assert err.count("without being recorded") == 1 and "is full" in err
    assert mlops.active_run() is None
    run_cell(notebook, "%%mlops run lucky\nmlops.log(acc=1.0)")
    assert_intact(small_registry)
    assert set(runs_by_name(small_registry)) == {"before", "lucky"}
    assert mlops.get_run("lucky").run.metrics == {"acc": 1.0}


@needs_mount
def test_a_multi_cell_run_that_cannot_start_drops_with_one_warning_per_cell(
    small_registry: Registry,
    disk: Path,
    notebook: Any,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with disk_full(disk):
        assert run_cell(notebook, "%mlops start spanning").error_in_exec is None
        assert "without being recorded" in capsys.readouterr().err
        with caplog.at_level(logging.WARNING):
            for _ in range(2):
                cell = run_cell(notebook, "for i in range(5):\n    mlops.log(x=i)\nlast = i")
                assert cell.error_in_exec is None
    dropped = [r for r in caplog.records if "is not recorded" in r.getMessage()]
    assert len(dropped) == 2  # one per cell, not one per value
    run_cell(notebook, "%mlops end")
    assert mlops.active_run() is None and notebook.user_ns["last"] == 4
    assert_intact(small_registry)


# -- 3. an automatic flush never raises into the user's loop --------------------------------------


@needs_mount
def test_a_training_loop_on_a_full_disk_finishes_and_loses_no_point(
    small_registry: Registry, disk: Path, caplog: pytest.LogCaptureFixture
) -> None:
    points = FLUSH_EVERY_POINTS * 2 + 123
    run = mlops.start_run("long-loop")
    with disk_full(disk), caplog.at_level(logging.WARNING):
        for step in range(points):  # two automatic flushes fail on the way
            mlops.log(loss=1.0 / (step + 1), step=step)
    kept = [r for r in caplog.records if "kept in memory" in r.getMessage()]
    assert 1 <= len(kept) <= 2 and run.pending_points == points
    run.end()  # space is back: everything kept is written
    assert_intact(small_registry)
    assert len(mlops.metrics(run.id)) == points
    assert mlops.get_run(run.id).metrics[0].count == points


# -- 4. an end that cannot be recorded does not keep the run active -------------------------------


@needs_mount
def test_a_cell_whose_end_cannot_be_recorded_lets_later_cells_go(
    small_registry: Registry, disk: Path, notebook: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    filler = disk / ".filler"

    def fill_the_disk() -> None:
        with open(filler, "wb") as handle:
            try:
                while True:
                    handle.write(b"\0" * 65536)
                    handle.flush()
            except OSError:
                pass

    notebook.push({"fill_the_disk": fill_the_disk})
    first = run_cell(
        notebook, "%%mlops run ends-on-a-full-disk\nmlops.log(acc=0.7)\nfill_the_disk()"
    )
    assert first.error_in_exec is None
    assert "not fully recorded" in capsys.readouterr().err
    assert mlops.active_run() is None
    run_cell(notebook, "unrelated = 123")  # must not become the ended run's code or parameter
    filler.unlink()
    run_cell(notebook, "another = 1")  # after a cell, the kept end is written
    assert SESSION.unfinished == []
    ended = mlops.get_run("ends-on-a-full-disk")
    # a notebook run samples system/... metrics a second after it starts, which a slow disk
    # filling can outlast: the run's own metric is what must be there
    logged = {k: v for k, v in ended.run.metrics.items() if not k.startswith("system/")}
    assert ended.run.status == "finished" and logged == {"acc": 0.7}
    assert "unrelated" not in ended.run.params
    assert all("unrelated" not in cell.source for cell in ended.code)
    assert_intact(small_registry)


# -- 5. every run ends at interpreter exit --------------------------------------------------------

SCRIPT = textwrap.dedent(
    """
    import sys
    import jupyter_mlops as mlops
    mlops.init(sys.argv[1])
    run = mlops.start_run(sys.argv[2])
    run.log_params(lr=0.5)
    for step in range(3):
        mlops.log(loss=1.0 / (step + 1), step=step)
    how = sys.argv[2]
    if how == "exit-3":
        sys.exit(3)
    if how == "raises":
        raise ValueError("boom")
    if how == "interrupted":
        raise KeyboardInterrupt
    print("the end of the script")
    """
)


@pytest.mark.parametrize(
    ("how", "returncode", "status", "error"),
    [
        ("normal", 0, "finished", None),
        ("exit-3", 3, "finished", None),
        ("raises", 1, "failed", "ValueError: boom"),
        ("interrupted", 1, "killed", "KeyboardInterrupt"),
    ],
)
def test_a_script_that_never_ends_its_run_keeps_what_it_logged(
    tmp_path: Path,
    python_env: dict[str, str],
    how: str,
    returncode: int,
    status: str,
    error: str | None,
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path), how],
        capture_output=True,
        text=True,
        env=python_env,
        timeout=120,
    )
    # An uncaught KeyboardInterrupt ends Python by SIGINT, unless SIGINT was ignored when it
    # started (as under a background job): then the exit status is 1.
    expected = (returncode, -signal.SIGINT) if how == "interrupted" else (returncode,)
    assert done.returncode in expected, done.stderr
    with Registry.init(tmp_path) as registry:
        use_registry(registry)
        detail = mlops.get_run(how)
        assert detail.run.status == status and detail.error == error
        assert detail.run.params == {"lr": 0.5}
        assert [p for _, p in detail.series["loss"]] == pytest.approx([1.0, 0.5, 1 / 3])
        assert registry.integrity_check() == "ok"


# -- 6. values SQLite cannot store are refused when they are logged -------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda run: run.log(acc=0.5, step=2**63), "step 9223372036854775808 is out of range"),
        (lambda run: run.log(acc=0.5, step=-(2**63) - 1), "is out of range"),
        (lambda run: run.log(big=10**400), 'Metric "big" is too large for a float'),
        (lambda run: mlops.log(big=-(10**400)), 'Metric "big" is too large for a float'),
        (lambda run: run.log({"bad\ud800key": 1.0}), "not valid text"),
        (lambda run: run.log_params({"bad\udfffname": 1}), "not valid text"),
    ],
)
def test_values_sqlite_cannot_store_are_refused_at_log_and_the_run_goes_on(
    registry: Registry, call: Any, message: str
) -> None:
    with mlops.start_run("odd-values") as run:
        run.log(acc=0.25, step=1)
        with pytest.raises(InvalidInputError, match=message):
            call(run)
        run.flush()  # nothing unstorable was buffered: flushes keep working
        run.log(acc=0.75, step=2)
    detail = mlops.get_run("odd-values")
    assert detail.run.status == "finished"
    assert detail.series["acc"] == ((1, 0.25), (2, 0.75))
    assert registry.integrity_check() == "ok"


def test_text_sqlite_cannot_store_is_kept_with_the_bad_characters_replaced(
    registry: Registry,
) -> None:
    with mlops.start_run("odd-text") as run:
        run.log_params(path="data\udcff.csv", big=10**400)
        run.set_tags(note="caf\udce9")
    detail = mlops.get_run("odd-text")
    assert detail.run.params == {"path": "data?.csv", "big": 10**400}
    assert detail.tags == {"note": "caf?"}


def test_the_last_automatic_step_cannot_overflow(registry: Registry) -> None:
    with mlops.start_run("edge") as run:
        run.log(x=1.0, step=2**63 - 2)
        with pytest.raises(InvalidInputError, match="out of range"):
            run.log(x=2.0)  # its automatic step would be 2**63 - 1, then 2**63
    assert mlops.get_run("edge").series == {}


# -- what is stored while the active run is not recorded ------------------------------------------


@needs_mount
def test_a_script_whose_registry_cannot_open_on_a_full_disk_runs_unrecorded(
    disk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Registry.init(disk) as registry:  # closed: its WAL and shared memory are gone
        use_registry(registry)
        with mlops.start_run("before", experiment="old") as run:
            run.log_params(lr=0.1)
            run.log(acc=0.9)
        SESSION.reset()
    monkeypatch.setenv(ENV_VAR, str(disk))
    with disk_full(disk):
        run = mlops.start_run("unlucky")  # opening needs a shared-memory file on the disk
        assert isinstance(run, UnrecordedRun) and "is full" in run.reason
        mlops.log(acc=0.5)  # dropped, no error
        run.end()
    with mlops.start_run("after") as run:
        run.log(acc=1.0)
    with Registry.open(disk) as registry:
        use_registry(registry)
        assert_intact(registry)
        assert set(runs_by_name(registry)) == {"before", "after"}


@pytest.fixture(params=["located", "chosen"])
def unrecorded(
    request: pytest.FixtureRequest,
    small_registry: Registry,
    disk: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[UnrecordedRun]:
    """A run that could not start on a full disk, active once space is back; the registry
    found through MLOPS_REGISTRY (as a pipeline step finds it) or chosen with mlops.init."""
    if request.param == "located":
        use_registry(None)  # found again through the variable; the registry stays open
        monkeypatch.setenv(ENV_VAR, str(disk))
    with disk_full(disk):
        run = mlops.start_run("unlucky")
        assert isinstance(run, UnrecordedRun)
        with pytest.raises(RecordingError, match="is full"):  # not a stray AttributeError
            mlops.register_model({"weights": [1, 2]}, "churn")
    yield run
    run.end()


@needs_mount
def test_a_model_registered_in_a_run_that_could_not_start_is_kept_without_a_run(
    unrecorded: UnrecordedRun, small_registry: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        version = mlops.register_model({"weights": [1, 2]}, "churn")
    assert version.version == 1 and version.run_id is None
    assert mlops.load_model("churn@1") == {"weights": [1, 2]}
    assert any('run "unlucky" is not recorded' in r.getMessage() for r in caplog.records)
    assert_intact(small_registry)


@needs_mount
def test_data_checked_in_a_run_that_could_not_start_is_kept_without_a_run(
    unrecorded: UnrecordedRun, small_registry: Registry
) -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0] * 40})
    record = mlops.snapshot(frame, name="train")
    assert record.n_rows == 120
    assert small_registry.query("SELECT * FROM run_snapshots") == []
    report = mlops.check_drift("train", frame)
    assert report.decision == "monitor"
    assert_intact(small_registry)


@needs_mount
def test_gates_in_a_run_that_could_not_start_refuse_to_read_another_run(
    unrecorded: UnrecordedRun, small_registry: Registry
) -> None:
    # "before" has acc 0.9: read in place of the unrecorded run, the gate would pass.
    with pytest.raises(RecordingError, match='run "unlucky" is not recorded') as caught:
        mlops.check(["acc >= 0.5"])
    assert "run=" in (caught.value.hint or "")
    assert mlops.check(["acc >= 0.5"], run="before").passed  # a named run is read as asked
    assert mlops.check(["acc >= 0.5"], values={"acc": 0.7}).passed  # so are given values


@needs_mount
def test_notebook_commands_in_a_run_that_could_not_start_say_what_they_did(
    small_registry: Registry, disk: Path, notebook: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    notebook.push({"model": {"weights": [3]}, "frame": pd.DataFrame({"x": [1.0, 2.0] * 30})})
    with disk_full(disk):
        assert run_cell(notebook, "%mlops start spanning").error_in_exec is None
    capsys.readouterr()
    registered = run_cell(notebook, "%mlops register model --name churn")
    assert registered.error_in_exec is None and "linked to no run" in capsys.readouterr().out
    assert run_cell(notebook, "%mlops snapshot frame --name train").error_in_exec is None
    assert run_cell(notebook, "%mlops drift train frame").error_in_exec is None
    gate = run_cell(notebook, '%mlops gate "acc >= 0.5"')
    assert type(gate.error_in_exec).__name__ == "UsageError"
    assert 'run "spanning" is not recorded' in str(gate.error_in_exec)
    run_cell(notebook, "%mlops end")
    assert mlops.load_model("churn@1") == {"weights": [3]}
    assert_intact(small_registry)
