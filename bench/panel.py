"""Panel benchmark: the panel's routes over 10,000 runs, through a real Jupyter server.

    python bench/panel.py                     # full size, writes the "Panel" section of RESULTS.md
    python bench/panel.py --smoke             # 1,000 runs, a few seconds per route; no RESULTS.md
    python bench/panel.py --python .venv/bin/python   # use that environment's jupyter-mlops

What the panel asks when it opens and while it is open, timed two ways:

- **through HTTP**: a Jupyter server started for the run (``python -m jupyter_server``
  with the jupyter-mlops extension, token authentication), each route requested over
  one kept-alive connection like a browser's, median over repeats;
- **the handler alone**: the payload function of each route on an open registry, in a
  worker process, without tornado or HTTP.

The peer, side by side in the same run and on the same server, is Jupyter server's own
``GET /api/status``: the floor of any authenticated JSON route of that server. Target
(DESIGN.md, "thousands of runs stay fast"): the first page of runs in < 100 ms.

The driver needs only the standard library; the registry is built and the handlers are
timed by ``_panel_worker.py`` in the jupyter-mlops environment (``--python``, else
``bench/.venvs/ours``, built on first use; under ``--smoke`` the running interpreter
when it can import jupyter_mlops).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

from _harness import (
    OURS_VENV,
    RESULTS_FILE,
    BenchError,
    Timing,
    can_import,
    ensure_venv,
    format_seconds,
    free_port,
    git_commit,
    load_average,
    log,
    machine_info,
    markdown_table,
    package_version,
    plain_table,
    repeat_timed,
    run_worker,
    update_results_section,
)
from _panel_worker import deep_page

WORKER = Path(__file__).resolve().with_name("_panel_worker.py")
EXPERIMENT = "bench"
TARGET_SECONDS = 0.100
SERVER_TIMEOUT_SECONDS = 120.0

# (key, what the panel asks, the path under the server, a check of the answer)
ROUTES: list[tuple[str, str, str]] = [
    ("floor", "Jupyter server's own `GET /api/status` (the peer)", "/api/status"),
    ("changes", "`changes`: the poll, every 2 s while the panel is visible",
     "/jupyter-mlops/api/changes"),
    ("experiments", "`experiments`: the experiment picker", "/jupyter-mlops/api/experiments"),
    ("runs_first_page", "**`runs`: the first page (50 runs, newest first)**",
     "/jupyter-mlops/api/runs?experiment=bench"),
    ("runs_by_metric", "`runs` sorted by a metric (`-metrics.accuracy`)",
     "/jupyter-mlops/api/runs?experiment=bench&sort=-metrics.accuracy"),
    ("runs_filtered", "`runs` filtered (`accuracy > 0.5 and params.depth <= 6`)",
     "/jupyter-mlops/api/runs?experiment=bench&where="
     + urllib.parse.quote("accuracy > 0.5 and params.depth <= 6")),
    ("runs_deep_page", "`runs`, the page halfway (page {deep_page} of {pages})",
     "/jupyter-mlops/api/runs?experiment=bench&page={deep_page}"),
    ("run_detail", "`runs/ID`: one run's page", "/jupyter-mlops/api/runs/{last_run_id}"),
]  # fmt: skip


class Server:
    """A Jupyter server with the jupyter-mlops extension, over ``root``, for one run."""

    def __init__(self, python: Path, root: Path, state: Path) -> None:
        self.port = free_port()
        self.token = secrets.token_hex(16)
        command = [
            str(python), "-m", "jupyter_server", "--no-browser",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={root}",
            "--ServerApp.jpserver_extensions=jupyter_mlops.server=True",
        ]  # fmt: skip
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")
        env = {
            **os.environ,
            "JUPYTER_CONFIG_DIR": str(state / "config"),
            "JUPYTER_RUNTIME_DIR": str(state / "runtime"),
        }
        env.pop("MLOPS_REGISTRY", None)
        state.mkdir(parents=True, exist_ok=True)
        self.log_path = state / "server.log"
        with self.log_path.open("wb") as log_file:
            self.process = subprocess.Popen(
                command, cwd=root, env=env, stdout=log_file, stderr=subprocess.STDOUT
            )
        self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        self._wait()

    def get(self, path: str) -> Any:
        """GET ``path`` on the kept-alive connection; the JSON answer (200 or BenchError)."""
        self.connection.request("GET", path, headers={"Authorization": f"token {self.token}"})
        response = self.connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise BenchError(f"GET {path} answered {response.status}: {body[:300]!r}")
        return json.loads(body)

    def _wait(self) -> None:
        deadline = time.monotonic() + SERVER_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"The Jupyter server exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                self.get("/jupyter-mlops/api/status")
                return
            except (OSError, http.client.HTTPException, BenchError):
                self.connection.close()
                time.sleep(0.25)
        raise BenchError(f"The Jupyter server did not answer in {SERVER_TIMEOUT_SECONDS:.0f} s")

    def stop(self) -> None:
        self.connection.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def check_answer(key: str, answer: Any, n_runs: int, last_run_id: str) -> None:
    """Fail loudly when a route did not answer what the panel needs."""
    if key.startswith("runs_") and key != "runs_filtered":
        if answer["total"] != n_runs or len(answer["runs"]) != 50:
            raise BenchError(f"{key}: expected a page of 50 of {n_runs} runs, got {answer}")
    if key == "runs_first_page" and answer["runs"][0]["id"] != last_run_id:
        raise BenchError("runs_first_page: the newest run is not first")
    if key == "run_detail" and answer["run"]["id"] != last_run_id:
        raise BenchError("run_detail answered another run")
    if key == "experiments" and answer["experiments"][0]["runs"] != n_runs:
        raise BenchError("experiments: wrong number of runs")


def measure_http(
    python: Path, root: Path, state: Path, n_runs: int, last_run_id: str, budget: float
) -> dict[str, Any]:
    server = Server(python, root, state)
    try:
        started = time.perf_counter()
        server.get("/jupyter-mlops/api/runs?experiment=bench")  # opens the registry
        results: dict[str, Any] = {"first_request": time.perf_counter() - started}
        for key, _, path in ROUTES:
            path = path.format(last_run_id=last_run_id, deep_page=deep_page(n_runs))
            check_answer(key, server.get(path), n_runs, last_run_id)
            timing, answer = repeat_timed(
                lambda path=path: server.get(path),
                min_repeats=5,
                max_repeats=200,
                budget_seconds=budget,
            )
            check_answer(key, answer, n_runs, last_run_id)
            results[key] = timing.to_dict()
        return results
    finally:
        server.stop()


def report(
    http_results: dict[str, Any],
    handler_results: dict[str, Any],
    build: dict[str, Any],
    facts: dict[str, Any],
) -> str:
    floor = Timing.from_dict(http_results["floor"]).median
    rows = []
    n_runs = build["runs"]
    for key, what, _ in ROUTES:
        what = what.format(deep_page=deep_page(n_runs), pages=-(-n_runs // 50))
        through = Timing.from_dict(http_results[key])
        handler = Timing.from_dict(handler_results[key]) if key in handler_results else None
        target = "< 100 ms" if key == "runs_first_page" else ""
        met = ("yes" if through.median < TARGET_SECONDS else "**no**") if target else ""
        rows.append(
            [
                what,
                format_seconds(through.median),
                format_seconds(handler.median) if handler else "–",
                f"{through.median / floor:.3g}×" if key != "floor" else "1×",
                target,
                met,
                f"{format_seconds(through.best)} ({through.n})"
                + (f" / {format_seconds(handler.best)} ({handler.n})" if handler else ""),
            ]
        )
    table = markdown_table(
        ["route", "through HTTP", "handler alone", "HTTP / peer", "target", "met",
         "best (samples): HTTP / handler"],
        rows,
    )  # fmt: skip
    machine = facts["machine"]
    return f"""Measured {machine["date"]} by `python bench/panel.py`, on {machine["cpu"]} ({machine["cores"]} cores, {machine["memory"]}), {machine["os"]}, Python {machine["python"]}, SQLite {machine["sqlite"]}; registry on {machine["filesystem"]}; load average {facts["load_before"]} before the run, {facts["load_after"]} after it (the machine is shared: the ratio to the peer, measured side by side, is steadier than absolute times). Versions: jupyter-mlops {facts["versions"]["jupyter-mlops"]}, jupyter_server {facts["versions"]["jupyter_server"]}, tornado {facts["versions"]["tornado"]}; at commit {facts["commit"]}.

{build["runs"]:,} finished runs in one experiment (5 params, 3 metrics, a 3-step curve each), recorded through the Python API in one transaction ({build["seconds"]:.1f} s). Figures are medians. "HTTP / peer" is how many times longer a route takes than Jupyter server's own `/api/status` on the same server and connection.

{table}

The first request after the server started, which opens the registry: {format_seconds(http_results["first_request"])} through HTTP; opening it in the handler's process: {format_seconds(handler_results["first_open"])}. The browser test (tests/test_panel_scale.py) measures the same population from a click on the panel's icon to the first page on screen: see test-artifacts/panel-scale.json of a test run.

How it was measured:

- A Jupyter server (`python -m jupyter_server`, token authentication, the jupyter-mlops extension on) in a temporary directory outside any git checkout, holding the registry. Each route is requested over one kept-alive HTTP/1.1 connection with the token header, as the panel does, repeated for up to the time budget (at least 5 times) after one untimed request; each answer is checked (50 runs of {build["runs"]:,}, the newest first, the right run).
- "Handler alone" calls the route's payload function (`jupyter_mlops.server.payloads`) on an open registry in a separate process: SQL, decoding and the JSON-ready answer, without tornado, the worker thread or HTTP. The difference to "through HTTP" is the server's share: authentication, the hop to the worker thread, `json.dumps`, the socket.
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="1,000 runs, short budgets")
    parser.add_argument("--runs", type=int, help="runs in the registry (default 10,000)")
    parser.add_argument("--python", type=Path, help="a Python with jupyter-mlops installed")
    parser.add_argument("--budget", type=float, help="seconds per route (default 5, smoke 1)")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    write = parser.add_mutually_exclusive_group()
    write.add_argument(
        "--write-results",
        dest="write_results",
        action="store_true",
        default=None,
        help="write the Panel section of RESULTS.md",
    )
    write.add_argument("--no-write-results", dest="write_results", action="store_false")
    return parser.parse_args(argv)


def python_of_ours(args: argparse.Namespace) -> Path:
    if args.python is not None:
        return args.python.absolute()  # not resolve(): a venv python is a symlink
    if args.smoke and can_import(sys.executable, "jupyter_mlops"):
        return Path(sys.executable)
    python = ensure_venv(OURS_VENV, create=True)
    assert python is not None
    return python


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    n_runs = args.runs or (1_000 if args.smoke else 10_000)
    budget = args.budget or (1.0 if args.smoke else 5.0)
    write_results = args.write_results if args.write_results is not None else not args.smoke
    python = python_of_ours(args)
    for module in ("jupyter_mlops", "jupyter_server"):
        if not can_import(python, module):
            raise BenchError(f"{python} cannot import {module}; pass --python with one that can")
    work = Path(tempfile.mkdtemp(prefix="mlops-bench-panel-"))
    root = work / "project"
    root.mkdir()
    machine = machine_info(work)
    load_before = load_average()
    started = time.perf_counter()
    try:
        log(f"Building {n_runs:,} runs in {root} ...")
        build = run_worker(python, [str(WORKER), "build", str(root), str(n_runs)], cwd=work)
        log(f"  ... in {build['seconds']:.1f} s. Timing the handlers ...")
        handler_results = run_worker(
            python, [str(WORKER), "handlers", str(root), str(budget)], cwd=work
        )
        log("Timing the routes through a Jupyter server ...")
        http_results = measure_http(
            python, root, work / "server", n_runs, build["last_run_id"], budget
        )
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    facts = {
        "machine": machine,
        "load_before": load_before,
        "load_after": load_average(),
        "commit": git_commit(Path(__file__).resolve().parent),
        "seconds": time.perf_counter() - started,
        "versions": {
            name: package_version(python, name) or "?"
            for name in ("jupyter-mlops", "jupyter_server", "tornado")
        },
    }
    rows = [
        [
            key,
            format_seconds(Timing.from_dict(http_results[key]).median),
            format_seconds(Timing.from_dict(handler_results[key]).median)
            if key in handler_results
            else "–",
        ]
        for key, _, _ in ROUTES
    ]
    print(plain_table(["route", "through HTTP", "handler alone"], rows))
    if args.json:
        args.json.write_text(
            json.dumps(
                {"http": http_results, "handlers": handler_results, "build": build, **facts},
                indent=1,
            )
        )
    if write_results:
        update_results_section(
            RESULTS_FILE, "Panel", report(http_results, handler_results, build, facts)
        )
        log(f"Wrote the Panel section of {RESULTS_FILE}")
    first_page = Timing.from_dict(http_results["runs_first_page"]).median
    return 0 if first_page < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
