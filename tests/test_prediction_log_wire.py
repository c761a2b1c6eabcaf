"""The prediction log's messages between the server and its writer process, through real pipes:
what is written is read back whole, however the pipe's writes are cut."""

from __future__ import annotations

import io
import os
import signal
import threading
import time
from typing import Any

import numpy as np
import pandas as pd
import pytest

from jupyter_mlops.serving import log_wire
from jupyter_mlops.serving.log_wire import read_message, record_wire, write_message
from jupyter_mlops.serving.prediction_log import PredictionRecord


def records(count: int, n_rows: int) -> list[tuple[Any, ...]]:
    index = pd.Index([f"c{i}" for i in range(30)])
    rng = np.random.default_rng(count)
    return [
        record_wire(
            PredictionRecord(
                request_id=f"r{number}",
                model_version_id=1,
                role="served",
                served_as="m@champion",
                n_rows=n_rows,
                inputs=pd.DataFrame(rng.normal(size=(n_rows, 30)), columns=index),
                outputs=np.arange(n_rows, dtype=np.int64),
                latency_ms=1.0,
                served_at=0.0,
            )
        )
        for number in range(count)
    ]


def read_in_thread(descriptor: int, pause: float = 0.0) -> tuple[threading.Thread, list[Any]]:
    """A reader of one message from ``descriptor``, reading slowly after ``pause``."""
    received: list[Any] = []

    def read() -> None:
        time.sleep(pause)
        with os.fdopen(descriptor, "rb") as pipe:
            received.append(read_message(pipe))

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread, received


def assert_same(sent: tuple[Any, ...], received: tuple[Any, ...] | None) -> None:
    assert received is not None
    assert received[0] == sent[0] and received[2] == sent[2] and len(received[1]) == len(sent[1])
    for ours, theirs in zip(sent[1], received[1]):
        assert ours[:5] == theirs[:5] and ours[7:] == theirs[7:]
        np.testing.assert_array_equal(ours[5][2], theirs[5][2])
        assert list(ours[5][1]) == list(theirs[5][1])
        np.testing.assert_array_equal(ours[6], theirs[6])


def test_a_message_of_more_arrays_than_one_write_takes_arrives_whole() -> None:
    message = ("records", records(1500, 100), True)  # 1,500 arrays beside the pickle
    assert log_wire._IOV_MAX < 1500  # more pieces than one writev takes
    read_end, write_end = os.pipe()
    thread, received = read_in_thread(read_end)

    with os.fdopen(write_end, "wb") as pipe:
        write_message(pipe, message)
    thread.join(timeout=60)

    assert_same(message, received[0])


def test_writes_cut_short_by_signals_still_deliver_the_whole_message() -> None:
    message = ("records", records(200, 100), False)  # about 5 MB: many times the pipe
    read_end, write_end = os.pipe()
    interrupted = []
    previous = signal.signal(signal.SIGALRM, lambda *_: interrupted.append(1))
    signal.setitimer(signal.ITIMER_REAL, 0.001, 0.001)  # a signal every millisecond
    try:
        thread, received = read_in_thread(read_end, pause=0.05)
        with os.fdopen(write_end, "wb") as pipe:
            write_message(pipe, message)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        signal.signal(signal.SIGALRM, previous)
    thread.join(timeout=60)

    assert interrupted  # the writes were interrupted while the reader made them wait
    assert_same(message, received[0])


def test_small_arrays_travel_inside_the_pickle_and_large_ones_beside_it() -> None:
    one_row, hundred_rows = io.BytesIO(), io.BytesIO()

    write_message(one_row, ("records", records(50, 1), True))
    write_message(hundred_rows, ("records", records(50, 100), True))

    # the header: the pickle's length, then the number of arrays beside it
    assert log_wire._COUNT.unpack(one_row.getvalue()[: log_wire._COUNT.size])[1] == 0
    assert log_wire._COUNT.unpack(hundred_rows.getvalue()[: log_wire._COUNT.size])[1] == 50
    for buffer in (one_row, hundred_rows):
        buffer.seek(0)
        assert read_message(buffer) is not None


@pytest.mark.parametrize("cut", [0, 5, 20, 200])
def test_a_stream_that_ends_inside_a_message_reads_as_its_end(cut: int) -> None:
    whole = io.BytesIO()
    write_message(whole, ("records", records(3, 100), True))

    assert read_message(io.BytesIO(whole.getvalue()[:cut])) is None
