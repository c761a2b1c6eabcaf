"""Run an exported pipeline: each step in its own process, values passed as artifacts.

    result = run_pipeline("churn-pipeline", params=["lr=0.5"])
    [(s.name, s.status) for s in result.steps]    # [("prepare", "cached"), ("train", "ok")]

- Steps run in dependency order, each as ``python -m jupyter_mlops.runner.step``.
- Values between steps are files in the registry's content-addressed artifact store
  (parquet for DataFrames, joblib for models and other objects, JSON for scalars).
- A step is skipped ("cached") when its code, the parameters it reads, its input
  artifacts and the files it read are unchanged, by content hash.
- ``from_step`` re-runs that step and everything downstream of it; the steps before
  it reuse their latest results.
- A failing gate (GateFailedError, or AssertionError in a ``gate`` step) or a failing
  step stops everything downstream; with ``check=True`` a PipelineError is raised.

Registry logging of pipeline and step runs comes with the registry's tracking API;
for now the summary of each run is written to ``<registry>/pipeline-runs/<run id>/``.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..artifacts import ArtifactStore, sha256_file
from ..errors import InvalidInputError, NotFoundError, PipelineError
from .cache import CachedStep, FileStepCacheIndex, StepCacheIndex, is_current, step_key
from .params import parse_parameters
from .spec import PipelineSpec, StepSpec
from .step import EXIT_GATE_FAILED, EXIT_OK

logger = logging.getLogger(__name__)

REGISTRY_DIRNAME = ".mlops"


@dataclass(frozen=True)
class StepResult:
    """What happened to one step. ``status`` is ok, cached, reused, failed,
    gate_failed or not_run."""

    name: str
    status: str
    duration_s: float = 0.0
    outputs: tuple[tuple[str, str, str], ...] = ()  # (name, format, sha)
    metrics: tuple[tuple[str, float, int | None], ...] = ()
    message: str = ""
    log_path: str = ""

    @property
    def ran(self) -> bool:
        return self.status in ("ok", "failed", "gate_failed")

    def progress_line(self) -> str:
        """One line for the terminal: name, status, duration and what was reused."""
        label = {
            "ok": "ok",
            "cached": "skipped (cached: unchanged)",
            "reused": "skipped (reused: before --from)",
            "failed": "FAILED",
            "gate_failed": "GATE FAILED",
            "not_run": "not run",
        }[self.status]
        line = f"{self.name:<24} {label:<32} {self.duration_s:7.2f} s"
        return f"{line}  {self.message}" if self.message else line


@dataclass(frozen=True)
class PipelineRunResult:
    """A whole run: ``status`` is ok, failed or gate_failed."""

    run_id: str
    pipeline: str
    status: str
    parameters: dict[str, Any]
    steps: tuple[StepResult, ...]
    duration_s: float
    run_dir: str = ""
    failed_step: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def step(self, name: str) -> StepResult:
        return next(s for s in self.steps if s.name == name)


def run_pipeline(
    directory: str | Path,
    *,
    params: Mapping[str, Any] | Iterable[str] | None = None,
    from_step: str | None = None,
    registry: str | Path | None = None,
    workdir: str | Path | None = None,
    use_cache: bool = True,
    check: bool = True,
    on_progress: Callable[[StepResult], None] | None = None,
    cache_index: StepCacheIndex | None = None,
    python: str | None = None,
) -> PipelineRunResult:
    """Run the pipeline in ``directory`` (written by ``export_notebook``).

    ``params`` are ``name=value`` strings or a mapping; ``registry`` is the registry
    directory (``.mlops``) or its ``registry.db`` (found like git finds ``.git`` when
    omitted); ``workdir`` is where the steps run and read their files (the current
    directory by default). ``on_progress`` is called once per step as it finishes.

    Example::

        result = run_pipeline("churn-pipeline", params={"lr": "0.5"}, check=False)
        result.status, result.metrics                # ("ok", {"accuracy": 0.91})
    """
    pipeline_dir = Path(directory).resolve()
    spec = PipelineSpec.load(pipeline_dir)
    values = parse_parameters(spec, params)
    work = Path(workdir).resolve() if workdir is not None else Path.cwd()
    registry_dir = locate_registry_dir(registry, work)
    store = ArtifactStore(registry_dir / "artifacts")
    index = cache_index or FileStepCacheIndex(registry_dir / "pipeline-cache")
    order = topological_order(spec)
    forced: set[str] = set()
    if from_step is not None:
        spec.step(from_step)  # raises NotFoundError naming the steps
        forced = {from_step} | spec.downstream_of(from_step)

    run_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
    run_dir = registry_dir / "pipeline-runs" / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    setup_sha = _file_sha(pipeline_dir / spec.setup_module)
    produced: dict[str, dict[str, dict[str, str]]] = {}  # step -> output name -> ref
    results: dict[str, StepResult] = {}
    stopped_by: dict[str, str] = {}  # step -> why it does not run
    started = time.perf_counter()
    status, failed_step = "ok", None

    for name in order:
        step = spec.step(name)
        blocked = next((stopped_by[p] for p in step.depends_on if p in stopped_by), None)
        if blocked is not None:
            stopped_by[name] = blocked
            result = StepResult(name, "not_run", message=blocked)
            _finish(results, result, on_progress)
            continue
        step_params = {p: values[p] for p in step.parameters}
        inputs = {i.name: produced[i.from_step][i.name] for i in step.inputs}
        key = step_key(
            module_sha=_file_sha(pipeline_dir / step.module_path),
            setup_sha=setup_sha,
            params=step_params,
            inputs={n: ref["sha"] for n, ref in inputs.items()},
            outputs=list(step.outputs),
        )
        reusable = _reusable(spec, step, key, index, store, work, forced, from_step, use_cache)
        if reusable is not None:
            entry, how = reusable
            produced[name] = entry.outputs
            result = StepResult(
                name,
                how,
                outputs=_output_rows(entry.outputs),
                metrics=_metric_rows(entry.metrics),
            )
            _finish(results, result, on_progress)
            continue
        result, outcome = _run_step(
            spec, step, pipeline_dir, work, store, run_dir, step_params, inputs, python
        )
        _finish(results, result, on_progress)
        if result.status == "ok":
            produced[name] = outcome["outputs"]
            index.put(
                CachedStep(
                    key=key,
                    pipeline=spec.name,
                    step=name,
                    outputs=outcome["outputs"],
                    metrics=outcome.get("metrics", []),
                    files_read=outcome.get("files_read", {}),
                    files_written=outcome.get("files_written", {}),
                    run_id=run_id,
                )
            )
            continue
        why = "gate" if result.status == "gate_failed" else "step"
        stopped_by[name] = f'{why} "{name}" failed'
        if status == "ok":
            status, failed_step = result.status, name

    run = PipelineRunResult(
        run_id=run_id,
        pipeline=spec.name,
        status=status,
        parameters=values,
        steps=tuple(results[n] for n in order),
        duration_s=time.perf_counter() - started,
        run_dir=str(run_dir),
        failed_step=failed_step,
        metrics={key: value for s in results.values() for key, value, _ in s.metrics},
    )
    (run_dir / "summary.json").write_text(
        json.dumps(asdict(run), indent=1, default=repr), encoding="utf-8"
    )
    if check and not run.ok:
        failed = run.step(failed_step or "")
        kind = "Gate" if run.status == "gate_failed" else "Step"
        not_run = [s.name for s in run.steps if s.status == "not_run"]
        raise PipelineError(
            f'{kind} "{failed.name}" of pipeline "{spec.name}" failed: {failed.message}'
            + (f"; not run: {', '.join(not_run)}" if not_run else ""),
            step=failed.name,
            hint=f"The step's output is in {failed.log_path}. Fix it, then re-run"
            f" with --from {failed.name} to start there.",
        )
    return run


def locate_registry_dir(registry: str | Path | None, workdir: Path) -> Path:
    """The registry directory: the one given, else ``MLOPS_REGISTRY``, else the nearest
    ``.mlops`` from ``workdir`` upwards, else a new ``.mlops`` in ``workdir``."""
    candidate: Path | None = None
    if registry is not None:
        candidate = Path(registry)
    elif os.environ.get("MLOPS_REGISTRY"):
        candidate = Path(os.environ["MLOPS_REGISTRY"])
    if candidate is not None:
        return candidate.parent if candidate.suffix == ".db" else candidate
    for folder in (workdir, *workdir.parents):
        if (folder / REGISTRY_DIRNAME).is_dir():
            return folder / REGISTRY_DIRNAME
    return workdir / REGISTRY_DIRNAME


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


def _reusable(
    spec: PipelineSpec,
    step: StepSpec,
    key: str,
    index: StepCacheIndex,
    store: ArtifactStore,
    work: Path,
    forced: set[str],
    from_step: str | None,
    use_cache: bool,
) -> tuple[CachedStep, str] | None:
    if step.name in forced:
        return None
    if from_step is not None:
        last = index.last(spec.name, step.name)
        usable = last is not None and all(
            name in last.outputs and store.exists(last.outputs[name]["sha"])
            for name in step.outputs
        )
        if last is None or not usable:
            raise NotFoundError(
                f'Cannot start at "{from_step}": step "{step.name}" before it has no earlier'
                " result to reuse",
                hint="Run the whole pipeline once, then restart with --from.",
            )
        return last, "reused"
    if not use_cache:
        return None
    entry = index.get(key)
    if entry is not None and is_current(entry, work, store):
        return entry, "cached"
    return None


def _run_step(
    spec: PipelineSpec,
    step: StepSpec,
    pipeline_dir: Path,
    work: Path,
    store: ArtifactStore,
    run_dir: Path,
    params: dict[str, Any],
    inputs: dict[str, dict[str, str]],
    python: str | None,
) -> tuple[StepResult, dict[str, Any]]:
    request_path = run_dir / f"{step.name}.request.json"
    result_path = run_dir / f"{step.name}.result.json"
    log_path = run_dir / f"{step.name}.log"
    request = {
        "pipeline_dir": str(pipeline_dir),
        "step": step.name,
        "module": step.module_path,
        "inputs": inputs,
        "params": params,
        "outputs": list(step.outputs),
        "artifacts_root": str(store.root.resolve()),
        "registry_dir": str(store.root.resolve().parent),
        "result_path": str(result_path),
        "gate": step.gate,
        "file_hints": list(step.file_hints),
    }
    request_path.write_text(json.dumps(request, indent=1, default=repr), encoding="utf-8")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (_source_checkout_root(), env.get("PYTHONPATH", "")) if p
    )
    env.setdefault("PYTHONHASHSEED", "0")
    started = time.perf_counter()
    with open(log_path, "wb") as log:
        completed = subprocess.run(
            [python or sys.executable, "-m", "jupyter_mlops.runner.step", str(request_path)],
            cwd=work,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    duration = time.perf_counter() - started
    try:
        outcome = json.loads(result_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        outcome = {"status": "failed", "error": {"message": _tail(log_path)}}
    code = completed.returncode
    if code == EXIT_OK and outcome.get("status") == "ok":
        status, message = "ok", ""
        if step.drift_checks:
            variables = ", ".join(c.variable for c in step.drift_checks)
            message = f"drift checks on {variables} are recorded but not evaluated yet"
            logger.warning('Step "%s": %s', step.name, message)
    else:
        status = "gate_failed" if code == EXIT_GATE_FAILED else "failed"
        error = outcome.get("error") or {}
        message = error.get("message") or f"exited with code {code}"
        if error.get("type") and status == "failed":
            message = f"{error['type']}: {message}"
    result = StepResult(
        step.name,
        status,
        duration_s=duration,
        outputs=_output_rows(outcome.get("outputs", {})),
        metrics=_metric_rows(outcome.get("metrics", [])),
        message=message,
        log_path=str(log_path),
    )
    return result, outcome


def _source_checkout_root() -> str:
    """The folder holding ``jupyter_mlops`` when it runs from a source tree put on
    ``sys.path`` by hand, so that step processes import the same code; '' when it is
    installed (putting site-packages on PYTHONPATH would shadow the standard library)."""
    import site

    root = Path(__file__).resolve().parents[2]
    installed = {Path(p).resolve() for p in site.getsitepackages()}
    user_site = site.getusersitepackages()
    if user_site:
        installed.add(Path(user_site).resolve())
    return "" if root in installed else str(root)


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


def _output_rows(outputs: dict[str, dict[str, str]]) -> tuple[tuple[str, str, str], ...]:
    return tuple((n, ref["format"], ref["sha"]) for n, ref in outputs.items())


def _metric_rows(metrics: list[dict[str, Any]]) -> tuple[tuple[str, float, int | None], ...]:
    return tuple((m["key"], m["value"], m.get("step")) for m in metrics)


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
