"""The neutral pipeline spec: what ``pipeline.json`` holds, as frozen dataclasses.

The exporter writes it, the runner and the Kubeflow target read it. It names no
engine: steps are Python modules, values between steps are artifacts, parameters
are typed. Every path in it is relative to the pipeline directory.

    spec = PipelineSpec.load(Path("churn-pipeline"))
    [step.name for step in spec.steps]        # ["prepare", "train", "evaluate"]

A spec is code to run, so the loader confines it to its folder before anything runs
(a ``pipeline.json`` may come from a colleague, a download or an image): a step's
``module`` is a plain module name under ``steps/``, the setup module is
``steps/pipeline_setup.py``, a drift reference file is a relative path inside the
pipeline folder (no ``..``, no symlink out of it), and step names are safe file names
(they name the step's request, result and log files). Anything else is an
InvalidInputError naming the field and the value.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
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
# A step name: also the stem of the step's request, result and log files.
STEP_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,62}$")
# A step module: a plain module name, the file steps/NAME.py.
MODULE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(s|m|h|d)?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


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
    # Its outcome depends on the pipeline run's metrics and parameters, which are not among
    # its inputs: a gate, a step calling mlops.check. The runner puts every parameter and
    # the metrics of the steps before it into its cache key. (Earlier exporters wrote it as
    # ``always_run``, and earlier runners ran such steps every time; read as this.)
    reads_pipeline_run: bool = False
    # Seconds the step may run before it is stopped (``timeout:600`` on one of its cells);
    # None: the runner's default (``--step-timeout``).
    timeout_s: float | None = None
    # Kubernetes resource limits of the step, from Kale's ``limit:KEY:VALUE`` tags (and the
    # notebook's ``kubeflow_notebook.steps_defaults``): resource name -> quantity, such as
    # {"cpu": "2", "memory": "4Gi", "nvidia.com/gpu": "1"}. The Kubeflow target applies
    # them; the local runner does not limit steps.
    resource_limits: dict[str, str] = field(default_factory=dict)

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
class UnseededCallSpec:
    """A call in an exported cell that draws at random with no seed (found at export).

    ``seedable``: ``--seed`` covers it (a global generator, or scikit-learn's default,
    which draws from NumPy's); a generator made without a seed is not.
    """

    cell_index: int
    line: int
    call: str
    reason: str
    step: str | None = None  # None: setup code
    seedable: bool = True

    def describe(self) -> str:
        return f"Cell {self.cell_index + 1}, line {self.line}: `{self.call}` {self.reason}"


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
    # ``--seed N`` at export: every step seeds random, NumPy (and torch) with it first
    seed: int | None = None
    # randomness with no seed that the export found (parity names them on a mismatch)
    unseeded_calls: tuple[UnseededCallSpec, ...] = ()

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
                    reads_pipeline_run=bool(
                        s.get("reads_pipeline_run", s.get("always_run", s.get("gate", False)))
                    ),
                    timeout_s=_timeout_field(s.get("timeout_s"), s.get("name")),
                    resource_limits=_limits_field(s.get("resource_limits"), s.get("name")),
                )
                for s in data["steps"]
            )
            spec = cls(
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
                seed=data.get("seed"),
                unseeded_calls=tuple(UnseededCallSpec(**c) for c in data.get("unseeded_calls", ())),
            )
        except (KeyError, TypeError) as exc:
            raise InvalidInputError(
                f"{origin} is missing or has a malformed field ({exc})",
                hint="Export the notebook again to re-create it.",
            ) from exc
        _check_confined(spec, origin)
        return spec

    @classmethod
    def load(cls, directory: Path) -> PipelineSpec:
        """Read ``pipeline.json`` from a pipeline directory; refuse it when a file it names
        lies outside the directory (see the module docstring)."""
        path = Path(directory) / SPEC_FILENAME
        if not path.is_file():
            raise NotFoundError(
                f"{directory} has no {SPEC_FILENAME}: it is not an exported pipeline",
                hint="Export a notebook first: jupyter mlops export NOTEBOOK -o DIR",
            )
        spec = cls.from_json(path.read_text(encoding="utf-8"), origin=str(path))
        root = Path(directory).resolve()
        for where, relative in spec.files():
            resolved = (root / relative).resolve()
            if not resolved.is_relative_to(root):
                raise _refused(
                    str(path), where, relative, f"resolves to {resolved}, outside {root}"
                )
        return spec

    def files(self) -> list[tuple[str, str]]:
        """Every file the spec names that a run reads, as (field, path relative to the
        pipeline folder)."""
        found = [("setup_module", self.setup_module)]
        for i, step in enumerate(self.steps):
            found.append((f"steps[{i}].module", step.module_path))
            found.extend(
                (f"steps[{i}].drift_checks[{j}].reference_file", check.reference_file)
                for j, check in enumerate(step.drift_checks)
                if check.reference_file
            )
        return found


def parse_duration(value: str | float | int, *, what: str) -> float:
    """Seconds from ``600``, ``600s``, ``10m``, ``1.5h``, ``7d``: a positive, finite duration.

    ``what`` names the value in the error (``tag "timeout:soon"``, ``--step-timeout``).

        parse_duration("10m", what="--step-timeout")       # 600.0
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if match is None:
            seconds = math.nan
        else:
            seconds = float(match.group(1)) * _UNIT_SECONDS[(match.group(2) or "s").lower()]
    if not (math.isfinite(seconds) and seconds > 0):
        raise InvalidInputError(
            f'{what}: "{value}" is not a duration',
            hint="Give seconds (600) or a number with s, m, h or d (90s, 10m, 2h, 7d).",
        )
    return seconds


def _timeout_field(value: Any, step: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"timeout_s of step {step!r} must be a number of seconds, not {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise TypeError(f"timeout_s of step {step!r} must be positive, not {value!r}")
    return float(value)


def _limits_field(value: Any, step: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise TypeError(
            f"resource_limits of step {step!r} must map resource names to quantity strings,"
            f" not {value!r}"
        )
    return dict(value)


def _check_confined(spec: PipelineSpec, origin: str) -> None:
    """Refuse names and paths that would lead a run outside the pipeline folder."""
    seen: set[str] = set()
    for i, step in enumerate(spec.steps):
        if not isinstance(step.name, str) or not STEP_NAME.match(step.name):
            raise _refused(
                origin,
                f"steps[{i}].name",
                step.name,
                "is not a safe step name (a letter or _, then letters, digits, _ and -;"
                " at most 63 characters)",
            )
        if step.name in seen:
            raise _refused(origin, f"steps[{i}].name", step.name, "names two steps")
        seen.add(step.name)
        if not isinstance(step.module, str) or not MODULE_NAME.match(step.module):
            raise _refused(
                origin,
                f"steps[{i}].module",
                step.module,
                f"is not a plain module name under {STEPS_DIRNAME}/ (letters, digits and _)",
            )
    setup = f"{STEPS_DIRNAME}/{SETUP_MODULE}.py"
    if spec.setup_module != setup:
        raise _refused(origin, "setup_module", spec.setup_module, f"is not {setup}")
    if not _relative_inside(spec.requirements):
        raise _refused(
            origin, "requirements", spec.requirements, "is not a path inside the pipeline folder"
        )
    for where, relative in spec.files():
        if not _relative_inside(relative):
            raise _refused(
                origin,
                where,
                relative,
                "is not a relative path inside the pipeline folder (no absolute path, no ..)",
            )


def _relative_inside(path: Any) -> bool:
    """A relative path with no ``..``, ``\\`` or NUL: it stays under the folder it is
    joined to (symbolic links are checked against the disk by PipelineSpec.load)."""
    if not isinstance(path, str) or not path or "\\" in path or "\0" in path:
        return False
    if PurePosixPath(path).is_absolute() or PureWindowsPath(path).drive:
        return False
    return ".." not in PurePosixPath(path).parts


def _refused(origin: str, where: str, value: Any, problem: str) -> InvalidInputError:
    return InvalidInputError(
        f"{origin}: {where} {json.dumps(value) if isinstance(value, str) else repr(value)}"
        f" {problem}",
        hint="Nothing was run: a pipeline runs only the files in its own folder. Export the"
        " notebook again (jupyter mlops export NOTEBOOK -o DIR) instead of editing"
        f" {SPEC_FILENAME} by hand.",
    )


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
