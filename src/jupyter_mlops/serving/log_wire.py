"""How prediction records travel from the server to its log's writer process, and back.

    write_message(pipe, ("records", [record_wire(record) for record in batch], True))
    _, wires, last = read_message(pipe)          # None at the end of the stream
    records = records_from_wire(wires, model_for)    # PredictionRecords again

A message is a pickle (protocol 5) whose arrays travel beside it, uncopied: its header
gives the pickle's length and each array's. The server pickles a batch in one call, which
costs it about 10 µs a record: a record's inputs travel as their column index and one
array when they are numbers of one dtype (what a server reads from a request; the index
is one object per version, pickled once per message), as the DataFrame itself otherwise.
The fitted model does not travel: a record says whether its scores are wanted, and the
writer loads the version that answered from the registry (``model_for``). The writer does
not make those inputs a DataFrame again: it keeps them as a
:class:`.inputs_npy.NumericInputs`, which is what it stores.

The server sends ``("records", [wire, ...], last)`` messages (``last``: no more follow for
now, so write what is pending). The writer answers on its own pipe with lines of counts,
``written dropped failed_writes``, each time they change.
"""

from __future__ import annotations

import os
import pickle
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from .inputs_npy import NumericInputs
from .prediction_log import PredictionRecord

_LENGTH = struct.Struct("<Q")
_COUNT = struct.Struct("<QQ")  # the pickle's length, the number of arrays
_NUMBER_KINDS = frozenset("iufb")
# arrays smaller than this are pickled with the message rather than beside it
IN_BAND_BYTES = 4096
# the pieces one writev call takes (Linux's IOV_MAX)
_IOV_MAX = os.sysconf("SC_IOV_MAX") if hasattr(os, "sysconf") else 1024

Message = tuple[Any, ...]


def write_message(pipe: IO[bytes], message: Message) -> None:
    """Write ``message`` to ``pipe`` and flush it (``BrokenPipeError`` if the reader is gone).

    To a pipe, the message goes in one system call (``writev``, at most ``IOV_MAX`` pieces a
    call): a thread that writes releases the interpreter lock for the call and must take it
    back after, and when the writer process is slower than the server each taking back
    interrupts the server's event loop. Arrays under ``IN_BAND_BYTES`` travel inside the
    pickle: one piece less each."""
    buffers: list[pickle.PickleBuffer] = []

    def out_of_band(buffer: pickle.PickleBuffer) -> bool:
        if buffer.raw().nbytes < IN_BAND_BYTES:
            return True  # in the pickle
        buffers.append(buffer)
        return False

    data = pickle.dumps(message, protocol=5, buffer_callback=out_of_band)
    views = [buffer.raw() for buffer in buffers]
    pieces: list[Any] = [
        _COUNT.pack(len(data), len(views)),
        b"".join(_LENGTH.pack(view.nbytes) for view in views),
        data,
        *views,
    ]
    try:
        descriptor = pipe.fileno()
    except (AttributeError, OSError):  # a file in memory
        for piece in pieces:
            pipe.write(piece)
        pipe.flush()
        return
    pipe.flush()  # nothing of this message waits in its buffer: it was never used
    _write_all(descriptor, pieces)


def _write_all(descriptor: int, pieces: list[Any]) -> None:
    """Write every byte of ``pieces`` to ``descriptor``, in as few calls as it takes."""
    views = [memoryview(piece).cast("B") for piece in pieces]
    first = 0  # the first piece not written whole
    while first < len(views):
        written = os.writev(descriptor, views[first : first + _IOV_MAX])
        while first < len(views) and written >= views[first].nbytes:
            written -= views[first].nbytes
            first += 1
        if written:  # a piece written in part (a signal came): its rest next
            views[first] = views[first][written:]


def read_message(pipe: IO[bytes]) -> Message | None:
    """The next message on ``pipe``; ``None`` when the stream ends (the server closed it or
    stopped), also in the middle of a message."""
    head = _read_exactly(pipe, _COUNT.size)
    if head is None:
        return None
    size, count = _COUNT.unpack(head)
    lengths = _read_exactly(pipe, _LENGTH.size * count)
    data = _read_exactly(pipe, size)
    if lengths is None or data is None:
        return None
    buffers = []
    for (length,) in _LENGTH.iter_unpack(lengths):
        buffer = _read_exactly(pipe, length)
        if buffer is None:
            return None
        buffers.append(buffer)
    return pickle.loads(data, buffers=buffers)


def _read_exactly(pipe: IO[bytes], size: int) -> bytes | None:
    chunks, missing = [], size
    while missing:
        chunk = pipe.read(missing)
        if not chunk:
            return None
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)


def record_wire(record: PredictionRecord) -> tuple[Any, ...]:
    """``record`` as plain values and arrays; the model becomes a flag: scores wanted."""
    return (
        record.request_id,
        record.model_version_id,
        record.role,
        record.served_as,
        record.n_rows,
        _inputs_wire(record.inputs),
        record.outputs,
        record.latency_ms,
        record.served_at,
        record.model is not None,
    )


def _inputs_wire(inputs: Any) -> Any:
    """A DataFrame of one numeric dtype as its column index and its array (the index of a
    server's requests is one object per version, which a message pickles once); any other
    inputs as they are."""
    if inputs is None:
        return None
    if _one_dtype(inputs):
        matrix = inputs.to_numpy()  # its values, not a copy
        if matrix.dtype.kind in _NUMBER_KINDS:
            return ("matrix", inputs.columns, matrix)
    return ("as is", inputs)


def _one_dtype(inputs: Any) -> bool:
    """Whether ``inputs`` is a DataFrame whose columns share one dtype (in one block)."""
    import pandas as pd

    if not isinstance(inputs, pd.DataFrame) or inputs.shape[1] == 0:
        return False
    blocks = getattr(getattr(inputs, "_mgr", None), "nblocks", None)  # 0.1 µs, pandas 2 and 3
    if blocks is None:  # another pandas: the public way, 15 µs
        blocks = len(set(inputs.dtypes))
    return blocks == 1


@dataclass(frozen=True)
class WireCounts:
    """What the writer process has done so far, as it reports it."""

    written: int = 0
    dropped: int = 0
    failed_writes: int = 0

    def line(self) -> bytes:
        return f"{self.written} {self.dropped} {self.failed_writes}\n".encode()

    @classmethod
    def from_line(cls, line: bytes) -> WireCounts | None:
        try:
            written, dropped, failed = (int(part) for part in line.split())
        except ValueError:  # not a line of counts: the writer printed something else
            return None
        return cls(written, dropped, failed)


def records_from_wire(
    wires: list[tuple[Any, ...]], model_for: Callable[[int], Any]
) -> list[PredictionRecord]:
    """The :class:`PredictionRecord` each of a message's ``wires`` was made from;
    ``model_for(version_id)`` gives the fitted model for a record whose scores are wanted
    (``None``: no scores). The labels of a column index the records share are read once."""
    labels: dict[int, tuple[Any, ...]] = {}  # id of an index of this message: its labels
    return [_record_from_wire(wire, model_for, labels) for wire in wires]


def _record_from_wire(
    wire: tuple[Any, ...], model_for: Callable[[int], Any], labels: dict[int, tuple[Any, ...]]
) -> PredictionRecord:
    (request_id, version_id, role, served_as, n_rows, inputs, outputs, latency_ms, served_at,
     wants_scores) = wire  # fmt: skip
    return PredictionRecord(
        request_id=request_id,
        model_version_id=version_id,
        role=role,
        served_as=served_as,
        n_rows=n_rows,
        inputs=_inputs_from_wire(inputs, labels),
        outputs=outputs,
        latency_ms=latency_ms,
        served_at=served_at,
        model=model_for(version_id) if wants_scores and inputs is not None else None,
    )


def _inputs_from_wire(inputs: Any, labels: dict[int, tuple[Any, ...]]) -> Any:
    if inputs is None:
        return None
    if inputs[0] == "matrix":
        _, index, matrix = inputs
        if id(index) not in labels:  # the message holds the index, so its id stays its own
            labels[id(index)] = tuple(index.tolist())
        return NumericInputs(labels[id(index)], matrix)
    return inputs[1]
