"""What a pipeline run returns: each step's result and the run's, as frozen records.

A step process reports back through a JSON file (see :mod:`.step`); the runner reads it
once into a :class:`StepOutcome` and builds the :class:`StepResult` the callers see.

    result = run_pipeline("churn-pipeline")
    [(o.name, o.format) for o in result.step("train").outputs]   # [("model", "joblib")]
    {m.key: m.value for m in result.step("train").metrics}        # {"accuracy": 0.93}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .parity import ParityReport


@dataclass(frozen=True)
class StepOutput:
    """A value a step saved for the steps after it: its name, format and artifact hash."""

    name: str
    format: str
    sha: str


@dataclass(frozen=True)
class StepMetric:
    """The last value of a metric a step logged, and the step it was logged at."""

    key: str
    value: float
    step: int | None = None


@dataclass(frozen=True)
class StepOutcome:
    """What a step process reported in its result file: the saved values (name -> artifact
    reference, as the cache and the registry keep them), the metrics, the files it read and
    wrote, its run, and why it stopped when it did not pass. ``uncacheable`` says why its
    result must not be reused (it read more of the registry than its inputs); ``code_s`` is
    how long the step's own code ran."""

    status: str
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    metrics: tuple[dict[str, Any], ...] = ()
    files_read: dict[str, Any] = field(default_factory=dict)
    files_written: dict[str, Any] = field(default_factory=dict)
    drift: tuple[dict[str, Any], ...] = ()
    run_id: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    uncacheable: str | None = None
    code_s: float | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StepOutcome:
        """Read the result file's content (``{"status": "ok", "outputs": {...}, ...}``)."""
        error = data.get("error") or {}
        return cls(
            status=str(data.get("status", "failed")),
            outputs=dict(data.get("outputs") or {}),
            metrics=tuple(data.get("metrics") or ()),
            files_read=dict(data.get("files_read") or {}),
            files_written=dict(data.get("files_written") or {}),
            drift=tuple(data.get("drift") or ()),
            run_id=data.get("run_id"),
            error_type=error.get("type"),
            error_message=error.get("message"),
            uncacheable=data.get("uncacheable"),
            code_s=data.get("code_s"),
        )

    @property
    def output_records(self) -> tuple[StepOutput, ...]:
        return output_records(self.outputs)

    @property
    def metric_records(self) -> tuple[StepMetric, ...]:
        return metric_records(self.metrics)


def output_records(outputs: Mapping[str, Mapping[str, str]]) -> tuple[StepOutput, ...]:
    """``{name: {"format": f, "sha": s}}`` (the cache's and the registry's form) as records."""
    return tuple(StepOutput(name, ref["format"], ref["sha"]) for name, ref in outputs.items())


def metric_records(
    metrics: tuple[dict[str, Any], ...] | list[dict[str, Any]],
) -> tuple[StepMetric, ...]:
    """``[{"key": k, "value": v, "step": s}]`` (as a step reports them) as records."""
    return tuple(StepMetric(m["key"], m["value"], m.get("step")) for m in metrics)


@dataclass(frozen=True)
class StepResult:
    """What happened to one step. ``status`` is ok, cached, reused, failed, gate_failed,
    drift_stopped or not_run. ``run_id`` is the step's run in the registry (for a cached
    step, the run that produced the result it reused)."""

    name: str
    status: str
    duration_s: float = 0.0
    outputs: tuple[StepOutput, ...] = ()
    metrics: tuple[StepMetric, ...] = ()
    message: str = ""
    log_path: str = ""
    run_id: str | None = None

    @property
    def ran(self) -> bool:
        return self.status in ("ok", "failed", "gate_failed", "drift_stopped")

    @property
    def cached(self) -> bool:
        return self.status in ("cached", "reused")

    def progress_line(self) -> str:
        """One line for the terminal: name, status, duration and what was reused."""
        label = {
            "ok": "ok",
            "cached": "skipped (cached: unchanged)",
            "reused": "skipped (reused: before --from)",
            "failed": "FAILED",
            "gate_failed": "GATE FAILED",
            "drift_stopped": "DRIFT: STOPPED",
            "not_run": "not run",
        }[self.status]
        line = f"{self.name:<24} {label:<32} {self.duration_s:7.2f} s"
        return f"{line}  {self.message}" if self.message else line


@dataclass(frozen=True)
class PipelineRunResult:
    """A whole run: ``status`` is ok, failed, gate_failed or drift_stopped. ``run_id``
    is the pipeline run's id in the registry at ``registry_path``."""

    run_id: str
    pipeline: str
    status: str
    parameters: dict[str, Any]
    steps: tuple[StepResult, ...]
    duration_s: float
    run_dir: str = ""
    failed_step: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    registry_path: str = ""
    experiment: str = ""
    parity: ParityReport | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def step(self, name: str) -> StepResult:
        return next(s for s in self.steps if s.name == name)
