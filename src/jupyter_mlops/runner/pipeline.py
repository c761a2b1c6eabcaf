"""Run an exported pipeline: each step in its own process, values passed as artifacts.

    result = run_pipeline("churn-pipeline", params=["lr=0.5"])
    [(s.name, s.status) for s in result.steps]    # [("prepare", "cached"), ("train", "ok")]

- The registry is the one that applies from the working directory (``MLOPS_REGISTRY``,
  else the nearest ``.mlops/registry.db``), or the one given; with none, a new one is
  made in the working directory.
- The run is recorded there as it happens (see :mod:`.records`): a run of kind
  ``pipeline`` with the parameters and every step's metrics, one run of kind
  ``pipeline-step`` per step that executes, and the status of each step.
- Steps run in dependency order, each in a process and process group of its own (see
  :mod:`.processes`): forked from a warm worker that imported the pipeline's setup code
  once (:mod:`.worker`; Linux), else started as ``python -m jupyter_mlops.runner.step``.
  A step that runs past its timeout
  (``timeout_s`` in the spec, else ``step_timeout``) is stopped with the processes it
  started and fails; when the runner is interrupted, the running step is stopped the
  same way and the run is recorded as killed.
- Values between steps are files in the registry's content-addressed artifact store
  (parquet for DataFrames, joblib for models and other objects, JSON for scalars).
- A step is skipped ("cached") when its code, the parameters it reads, its input
  artifacts and the files it read are unchanged, by content hash. A gate (or any step
  calling ``mlops.check``) reads the pipeline run's metrics and parameters: every
  parameter and the metrics of the steps before it are part of its key, so it is cached
  too, only ever as passed (a step that did not pass is never cached), and its verdicts
  are recorded again for the new run. A check that reads more of the registry
  (``champion.f1``, ``run=``) keeps its step out of the cache.
- ``from_step`` re-runs that step and everything downstream of it; the steps before
  it reuse their latest results.
- A failing gate (GateFailedError, or AssertionError in a ``gate`` step), a drift check
  whose decision reaches its stop rule, or a failing step stops everything downstream;
  with ``check=True`` a PipelineError is raised.
- At the end the run's metrics are compared with the notebook run the pipeline was
  exported from (:mod:`.parity`).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInputError, NotFoundError, PipelineError
from ..registry.artifacts import ArtifactStore, sha256_file
from ..tracking.secrets import redact_values
from .cache import CachedStep, RegistryStepCacheIndex, StepCacheIndex, is_current, step_key
from .params import parse_parameters
from .processes import check_step_timeout, interruption_message, timed_out_message
from .results import (
    PipelineRunResult,
    StepOutcome,
    StepResult,
    metric_records,
    output_records,
)
from .spec import DRIFT_STOP_RULES, SPEC_FILENAME, PipelineSpec, StepSpec
from .step import EXIT_DRIFT_STOPPED, EXIT_GATE_FAILED, EXIT_OK

if TYPE_CHECKING:
    from ..registry.connection import Registry
    from .records import PipelineRecorder
    from .worker import StepLauncher

logger = logging.getLogger(__name__)

RUNS_DIRNAME = "pipeline-runs"  # step logs and requests, under the registry directory
_STOPPED = ("failed", "gate_failed", "drift_stopped")


def run_pipeline(
    directory: str | Path,
    *,
    params: Mapping[str, Any] | Iterable[str] | None = None,
    from_step: str | None = None,
    registry: str | Path | Registry | None = None,
    workdir: str | Path | None = None,
    use_cache: bool = True,
    check: bool = True,
    on_progress: Callable[[StepResult], None] | None = None,
    cache_index: StepCacheIndex | None = None,
    python: str | None = None,
    experiment: str | None = None,
    drift_stop_on: str | None = None,
    step_timeout: float | None = None,
    warm_worker: bool | None = None,
) -> PipelineRunResult:
    """Run the pipeline in ``directory`` (written by ``export_notebook``) and record it.

    ``params`` are ``name=value`` strings or a mapping; ``registry`` is an open
    Registry, a registry file or its directory (found like git finds ``.git`` when
    omitted); ``workdir`` is where the steps run and read their files (the current
    directory by default). ``experiment`` defaults to the notebook run's experiment,
    else the pipeline's name; ``drift_stop_on`` (review, retrain, never) overrides the
    stop rule of every drift check. ``on_progress`` is called once per step as it ends.
    ``step_timeout`` is the seconds a step without a timeout of its own may run (None: no
    limit); a step past its time is stopped, with what it started, and fails.
    ``warm_worker`` (default: where the platform allows it, see :mod:`.worker`) forks the
    steps from a process that imported the setup code once; False spawns each step.

    Example::

        result = run_pipeline("churn-pipeline", params={"lr": "0.5"}, check=False)
        result.status, result.metrics                # ("ok", {"accuracy": 0.91})
        result.parity.summary()                      # 'parity not checked: ... lr ...'
    """
    from .records import PipelineRecorder
    from .worker import StepLauncher, launch_for

    pipeline_dir = Path(directory).resolve()
    spec = PipelineSpec.load(pipeline_dir)
    values = parse_parameters(spec, params)
    step_timeout = check_step_timeout(step_timeout)
    if drift_stop_on is not None and drift_stop_on not in DRIFT_STOP_RULES:
        raise InvalidInputError(
            f'"{drift_stop_on}" is not a drift stop rule',
            hint=f"Use one of: {', '.join(DRIFT_STOP_RULES)}.",
        )
    work = Path(workdir).resolve() if workdir is not None else Path.cwd()
    order = topological_order(spec)
    forced: set[str] = set()
    if from_step is not None:
        spec.step(from_step)  # raises NotFoundError naming the steps
        forced = {from_step} | spec.downstream_of(from_step)
    opened = open_pipeline_registry(registry, work)
    try:
        index = cache_index or RegistryStepCacheIndex(opened)
        store = opened.artifacts
        if from_step is not None:
            _check_restart(spec, order, forced, from_step, index, store)
        recorder = PipelineRecorder.start(
            opened,
            spec,
            (pipeline_dir / SPEC_FILENAME).read_text(encoding="utf-8"),
            values=values,
            order=order,
            directory=pipeline_dir,
            workdir=work,
            from_step=from_step,
            experiment=experiment,
        )
        run_dir = opened.directory / RUNS_DIRNAME / recorder.run_id
        launch = launch_for(
            python, pipeline_dir, work, run_dir, opened.directory.resolve(), hash_seed=spec.seed
        )
        context = _RunContext(
            spec=spec,
            pipeline_dir=pipeline_dir,
            work=work,
            store=store,
            index=index,
            recorder=recorder,
            run_dir=run_dir,
            values=values,
            launcher=StepLauncher(launch, warm=warm_worker),
            drift_stop_on=drift_stop_on,
            step_timeout=step_timeout,
        )
        try:
            run = _run_steps(context, order, forced, from_step, use_cache, on_progress)
        except BaseException as exc:
            status = "killed" if isinstance(exc, KeyboardInterrupt) else "failed"
            step = recorder.current_step
            log = context.run_dir / f"{step}.log" if step else None
            recorder.finish(status, failed_step=step, message=interruption_message(exc, step, log))
            raise
        finally:
            context.launcher.close()
    finally:
        if opened is not registry:
            opened.close()
    if check and not run.ok:
        raise run_failure(run)
    return run


def open_pipeline_registry(registry: str | Path | Registry | None, workdir: Path) -> Registry:
    """The registry a pipeline run records into: the one given (a Registry, a file or a
    directory), else ``MLOPS_REGISTRY`` or the nearest ``.mlops/registry.db`` from
    ``workdir`` up, else a new ``.mlops/registry.db`` in ``workdir``."""
    from ..registry.connection import Registry
    from ..registry.location import locate

    if isinstance(registry, Registry):
        return registry
    if registry is not None:
        return Registry.open(Path(registry), create=True)
    found = locate(workdir)
    if found is not None:
        return Registry.open(found, create=True)
    return Registry.init(workdir)


def topological_order(spec: PipelineSpec) -> list[str]:
    """Steps in an order that respects every dependency, notebook order otherwise."""
    position = {s.name: i for i, s in enumerate(spec.steps)}
    remaining = {s.name: set(s.depends_on) for s in spec.steps}
    order: list[str] = []
    while remaining:
        ready = sorted((n for n, deps in remaining.items() if not deps), key=position.__getitem__)
        if not ready:
            raise InvalidInputError(
                f'Pipeline "{spec.name}" has a dependency cycle among: {", ".join(remaining)}',
                hint="Export the notebook again; the exporter refuses cycles.",
            )
        name = ready[0]
        order.append(name)
        del remaining[name]
        for deps in remaining.values():
            deps.discard(name)
    return order


@dataclass
class _RunContext:
    spec: PipelineSpec
    pipeline_dir: Path
    work: Path
    store: ArtifactStore
    index: StepCacheIndex
    recorder: PipelineRecorder
    run_dir: Path
    values: dict[str, Any]
    launcher: StepLauncher
    drift_stop_on: str | None
    step_timeout: float | None = None


def _run_steps(
    ctx: _RunContext,
    order: list[str],
    forced: set[str],
    from_step: str | None,
    use_cache: bool,
    on_progress: Callable[[StepResult], None] | None,
) -> PipelineRunResult:
    from .parity import check_parity

    spec, recorder = ctx.spec, ctx.recorder
    ctx.run_dir.mkdir(parents=True, exist_ok=True)
    setup_sha = _file_sha(ctx.pipeline_dir / spec.setup_module)
    produced: dict[str, dict[str, dict[str, str]]] = {}  # step -> output name -> ref
    results: dict[str, StepResult] = {}
    stopped_by: dict[str, str] = {}  # step -> why it does not run
    started = time.perf_counter()
    status, failed_step, failure = "ok", None, None

    for name in order:
        step = spec.step(name)
        blocked = next((stopped_by[p] for p in step.depends_on if p in stopped_by), None)
        if blocked is not None:
            stopped_by[name] = blocked
            result = StepResult(name, "not_run", message=blocked)
            recorder.step_finished(step=name, status="not_run", duration=0.0, outputs={},
                                   message=blocked)  # fmt: skip
            _finish(results, result, on_progress)
            continue
        step_params = {p: ctx.values[p] for p in step.parameters}
        inputs = {i.name: produced[i.from_step][i.name] for i in step.inputs}
        key = step_key(
            module_sha=_file_sha(ctx.pipeline_dir / step.module_path),
            setup_sha=setup_sha,
            params=step_params,
            inputs={n: ref["sha"] for n, ref in inputs.items()},
            outputs=list(step.outputs),
            extra={**_drift_key(ctx, step), **_run_reads_key(ctx, step, results)},
        )
        reusable = _reusable(spec, step, key, ctx, forced, from_step, use_cache)
        if reusable is not None:
            entry, how = reusable
            produced[name] = entry.outputs
            result = StepResult(
                name,
                how,
                outputs=output_records(entry.outputs),
                metrics=metric_records(entry.metrics),
                run_id=entry.run_id or None,
            )
            recorder.step_finished(
                step=name,
                status=how,
                duration=0.0,
                outputs=entry.outputs,
                run_id=entry.run_id or None,
                cached=True,
                cache_key=entry.key,
                metrics=entry.metrics,
            )
            if step.reads_pipeline_run and entry.run_id:
                recorder.gate_verdicts_reused(entry.run_id)
            _finish(results, result, on_progress)
            continue
        recorder.step_started(name)
        result, outcome = _run_step(ctx, step, step_params, inputs)
        recorder.step_finished(
            step=name,
            status=result.status,
            duration=result.duration_s,
            outputs=outcome.outputs if result.status == "ok" else {},
            message=result.message,
            log_path=result.log_path,
            run_id=result.run_id,
            cache_key=key,
            metrics=list(outcome.metrics),
        )
        _finish(results, result, on_progress)
        if result.status == "ok" and outcome.uncacheable:
            produced[name] = outcome.outputs
            logger.info("Step %s is not cached: %s", name, outcome.uncacheable)
            continue
        if result.status == "ok":
            produced[name] = outcome.outputs
            ctx.index.put(
                CachedStep(
                    key=key,
                    pipeline=spec.name,
                    step=name,
                    outputs=outcome.outputs,
                    metrics=list(outcome.metrics),
                    files_read=outcome.files_read,
                    files_written=outcome.files_written,
                    run_id=result.run_id or "",
                )
            )
            continue
        stopped_by[name] = {
            "gate_failed": f'gate "{name}" failed',
            "drift_stopped": f'the drift check in "{name}" stopped the pipeline',
        }.get(result.status, f'step "{name}" failed')
        if status == "ok":
            status, failed_step, failure = result.status, name, result.message

    parity = check_parity(
        ctx.recorder.registry,
        recorder.run_id,
        spec.source.exported_from_run_id,
        seed=spec.seed,
        unseeded=spec.unseeded_calls,
    )
    metrics = {m.key: m.value for s in results.values() for m in s.metrics
               if not m.key.startswith("drift.")}  # fmt: skip
    run = PipelineRunResult(
        run_id=recorder.run_id,
        pipeline=spec.name,
        status=status,
        parameters=ctx.values,
        steps=tuple(results[n] for n in order),
        duration_s=time.perf_counter() - started,
        run_dir=str(ctx.run_dir),
        failed_step=failed_step,
        metrics=metrics,
        registry_path=str(ctx.recorder.registry.path),
        experiment=recorder.run.experiment,
        parity=parity,
    )
    message = None if failed_step is None else f'step "{failed_step}": {failure}'
    recorder.finish(status, failed_step=failed_step, message=message, parity=parity.to_dict())
    summary = {**asdict(run), "parameters": redact_values(run.parameters)}  # a record: no secrets
    (ctx.run_dir / "summary.json").write_text(
        json.dumps(summary, indent=1, default=repr), encoding="utf-8"
    )
    return run


def _drift_key(ctx: _RunContext, step: StepSpec) -> dict[str, Any]:
    """What a step's drift checks depend on besides its code and inputs: the stop rule in
    force and each reference, by the bytes of its bundled file, else by the snapshot the
    registry gives for it (what :func:`.drift_check.load_reference` will read)."""
    if not step.drift_checks:
        return {}
    from .drift_check import find_reference_snapshot

    references = []
    for check in step.drift_checks:
        sha = _file_sha(ctx.pipeline_dir / check.reference_file) if check.reference_file else ""
        if not sha:
            found = find_reference_snapshot(
                ctx.recorder.registry, check, ctx.spec.source.exported_from_run_id
            )
            sha = f"snapshot:{found}" if found else ""
        references.append(sha)
    return {
        "stop_on": [ctx.drift_stop_on or check.stop_on for check in step.drift_checks],
        "references": references,
    }


def _run_reads_key(
    ctx: _RunContext, step: StepSpec, before: Mapping[str, StepResult]
) -> dict[str, Any]:
    """What a gate (a step that reads the pipeline run) depends on besides its code and
    inputs: every parameter, and the metrics the steps before it gave the pipeline run."""
    if not step.reads_pipeline_run:
        return {}
    return {
        "run_params": ctx.values,
        "run_metrics": [
            [s.name, m.key, m.value, m.step] for s in before.values() for m in s.metrics
        ],  # fmt: skip
    }


def _check_restart(
    spec: PipelineSpec,
    order: list[str],
    forced: set[str],
    from_step: str,
    index: StepCacheIndex,
    store: ArtifactStore,
) -> None:
    """``--from STEP`` needs an earlier result of every step before it: say so up front."""
    for name in order:
        if name in forced:
            continue
        step = spec.step(name)
        last = index.last(spec.name, name)
        usable = last is not None and all(
            output in last.outputs and store.exists(last.outputs[output]["sha"])
            for output in step.outputs
        )
        if not usable:
            raise NotFoundError(
                f'Cannot start at "{from_step}": step "{name}" before it has no earlier'
                " result to reuse",
                hint="Run the whole pipeline once, then restart with --from.",
            )


def _reusable(
    spec: PipelineSpec,
    step: StepSpec,
    key: str,
    ctx: _RunContext,
    forced: set[str],
    from_step: str | None,
    use_cache: bool,
) -> tuple[CachedStep, str] | None:
    if step.name in forced:
        return None
    if from_step is not None:
        last = ctx.index.last(spec.name, step.name)
        assert last is not None  # checked by _check_restart
        return last, "reused"
    if not use_cache:
        return None
    entry = ctx.index.get(key)
    if entry is not None and is_current(entry, ctx.work, ctx.store):
        return entry, "cached"
    return None


def _run_step(
    ctx: _RunContext,
    step: StepSpec,
    params: dict[str, Any],
    inputs: dict[str, dict[str, str]],
) -> tuple[StepResult, StepOutcome]:
    request_path = ctx.run_dir / f"{step.name}.request.json"
    result_path = ctx.run_dir / f"{step.name}.result.json"
    log_path = ctx.run_dir / f"{step.name}.log"
    registry = ctx.recorder.registry
    request = {
        "pipeline_dir": str(ctx.pipeline_dir),
        "pipeline": ctx.spec.name,
        "step": step.name,
        "module": step.module_path,
        "code_sha256": step.code_sha256,
        "inputs": inputs,
        "params": params,
        "outputs": list(step.outputs),
        "artifacts_root": str(ctx.store.root.resolve()),
        "registry_dir": str(registry.directory.resolve()),
        "registry_path": str(registry.path.resolve()),
        "pipeline_run_id": ctx.recorder.run_id,
        "experiment": ctx.recorder.run.experiment,
        "result_path": str(result_path),
        "gate": step.gate,
        "file_hints": list(step.file_hints),
        "drift_checks": [asdict(check) for check in step.drift_checks],
        "drift_stop_on": ctx.drift_stop_on,
        "runner_pid": os.getpid(),
    }
    request_path.write_text(json.dumps(request, indent=1, default=repr), encoding="utf-8")
    timeout = step.timeout_s if step.timeout_s is not None else ctx.step_timeout
    try:
        ended = ctx.launcher.run(request_path, log_path, timeout)
    finally:  # the request holds the parameters' values, secrets too; the step has read it
        request_path.unlink(missing_ok=True)
    duration = ended.duration_s
    try:
        outcome = StepOutcome.from_json(json.loads(result_path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        outcome = StepOutcome("failed", error_message=_tail(log_path))
    code = ended.returncode
    if ended.timed_out:
        status, message = "failed", timed_out_message(ended, log_path)
        registry.mark_crashed_runs()  # the step's run, when SIGKILL left it running
    elif code == EXIT_OK and outcome.status == "ok":
        status = "ok"
        message = "; ".join(f"drift on {d['variable']}: {d['decision']}" for d in outcome.drift)
    else:
        status = {EXIT_GATE_FAILED: "gate_failed", EXIT_DRIFT_STOPPED: "drift_stopped"}.get(
            code, "failed"
        )
        message = outcome.error_message or f"exited with code {code}"
        if outcome.error_type and status == "failed":
            message = f"{outcome.error_type}: {message}"
    result = StepResult(
        step.name,
        status,
        duration_s=duration,
        outputs=outcome.output_records,
        metrics=outcome.metric_records,
        message=message,
        log_path=str(log_path),
        run_id=outcome.run_id,
    )
    return result, outcome


def run_failure(run: PipelineRunResult) -> PipelineError:
    """The PipelineError a run that did not pass raises with ``check=True``: the step, what
    it said, what did not run, where its log is."""
    failed = run.step(run.failed_step or "")
    kind = {"gate_failed": "Gate", "drift_stopped": "Drift check in step"}.get(run.status, "Step")
    not_run = [s.name for s in run.steps if s.status == "not_run"]
    return PipelineError(
        f'{kind} "{failed.name}" of pipeline "{run.pipeline}" failed: {failed.message}'
        + (f"; not run: {', '.join(not_run)}" if not_run else ""),
        step=failed.name,
        hint=f"The step's output is in {failed.log_path}. Fix it, then re-run"
        f" with --from {failed.name} to start there.",
    )


def _finish(
    results: dict[str, StepResult],
    result: StepResult,
    on_progress: Callable[[StepResult], None] | None,
) -> None:
    results[result.name] = result
    logger.info("%s", result.progress_line())
    if on_progress is not None:
        on_progress(result)


def _file_sha(path: Path) -> str:
    return sha256_file(path) if path.is_file() else ""


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
