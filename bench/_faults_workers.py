"""The workers of the fault soak (``bench/faults.py``): writers, readers, and the check
of every acknowledgement at the end, plus what they share with the driver.

The driver starts each as ``python bench/faults.py --worker writer|reader|init|verify``
with the Python that has jupyter-mlops; the driver itself imports this module only for
the journal, the control file and the constants, so only the standard library is
imported at the top and jupyter-mlops inside the worker functions.

Writers journal one line per attempt (``run``: recorded, deferred, unrecorded or
escaped; ``model`` / ``model-refused``), one ``late`` line when a deferred end is
written later, and ``abandoned`` for a deferred end given up at a pause or at the
stop. Every acknowledgement is fsync'ed before the writer goes on. Readers journal
one ``read`` line per read.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import struct
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

EXPERIMENT = "soak"
MODEL_NAME = "soak-model"
MODEL_SHARE = 0.1  # the share of runs that register a model
POINTS_RANGE = (10, 5000)  # metric points per run, drawn log-uniformly
LONG_RUN_SHARE = 0.005  # the share of runs that log past the automatic flush
LONG_RUN_POINTS = 60_000  # more than FLUSH_EVERY_POINTS (50,000): log() flushes by itself


# -- shared by the workers and the verification ----------------------------------------------


def points_digest(points: Iterable[tuple[int, float]]) -> list[Any]:
    """``[count, sha256]`` of (step, value) pairs in step order: what a run's series must be."""
    digest = hashlib.sha256()
    count = 0
    for step, value in points:
        digest.update(struct.pack("<qd", step, value))
        count += 1
    return [count, digest.hexdigest()]


class Journal:
    """A JSON-lines file a worker appends to; ``sync=True`` fsyncs before returning."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def write(self, record: dict[str, Any], *, sync: bool = False) -> None:
        os.write(self.fd, (json.dumps(record, sort_keys=True) + "\n").encode())
        if sync:
            os.fsync(self.fd)


def read_journal(path: Path) -> tuple[list[dict[str, Any]], int]:
    """The records of a journal, and how many lines were cut short (a kill mid-write)."""
    records, partial = [], 0
    for line in path.read_bytes().split(b"\n"):
        if not line:
            continue
        try:
            records.append(json.loads(line))
        except ValueError:
            partial += 1
    return records, partial


class Control:
    """The driver's word to the workers: ``run``, ``pause`` or ``stop``, with an epoch.

    The driver replaces the file atomically; workers read it between runs and reads and
    answer a pause by writing the epoch to ``paused/<worker>`` once they hold nothing open.
    """

    def __init__(self, directory: Path) -> None:
        self.path = directory / "control.json"
        self.paused_dir = directory / "paused"
        self.last = ("run", 0)

    def set(self, state: str, epoch: int) -> None:
        temp = self.path.with_suffix(".tmp")
        temp.write_text(json.dumps({"state": state, "epoch": epoch}))
        os.replace(temp, self.path)

    def get(self) -> tuple[str, int]:
        """The state and its epoch; the last one read if the file cannot be read now."""
        try:
            data = json.loads(self.path.read_text())
            self.last = (data["state"], data["epoch"])
        except (OSError, ValueError, KeyError):
            pass
        return self.last

    def report_paused(self, worker: str, epoch: int) -> None:
        temp = self.paused_dir / f".{worker}.tmp"
        temp.write_text(str(epoch))
        os.replace(temp, self.paused_dir / worker)

    def paused_epoch(self, worker: str) -> int:
        try:
            return int((self.paused_dir / worker).read_text())
        except (OSError, ValueError):
            return -1


# -- the workers (run with the Python that has jupyter-mlops) ---------------------------------


def worker_init(registry_dir: Path, out: Path) -> None:
    """Create the registry, with one run so that the readers' filters know their keys."""
    import jupyter_mlops as mlops
    from jupyter_mlops.registry.connection import Registry
    from jupyter_mlops.tracking.session import SESSION, use_registry

    registry = Registry.init(registry_dir)
    use_registry(registry)
    with mlops.start_run("seed", experiment=EXPERIMENT) as run:
        run.log_params(lr=0.1, depth=3, optimizer="adam", writer=-1, seq=0)
        run.log(loss=0.5, step=0)
        run.log(acc=0.5)
    SESSION.reset()
    registry.close()
    out.write_text(
        json.dumps(
            {
                "registry": str(registry.path),
                "module": str(Path(mlops.__file__).parent),
                "version": mlops.__version__,
            }
        )
    )


def worker_writer(ident: str, seed: int, control_dir: Path, journal_path: Path) -> int:
    """Record runs until told to stop; journal every outcome and fsync every acknowledgement."""
    from jupyter_mlops.tracking.session import SESSION

    control = Control(control_dir)
    journal = Journal(journal_path)
    slot = int(ident.split("-")[0][1:])
    deferred: list[tuple[Any, dict[str, Any]]] = []  # (run, its acknowledgement to be)

    def settle() -> None:
        """Retry the deferred ends; acknowledge those now written."""
        if not deferred:
            return
        SESSION.retry_unfinished()
        for item in list(deferred):
            run, record = item
            if not run.end_pending:
                deferred.remove(item)
                journal.write({**record, "kind": "late", "at": time.time()}, sync=True)

    def close_everything(epoch: int) -> None:
        settle()
        for _, record in deferred:
            journal.write({"kind": "abandoned", "name": record["name"], "t": time.time()})
        deferred.clear()
        SESSION.reset()
        control.report_paused(ident, epoch)

    seq = 0
    while True:
        state, epoch = control.get()
        if state == "pause":
            close_everything(epoch)
            while control.get() == (state, epoch):
                time.sleep(0.02)
            continue
        if state == "stop":
            break
        settle()
        registry = next(iter(SESSION.registries.values()), None)
        if registry is not None and registry.read_only and not deferred:
            SESSION.reset()  # the worker's policy: reopen, in case the disk is writable again
        one_run(journal, ident, slot, seed, seq, deferred)
        seq += 1
    settle()
    for _, record in deferred:
        journal.write({"kind": "abandoned", "name": record["name"], "t": time.time()})
    return 0


def one_run(
    journal: Journal,
    ident: str,
    slot: int,
    seed: int,
    seq: int,
    deferred: list[tuple[Any, dict[str, Any]]],
) -> None:
    """One training run, the way a script records it; its outcome goes to the journal."""
    import jupyter_mlops as mlops
    from jupyter_mlops.errors import RecordingError
    from jupyter_mlops.tracking.unrecorded import UnrecordedRun

    name = f"{ident}-r{seq:05d}"
    rng = random.Random(f"{seed}:{name}")
    low, high = POINTS_RANGE
    n_points = round(math.exp(rng.uniform(math.log(low), math.log(high))))
    if rng.random() < LONG_RUN_SHARE:
        n_points = LONG_RUN_POINTS
    params = {
        "lr": round(10 ** rng.uniform(-4, -1), 6),
        "depth": rng.randint(2, 12),
        "optimizer": rng.choice(("adam", "sgd", "rmsprop")),
        "writer": slot,
        "seq": seq,
    }
    losses = [rng.random() for _ in range(n_points)]
    acc = rng.random()
    model = (
        {"writer": ident, "seq": seq, "weights": [rng.random() for _ in range(64)]}
        if rng.random() < MODEL_SHARE
        else None
    )
    t0 = time.time()
    stage = "start"
    run = None
    try:
        run = mlops.start_run(name, experiment=EXPERIMENT)
        with run:
            stage = "params"
            mlops.log_params(**params)
            stage = "log"
            for step, value in enumerate(losses):
                mlops.log(loss=value, step=step)
            mlops.log(acc=acc)
            if model is not None:
                stage = "model"
                m0 = time.time()
                try:
                    version = mlops.register_model(model, MODEL_NAME)
                except RecordingError as exc:
                    journal.write(
                        {"kind": "model-refused", "t0": m0, "t1": time.time(), "why": str(exc)}
                    )
                else:
                    journal.write(
                        {
                            "kind": "model",
                            "t0": m0,
                            "t1": time.time(),
                            "at": time.time(),
                            "model": MODEL_NAME,
                            "version": version.version,
                            "payload": model,
                            "run_id": run.id,
                        },
                        sync=True,
                    )
            stage = "end"
    except Exception as exc:  # noqa: BLE001 - what escaped the library is what is measured
        journal.write(
            {
                "kind": "run",
                "outcome": "escaped",
                "name": name,
                "t0": t0,
                "t1": time.time(),
                "stage": stage,
                "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(limit=-8),
            },
            sync=True,
        )
        return
    t1 = time.time()
    if isinstance(run, UnrecordedRun):
        journal.write(
            {
                "kind": "run",
                "outcome": "unrecorded",
                "name": name,
                "t0": t0,
                "t1": t1,
                "why": run.reason,
            }
        )
        return
    record = {
        "kind": "run",
        "name": name,
        "run_id": run.id,
        "t0": t0,
        "t1": t1,
        "params": params,
        "points": {
            "loss": points_digest(list(enumerate(losses))),
            "acc": points_digest([(0, acc)]),
        },
    }
    if run.end_pending:
        deferred.append((run, record))
        journal.write({**record, "outcome": "deferred"})
        return
    journal.write({**record, "outcome": "recorded", "at": time.time()}, sync=True)


def worker_reader(ident: str, seed: int, control_dir: Path, journal_path: Path) -> int:
    """Read the registry the four ways a user does until told to stop; journal every read."""
    import jupyter_mlops as mlops
    from jupyter_mlops.tracking.session import SESSION

    control = Control(control_dir)
    journal = Journal(journal_path)
    rng = random.Random(f"{seed}:{ident}")
    ops = ("runs", "where", "get_run", "compare")
    ids: list[str] = []
    i = 0
    while True:
        state, epoch = control.get()
        if state == "pause":
            SESSION.reset()
            control.report_paused(ident, epoch)
            while control.get() == (state, epoch):
                time.sleep(0.02)
            continue
        if state == "stop":
            break
        op = ops[i % len(ops)]
        i += 1
        if len(ids) < 2:  # get_run and compare pick from what runs() returned
            op = "runs"
        t0 = time.time()
        try:
            if op == "runs":
                frame = mlops.runs(experiment=EXPERIMENT)
                if not frame["run_id"].is_unique or len(frame) < len(ids):
                    raise AssertionError(f"runs() gave {len(frame)} rows, before {len(ids)}")
                ids = frame["run_id"].tolist()
            elif op == "where":
                frame = mlops.runs(
                    experiment=EXPERIMENT, where="acc > 0.5 and params.depth <= 6", sort="-acc"
                )
                if not ((frame["metrics.acc"] > 0.5) & (frame["params.depth"] <= 6)).all():
                    raise AssertionError("runs(where=...) returned runs outside the filter")
            elif op == "get_run":
                wanted = rng.choice(ids)
                if mlops.get_run(wanted).run.id != wanted:
                    raise AssertionError(f"get_run({wanted!r}) returned another run")
            else:
                pair = rng.sample(ids, 2)
                if [detail.run.id for detail in mlops.compare(*pair).runs] != pair:
                    raise AssertionError(f"compare({pair}) returned other runs")
        except Exception as exc:  # noqa: BLE001 - every failed read is counted
            journal.write(
                {
                    "kind": "read",
                    "op": op,
                    "t0": t0,
                    "t1": time.time(),
                    "ok": False,
                    "error": f"{type(exc).__name__}: {exc}",
                    "traceback": traceback.format_exc(limit=-8),
                }
            )
        else:
            journal.write({"kind": "read", "op": op, "t0": t0, "t1": time.time(), "ok": True})
    return 0


def worker_verify(registry_dir: Path, journal_dir: Path, out: Path) -> None:
    """Open the registry once everything has stopped and check every acknowledgement."""
    import jupyter_mlops as mlops
    from jupyter_mlops.registry.connection import Registry
    from jupyter_mlops.tracking.session import SESSION, use_registry
    from jupyter_mlops.tracking.values import decode_param

    started = time.perf_counter()
    registry = Registry.open(registry_dir, create=False)
    opened = time.perf_counter() - started
    use_registry(registry)
    integrity = registry.integrity_check()
    runs = {
        row[0]: (row[1], row[2])
        for row in registry.query_tuples("SELECT id, name, status FROM runs")
    }
    statuses = Counter(status for _, status in runs.values())
    params: dict[str, dict[str, Any]] = defaultdict(dict)
    for run_id, key, value, type_name in registry.query_tuples(
        "SELECT run_id, key, value, type FROM params"
    ):
        params[run_id][key] = decode_param(value, type_name)
    series: dict[str, dict[str, list[Any]]] = defaultdict(dict)
    total_points = 0
    current: tuple[str, str] | None = None
    pairs: list[tuple[int, float]] = []
    for run_id, key, step, value in registry.query_tuples(
        "SELECT run_id, key, step, value FROM metrics ORDER BY run_id, key, step"
    ):
        if (run_id, key) != current:
            if current is not None:
                series[current[0]][current[1]] = points_digest(pairs)
            current, pairs = (run_id, key), []
        pairs.append((step, float("nan") if value is None else value))
        total_points += 1
    if current is not None:
        series[current[0]][current[1]] = points_digest(pairs)

    lost: list[dict[str, Any]] = []
    checked = {"runs": 0, "models": 0, "points": 0}
    partial = 0
    for path in sorted(journal_dir.glob("w*.jsonl")):
        records, cut = read_journal(path)
        partial += cut
        for record in records:
            acknowledged = record["kind"] == "late" or (
                record["kind"] == "run" and record.get("outcome") == "recorded"
            )
            if acknowledged:
                checked["runs"] += 1
                checked["points"] += sum(count for count, _ in record["points"].values())
                why = _run_problem(record, runs, params, series)
                if why:
                    lost.append({"key": record["name"], "why": why})
            elif record["kind"] == "model":
                checked["models"] += 1
                ref = f"{record['model']}@{record['version']}"
                try:
                    loaded = mlops.load_model(ref)
                except Exception as exc:  # noqa: BLE001 - a version that does not load is lost
                    lost.append({"key": ref, "why": f"does not load: {type(exc).__name__}: {exc}"})
                    continue
                if loaded != record["payload"]:
                    lost.append({"key": ref, "why": "loads to another model than was registered"})
    SESSION.reset()
    registry.close()
    out.write_text(
        json.dumps(
            {
                "integrity": integrity,
                "open_seconds": opened,
                "runs_by_status": dict(statuses),
                "points_in_registry": total_points,
                "checked": checked,
                "lost": lost,
                "partial_lines": partial,
            }
        )
    )


def _run_problem(
    record: dict[str, Any],
    runs: dict[str, tuple[str, str]],
    params: dict[str, dict[str, Any]],
    series: dict[str, dict[str, list[Any]]],
) -> str | None:
    """Why an acknowledged run is not as it was acknowledged, or ``None`` when it is."""
    found = runs.get(record["run_id"])
    if found is None:
        return "missing"
    name, status = found
    if name != record["name"]:
        return f"its id holds run {name!r}"
    if status != "finished":
        return f"status {status}"
    if params.get(record["run_id"], {}) != record["params"]:
        return f"params {params.get(record['run_id'])} instead of {record['params']}"
    stored = series.get(record["run_id"], {})
    for key, expected in record["points"].items():
        if stored.get(key) != expected:
            got = stored.get(key, [0])[0]
            return f"metric {key}: {got} points or other values, {expected[0]} acknowledged"
    if set(stored) != set(record["points"]):
        return f"metrics {sorted(stored)} instead of {sorted(record['points'])}"
    return None


def worker_main(args: argparse.Namespace) -> int:
    if args.worker == "init":
        worker_init(args.registry, args.out)
        return 0
    if args.worker == "verify":
        worker_verify(args.registry, args.journals, args.out)
        return 0
    journal = args.journals / f"{args.ident}.jsonl"
    if args.worker == "writer":
        return worker_writer(args.ident, args.seed, args.control, journal)
    return worker_reader(args.ident, args.seed, args.control, journal)
