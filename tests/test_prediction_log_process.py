"""The server's prediction log with its writer in a process of its own: what it writes is
what the thread's log writes (scores included, the model loaded by the writer), a request
never waits for it, a writer that dies is started again and its loss counted, and a server
that is killed leaves nothing it handed over unwritten."""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.tree import DecisionTreeClassifier

from jupyter_mlops.models.registering import register
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.registry.liveness import process_alive
from jupyter_mlops.serving.log_process import PIPE_BYTES, PredictionLogProcess
from jupyter_mlops.serving.prediction_log import PredictionRecord, read_predictions

# seconds this module takes, for tests/sharding.py's order: each test starts writer processes
EXPECTED_SECONDS = 15


@pytest.fixture(scope="module")
def cancer() -> pd.DataFrame:
    features, _ = load_breast_cancer(return_X_y=True, as_frame=True)
    return features


@pytest.fixture
def stump(registry: Registry, cancer: pd.DataFrame) -> DecisionTreeClassifier:
    """cancer@1, a binary classifier: its predictions are logged with scores."""
    model = DecisionTreeClassifier(max_depth=2, random_state=0).fit(
        cancer, cancer["mean radius"] > 14
    )
    register(registry, model, "cancer", alias="champion")
    return model


def record(request_id: str, *, inputs: object = None, model: object = None) -> PredictionRecord:
    n_rows = 2 if not isinstance(inputs, pd.DataFrame) else len(inputs)
    return PredictionRecord(
        request_id=request_id,
        model_version_id=1,
        role="served",
        served_as="cancer@champion",
        n_rows=n_rows,
        inputs=inputs,
        outputs=np.arange(n_rows) % 2,
        latency_ms=0.5,
        served_at=time.time(),
        model=model,
    )


def exited(pid: int) -> bool:
    """``pid`` is gone, or a zombie (its parent was killed, and nobody reaped it yet)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in "ZX"
    except FileNotFoundError:
        return True


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_the_writer_process_logs_inputs_outputs_and_the_models_scores(
    registry, stump, cancer
) -> None:
    log = PredictionLogProcess(registry.path, flush_seconds=0.01).start()
    mixed = pd.DataFrame({"age": [30, 41], "fee": [np.nan, 2.5], "plan": ["a", None]})
    numbers = cancer.iloc[:20]

    log.submit(record("mixed", inputs=mixed))
    log.submit(record("scored", inputs=numbers, model=stump))
    log.submit(record("no-inputs"))
    writer = log.writer_pid
    # its pipe takes a message of megabytes in a call or two (Linux lets it be widened)
    assert log._writer is not None and log._writer.process.stdin is not None
    pipe = log._writer.process.stdin.fileno()
    assert fcntl.fcntl(pipe, fcntl.F_GETPIPE_SZ) == PIPE_BYTES
    assert log.flush(timeout=20)
    log.close()

    assert writer is not None and writer != os.getpid() and not process_alive(writer, None)
    logged = read_predictions(registry).set_index("request_id")
    assert logged.index.tolist() == ["mixed", "scored", "no-inputs"]
    assert logged.loc["mixed", "inputs"] == {
        "age": [30, 41],
        "fee": [None, 2.5],
        "plan": ["a", None],
    }
    assert logged.loc["scored", "inputs"] == {name: numbers[name].tolist() for name in numbers}
    # the writer loaded cancer@1 from the registry and scored the rows with it
    np.testing.assert_allclose(logged.loc["scored", "scores"], stump.predict_proba(numbers)[:, 1])
    assert logged.loc["mixed", "scores"] is None and logged.loc["no-inputs", "inputs"] is None
    assert logged["outputs"].tolist() == [[0, 1], [i % 2 for i in range(20)], [0, 1]]
    assert (log.written, log.dropped, log.pending, log.writers_started) == (3, 0, 0, 1)


def test_submit_never_waits_while_the_registry_is_locked(registry, stump) -> None:
    log = PredictionLogProcess(registry.path, busy_timeout=0.05, flush_seconds=0.01).start()
    blocker = sqlite3.connect(registry.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        waits = []
        for number in range(300):
            started = time.perf_counter()
            log.submit(record(f"r{number}"))
            waits.append(time.perf_counter() - started)
            time.sleep(0.001)
        wait_for(lambda: log.failed_writes >= 1)  # the writer tried, and keeps the batch
        assert log.pending == 300 and log.written == 0
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert log.flush(timeout=20)
    log.close()

    waits.sort()  # a deque append; the slowest few can be the loaded machine's scheduling
    assert waits[len(waits) // 2] < 0.005 and waits[int(len(waits) * 0.95)] < 0.04, waits[-10:]
    assert read_predictions(registry)["request_id"].tolist() == [f"r{n}" for n in range(300)]


def test_a_writer_that_dies_is_started_again_and_what_it_held_is_counted(
    registry, stump, caplog
) -> None:
    log = PredictionLogProcess(
        registry.path, busy_timeout=0.05, flush_seconds=0.01, restart_seconds=0.1
    ).start()
    for number in range(10):
        log.submit(record(f"before-{number}"))
    assert log.flush(timeout=20)
    blocker = sqlite3.connect(registry.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the next records reach the writer, not the registry
    try:
        for number in range(5):
            log.submit(record(f"held-{number}"))
        wait_for(lambda: log.handed_over == 15)
        first = log.writer_pid
        assert first is not None
        with caplog.at_level(logging.ERROR, logger="jupyter_mlops"):
            os.kill(first, signal.SIGKILL)
            wait_for(lambda: log.dropped == 5)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    for number in range(10):
        log.submit(record(f"after-{number}"))
    assert log.flush(timeout=20)
    log.close()

    assert log.writers_started == 2 and log.writer_pid != first
    assert (log.written, log.dropped, log.pending) == (20, 5, 0)
    assert "5 predictions it held were not written; another is started" in caplog.text
    logged = read_predictions(registry)["request_id"].tolist()
    assert logged == [f"before-{n}" for n in range(10)] + [f"after-{n}" for n in range(10)]


def test_flush_waits_for_what_was_submitted_before_it_not_for_later_traffic(
    registry, stump
) -> None:
    log = PredictionLogProcess(registry.path, flush_seconds=0.05).start()
    stop = threading.Event()

    def traffic() -> None:
        number = 0
        while not stop.is_set():
            log.submit(record(f"t{number}"))
            number += 1
            time.sleep(0.0005)

    sender = threading.Thread(target=traffic)
    sender.start()
    try:
        time.sleep(0.3)
        log.submit(record("labelled-next"))
        started = time.monotonic()
        assert log.flush(timeout=20)
        took = time.monotonic() - started
    finally:
        stop.set()
        sender.join()
    log.close()

    assert took < 5, took  # the traffic after it never lets pending reach 0
    assert "labelled-next" in set(read_predictions(registry)["request_id"])
    assert log.pending == 0 and log.dropped == 0


def test_what_waits_is_bounded_while_no_writer_takes_it(registry) -> None:
    log = PredictionLogProcess(registry.path, max_pending=5)  # never started

    for number in range(8):
        log.submit(record(f"r{number}"))

    assert log.pending == 5 and log.dropped == 3


SERVER = textwrap.dedent(
    """
    import os, signal, sys, time
    import numpy as np
    from jupyter_mlops.serving.log_process import PIPE_BYTES, PredictionLogProcess
    from jupyter_mlops.serving.prediction_log import PredictionRecord

    log = PredictionLogProcess(sys.argv[1], busy_timeout=0.05, flush_seconds=0.01).start()
    for number in range(50):
        log.submit(PredictionRecord(f"r{number}", 1, "served", "cancer@champion", 1, None,
                                    np.array([1]), 0.5, time.time()))
    while log.handed_over < 50 or log.failed_writes < 1:  # the writer holds them
        time.sleep(0.01)
    print(log.writer_pid, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


def test_a_killed_server_leaves_nothing_it_handed_over_unwritten(
    registry, stump, tmp_path: Path
) -> None:
    blocker = sqlite3.connect(registry.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the writer holds the records when the server dies
    try:
        # the writer inherits the server's stderr: a file, so nothing waits for it to close
        with (tmp_path / "server.log").open("w") as server_log:
            server = subprocess.Popen(
                [sys.executable, "-c", SERVER, str(registry.path)],
                stdout=subprocess.PIPE, stderr=server_log, text=True,
            )  # fmt: skip
            assert server.stdout is not None
            with server.stdout:
                line = server.stdout.readline()
            assert server.wait(120) == -signal.SIGKILL, (tmp_path / "server.log").read_text()
        writer = int(line)
        os.kill(writer, signal.SIGTERM)  # ignored: only the end of its input stops it
        time.sleep(0.3)
        assert not exited(writer)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()

    # its input ended with the server: it writes what it holds, then exits
    wait_for(lambda: len(read_predictions(registry)) == 50)
    wait_for(lambda: exited(writer))
    assert read_predictions(registry)["request_id"].tolist() == [f"r{n}" for n in range(50)]
