"""Runs: logging, parameters, statuses, buffering through failures, links and capture."""

from __future__ import annotations

import math
import sqlite3
import subprocess
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import jupyter_mlops as mlops
from jupyter_mlops.errors import InvalidInputError, NoActiveRunError, RecordingError
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.tracking.background import Background
from jupyter_mlops.tracking.session import Session
from jupyter_mlops.tracking.values import valid_text


def metric_rows(registry: Registry, run_id: str, key: str) -> list[tuple[int, float | None]]:
    return [
        tuple(r)
        for r in registry.query(
            "SELECT step, value FROM metrics WHERE run_id = ? AND key = ? ORDER BY step",
            (run_id, key),
        )
    ]


def test_log_buffers_until_flush_then_writes_every_point(registry: Registry) -> None:
    # no background flush (every second by default), which on a loaded machine can come
    # while the loop still runs: this test is about what a run holds until it is flushed
    mlops.configure(flush_interval=0)
    with mlops.start_run("loop") as run:
        for step in range(100):
            mlops.log(loss=1 / (step + 1))
        assert registry.query_one("SELECT COUNT(*) FROM metrics")[0] == 0
        assert run.pending_points == 100
        run.flush()
        assert registry.query_one("SELECT COUNT(*) FROM metrics")[0] == 100
    assert [s for s, _ in metric_rows(registry, run.id, "loss")] == list(range(100))


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (0.5, 0.5),
        (3, 3.0),
        (True, 1.0),
        (np.float32(0.25), 0.25),
        (np.int64(7), 7.0),
        (np.array(2.5), 2.5),
        (Fraction(1, 4), 0.25),
        (math.inf, math.inf),
        (-math.inf, -math.inf),
    ],
)
def test_log_accepts_any_number(registry: Registry, value: object, stored: float) -> None:
    with mlops.start_run() as run:
        mlops.log(m=value)
    assert metric_rows(registry, run.id, "m") == [(0, stored)]


def test_nan_is_kept_as_nan_and_ignored_by_min_and_max(registry: Registry) -> None:
    with mlops.start_run() as run:
        for value in (0.5, math.nan, 0.2, 0.9):
            mlops.log(acc=value)
        mlops.log(only_nan=math.nan)
    assert metric_rows(registry, run.id, "acc") == [(0, 0.5), (1, None), (2, 0.2), (3, 0.9)]
    summary = mlops.get_run(run.id).metrics
    acc = next(m for m in summary if m.key == "acc")
    assert (acc.last, acc.min, acc.min_step, acc.max, acc.max_step, acc.count) == (
        0.9,
        0.2,
        2,
        0.9,
        3,
        4,
    )
    only_nan = next(m for m in summary if m.key == "only_nan")
    assert (only_nan.last, only_nan.min, only_nan.max) == (None, None, None)
    frame = mlops.metrics(run.id, "acc")
    assert math.isnan(frame["value"][1])


@pytest.mark.parametrize("value", ["high", b"0.9", None, [0.9], {"a": 1}, object()])
def test_log_refuses_a_non_number_naming_the_metric(registry: Registry, value: object) -> None:
    with mlops.start_run():
        with pytest.raises(InvalidInputError, match='Metric "acc" must be a number'):
            mlops.log(acc=value)


def test_explicit_steps_and_several_keys_at_once(registry: Registry) -> None:
    with mlops.start_run() as run:
        for epoch in (0, 5, 10):
            run.log({"train-loss": 1 / (epoch + 1), "val_loss": 2 / (epoch + 1)}, step=epoch)
        run.log(val_loss=0.01)  # continues after the highest explicit step
    assert [s for s, _ in metric_rows(registry, run.id, "val_loss")] == [0, 5, 10, 11]
    assert metric_rows(registry, run.id, "train-loss")[-1] == (10, 1 / 11)


def test_log_outside_a_run_says_how_to_start_one(registry: Registry) -> None:
    with pytest.raises(NoActiveRunError, match="No run is active") as caught:
        mlops.log(acc=1.0)
    assert "%%mlops run" in (caught.value.hint or "")


def test_log_after_the_run_ended_is_refused(registry: Registry) -> None:
    with mlops.start_run("over") as run:
        pass
    with pytest.raises(NoActiveRunError, match="already ended"):
        run.log(acc=1.0)


@pytest.mark.parametrize(
    ("value", "type_name"),
    [
        (0.1, "float"),
        (6, "int"),
        ("adam", "str"),
        (True, "bool"),
        (None, "none"),
        ([1, 2, 3], "list"),
        ((1, "a"), "list"),
        ({"layers": [64, 32]}, "dict"),
        (2**70, "int"),
        (math.nan, "float"),
        (np.int32(4), "int"),
        (np.float64(0.5), "float"),
    ],
)
def test_params_round_trip_with_their_type(
    registry: Registry, value: object, type_name: str
) -> None:
    with mlops.start_run() as run:
        mlops.log_params(p=value)
    stored = mlops.get_run(run.id).params[0]
    assert stored.type == type_name
    expected = list(value) if isinstance(value, tuple) else value
    if isinstance(value, float) and math.isnan(value):
        assert math.isnan(stored.value)
    else:
        assert stored.value == expected
        assert type(stored.value) is type(
            expected.item() if hasattr(expected, "item") else expected
        )


def test_run_statuses_follow_how_the_block_ends(registry: Registry) -> None:
    with mlops.start_run("ok"):
        pass
    with pytest.raises(ValueError):
        with mlops.start_run("broken"):
            raise ValueError("bad data")
    with pytest.raises(KeyboardInterrupt):
        with mlops.start_run("stopped"):
            raise KeyboardInterrupt
    rows = {r["name"]: (r["status"], r["error"]) for r in registry.query("SELECT * FROM runs")}
    assert rows == {
        "ok": ("finished", None),
        "broken": ("failed", "ValueError: bad data"),
        "stopped": ("killed", "KeyboardInterrupt"),
    }
    assert mlops.active_run() is None


def test_nested_runs_restore_the_outer_one(registry: Registry) -> None:
    with mlops.start_run("outer") as outer:
        with mlops.start_run("inner") as inner:
            assert mlops.active_run() is inner
        assert mlops.active_run() is outer
        mlops.log(x=1)
    assert mlops.get_run("outer").run.metrics == {"x": 1.0}


def test_failed_flush_keeps_everything_for_the_next_try(registry: Registry) -> None:
    mlops.configure(flush_interval=0)  # the points wait for this test's flush, not a timer's
    with mlops.start_run("resilient") as run:
        run.log_params(lr=0.1)
        for step in range(10):
            run.log(loss=float(step))
        registry.conn.execute("PRAGMA query_only = ON")
        with pytest.raises(RecordingError, match="10 metric point"):
            run.flush()
        run.log(loss=10.0)
        registry.conn.execute("PRAGMA query_only = OFF")
    assert [v for _, v in metric_rows(registry, run.id, "loss")] == [float(s) for s in range(11)]
    assert mlops.get_run(run.id).run.params == {"lr": 0.1}
    assert mlops.get_run(run.id).run.status == "finished"


def test_ending_twice_changes_nothing(registry: Registry) -> None:
    run = mlops.start_run("once")
    run.end("finished")
    ended = registry.query_one("SELECT ended_at FROM runs")[0]
    run.end("failed")
    assert registry.query_one("SELECT status, ended_at FROM runs")[:] == ("finished", ended)


def test_unknown_status_is_refused(registry: Registry) -> None:
    with mlops.start_run() as run:
        with pytest.raises(InvalidInputError, match="not a final run status"):
            run.end("paused")


def test_rerun_with_the_same_name_links_to_the_previous_run(registry: Registry) -> None:
    with mlops.start_run("tune", experiment="a") as first:
        pass
    with mlops.start_run("tune", experiment="a") as second:
        pass
    with mlops.start_run("tune", experiment="b") as elsewhere:
        pass
    assert mlops.get_run(second.id).run.previous_run_id == first.id
    assert mlops.get_run(elsewhere.id).run.previous_run_id is None


def test_environment_is_recorded_once_and_shared(registry: Registry) -> None:
    import sklearn  # noqa: F401 - so that scikit-learn is among the imported packages

    with mlops.start_run() as a:
        pass
    with mlops.start_run() as b:
        pass
    assert registry.query_one("SELECT COUNT(*) FROM environments")[0] == 1
    env = mlops.get_run(b.id).environment
    assert env is not None and env["python"].count(".") == 2
    assert "scikit-learn" in env["packages"]
    assert mlops.get_run(a.id).environment == env


def test_git_commit_and_dirty_flag_are_recorded(registry: Registry, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=repo, check=True)
    (repo / "train.py").write_text("print(1)\n")
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "first"], cwd=repo, check=True)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    from jupyter_mlops.tracking.capture.git import forget_git_status

    forget_git_status()
    with mlops.start_run("clean", workdir=repo) as clean:
        pass
    (repo / "train.py").write_text("print(2)\n")
    forget_git_status()
    with mlops.start_run("dirty", workdir=repo) as dirty:
        pass
    clean_detail, dirty_detail = mlops.get_run(clean.id), mlops.get_run(dirty.id)
    assert (clean_detail.git_commit, clean_detail.git_branch, clean_detail.git_dirty) == (
        head,
        "main",
        False,
    )
    assert (dirty_detail.git_commit, dirty_detail.git_dirty) == (head, True)


def test_heartbeat_marks_a_long_run_alive(registry: Registry) -> None:
    session = Session(background=Background(interval=0.05, flush_interval=0))
    with session.start_run("long", registry=registry) as run:
        started = registry.query_one("SELECT heartbeat_at FROM runs")[0]
        deadline = time.time() + 5
        while registry.query_one("SELECT heartbeat_at FROM runs")[0] == started:
            assert time.time() < deadline, "no heartbeat within 5 s"
            time.sleep(0.05)
    assert run.status == "finished"
    session.background.stop()


def test_tags_and_default_names(registry: Registry) -> None:
    with mlops.start_run(tags={"team": "growth"}) as run:
        run.set_tags(owner="ana")
    detail = mlops.get_run(run.id)
    assert detail.tags == {"owner": "ana", "team": "growth"}
    assert detail.run.name.endswith(run.id[:6])


def test_experiment_comes_from_the_environment(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLOPS_EXPERIMENT", "nightly")
    with mlops.start_run() as run:
        pass
    assert run.experiment == "nightly"


@pytest.mark.parametrize("bad", ["", "   ", 3, "x" * 300])
def test_bad_names_are_refused(registry: Registry, bad: object) -> None:
    with pytest.raises(InvalidInputError):
        mlops.start_run(bad)  # type: ignore[arg-type]


def test_user_exception_is_not_hidden_when_the_end_cannot_be_recorded(
    registry: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(ValueError, match="the user's own error"):
        with mlops.start_run("unlucky"):
            registry.conn.execute("PRAGMA query_only = ON")
            raise ValueError("the user's own error")
    registry.conn.execute("PRAGMA query_only = OFF")
    assert "Could not record the end of run" in caplog.text
    assert mlops.active_run() is None


def test_environment_is_taken_when_the_run_ends(
    registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "site"
    (package / "freshly_imported").mkdir(parents=True)
    (package / "freshly_imported" / "__init__.py").write_text("")
    info = package / "freshly_imported-3.2.1.dist-info"
    info.mkdir()
    (info / "top_level.txt").write_text("freshly_imported\n")
    monkeypatch.syspath_prepend(str(package))
    from jupyter_mlops.tracking.capture.environment import rescan_environment

    rescan_environment()
    with mlops.start_run("imports-inside") as run:
        import freshly_imported  # noqa: F401
    env = mlops.get_run(run.id).environment
    assert env is not None and env["packages"]["freshly-imported"] == "3.2.1"


def test_a_registry_replaced_by_another_at_the_same_path_is_still_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Registry.init(tmp_path).close()
    monkeypatch.chdir(tmp_path)
    session = Session(background=Background())
    located = session.default_registry()  # opened by the session itself
    with Registry.init(tmp_path) as chosen:
        session.use_registry(chosen)  # the same file, another connection
        session.reset()
        with pytest.raises(sqlite3.ProgrammingError, match="closed"):
            located.conn.execute("SELECT 1")


@pytest.mark.parametrize(
    ("text", "stored"),
    [("x = 1", "x = 1"), ("caf\u00e9 \U0001f600", "caf\u00e9 \U0001f600"), ("a\ud800b", "a?b")],
)
def test_text_is_stored_as_it_is_unless_utf8_cannot_hold_it(text: str, stored: str) -> None:
    assert valid_text(text) == stored
    if text == stored:
        assert valid_text(text) is text
