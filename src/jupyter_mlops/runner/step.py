"""One pipeline step, run in a process of its own.

    python -m jupyter_mlops.runner.step REQUEST.json

The request (written by the runner) names the step module, its inputs (artifact
hashes and formats), its parameter values, the outputs to save, the registry and the
pipeline run. This process opens the registry and starts a tracked run of kind
``pipeline-step`` for the step (so ``mlops.log``, ``mlops.snapshot``,
``mlops.register_model`` and ``mlops.check`` in the step's code record into it), loads
the inputs from the artifact store, runs the module with them defined, saves each
output back into the store and links it to the run, ends the run, and writes a result
JSON: its run id, outputs, last metric values, gate checks, drift checks, and the files
the step read and wrote with their sha256 (so that a later run can tell whether an input
file changed, whatever its timestamp says).

Exit codes: 0 the step finished, 1 it failed, 3 its gate failed (GateFailedError, or an
AssertionError in a ``gate`` step), 4 a drift check stopped it.

The process binds its life to the runner's first thing (see :mod:`.processes`), and
SIGTERM (the runner stopping it: a timeout, an interrupted run) is a KeyboardInterrupt
in the step's code, so the step's run ends as killed and its result is still written.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_GATE_FAILED = 3
EXIT_DRIFT_STOPPED = 4

_IGNORED_PREFIXES = ("/proc/", "/sys/", "/dev/", "/etc/", "/usr/", "/lib/", "/lib64/", "/bin/")


@dataclass
class FileAccess:
    """Files a step opened, collected by an audit hook (``open`` events) while ``active``.

    The warm worker makes one before it imports the pipeline's setup code, so that the
    files the setup reads count for every step forked from it (see :mod:`.worker`).
    """

    ignored_roots: tuple[str, ...]  # Python, its packages, caches, the temp folder
    workdir: str = ""  # files under the step's working directory count even there...
    own_roots: tuple[str, ...] = ()  # ...except the pipeline's and the artifact store's
    read: dict[str, None] = field(default_factory=dict)
    written: dict[str, None] = field(default_factory=dict)
    active: bool = True

    @classmethod
    def for_step(cls, workdir: Path, registry_dir: str | Path, pipeline_dir: Path) -> FileAccess:
        """What a step in ``workdir`` counts: its files, not Python's, the registry's or the
        pipeline's own."""
        return cls(
            ignored_roots=_installation_roots(),
            workdir=os.path.join(str(workdir), ""),
            own_roots=tuple(
                os.path.join(str(Path(p).resolve()), "") for p in (registry_dir, pipeline_dir)
            ),
        )

    def hook(self, event: str, args: tuple[Any, ...]) -> None:
        if event != "open" or not self.active:
            return
        path, mode, flags = args
        if not isinstance(path, (str, bytes, os.PathLike)):
            return
        try:
            full = os.path.abspath(os.fsdecode(path))
        except (TypeError, ValueError):
            return
        if self.own_roots and full.startswith(self.own_roots):
            return
        in_workdir = bool(self.workdir) and full.startswith(self.workdir)
        if not in_workdir and (
            full.startswith(_IGNORED_PREFIXES) or full.startswith(self.ignored_roots)
        ):
            return
        writing = (
            any(c in mode for c in "wax+") if isinstance(mode, str)
            else bool(flags & (os.O_WRONLY | os.O_RDWR))
        )  # fmt: skip
        if writing:
            self.written[full] = None
        elif full not in self.written:
            self.read[full] = None


def file_digests(paths: list[str], workdir: Path) -> dict[str, str]:
    """sha256 of each existing regular file, keyed by a path relative to ``workdir``
    when the file lies under it."""
    from ..registry.artifacts import sha256_file

    digests: dict[str, str] = {}
    for path in paths:
        file = Path(path)
        if not file.is_file():
            continue
        try:
            key = str(file.relative_to(workdir))
        except ValueError:
            key = str(file)
        digests[key] = sha256_file(file)
    return digests


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m jupyter_mlops.runner.step REQUEST.json", file=sys.stderr)
        return 2
    return run_request_file(Path(argv[0]))


def run_request_file(
    path: Path, *, parent_pid: int | None = None, access: FileAccess | None = None
) -> int:
    """Run the step the request file at ``path`` describes, in this process; write its
    result file; return the exit code.

    The process first binds its life to its parent's: the runner's (``runner_pid`` in
    the request), or ``parent_pid`` for a step forked by the warm worker.
    """
    request = json.loads(path.read_text(encoding="utf-8"))
    from .processes import die_with_runner, sigterm_interrupts

    parent = parent_pid if parent_pid is not None else request.get("runner_pid")
    if parent:
        die_with_runner(int(parent))
    result_path = Path(request["result_path"])
    started = time.perf_counter()
    result: dict[str, Any] = {"step": request["step"], "outputs": {}}
    with sigterm_interrupts():
        code = run_request(request, result, access)
    result["duration_s"] = time.perf_counter() - started
    result["cpu_s"] = time.process_time()  # of this process, since it started or was forked
    result_path.write_text(json.dumps(result, indent=1, default=repr), encoding="utf-8")
    return code


def run_request(
    request: dict[str, Any], result: dict[str, Any], access: FileAccess | None = None
) -> int:
    """Run the step described by ``request``; fill ``result``; return the exit code.

    ``access`` is the warm worker's (it holds what the setup code read); None: a new one.
    ``result["code_s"]`` is how long the step's own code ran (``code_cpu_s``: its CPU
    time), the rest of the process's time being the runner's machinery (bench/pipeline.py
    reports the difference; ``cpu_s`` is the whole process's CPU time).
    """
    from ..errors import GateFailedError, MlopsError
    from ..registry.artifacts import ArtifactStore
    from . import step_api
    from .serialization import load_value, save_value

    pipeline_dir = Path(request["pipeline_dir"]).resolve()
    workdir = Path.cwd()
    store = ArtifactStore(Path(request["artifacts_root"]))
    steps_dir = pipeline_dir / "steps"
    sys.path.insert(0, str(steps_dir))
    if access is None:
        access = FileAccess.for_step(
            workdir, request.get("registry_dir") or store.root, pipeline_dir
        )
        access.active = False
        sys.addaudithook(access.hook)
    context = step_api.set_context(_context_for(request, pipeline_dir))
    assert context is not None
    namespace: dict[str, Any] = dict(request.get("params", {}))
    code, error = EXIT_OK, None
    try:
        _start_step_run(context, request, pipeline_dir)
        for name, ref in request.get("inputs", {}).items():
            namespace[name] = load_value(store, ref["sha"], ref["format"])
        access.active = True
        code_started, code_cpu = time.perf_counter(), time.process_time()
        try:
            module_globals = runpy.run_path(
                str(pipeline_dir / request["module"]),
                init_globals=namespace,
                run_name=f"mlops_step_{request['step']}",
            )
        finally:
            result["code_s"] = time.perf_counter() - code_started
            result["code_cpu_s"] = time.process_time() - code_cpu
        missing = [name for name in request.get("outputs", ()) if name not in module_globals]
        if missing:
            raise _MissingOutput(missing)
        for name in request.get("outputs", ()):
            fmt, sha = save_value(store, module_globals[name])
            result["outputs"][name] = {"format": fmt, "sha": sha}
        result["status"] = "ok"
    except BaseException as exc:  # noqa: BLE001 - everything a step raises is reported
        error = exc
        gate_failed = isinstance(exc, GateFailedError) or (
            request.get("gate") and isinstance(exc, AssertionError)
        )
        if gate_failed and context.drift_stopped:
            code, result["status"] = EXIT_DRIFT_STOPPED, "drift_stopped"
        elif gate_failed:
            code, result["status"] = EXIT_GATE_FAILED, "gate_failed"
        else:
            code, result["status"] = EXIT_FAILED, "failed"
        result["error"] = {
            "type": type(exc).__name__,
            "message": _message(exc),
            "hint": exc.hint if isinstance(exc, MlopsError) else None,
            "traceback": "".join(traceback.format_exception(exc)),
        }
        traceback.print_exception(exc, file=sys.stderr)
    access.active = False
    _end_step_run(context, result, error)
    result["checks"] = context.checks
    if context.reads_registry:
        result["uncacheable"] = context.reads_registry
    result["drift"] = context.drift
    read = [p for p in access.read if p not in access.written]
    # Paths the code names literally count too: C++ readers (pyarrow) bypass the hook.
    for hint in request.get("file_hints", ()):
        full = os.path.abspath(hint)
        if full not in access.written and full not in read:
            read.append(full)
    result["files_read"] = file_digests(read, workdir)
    result["files_written"] = file_digests(list(access.written), workdir)
    return code


def _context_for(request: dict[str, Any], pipeline_dir: Path) -> Any:
    from . import step_api
    from .spec import DriftCheckSpec

    checks = {c["variable"]: DriftCheckSpec(**c) for c in request.get("drift_checks", ())}
    return step_api.StepContext(
        pipeline=request.get("pipeline", ""),
        step=request["step"],
        pipeline_dir=pipeline_dir,
        pipeline_run_id=request.get("pipeline_run_id"),
        params=dict(request.get("params", {})),
        drift_checks=checks,
        drift_stop_on=request.get("drift_stop_on"),
        gate=bool(request.get("gate")),
    )


def _start_step_run(context: Any, request: dict[str, Any], pipeline_dir: Path) -> None:
    """Open the registry and start the step's run (kind ``pipeline-step``)."""
    registry_path = request.get("registry_path")
    if not registry_path:
        return
    from ..registry.connection import Registry
    from ..tracking.session import start_run, use_registry

    registry = Registry.open(Path(registry_path), create=True)
    use_registry(registry)
    context.registry = registry
    tags = {
        "pipeline": context.pipeline,
        "pipeline.step": context.step,
        "pipeline.code_sha256": request.get("code_sha256", ""),
        **(request.get("tags") or {}),
    }
    parent = None
    if context.pipeline_run_id:
        tags["pipeline.run_id"] = context.pipeline_run_id
        # A child of the pipeline's run, so lists count it on that run's line; the
        # pipeline run may live in another registry (a cluster's), then the tag says it.
        known = registry.query_one("SELECT 1 FROM runs WHERE id = ?", (context.pipeline_run_id,))
        parent = context.pipeline_run_id if known is not None else None
    run = start_run(
        f"{context.pipeline}.{context.step}",
        experiment=request.get("experiment"),
        tags=tags,
        kind="pipeline-step",
        registry=registry,
        workdir=Path.cwd(),
        parent=parent if parent is not None else False,
    )
    context.run = run
    run.record_params(dict(request.get("params", {})), source="pipeline")
    module = pipeline_dir / request["module"]
    try:
        run.record_cell(module.read_text(encoding="utf-8"), cell_id=request["module"])
    except OSError:
        pass


def _end_step_run(context: Any, result: dict[str, Any], error: BaseException | None) -> None:
    """Link the outputs to the step's run, end it with the step's status, report its id."""
    from ..errors import MlopsError

    run = context.run
    if run is None:
        result["metrics"] = context.metrics
        result["logged_params"] = context.logged_params
        return
    result["run_id"] = run.id
    from ..tracking.run_endings import describe_exception
    from .records import link_artifact

    try:
        for name, ref in result.get("outputs", {}).items():
            link_artifact(context.registry, run.id, name, ref["sha"], ref["format"])
        status = {"ok": "finished", "killed": "killed"}.get(result.get("status", ""), "failed")
        if isinstance(error, KeyboardInterrupt):
            status = "killed"
        run.end(status, error=describe_exception(error))
        rows = context.registry.query(
            "SELECT key, last, last_step FROM metric_summaries WHERE run_id = ?", (run.id,)
        )
        result["metrics"] = [
            {"key": r[0], "value": float("nan") if r[1] is None else r[1], "step": r[2]}
            for r in rows
        ]
    except MlopsError as exc:  # the step's own outcome stands; say what was not recorded
        print(f"jupyter-mlops: the step's run was not fully recorded: {exc}", file=sys.stderr)
        result.setdefault("metrics", [])


def _installation_roots() -> tuple[str, ...]:
    """Folders whose files belong to Python and its packages, not to the step's data."""
    import site
    import sysconfig

    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix}
    roots.update(p for p in sysconfig.get_paths().values() if p)
    roots.update(site.getsitepackages())
    roots.add(str(Path(__file__).resolve().parents[1]))  # jupyter_mlops itself
    # Caches that libraries keep for themselves (fonts, compiled kernels, temp files).
    home = Path.home()
    roots.update(str(home / name) for name in (".cache", ".config", ".local", ".keras"))
    roots.add(tempfile.gettempdir())
    return tuple(os.path.join(os.path.abspath(r), "") for r in roots)


class _MissingOutput(Exception):
    def __init__(self, names: list[str]) -> None:
        super().__init__(
            "the step finished without defining "
            + ", ".join(repr(n) for n in names)
            + ", which later steps read (was it assigned only in a branch that did not run?)"
        )


def _message(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, AssertionError) and not text:
        tb = traceback.extract_tb(exc.__traceback__)
        line = tb[-1].line if tb else ""
        return f"assertion failed: {line}" if line else "assertion failed"
    return text or type(exc).__name__


if __name__ == "__main__":
    sys.exit(main())
