"""Serving benchmark: ``jupyter mlops serve`` (MLServer) against ``mlflow models serve``.

    python bench/serving.py                # both servers, writes the "Serving" section
    python bench/serving.py --smoke        # jupyter-mlops alone, short rounds, well under a minute
    python bench/serving.py --smoke --mlflow   # the MLflow side too, if its venv is built
    python bench/serving.py --python .venv/bin/python   # serve with that environment's jupyter-mlops

The same scikit-learn model (standard scaling and a logistic regression, fitted on the
breast-cancer data in each tool's own venv) is served on 127.0.0.1 by:

- **ours**: ``jupyter mlops serve cancer@champion`` from a registry, prediction logging on
  (every request's outputs, and its inputs: the default sample rate of 1);
- **ours --no-log**: the same server without the prediction log;
- **MLflow**: ``mlflow models serve -m DIR --env-manager local --workers 1`` of the model
  saved with ``mlflow.sklearn.save_model`` (one worker: MLServer serves here in one
  process too, ``parallel_workers: 0``).

A closed-loop load generator (this process, threads, one keep-alive HTTP connection per
client) sends requests of 1 and of 100 rows with 1 and 4 concurrent clients: a warm-up,
then N requests, in rounds that alternate the servers so that each sees the same load of
the machine. Our requests are V2 (``POST /v2/models/cancer/infer``, one FP64 input per
column), MLflow's ``POST /invocations`` with ``{"dataframe_split": ...}``; the bodies are
encoded once, before the clock. The answers to the warm-up requests are checked against
what the model predicts, every timed answer must be a 200. Reported: requests per second,
p50 and p99 latency, and the ratios MLflow / ours. Separately, in a worker process, the
in-process cost of logging one request (building its record and ``PredictionLog.submit``).

Target (the Operate issue): the prediction log adds < 10% to the p50 latency.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _harness import (
    REPO_ROOT,
    RESULTS_FILE,
    BenchError,
    Venv,
    ensure_venv,
    format_ratio,
    format_seconds,
    free_port,
    git_commit,
    load_average,
    log,
    machine_info,
    markdown_table,
    missing_modules,
    package_version,
    plain_table,
    run_worker,
    update_results_section,
)

WORKER = Path(__file__).resolve().with_name("_serving_worker.py")
MODEL_NAME = "cancer"
SERVE_VENV = Venv("ours-serve", ("-e", f"{REPO_ROOT}[serve]"))
MLFLOW_SERVE_VENV = Venv("mlflow-serve", ("mlflow", "scikit-learn"))
LOG_OVERHEAD_TARGET = 0.10
ROW_COUNTS = (1, 100)
FULL_CLIENTS = (1, 4)
SMOKE_CLIENTS = (1, 4)


# -- servers ----------------------------------------------------------------------------------


@dataclass
class Server:
    """One server under load: how to start it, where to send requests, how to read answers."""

    label: str
    command: list[str]
    ready_path: str
    infer_path: str
    encode: Callable[[list[str], list[list[float]]], bytes]
    decode: Callable[[dict[str, Any]], list[int]]
    env: dict[str, str] | None = None
    port: int = field(default_factory=free_port)
    popen: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    def launch(self, workdir: Path) -> None:
        """Start the server's process; :meth:`wait_ready` waits for its model."""
        self.log_path = workdir / f"{self.label.replace(' ', '_')}.log"
        command = [part.replace("{PORT}", str(self.port)) for part in self.command]
        with self.log_path.open("wb") as output:
            self.popen = subprocess.Popen(
                command,
                cwd=workdir,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 180.0) -> None:
        assert self.popen is not None, "launch() first"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise BenchError(f"{self.label} exited ({self.popen.returncode}):\n{self.tail()}")
            try:
                url = f"http://127.0.0.1:{self.port}{self.ready_path}"
                with urllib.request.urlopen(url, timeout=1) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        self.stop()
        raise BenchError(f"{self.label} was not ready after {timeout:.0f} s:\n{self.tail()}")

    def terminate(self) -> None:
        if self.running:
            assert self.popen is not None
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def tail(self, lines: int = 25) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the server (SIGTERM to its process group: MLServer and uvicorn stop
        gracefully), killing it after 20 s."""
        self.terminate()
        if self.popen is not None:
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)


def v2_body(columns: list[str], rows: list[list[float]]) -> bytes:
    inputs = [
        {"name": name, "shape": [len(rows)], "datatype": "FP64", "data": [row[i] for row in rows]}
        for i, name in enumerate(columns)
    ]
    return json.dumps({"inputs": inputs}).encode()


def v2_outputs(payload: dict[str, Any]) -> list[int]:
    (output,) = payload["outputs"]
    return [int(v) for v in output["data"]]


def mlflow_body(columns: list[str], rows: list[list[float]]) -> bytes:
    return json.dumps({"dataframe_split": {"columns": columns, "data": rows}}).encode()


def mlflow_outputs(payload: dict[str, Any]) -> list[int]:
    return [int(v) for v in payload["predictions"]]


def ours_server(python: Path, registry: str, *, log_predictions: bool) -> Server:
    command = [
        str(python), "-c", "from jupyter_mlops.cli import main; main()",
        "serve", f"{MODEL_NAME}@champion",
        "--registry", registry, "--host", "127.0.0.1", "--port", "{PORT}",
        "--grpc-port", str(free_port()), "--metrics-port", str(free_port()),
    ]  # fmt: skip
    if not log_predictions:
        command.append("--no-log")
    return Server(
        label="ours" if log_predictions else "ours --no-log",
        command=command,
        ready_path=f"/v2/models/{MODEL_NAME}/ready",
        infer_path=f"/v2/models/{MODEL_NAME}/infer",
        encode=v2_body,
        decode=v2_outputs,
    )


def mlflow_server(python: Path, model_dir: Path) -> Server:
    env = dict(os.environ)
    env.pop("MLFLOW_TRACKING_URI", None)
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    # as in an activated venv: MLflow starts `uvicorn` by name, from PATH
    env["PATH"] = f"{python.parent}{os.pathsep}{env.get('PATH', '')}"
    command = [
        str(python.parent / "mlflow"), "models", "serve", "-m", str(model_dir),
        "--env-manager", "local", "--workers", "1", "-h", "127.0.0.1", "-p", "{PORT}",
    ]  # fmt: skip
    return Server(
        label="MLflow",
        command=command,
        ready_path="/ping",
        infer_path="/invocations",
        encode=mlflow_body,
        decode=mlflow_outputs,
        env=env,
    )


# -- load -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadResult:
    """One burst of requests against one server: each request's latency, and the wall time."""

    latencies: tuple[float, ...]
    wall_seconds: float


def send(connection: http.client.HTTPConnection, path: str, body: bytes) -> bytes:
    connection.request("POST", path, body=body, headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    data = response.read()
    if response.status != 200:
        raise BenchError(f"POST {path} answered {response.status}: {data[:300]!r}")
    return data


def run_load(server: Server, body: bytes, clients: int, requests: int) -> LoadResult:
    """``requests`` requests from ``clients`` threads, each on its own keep-alive connection,
    each sending its next request as soon as the previous one is answered."""
    per_client = [requests // clients + (i < requests % clients) for i in range(clients)]
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(clients + 1)

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        mine = latencies[index]
        try:
            connection.connect()
            barrier.wait()
            for _ in range(per_client[index]):
                started = time.perf_counter()
                send(connection, server.infer_path, body)
                mine.append(time.perf_counter() - started)
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()  # a client that cannot start must not leave the others waiting
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    with contextlib.suppress(threading.BrokenBarrierError):  # a client failed: raised below
        barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if errors:
        raise BenchError(f"{server.label}: {errors[0]}")
    return LoadResult(tuple(v for each in latencies for v in each), wall)


def check_answers(server: Server, body: bytes, expected: list[int]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        got = server.decode(json.loads(send(connection, server.infer_path, body)))
    finally:
        connection.close()
    if got != expected:
        raise BenchError(f"{server.label} predicted {got[:10]}..., the model {expected[:10]}...")


def percentile(values: list[float] | tuple[float, ...], share: float) -> float:
    """The ``share`` quantile (nearest rank) of ``values``."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(share * len(ordered))))
    return ordered[rank - 1]


@dataclass
class Cell:
    """Every burst of one server at one request size and concurrency, pooled."""

    latencies: list[float] = field(default_factory=list)
    wall_seconds: float = 0.0
    loads: list[str] = field(default_factory=list)

    def add(self, result: LoadResult) -> None:
        self.latencies.extend(result.latencies)
        self.wall_seconds += result.wall_seconds

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.wall_seconds

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies)

    @property
    def p99(self) -> float:
        return percentile(self.latencies, 0.99)

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": len(self.latencies),
            "wall_seconds": self.wall_seconds,
            "throughput": self.throughput,
            "p50": self.p50,
            "p99": self.p99,
            "loads": self.loads,
        }


def measure(
    servers: list[Server],
    bodies: dict[tuple[str, int], bytes],
    clients_list: tuple[int, ...],
    *,
    rounds: int,
    requests: int,
    warmup: int,
) -> dict[tuple[str, int, int], Cell]:
    """Rounds of: for each request size and concurrency, a burst against each server, the
    servers' order turned by one each round."""
    cells: dict[tuple[str, int, int], Cell] = {}
    for round_index in range(rounds):
        order = servers[round_index % len(servers) :] + servers[: round_index % len(servers)]
        for n_rows in ROW_COUNTS:
            for clients in clients_list:
                for server in order:
                    body = bodies[(server.label, n_rows)]
                    run_load(server, body, clients, warmup)
                    load = load_average()
                    result = run_load(server, body, clients, requests)
                    cell = cells.setdefault((server.label, n_rows, clients), Cell())
                    cell.add(result)
                    cell.loads.append(load)
        log(f"  round {round_index + 1}/{rounds} done (load {load_average()})")
    return cells


# -- report -----------------------------------------------------------------------------------


def result_rows(
    cells: dict[tuple[str, int, int], Cell], clients_list: tuple[int, ...], peer: str | None
) -> list[list[str]]:
    rows = []
    for n_rows in ROW_COUNTS:
        for clients in clients_list:
            ours = cells[("ours", n_rows, clients)]
            quiet = cells[("ours --no-log", n_rows, clients)]
            other = cells.get((peer, n_rows, clients)) if peer else None
            overhead = ours.p50 / quiet.p50 - 1
            rows.append(
                [
                    f"{n_rows} row{'s' if n_rows > 1 else ''}, {clients} client{'s' if clients > 1 else ''}",
                    f"{ours.throughput:,.0f} / {quiet.throughput:,.0f} / "
                    + (f"{other.throughput:,.0f}" if other else "–"),
                    f"{format_seconds(ours.p50)} / {format_seconds(quiet.p50)} / "
                    + (format_seconds(other.p50) if other else "–"),
                    f"{format_seconds(ours.p99)} / {format_seconds(quiet.p99)} / "
                    + (format_seconds(other.p99) if other else "–"),
                    f"{overhead:+.1%} / {ours.throughput / quiet.throughput:.0%}",
                    format_ratio(other.p50, ours.p50) if other else "–",
                    format_ratio(ours.throughput, other.throughput) if other else "–",
                    f"{len(ours.latencies):,}",
                ]
            )
    return rows


RESULT_HEADERS = [
    "request, concurrency",
    "req/s: ours / --no-log / MLflow",
    "p50: ours / --no-log / MLflow",
    "p99: ours / --no-log / MLflow",
    "log: p50 overhead / req/s kept",
    "p50 MLflow / ours",
    "req/s ours / MLflow",
    "requests per server",
]


def submit_rows(cost: dict[str, Any]) -> list[list[str]]:
    rows = []
    for n_rows, figures in cost.items():
        per_submit = statistics.median(figures["submit_seconds"])
        rows.append(
            [
                f"{n_rows} row{'s' if n_rows != '1' else ''}",
                format_seconds(per_submit),
                format_seconds(max(figures["submit_seconds"])),
                format_seconds(figures["handover_cpu_seconds_per_record"]),
                format_seconds(figures["writer_seconds_per_record"]),
                f"{figures['records']:,}",
            ]
        )
    return rows


SUBMIT_HEADERS = [
    "request",
    "record + submit (median of batches)",
    "slowest batch, per record",
    "server process: handing over, CPU per record",
    "writer process, per record",
    "records",
]


def report(
    cells: dict[tuple[str, int, int], Cell],
    cost: dict[str, Any],
    facts: dict[str, Any],
    clients_list: tuple[int, ...],
    peer: str | None,
    mlflow_note: str,
) -> str:
    machine = facts["machine"]
    versions = ", ".join(f"{name} {version}" for name, version in facts["versions"].items())
    worst = max(
        cells[("ours", n, c)].p50 / cells[("ours --no-log", n, c)].p50 - 1
        for n in ROW_COUNTS
        for c in clients_list
    )
    loads = sorted(float(v) for cell in cells.values() for v in cell.loads if v != "?")
    load_span = f"{loads[0]:.2f} to {loads[-1]:.2f}" if loads else "?"
    return "\n".join(
        [
            f"Measured {machine['date']} by `python bench/serving.py` ({facts['minutes']:.0f} min),"
            f" on {machine['cpu']} ({machine['cores']} cores, {machine['memory']}),"
            f" {machine['os']}, Python {machine['python']}; registry on {machine['filesystem']};"
            f" load average {facts['load_before']} before the run, {facts['load_after']} after it,"
            f" {load_span} as the bursts started (the machine is shared with other jobs, and the"
            " load generator runs on the same 2 cores as the server: read the ratios, measured"
            f" side by side, rather than absolute figures). Versions: {versions}; at commit"
            f" {facts['commit']}.",
            "",
            f"{facts['rounds']} rounds; in each, for each request size and concurrency, a warm-up"
            f" of {facts['warmup']} requests and then {facts['requests']} timed requests against"
            " each server in turn, the order turned each round. Throughput is requests over the"
            " bursts' wall time; p50 and p99 over every timed request of the rounds.",
            "",
            markdown_table(RESULT_HEADERS, result_rows(cells, clients_list, peer)),
            "",
            f"The prediction log's largest p50 overhead here: {worst:+.1%}"
            f" (target < {LOG_OVERHEAD_TARGET:.0%}:"
            f" {'met' if worst < LOG_OVERHEAD_TARGET else 'not met'}).",
            "",
            "What logging one request costs the server's process: in the request's own thread,"
            " building its `PredictionRecord` and `PredictionLogProcess.submit` (a deque"
            " append; the DataFrame and outputs are kept as they are), timed in batches of"
            " 1,000; then the processor time the server's process spends handing each record"
            " to the log's writer process (its sender thread pickles a batch in one call and"
            " writes it to a pipe in one more). The writer process does the rest, per record:"
            " the inputs as a `.npy` (numbers) or JSON, the positive class's probabilities of"
            " the sampled rows (the model loaded from the registry), the batched SQLite insert,"
            " its commit; its time is wall time, and takes none of the server's interpreter"
            " lock:",
            "",
            markdown_table(SUBMIT_HEADERS, submit_rows(cost)),
            "",
            "Notes:",
            "",
            "- Each server is one process: MLServer with `parallel_workers: 0` (inference in"
            " its event loop), MLflow with `--workers 1` (uvicorn). Ours logs with the default"
            " sample rate of 1: every request's inputs and outputs go to the registry.",
            "- The bodies differ by protocol: V2 sends one named FP64 input per column, MLflow a"
            " `dataframe_split` of columns and rows; both are encoded before the clock. Our"
            " answer carries the version served (`model_version`, `x-model-version`).",
            f"- {mlflow_note}",
        ]
    )


# -- main -------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="short rounds, ours alone")
    parser.add_argument("--mlflow", action="store_true", help="with --smoke: MLflow too")
    parser.add_argument("--no-mlflow", action="store_true", help="leave MLflow out")
    parser.add_argument("--python", type=Path, help="the Python whose jupyter-mlops serves")
    parser.add_argument("--rounds", type=int, help="rounds of bursts (default 5, smoke 1)")
    parser.add_argument("--requests", type=int, help="timed requests per burst (default 400)")
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    parser.add_argument(
        "--write-results",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="write the Serving section of RESULTS.md (default: yes, not under --smoke)",
    )
    return parser.parse_args(argv)


def python_of_ours(args: argparse.Namespace) -> Path:
    if args.python is not None:
        return args.python.absolute()  # not resolve(): a venv python is a symlink
    if not missing_modules(sys.executable, ["jupyter_mlops", "mlserver"]):
        return Path(sys.executable)
    python = ensure_venv(SERVE_VENV, create=True)
    assert python is not None
    return python


def python_of_mlflow(args: argparse.Namespace) -> tuple[Path | None, str]:
    """MLflow's Python, or ``None`` and why it is left out."""
    if args.no_mlflow or (args.smoke and not args.mlflow):
        return None, "MLflow was left out of this run (`--no-mlflow` or `--smoke`)."
    try:
        python = ensure_venv(MLFLOW_SERVE_VENV, create=not args.smoke)
    except BenchError as exc:
        return None, f"MLflow could not be installed here: {exc}"
    if python is None:
        return (
            None,
            f"MLflow's venv ({MLFLOW_SERVE_VENV.path}) is not built; `--smoke` builds none.",
        )
    return python, ""


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rounds = args.rounds or (1 if args.smoke else 5)
    requests = args.requests or (50 if args.smoke else 400)
    warmup = 10 if args.smoke else 50
    submits = 2_000 if args.smoke else 20_000
    clients_list = SMOKE_CLIENTS if args.smoke else FULL_CLIENTS
    write_results = args.write_results if args.write_results is not None else not args.smoke
    python = python_of_ours(args)
    missing = missing_modules(python, ["jupyter_mlops", "mlserver", "sklearn"])
    if missing:
        raise BenchError(f"{python} has no {missing[0]}; pass --python with one that has it")
    mlflow_python, mlflow_note = python_of_mlflow(args)
    work = Path(tempfile.mkdtemp(prefix="mlops-bench-serving-"))
    machine = machine_info(work)
    load_before = load_average()
    started = time.perf_counter()
    servers: list[Server] = []
    try:
        log(f"Registering the model in {work} ...")
        ours = run_worker(python, [str(WORKER), "prepare-ours", str(work)], cwd=work)
        request = json.loads((work / "rows.json").read_text())
        servers = [
            ours_server(python, ours["registry"], log_predictions=True),
            ours_server(python, ours["registry"], log_predictions=False),
        ]
        expected = {"ours": ours["predictions"], "ours --no-log": ours["predictions"]}
        peer = None
        if mlflow_python is not None:
            try:
                theirs = run_worker(
                    mlflow_python, [str(WORKER), "prepare-mlflow", str(work)], cwd=work
                )
            except BenchError as exc:
                mlflow_note = f"MLflow could not save the model here: {exc}"
            else:
                peer = "MLflow"
                servers.append(mlflow_server(mlflow_python, work / "mlflow-model"))
                expected[peer] = theirs["predictions"]
                mlflow_note = (
                    f"MLflow {theirs['mlflow']} with scikit-learn {theirs['sklearn']} in its own"
                    f" venv; ours has scikit-learn {ours['sklearn']}. Both fit the same pipeline on"
                    " the same data and predict the same classes for the request rows."
                )
        if peer and expected[peer] != expected["ours"]:
            raise BenchError("The two tools' models predict differently; the comparison is off")
        log(
            f"Starting at {time.perf_counter() - started:.0f} s: {', '.join(server.label for server in servers)} ..."
        )
        for server in servers:
            server.launch(work)
        for server in servers:
            try:
                server.wait_ready()
            except BenchError as exc:
                if server.label != "MLflow":
                    raise
                log(f"  MLflow could not serve: {exc}")
                mlflow_note = f"`mlflow models serve` failed here: {exc}"
                peer = None
        servers = [server for server in servers if server.running]
        log(f"  ... ready at {time.perf_counter() - started:.0f} s")
        bodies = {}
        for server in servers:
            for n_rows in ROW_COUNTS:
                body = server.encode(request["columns"], request["data"][:n_rows])
                bodies[(server.label, n_rows)] = body
                check_answers(server, body, expected[server.label][:n_rows])
        log(f"Load: {rounds} rounds of {requests} requests per burst ...")
        cells = measure(
            servers, bodies, clients_list, rounds=rounds, requests=requests, warmup=warmup
        )
        for server in servers:  # all at once: each takes a few seconds to stop
            server.terminate()
        for server in servers:
            server.stop()
        log(f"Timing PredictionLog.submit in process ({time.perf_counter() - started:.0f} s) ...")
        cost = run_worker(python, [str(WORKER), "log-cost", str(work), str(submits)], cwd=work)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    versions = {"jupyter-mlops": package_version(python, "jupyter-mlops") or "?"}
    versions["mlserver"] = package_version(python, "mlserver") or "?"
    if peer and mlflow_python is not None:
        versions["mlflow"] = package_version(mlflow_python, "mlflow") or "?"
        versions["uvicorn (MLflow's)"] = package_version(mlflow_python, "uvicorn") or "?"
    facts = {
        "machine": machine,
        "load_before": load_before,
        "load_after": load_average(),
        "commit": git_commit(Path(__file__).resolve().parent),
        "versions": versions,
        "minutes": (time.perf_counter() - started) / 60,
        "rounds": rounds,
        "requests": requests,
        "warmup": warmup,
    }
    print(plain_table(RESULT_HEADERS, result_rows(cells, clients_list, peer)))
    print()
    print(plain_table(SUBMIT_HEADERS, submit_rows(cost)))
    print(f"load average {load_before} before, {facts['load_after']} after")
    if not peer:
        print(mlflow_note)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "cells": {f"{k[0]}|{k[1]}|{k[2]}": c.to_dict() for k, c in cells.items()},
                    "log_cost": cost,
                    **facts,
                },
                indent=1,
            )
        )
    if write_results:
        body = report(cells, cost, facts, clients_list, peer, mlflow_note)
        update_results_section(RESULTS_FILE, "Serving", body)
        log(f"Wrote the Serving section of {RESULTS_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
