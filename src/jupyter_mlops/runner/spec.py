"""The neutral pipeline spec: what ``pipeline.json`` holds, as frozen dataclasses.

The exporter writes it, the runner and the Kubeflow target read it. It names no
engine: steps are Python modules, values between steps are artifacts, parameters
are typed. Every path in it is relative to the pipeline directory.

    spec = PipelineSpec.load(Path("churn-pipeline"))
    [step.name for step in spec.steps]        # ["prepare", "train", "evaluate"]
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError, NotFoundError

SPEC_FILENAME = "pipeline.json"
SPEC_FORMAT = "jupyter-mlops/pipeline"
SPEC_FORMAT_VERSION = 2  # 2: drift references and stop rules, the source run's experiment
SETUP_MODULE = "pipeline_setup"
STEPS_DIRNAME = "steps"

# The types a parameter may declare; ``none`` is a parameter whose default is None.
PARAMETER_TYPES = ("int", "float", "str", "bool", "list", "dict", "none")
# When a drift check stops the pipeline: at a decision of review or worse, of retrain, never.
DRIFT_STOP_RULES = ("review", "retrain", "never")


@dataclass(frozen=True)
class ParameterSpec:
    """A typed pipeline parameter with its default, from a ``parameters`` cell."""

    name: str
    type: str
    default: Any
    nullable: bool = False
    cell_index: int | None = None


@dataclass(frozen=True)
class StepInput:
    """A value a step reads that an earlier step produced."""

    name: str
    from_step: str


@dataclass(frozen=True)
class DriftCheckSpec:
    """``drift:VAR``: check VAR against its reference snapshot right after the cell runs.

    ``reference`` is the snapshot (name or id) to compare with: the one the tag names
    (``drift:VAR=SNAPSHOT``), else the snapshot of VAR recorded by the notebook run the
    pipeline was exported from. ``reference_file`` is that snapshot's profile, written
    into the pipeline directory at export time when the registry had it, so the check
    also works against a fresh registry. ``stop_on`` says which decision stops the
    pipeline: ``retrain`` (default), ``review`` (review or retrain) or ``never``.
    """

    step: str
    variable: str
    cell_index: int
    reference: str | None = None
    reference_file: str | None = None
    stop_on: str = "retrain"


@dataclass(frozen=True)
class StepSpec:
    """One step: a module under ``steps/`` run in its own process."""

    name: str
    module: str
    code_sha256: str
    cells: tuple[int, ...]
    inputs: tuple[StepInput, ...] = ()
    outputs: tuple[str, ...] = ()
    parameters: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    gate: bool = False
    gate_conditions: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    drift_checks: tuple[DriftCheckSpec, ...] = ()
    file_hints: tuple[str, ...] = ()
    # Run every time, never taken from the cache: gates and steps calling mlops.check read
    # the pipeline run's metrics and parameters, which are not among their inputs.
    always_run: bool = False

    @property
    def module_path(self) -> str:
        return f"{STEPS_DIRNAME}/{self.module}.py"


@dataclass(frozen=True)
class EdgeSpec:
    """``to`` runs after ``from_step``; ``variables`` are the values passed along it."""

    from_step: str
    to_step: str
    variables: tuple[str, ...] = ()


@dataclass(frozen=True)
class ArtifactSpec:
    """A value passed between steps. ``format`` is ``auto`` when chosen at run time."""

    name: str
    producer: str
    consumers: tuple[str, ...]
    format: str = "auto"


@dataclass(frozen=True)
class SourceSpec:
    """Where the pipeline came from: the notebook, and the tracked run of it that the
    export reflects (``exported_from_run_id``, with its experiment), when known. The
    runner compares its metrics with that run's (parity) and records pipeline runs in
    the same experiment."""

    notebook: str
    notebook_sha256: str
    exported_from_run_id: str | None = None
    experiment: str | None = None


@dataclass(frozen=True)
class PipelineSpec:
    """The whole of ``pipeline.json``."""

    name: str
    source: SourceSpec
    parameters: tuple[ParameterSpec, ...]
    steps: tuple[StepSpec, ...]
    edges: tuple[EdgeSpec, ...]
    artifacts: tuple[ArtifactSpec, ...]
    setup_module: str = f"{STEPS_DIRNAME}/{SETUP_MODULE}.py"
    setup_sha256: str = ""
    requirements: str = "requirements.lock"
    exporter_version: str = ""
    format: str = SPEC_FORMAT
    format_version: int = SPEC_FORMAT_VERSION
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def step(self, name: str) -> StepSpec:
        for step in self.steps:
            if step.name == name:
                return step
        raise NotFoundError(
            f'Pipeline "{self.name}" has no step "{name}"',
            hint="Steps: " + ", ".join(s.name for s in self.steps),
        )

    def parameter(self, name: str) -> ParameterSpec | None:
        return next((p for p in self.parameters if p.name == name), None)

    @property
    def gates(self) -> tuple[StepSpec, ...]:
        return tuple(step for step in self.steps if step.gate)

    @property
    def drift_checks(self) -> tuple[DriftCheckSpec, ...]:
        return tuple(check for step in self.steps for check in step.drift_checks)

    def downstream_of(self, name: str) -> set[str]:
        """Every step that runs after ``name``, directly or not."""
        children: dict[str, set[str]] = {}
        for step in self.steps:
            for parent in step.depends_on:
                children.setdefault(parent, set()).add(step.name)
        seen: set[str] = set()
        stack = [name]
        while stack:
            for child in children.get(stack.pop(), ()):
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
        return seen

    def to_json(self) -> str:
        data = asdict(self)
        data.pop("extra")
        data["gates"] = [
            {"step": s.name, "conditions": list(s.gate_conditions)} for s in self.gates
        ]
        data["drift_checks"] = [asdict(c) for c in self.drift_checks]
        ordered = {"format": data.pop("format"), "format_version": data.pop("format_version")}
        ordered.update(data)
        return json.dumps(ordered, indent=2, sort_keys=False, default=_json_default) + "\n"

    @classmethod
    def from_json(cls, text: str, *, origin: str = SPEC_FILENAME) -> PipelineSpec:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(
                f"{origin} is not valid JSON ({exc.msg}, line {exc.lineno})",
                hint="Export the notebook again to re-create it.",
            ) from exc
        if not isinstance(data, dict) or data.get("format") != SPEC_FORMAT:
            raise InvalidInputError(
                f"{origin} is not a jupyter-mlops pipeline spec",
                hint="Pass the directory written by `jupyter mlops export`.",
            )
        version = data.get("format_version")
        if not isinstance(version, int) or version > SPEC_FORMAT_VERSION:
            raise InvalidInputError(
                f"{origin} has format version {version!r}; this jupyter-mlops reads up to"
                f" {SPEC_FORMAT_VERSION}",
                hint="Upgrade jupyter-mlops, or export the notebook again with this version.",
            )
        try:
            steps = tuple(
                StepSpec(
                    name=s["name"],
                    module=s["module"],
                    code_sha256=s["code_sha256"],
                    cells=tuple(s["cells"]),
                    inputs=tuple(StepInput(**i) for i in s.get("inputs", ())),
                    outputs=tuple(s.get("outputs", ())),
                    parameters=tuple(s.get("parameters", ())),
                    depends_on=tuple(s.get("depends_on", ())),
                    after=tuple(s.get("after", ())),
                    gate=bool(s.get("gate", False)),
                    gate_conditions=tuple(s.get("gate_conditions", ())),
                    metrics=tuple(s.get("metrics", ())),
                    drift_checks=tuple(_drift_check(d) for d in s.get("drift_checks", ())),
                    file_hints=tuple(s.get("file_hints", ())),
                    always_run=bool(s.get("always_run", s.get("gate", False))),
                )
                for s in data["steps"]
            )
            return cls(
                name=data["name"],
                source=SourceSpec(**data["source"]),
                parameters=tuple(ParameterSpec(**p) for p in data["parameters"]),
                steps=steps,
                edges=tuple(
                    EdgeSpec(e["from_step"], e["to_step"], tuple(e.get("variables", ())))
                    for e in data["edges"]
                ),
                artifacts=tuple(
                    ArtifactSpec(a["name"], a["producer"], tuple(a["consumers"]), a["format"])
                    for a in data["artifacts"]
                ),
                setup_module=data.get("setup_module", cls.setup_module),
                setup_sha256=data.get("setup_sha256", ""),
                requirements=data.get("requirements", "requirements.lock"),
                exporter_version=data.get("exporter_version", ""),
                format_version=version,
            )
        except (KeyError, TypeError) as exc:
            raise InvalidInputError(
                f"{origin} is missing or has a malformed field ({exc})",
                hint="Export the notebook again to re-create it.",
            ) from exc

    @classmethod
    def load(cls, directory: Path) -> PipelineSpec:
        """Read ``pipeline.json`` from a pipeline directory."""
        path = Path(directory) / SPEC_FILENAME
        if not path.is_file():
            raise NotFoundError(
                f"{directory} has no {SPEC_FILENAME}: it is not an exported pipeline",
                hint="Export a notebook first: jupyter mlops export NOTEBOOK -o DIR",
            )
        return cls.from_json(path.read_text(encoding="utf-8"), origin=str(path))


def _drift_check(data: dict[str, Any]) -> DriftCheckSpec:
    check = DriftCheckSpec(**data)
    if check.stop_on not in DRIFT_STOP_RULES:
        raise TypeError(
            f"drift check on {check.variable!r}: stop_on must be one of"
            f" {', '.join(DRIFT_STOP_RULES)}, not {check.stop_on!r}"
        )
    return check


def _json_default(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
