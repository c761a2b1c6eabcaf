"""Points logged while a cell still runs reach the registry within seconds: the background
flush, its settings, its faults (a registry that cannot be written, a loop that logs all
along), fork, and a real kernel whose run is read through a real Jupyter server's route."""

from __future__ import annotations

import json
import logging
import math
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import jupyter_mlops as mlops
from jupyter_mlops.errors import InvalidInputError
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.tracking import background
from jupyter_mlops.tracking.previews import SERIES_FULL_UP_TO
from jupyter_mlops.tracking.session import SESSION, Session
from jupyter_mlops.tracking.settings import Settings, settings_from_environment

from .conftest import run_cell

VISIBLE_WITHIN_S = 3.0


def stored_points(path: Path, run_id: str, key: str | None = None) -> int:
    """Points of the run in the registry file, read through a connection of another's."""
    with Registry.open(path) as other:
        sql = "SELECT COUNT(*) FROM metrics WHERE run_id = ?"
        args: tuple[Any, ...] = (run_id,)
        if key is not None:
            sql, args = sql + " AND key = ?", (run_id, key)
        return int(other.query_one(sql, args)[0])


def wait_for(condition: Any, within: float) -> float:
    """Seconds until ``condition()`` holds; fails after ``within`` seconds."""
    started = time.monotonic()
    while not condition():
        elapsed = time.monotonic() - started
        assert elapsed < within, f"not within {within} s"
        time.sleep(0.05)
    return time.monotonic() - started


# -- the flush while the loop runs --------------------------------------------------------------


def test_points_reach_the_registry_while_the_run_records(registry: Registry) -> None:
    run = mlops.start_run("live-loop")
    for step in range(100):
        mlops.log(loss=1.0 / (step + 1), step=step)
    assert stored_points(registry.path, run.id) == 0 or run.pending_points < 100
    waited = wait_for(lambda: stored_points(registry.path, run.id) == 100, VISIBLE_WITHIN_S)
    assert waited < VISIBLE_WITHIN_S and run.pending_points == 0
    summary = mlops.get_run(run.id).metrics[0]
    assert (summary.count, summary.last, summary.min) == (100, 0.01, 0.01)
    run.end()
    assert stored_points(registry.path, run.id) == 100  # written once, not again at the end


def test_a_flush_interval_of_zero_writes_at_the_end_only(registry: Registry) -> None:
    mlops.configure(flush_interval=0)
    with mlops.start_run("no-background") as run:
        mlops.log(loss=0.5)
        time.sleep(1.5)
        assert stored_points(registry.path, run.id) == 0 and run.pending_points == 1
    assert stored_points(registry.path, run.id) == 1


def test_the_interval_comes_from_the_environment(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLOPS_FLUSH_INTERVAL", "0")
    assert Session().settings.flush_interval == 0  # what a new process reads
    monkeypatch.setenv("MLOPS_FLUSH_INTERVAL", "0.2")
    session = Session()
    try:
        with session.start_run("from-env", registry=registry) as run:
            run.log(loss=0.5)
            assert wait_for(lambda: stored_points(registry.path, run.id) == 1, 1.5) < 1.5
    finally:
        session.background.stop()


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, Settings()),
        ({"MLOPS_FLUSH_INTERVAL": "2.5"}, Settings(flush_interval=2.5)),
        ({"MLOPS_FLUSH_INTERVAL": "0"}, Settings(flush_interval=0.0)),
        ({"MLOPS_FLUSH_INTERVAL": "soon"}, Settings()),
        ({"MLOPS_FLUSH_INTERVAL": "0.001"}, Settings()),
        ({"MLOPS_SYSTEM_METRICS": "1"}, Settings(system_metrics=True)),
        ({"MLOPS_SYSTEM_METRICS": "off"}, Settings(system_metrics=False)),
        ({"MLOPS_SYSTEM_METRICS": "maybe"}, Settings()),
        ({"MLOPS_SYSTEM_METRICS_INTERVAL": "30"}, Settings(system_metrics_interval=30.0)),
        ({"MLOPS_SYSTEM_METRICS_INTERVAL": "0"}, Settings()),
    ],
)
def test_settings_read_from_the_environment(
    environ: dict[str, str], expected: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        assert settings_from_environment(environ) == expected
    ignored = [r for r in caplog.records if "is ignored" in r.getMessage()]
    assert len(ignored) == (0 if expected != Settings() or not environ else 1)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"flush_interval": -1}, "flush_interval of -1 s is too short"),
        ({"flush_interval": "fast"}, "must be a number of seconds"),
        ({"system_metrics_interval": 0}, "system_metrics_interval of 0 s is too short"),
        ({"system_metrics": "yes"}, "must be True, False or None"),
    ],
)
def test_bad_settings_are_refused_in_words(changes: dict[str, Any], message: str) -> None:
    before = SESSION.settings
    with pytest.raises(InvalidInputError, match=message):
        mlops.configure(**changes)
    assert SESSION.settings == before


def test_configure_returns_what_is_in_force() -> None:
    settings = mlops.configure(flush_interval=2, system_metrics=False)
    assert settings == Settings(flush_interval=2.0, system_metrics=False)
    assert mlops.configure(system_metrics=None).system_metrics is None
    assert SESSION.background.flush_interval == 2.0


# -- the flush beside the other flushes ----------------------------------------------------------


def log_all_along(run: Any, points: int) -> None:
    values = [math.sin(step / 50) + step / points for step in range(points)]
    for step, value in enumerate(values):
        run.log(loss=value, step=step)
        if step % 997 == 0:
            run.log_params(seen=step)
        if step % 20_000 == 0:
            run.flush()  # a cell's end, as a notebook does it, meanwhile


def curve_as_stored(registry: Registry, run_id: str) -> tuple[Any, ...]:
    points = registry.query_tuples(
        "SELECT step, value FROM metrics WHERE run_id = ? ORDER BY step, rowid", (run_id,)
    )
    summary = registry.query_tuples(
        "SELECT last, last_step, min, min_step, max, max_step, count FROM metric_summaries"
        " WHERE run_id = ?",
        (run_id,),
    )
    preview = registry.query_tuples(
        "SELECT count, bucket_steps, points, steps, vals FROM metric_previews WHERE run_id = ?",
        (run_id,),
    )
    params = registry.query_tuples("SELECT key, value FROM params WHERE run_id = ?", (run_id,))
    return tuple(points), tuple(summary), tuple(preview), tuple(params)


def test_a_loop_flushed_all_along_stores_what_one_flush_would(registry: Registry) -> None:
    points = SERIES_FULL_UP_TO * 40 + 7  # long enough for a preview
    mlops.configure(flush_interval=0)
    with mlops.start_run("at-the-end") as quiet:
        log_all_along(quiet, points)
    mlops.configure(flush_interval=0.05)
    with mlops.start_run("all-along") as busy:
        log_all_along(busy, points)
    stored_quiet = curve_as_stored(registry, quiet.id)
    stored_busy = curve_as_stored(registry, busy.id)
    assert len(stored_busy[0]) == points and stored_busy[0] == stored_quiet[0]
    assert stored_busy[1:] == stored_quiet[1:] and stored_busy[2] != ()


def test_many_threads_log_while_the_background_flushes(registry: Registry) -> None:
    mlops.configure(flush_interval=0.05)
    with mlops.start_run("threads") as run:

        def loop(key: str) -> None:
            for step in range(20_000):
                run.log({key: float(step)}, step=step)

        threads = [threading.Thread(target=loop, args=(f"k{i}",)) for i in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    counts = dict(
        registry.query_tuples(
            "SELECT key, COUNT(DISTINCT step) FROM metrics WHERE run_id = ? GROUP BY key",
            (run.id,),
        )
    )
    total = registry.query_one("SELECT COUNT(*) FROM metrics WHERE run_id = ?", (run.id,))[0]
    assert counts == {"k0": 20_000, "k1": 20_000, "k2": 20_000} and total == 60_000


def test_a_flush_that_fails_keeps_everything_warns_once_and_writes_later(
    registry: Registry, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(background, "BUSY_TIMEOUT_SECONDS", 0.1)
    mlops.configure(flush_interval=0.05)
    blocker = registry.another_connection()
    run = mlops.start_run("blocked")
    with caplog.at_level(logging.WARNING):
        blocker.conn.execute("BEGIN IMMEDIATE")  # another writer holds the registry
        try:
            for step in range(2_000):
                mlops.log(loss=1.0 / (step + 1), step=step)  # never raises
                if step % 100 == 0:
                    time.sleep(0.02)
            time.sleep(0.5)
            assert run.pending_points == 2_000  # nothing written, nothing lost
        finally:
            blocker.conn.execute("ROLLBACK")
            blocker.close()
        wait_for(lambda: stored_points(registry.path, run.id) == 2_000, 35.0)
    kept = [r for r in caplog.records if "kept in memory" in r.getMessage()]
    assert len(kept) == 1  # one warning for the whole time the registry could not be written
    run.end()
    assert stored_points(registry.path, run.id) == 2_000
    assert mlops.get_run(run.id).metrics[0].count == 2_000


def test_the_end_waits_for_a_background_write(registry: Registry) -> None:
    mlops.configure(flush_interval=0.05)
    for attempt in range(20):  # each ends while the background may be writing
        with mlops.start_run(f"end-{attempt}") as run:
            for step in range(3_000):
                run.log(loss=float(step), step=step)
        detail = mlops.get_run(run.id)
        assert detail.run.status == "finished" and detail.metrics[0].count == 3_000
        assert stored_points(registry.path, run.id) == 3_000


def test_notebook_cells_and_their_sources_are_stored_once(shell: Any, registry: Registry) -> None:
    mlops.configure(flush_interval=0.05)
    run_cell(shell, "%mlops start spanning")
    run_cell(shell, "import time\nfor i in range(50):\n    mlops.log(x=i)\n    time.sleep(0.005)")
    run_cell(shell, "time.sleep(0.3)")
    run_cell(shell, "mlops.log(x=50)")
    run_cell(shell, "%mlops end")
    detail = mlops.get_run("spanning")
    assert [value for _, value in detail.series["x"]] == [float(i) for i in range(51)]
    sources = [cell.source for cell in detail.code]
    assert len(sources) == len(set(sources)) and any("time.sleep(0.3)" in s for s in sources)


# -- fork ------------------------------------------------------------------------------------------

FORKING = textwrap.dedent(
    """
    import os, sys, time, json
    import jupyter_mlops as mlops
    registry = mlops.init(sys.argv[1])
    mlops.configure(flush_interval=0.1)
    parent = mlops.start_run("parent")
    for step in range(500):
        mlops.log(loss=float(step), step=step)
    pid = os.fork()
    if pid == 0:
        with mlops.start_run("child") as child:
            child.log(acc=0.5, step=0)
            started = time.monotonic()
            other = mlops.Registry.open(sys.argv[1] + "/.mlops/registry.db")
            while other.query_one("SELECT COUNT(*) FROM metrics WHERE run_id = ?", (child.id,))[0] == 0:
                if time.monotonic() - started > 5:
                    os._exit(3)
                time.sleep(0.05)
            other.close()
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    for step in range(500, 600):
        mlops.log(loss=float(step), step=step)
    mlops.end_run()
    print(json.dumps({"child": os.waitstatus_to_exitcode(status), "parent": parent.id}))
    """
)


@pytest.mark.skipif(
    not hasattr(os, "fork"),
    reason="this platform has no os.fork: a forked child cannot be made to check what it flushes",
)
def test_a_forked_child_flushes_its_own_runs_and_not_its_parents(
    tmp_path: Path, python_env: dict[str, str]
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", FORKING, str(tmp_path)],
        capture_output=True,
        text=True,
        env=python_env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    told = json.loads(done.stdout.strip().splitlines()[-1])
    assert told["child"] == 0  # the child's point was visible while its run was active
    with Registry.open(tmp_path / ".mlops" / "registry.db") as registry:
        steps = registry.query_tuples(
            "SELECT step FROM metrics WHERE run_id = ? ORDER BY step", (told["parent"],)
        )
        assert [step for (step,) in steps] == list(range(600))  # each point once
        statuses = dict(registry.query_tuples("SELECT name, status FROM runs"))
        assert statuses == {"parent": "finished", "child": "finished"}


# -- a real kernel, a real server ------------------------------------------------------------------

LOGS_THEN_SLEEPS = (
    "%%mlops run live-cell --experiment live\n"
    "import time\n"
    "mlops.log(loss=0.5, step=0)\n"
    "mlops.log(loss=0.25, step=1)\n"
    "print('RUN', mlops.active_run().id, flush=True)\n"
    "time.sleep(8)\n"
    "mlops.log(loss=0.125, step=2)\n"
)


@pytest.fixture
def jp_server_config(jp_server_config):
    config_file = Path(__file__).parents[1] / "jupyter-config/server-config/jupyter_mlops.json"
    return {"ServerApp": json.loads(config_file.read_text())["ServerApp"]}


@pytest.mark.slow
async def test_a_point_of_a_running_cell_is_served_by_the_run_route_within_3_s(
    jp_fetch: Any, jp_root_dir: Path, python_env: dict[str, str]
) -> None:
    from jupyter_client.manager import AsyncKernelManager

    Registry.init(jp_root_dir).close()
    manager = AsyncKernelManager(kernel_name="python3")
    await manager.start_kernel(cwd=str(jp_root_dir), env=python_env)
    client = manager.client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=60)
        await client.execute_interactive("%load_ext jupyter_mlops", timeout=60)
        client.execute(LOGS_THEN_SLEEPS)
        run_id = None
        while run_id is None:
            message = await client.get_iopub_msg(timeout=60)
            content = message["content"]
            if message["msg_type"] == "stream" and content["text"].startswith("RUN "):
                run_id = content["text"].split()[1]
                logged_at = time.monotonic()
            assert message["msg_type"] != "error", content
        series: dict[str, Any] = {}
        while "loss" not in series:
            assert time.monotonic() - logged_at < VISIBLE_WITHIN_S, "not served within 3 s"
            response = await jp_fetch("jupyter-mlops", "api", "runs", run_id)
            body = json.loads(response.body)
            series = body["series"]
            if "loss" not in series:
                await _sleep(0.1)
        seen_after = time.monotonic() - logged_at
        assert body["run"]["status"] == "running"  # the cell is still sleeping
        assert series["loss"] == [[0, 0.5], [1, 0.25]] and seen_after < VISIBLE_WITHIN_S
        print(f"served {seen_after:.2f} s after it was logged")
    finally:
        client.stop_channels()
        await manager.shutdown_kernel(now=True)


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)
