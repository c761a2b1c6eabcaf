"""Teams benchmark: ``push`` to and ``import`` from an MLflow server, against MLflow's client.

    python bench/teams.py              # 1,000 runs, about 10 minutes; writes the Teams section
    python bench/teams.py --smoke      # 20 runs, under a minute (tests/test_teams_bench.py runs it)
    python bench/teams.py --smoke --mlflow-uri http://127.0.0.1:5000   # on a running server
    python bench/teams.py --runs 200 --steps 10000   # other sizes; nothing is written to RESULTS.md

The same content goes to two fresh ``mlflow server`` processes of the same setup (one
uvicorn worker, a SQLite backend store, served artifacts on the local disk, its job runner
off), one per side, started side by side:

- **ours**: N runs (10 params, 3 tags, 100 steps of ``loss`` and of ``accuracy`` each,
  seeded) recorded in a registry through the Python API (untimed), then
  ``push(registry, URI)`` to a fresh server, then a second push that finds nothing new;
  then ``import_from_mlflow`` of that server into a fresh registry, then a re-import.
- **MLflow**: its own client (``MlflowClient``) logging the same runs the way a user does it
  efficiently: ``create_run`` with the tags, one ``log_batch`` of every param and point,
  ``set_terminated``; then reading them back, the import's peer: ``search_runs`` (pages of
  1,000) and ``get_metric_history`` for each run and key.

Each side runs in its own worker process with its own venv's Python; the clock covers the
calls alone (imports and opening the registry are before it). Each worker checks what it
timed: runs created and points sent, nothing sent the second time, every run and point
read back. Besides wall time: the CPU seconds of the worker (the client) and of the
server's processes during the workload, from ``/proc``: the server is the same for both
sides, so where most of the time is the server's it shows.

``--smoke --mlflow-uri URI`` borrows a server that is already running (the test suite's
shared one) instead of starting two: starting one costs 20-30 CPU seconds, more than the
smoke's workloads. Both sides then send to it, each into an experiment of its own named
for this run, and the import reads back that experiment alone. The server's CPU seconds
and requests are then unknown (its processes and its access log are not the bench's) and
reported as such.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _harness import (
    MLFLOW_VENV,
    OURS_VENV,
    REPO_ROOT,
    RESULTS_FILE,
    BenchError,
    can_import,
    ensure_venv,
    format_ratio,
    format_seconds,
    free_port,
    git_commit,
    load_average,
    log,
    machine_info,
    markdown_table,
    package_version,
    plain_table,
    run_worker,
    update_results_section,
)

WORKER = Path(__file__).resolve().with_name("_teams_worker.py")
TESTS_MLFLOW_VENV = REPO_ROOT / ".venv-mlflow"  # made by tests/mlflow_tracking.py, pinned
SERVER_START_SECONDS = 240.0  # importing MLflow's server on a busy 2-core machine is slow
FULL_RUNS = 1_000
SMOKE_RUNS = 20
STEPS = 100


# -- the servers ------------------------------------------------------------------------------


@dataclass
class MlflowServer:
    """One ``mlflow server`` process group: SQLite store and artifacts under ``folder``."""

    python: Path
    folder: Path
    port: int = 0
    popen: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.folder / "mlflow-server.log"

    def launch(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        command = [
            str(self.python), "-m", "mlflow", "server",
            "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1",
            "--backend-store-uri", f"sqlite:///{self.folder / 'mlflow.db'}",
            "--artifacts-destination", str(self.folder / "artifacts"),
        ]  # fmt: skip
        env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        with open(self.log_path, "wb") as out:
            self.popen = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=env, start_new_session=True, cwd=self.folder,
            )  # fmt: skip

    def wait_ready(self) -> None:
        assert self.popen is not None
        deadline = time.monotonic() + SERVER_START_SECONDS
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise BenchError(f"mlflow server exited:\n{self.tail()}")
            try:
                with urllib.request.urlopen(self.uri + "/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise BenchError(
            f"mlflow server did not answer in {SERVER_START_SECONDS:.0f} s:\n{self.tail()}"
        )

    def cpu_seconds(self) -> float:
        """CPU seconds (user + system) of the server's processes so far, from ``/proc``."""
        assert self.popen is not None
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == self.popen.pid:  # its process group: the server's children too
                total += int(fields[11]) + int(fields[12])
        return total / tick

    def requests_served(self) -> int:
        """Requests to the server's API so far, counted in its access log."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return 0
        return text.count(" /api/2.0/")

    def tail(self, lines: int = 25) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()


@dataclass
class BorrowedMlflowServer:
    """An ``mlflow server`` already running at ``uri``, started by someone else: neither its
    processes nor its access log are known here (:func:`timed_on` reports its CPU seconds and
    requests as None). :meth:`stop` deletes the ``experiments`` the bench made there (MLflow
    keeps them in its trash), so that an import of the whole server elsewhere skips them."""

    uri: str
    experiments: tuple[str, ...] = ()

    def launch(self) -> None:
        """Nothing to start: the server runs already (:meth:`wait_ready` waits for it)."""

    def wait_ready(self) -> None:
        """It may still be starting (the test suite starts its server in the background)."""
        deadline = time.monotonic() + SERVER_START_SECONDS
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.uri + "/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        raise BenchError(
            f"the MLflow server at {self.uri} did not answer in"
            f" {SERVER_START_SECONDS:.0f} s: is it running?"
        )

    def tail(self, lines: int = 25) -> str:
        return f"(the server at {self.uri} was not started by this bench: its log is elsewhere)"

    def stop(self) -> None:
        for name in self.experiments:
            try:
                found = self._call("GET", "experiments/get-by-name", {"experiment_name": name})
                experiment_id = found["experiment"]["experiment_id"]
                self._call("POST", "experiments/delete", {"experiment_id": experiment_id})
            except (OSError, KeyError, ValueError) as exc:  # not made (an early failure), or gone
                log(f"  (experiment {name} left on {self.uri}: {exc})")

    def _call(self, method: str, route: str, body: dict[str, str]) -> dict[str, Any]:
        url = f"{self.uri}/api/2.0/mlflow/{route}"
        data = None
        if method == "GET":
            url += "?" + urllib.parse.urlencode(body)
        else:
            data = json.dumps(body).encode()
        request = urllib.request.Request(
            url, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            result: dict[str, Any] = json.loads(answer.read() or b"{}")
            return result


def timed_on(
    server: MlflowServer | BorrowedMlflowServer, python: Path, argv: list[str], work: Path
) -> dict[str, Any]:
    """Run a worker against ``server`` and add the server's CPU seconds and the requests it
    served meanwhile (None for a borrowed server: unknown)."""
    if isinstance(server, BorrowedMlflowServer):
        result = run_worker(python, [str(WORKER), *argv], cwd=work)
        result["first"].update(server_cpu=None, requests=None)
        return result
    before, served = server.cpu_seconds(), server.requests_served()
    result = run_worker(python, [str(WORKER), *argv], cwd=work)
    result["first"]["server_cpu"] = server.cpu_seconds() - before
    time.sleep(0.2)  # the access log's last line
    result["first"]["requests"] = server.requests_served() - served
    return result


# -- the report -------------------------------------------------------------------------------

HEADERS = [
    "workload",
    "ours",
    "MLflow's client",
    "MLflow / ours",
    "per run: ours / MLflow",
    "client CPU: ours / MLflow",
    "server CPU: ours / MLflow",
    "requests per run: ours / MLflow",
]


def result_rows(figures: dict[str, Any], runs: int) -> list[list[str]]:
    def server_cpu(figure: dict[str, Any]) -> str:
        return "?" if figure["server_cpu"] is None else format_seconds(figure["server_cpu"])

    def per_run(requests: int | None) -> str:
        return "?" if requests is None else f"{requests / runs:.3g}"

    def cells(label: str, ours: dict[str, Any], peer: dict[str, Any] | None) -> list[str]:
        ours_s = ours["seconds"]
        peer_s = peer["seconds"] if peer else None
        return [
            label,
            format_seconds(ours_s),
            format_seconds(peer_s) if peer else "–",
            format_ratio(peer_s, ours_s) if peer else "–",
            f"{format_seconds(ours_s / runs)} / "
            + (format_seconds(peer_s / runs) if peer_s is not None else "–"),
            f"{format_seconds(ours['cpu'])} / " + (format_seconds(peer["cpu"]) if peer else "–"),
            f"{server_cpu(ours)} / " + (server_cpu(peer) if peer else "–"),
            f"{per_run(ours['requests'])} / " + (per_run(peer["requests"]) if peer else "–"),
        ]

    return [
        cells(
            f"send {runs:,} runs: first `push` / `log_batch` per run",
            figures["push"]["first"],
            figures["mlflow_log"]["first"],
        ),
        cells("`push` again, nothing new", figures["push_again"]["first"], None),
        cells(
            f"read {runs:,} runs back: `import` into a fresh registry / `search_runs` +"
            " `get_metric_history`",
            figures["import"]["first"],
            figures["mlflow_read"]["first"],
        ),
        cells("`import` again, nothing new", figures["import_again"]["first"], None),
    ]


def report(figures: dict[str, Any], facts: dict[str, Any]) -> str:
    machine = facts["machine"]
    versions = ", ".join(f"{name} {version}" for name, version in facts["versions"].items())
    runs, steps = facts["runs"], facts["steps"]
    ours_run, peer_run = figures["describe_ours"], figures["describe_mlflow"]
    extra_tags = sorted(set(ours_run["tags"]) - set(peer_run["tags"]))
    push_first = figures["push"]["first"]
    log_first = figures["mlflow_log"]["first"]
    server_share_ours = push_first["server_cpu"] / (push_first["server_cpu"] + push_first["cpu"])
    server_share_peer = log_first["server_cpu"] / (log_first["server_cpu"] + log_first["cpu"])
    return "\n".join(
        [
            f"Measured {machine['date']} by `python bench/teams.py` ({facts['minutes']:.0f} min),"
            f" on {machine['cpu']} ({machine['cores']} cores, {machine['memory']}),"
            f" {machine['os']}, Python {machine['python']}; stores on {machine['filesystem']}"
            f" (fsync {machine['fsync']}); load average {facts['load_before']} before the run,"
            f" {facts['load_after']} after it, {facts['loads']} as the workloads started (the"
            " machine is shared with other jobs; client and server run on the same 2 cores:"
            " read the ratios, measured side by side, rather than absolute figures)."
            f" Versions: {versions}; at commit {facts['commit']}.",
            "",
            f"{runs:,} runs in one experiment, each with 10 params, 3 tags and {steps} steps of"
            f" two metrics (`loss`, `accuracy`): {2 * steps} points a run,"
            f" {2 * steps * runs:,} in all; no files logged (a push adds two of its own a run,"
            " `environment.json` and `mlops/run.json`). Each side sends to a fresh `mlflow server`"
            " of the same setup: one uvicorn worker (`--workers 1`), a SQLite backend store"
            " and served artifacts on the same disk, `MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false`."
            " One sample of each workload, in this order: MLflow logs, ours pushes, ours"
            " pushes again, MLflow reads, ours imports, ours imports again. The clock covers"
            " the calls alone, in a worker process of each tool's venv; CPU seconds are the"
            " worker's and the server's processes' (from `/proc`) during the workload.",
            "",
            markdown_table(HEADERS, result_rows(figures, runs)),
            "",
            "Of the CPU time client and server spent sending the runs, the server's share is"
            f" {server_share_ours:.0%} for the push and {server_share_peer:.0%} for MLflow's"
            " client: the work is the server's. The wall time beyond both is waiting: for a"
            " core on a loaded machine, and for the server's SQLite commits.",
            "",
            "Notes:",
            "",
            f"- What the first push sent: {_sent(figures['push']['sent'])}. Per run it"
            " creates the run, sends its params, tags and first points in one `log-batch`,"
            " uploads its two files and ends it (in an experiment that was already on the"
            " server it first asks for a run carrying its `mlops.run_id` tag, so that a lost"
            " record of an earlier push makes no copy; this one created the experiment);"
            " MLflow's client creates the run, sends one `log_batch` and ends it. The import"
            " lists each run's files, downloads those it does not hold (here the push's two)"
            " and asks for each metric's history; MLflow's read asks for the histories alone.",
            f"- A pushed run carries {len(ours_run['tags'])} tags against MLflow's"
            f" {len(peer_run['tags'])} for the same run; the extra ones:"
            f" {', '.join(f'`{tag}`' for tag in extra_tags) or 'none'}; files:"
            f" {len(ours_run['files'])} against {len(peer_run['files'])}.",
            "- The import writes what it reads into a registry (runs, params, tags, every"
            " point) and records each run's source; MLflow's read keeps the answers in"
            " memory. Its second run asks the server again for every run and compares.",
            "- MLflow's client has no counterpart of the second push or re-import: a user"
            " re-running the logging would make copies of every run.",
        ]
    )


def _span(loads: list[str]) -> str:
    known = sorted(float(load) for load in loads if load != "?")
    return f"{known[0]:.2f} to {known[-1]:.2f}" if known else "?"


def _sent(sent: dict[str, int]) -> str:
    return ", ".join(f"{n:,} {what}" for what, n in sorted(sent.items())) or "nothing"


# -- main -------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help=f"{SMOKE_RUNS} runs, under a minute")
    parser.add_argument("--runs", type=int, help=f"runs to send (default {FULL_RUNS:,})")
    parser.add_argument("--steps", type=int, default=STEPS, help="steps of each metric")
    parser.add_argument("--python", type=Path, help="the Python whose jupyter-mlops is timed")
    parser.add_argument("--mlflow-python", type=Path, help="a Python with MLflow installed")
    parser.add_argument(
        "--mlflow-uri",
        help="with --smoke: send both sides to this running MLflow server instead of starting"
        " two (its CPU seconds and requests are then unknown)",
    )
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    parser.add_argument("--keep", action="store_true", help="keep the stores and server logs")
    parser.add_argument(
        "--write-results",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="write the Teams section of RESULTS.md (default: at the default sizes)",
    )
    args = parser.parse_args(argv)
    if args.mlflow_uri and not args.smoke:
        parser.error(
            "--mlflow-uri is for --smoke: the figures compare two fresh servers the bench starts"
            " and whose CPU it reads; drop --mlflow-uri"
        )
    return args


def python_of_ours(args: argparse.Namespace) -> Path:
    if args.python is not None:
        return args.python.absolute()  # not resolve(): a venv python is a symlink
    if can_import(sys.executable, "jupyter_mlops"):
        return Path(sys.executable)
    python = ensure_venv(OURS_VENV, create=True)
    assert python is not None
    return python


def python_of_mlflow(args: argparse.Namespace) -> Path:
    """MLflow's Python: ``--mlflow-python``, the bench's venv, the tests' pinned venv, or
    (not under ``--smoke``) the bench's venv built now."""
    if args.mlflow_python is not None:
        return args.mlflow_python.absolute()
    for python in (MLFLOW_VENV.python, TESTS_MLFLOW_VENV / "bin" / "python"):
        if python.is_file():
            return python
    python = ensure_venv(MLFLOW_VENV, create=not args.smoke)
    if python is None:
        raise BenchError(
            f"No MLflow here: the push needs an MLflow server. Build {MLFLOW_VENV.path}"
            " (run without --smoke), or pass --mlflow-python."
        )
    return python


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    runs = args.runs or (SMOKE_RUNS if args.smoke else FULL_RUNS)
    steps = args.steps
    write_results = args.write_results
    if write_results is None:
        write_results = not args.smoke and runs == FULL_RUNS and steps == STEPS
    python = python_of_ours(args)
    mlflow_python = python_of_mlflow(args)
    if not can_import(python, "jupyter_mlops.sharing.mlflow_push"):
        raise BenchError(f"{python} cannot import jupyter_mlops.sharing.mlflow_push")
    # MLflow is looked up in its Python's metadata, not imported: an import costs 4 CPU seconds,
    # and its workers import it anyway (one that cannot says why)
    versions = {"jupyter-mlops": package_version(python, "jupyter-mlops") or "?"}
    versions["mlflow"] = package_version(mlflow_python, "mlflow") or "?"
    if versions["mlflow"] == "?":
        raise BenchError(f"{mlflow_python} has no MLflow installed: pass --mlflow-python")
    work = Path(tempfile.mkdtemp(prefix="mlops-bench-teams-"))
    machine = machine_info(work)
    load_before = load_average()
    started = time.perf_counter()
    servers: dict[str, MlflowServer | BorrowedMlflowServer]
    if args.mlflow_uri:
        # names of their own on a server others use too, and that may hold an earlier smoke's
        experiments = {side: f"teams-bench-{side}-{work.name}" for side in ("ours", "mlflow")}
        borrowed = BorrowedMlflowServer(args.mlflow_uri.rstrip("/"), tuple(experiments.values()))
        servers = {"ours": borrowed, "mlflow": borrowed}
    else:
        servers = {
            "ours": MlflowServer(mlflow_python, work / "server-ours"),
            "mlflow": MlflowServer(mlflow_python, work / "server-mlflow"),
        }
        experiments = {side: "teams-bench" for side in servers}
    figures: dict[str, Any] = {}
    loads: list[str] = []
    size = [str(runs), str(steps)]
    try:
        where = args.mlflow_uri or "two fresh MLflow servers"
        log(f"Recording {runs:,} runs in {work} for {where} ...")
        for server in servers.values():
            server.launch()
        figures["record"] = run_worker(
            python,
            [str(WORKER), "ours-record", str(work / "ours"), experiments["ours"], *size],
            cwd=work,
        )
        for server in servers.values():
            server.wait_ready()
        ours, peer = servers["ours"], servers["mlflow"]
        ours_size, peer_size = [experiments["ours"], *size], [experiments["mlflow"], *size]
        steps_in_order = [
            ("mlflow_log", peer, mlflow_python, ["mlflow-log", peer.uri, *peer_size]),
            ("push", ours, python, ["ours-push", str(work / "ours"), ours.uri, *size, "first"]),
            (
                "push_again",
                ours,
                python,
                ["ours-push", str(work / "ours"), ours.uri, *size, "again"],
            ),
            ("mlflow_read", peer, mlflow_python, ["mlflow-read", peer.uri, *peer_size]),
            (
                "import",
                ours,
                python,
                ["ours-import", str(work / "imported"), ours.uri, *ours_size, "first"],
            ),
            (
                "import_again",
                ours,
                python,
                ["ours-import", str(work / "imported"), ours.uri, *ours_size, "again"],
            ),
        ]
        for name, server, who, worker_argv in steps_in_order:
            loads.append(load_average())
            log(f"  {name} ({time.perf_counter() - started:.0f} s, load {loads[-1]}) ...")
            figures[name] = timed_on(server, who, worker_argv, work)
            log(f"    {figures[name]['first']['seconds']:.2f} s")
        described = run_worker(  # one worker for both: it imports MLflow once
            mlflow_python,
            [str(WORKER), "mlflow-describe"]
            + [part for side in servers for part in (servers[side].uri, experiments[side])],
            cwd=work,
        )
        for side, description in zip(servers, described["runs"], strict=True):
            figures[f"describe_{side}"] = description
    except BenchError as exc:
        for side, server in servers.items():
            log(f"--- the {side} server's log:\n{server.tail()}")
        raise exc
    finally:
        for server in {id(server): server for server in servers.values()}.values():
            server.stop()
        if args.keep:
            log(f"Kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    facts = {
        "machine": machine,
        "load_before": load_before,
        "load_after": load_average(),
        "loads": _span(loads),
        "commit": git_commit(Path(__file__).resolve().parent),
        "versions": versions,
        "minutes": (time.perf_counter() - started) / 60,
        "runs": runs,
        "steps": steps,
        "record_seconds": figures["record"]["seconds"],
        "server": args.mlflow_uri or "two fresh servers",
        "experiments": experiments,
    }
    print(plain_table(HEADERS, result_rows(figures, runs)))
    print(f"load average {load_before} before, {facts['load_after']} after")
    if args.json:
        args.json.write_text(json.dumps({"figures": figures, **facts}, indent=1))
    if write_results:
        update_results_section(RESULTS_FILE, "Teams", report(figures, facts))
        log(f"Wrote the Teams section of {RESULTS_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
