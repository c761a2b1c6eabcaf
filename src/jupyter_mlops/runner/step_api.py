"""What step code calls as ``mlops`` while a pipeline step runs: the real API, pipeline-aware.

Exported step modules import this module as ``mlops`` (``import jupyter_mlops as mlops``
in the notebook becomes ``from jupyter_mlops.runner import step_api as mlops``). Each
step process starts a tracked run of kind ``pipeline-step`` (see
:mod:`jupyter_mlops.runner.step`), and every call here goes to the registry's API:

- ``mlops.log``, ``mlops.log_params``, ``mlops.snapshot``, ``mlops.set_tags``,
  ``mlops.register_model`` record into the step's run, exactly as :mod:`jupyter_mlops`
  does in a notebook;
- ``mlops.check(rules, ...)`` takes the same rule strings as :func:`jupyter_mlops.check`.
  Rules read the metrics of the *pipeline run* (every step so far copies its metrics
  there) and its parameters (``params.lr``), with this step's own metrics taking
  precedence; a failure raises :class:`~jupyter_mlops.errors.GateFailedError`, which
  fails the step as a gate and stops everything downstream. A check that reads more of
  the registry than the pipeline run (``champion.f1``, ``run=``, ``model=``, ``drift=``)
  keeps its step out of the cache: the runner cannot tell when that changes;
- ``mlops.start_run(...)`` and ``mlops.end_run()`` do not start or end anything: the step
  already is a run (``with mlops.start_run("baseline"):`` from a notebook keeps working);
- any other name (``mlops.runs``, ``mlops.load_model``, ``mlops.promote``...) is
  :mod:`jupyter_mlops`'s own.

A Kubeflow task records into a registry of its own that leaves the task as its records
bundle (:mod:`.kfp_step`, :mod:`.bundle`); its gates read the metrics of the steps above
from the task's inputs (``upstream_metrics``). Where no registry is at hand at all (step
code run by hand), the step is *detached*: metrics and parameters are collected in memory,
and ``check`` evaluates rules against them, the upstream metrics and the pipeline's
parameters without storing anything.

    from jupyter_mlops.runner import step_api as mlops
    mlops.log(accuracy=0.93)
    mlops.check(["accuracy >= 0.9", "f1 >= params.min_f1"])   # GateFailedError if one fails
"""

from __future__ import annotations

import logging
import math
import numbers
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import GateFailedError, InvalidInputError, MlopsError, PipelineError

if TYPE_CHECKING:
    from ..gates.evaluation import GateEvaluation
    from ..registry.connection import Registry
    from ..tracking.run import Run
    from .spec import DriftCheckSpec

logger = logging.getLogger(__name__)


@dataclass
class StepContext:
    """The step running in this process: its run, its pipeline run, its drift checks.

    ``registry`` and ``run`` are None for a detached step (no registry at hand).
    """

    pipeline: str
    step: str
    pipeline_dir: Path
    registry: Registry | None = None
    run: Run | None = None
    pipeline_run_id: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    drift_checks: dict[str, DriftCheckSpec] = field(default_factory=dict)
    drift_stop_on: str | None = None  # overrides each check's stop_on when given
    gate: bool = False
    # the metrics of the steps above, when they are not in a pipeline run of this
    # registry (a Kubeflow task receives them as inputs): rules read them after the
    # step's own
    upstream_metrics: dict[str, float] = field(default_factory=dict)
    # what a detached step collected, and what any step reports back to the runner
    metrics: list[dict[str, Any]] = field(default_factory=list)
    logged_params: dict[str, Any] = field(default_factory=dict)
    checks: list[dict[str, Any]] = field(default_factory=list)
    drift: list[dict[str, Any]] = field(default_factory=list)
    drift_stopped: bool = False
    # why the step's result depends on more of the registry than its inputs, the pipeline
    # run's metrics and its parameters (the runner does not cache it then)
    reads_registry: str | None = None


_context: StepContext | None = None


def set_context(context: StepContext | None) -> StepContext | None:
    """Make ``context`` the step of this process (the step processes call this first)."""
    global _context
    _context = context
    return context


def current_context() -> StepContext:
    """The step of this process; a detached one when none was set (step code run by hand)."""
    global _context
    if _context is None:
        _context = StepContext(pipeline="", step="", pipeline_dir=Path.cwd())
    return _context


# -- tracking ---------------------------------------------------------------------------------


def log(
    metrics: Mapping[str, object] | None = None, /, *, step: int | None = None, **named: object
) -> None:
    """Log metrics to the step's run: ``mlops.log(accuracy=0.93)``, ``mlops.log(loss=l, step=i)``.

    The runner copies them to the pipeline run when the step ends.
    """
    context = current_context()
    if context.run is not None:
        context.run.log(metrics, step=step, **named)
        return
    items = dict(metrics or {}, **named)
    for key, value in items.items():
        context.metrics.append({"key": key, "value": _number(key, value), "step": step})


def log_params(params: Mapping[str, object] | None = None, /, **named: object) -> None:
    """Record parameters on the step's run (besides the pipeline's own parameters)."""
    context = current_context()
    if context.run is not None:
        context.run.log_params(params, **named)
        return
    items = dict(params or {}, **named)
    context.logged_params.update({key: _plain(value) for key, value in items.items()})


def snapshot(
    data: Any,
    *,
    name: str | None = None,
    role: str = "input",
    materialize: bool = False,
    index: str = "auto",
) -> Any:
    """Fingerprint and profile ``data`` and link it to the step's run with ``role``.

    A detached step records nothing and returns None.
    """
    context = current_context()
    if context.run is None:
        logger.info("snapshot of %s not recorded: the step has no registry", name or "data")
        return None
    return context.run.snapshot(data, name=name, role=role, materialize=materialize, index=index)


def set_tags(tags: Mapping[str, object] | None = None, /, **named: object) -> None:
    """Label the step's run (``%mlops tag team=growth`` in the notebook); a detached step
    has no run to label and records nothing."""
    context = current_context()
    if context.run is None:
        logger.info(
            "tags %s not recorded: the step has no registry", sorted({**(tags or {}), **named})
        )
        return
    context.run.set_tags(tags, **named)


@contextmanager
def start_run(name: str | None = None, **_ignored: Any) -> Iterator[Run | None]:
    """The step's own run: in a pipeline each step already is a run, so nothing starts.

    ``with mlops.start_run("baseline", experiment="churn"):`` from the notebook keeps
    working, and what it logs lands in the step's run.
    """
    yield current_context().run


def end_run(status: str = "finished") -> Run | None:
    """Nothing to end: the runner ends the step's run when the step's code is done."""
    return current_context().run


def active_run() -> Run | None:
    """The step's run (None in a detached step)."""
    return current_context().run


# -- gates ------------------------------------------------------------------------------------


def check(
    rules: Any = (),
    description: str | None = None,
    *,
    run: Any = None,
    model: str | None = None,
    values: Mapping[str, Any] | None = None,
    data: Any = None,
    expect: Any = (),
    drift: Any = None,
    prediction: str | None = None,
    label: str | None = None,
    positive: Any = None,
    raise_on_failure: bool = True,
) -> GateEvaluation | None:
    """Evaluate gate rules (as :func:`jupyter_mlops.check`) and fail the gate when one fails.

    Rules read the pipeline run's metrics and parameters, with this step's own metrics
    first; ``values`` come before both. ``run=`` names another run to read instead.
    ``data``/``expect``, fairness rules on ``data`` (``prediction``, ``label``,
    ``positive``) and ``drift`` are checked as :func:`jupyter_mlops.check` does.
    ``check(condition, "text")`` with a boolean condition (from code written for the
    phase-1 API) is a gate condition: it fails when the condition is false.

        mlops.check(["accuracy >= 0.9", "f1 >= params.min_f1"])
        mlops.check(data=df, expect=['not_null("age")'])
    """
    if _is_condition_value(rules):
        gate_condition(rules, description or "condition")
        return None
    if description is not None:
        raise InvalidInputError(
            f"mlops.check() takes rules as text, not a second positional {description!r}",
            hint='Give the rules as a list: mlops.check(["accuracy >= 0.9", "f1 >= 0.8"]).',
        )
    context = current_context()
    if context.registry is None:
        _detached_check(context, rules, values, raise_on_failure)
        return None
    from ..gates import evaluation as gates
    from ..tracking.queries.refs import resolve_run

    registry = context.registry
    own: dict[str, Any] = {}
    subject = None
    if run is not None:
        subject = resolve_run(registry, getattr(run, "id", run))
    elif context.pipeline_run_id is not None:
        subject = context.pipeline_run_id
        own = _own_metrics(context)
    elif context.run is not None:
        subject = context.run.id
        if context.upstream_metrics:
            own = {**context.upstream_metrics, **_own_metrics(context)}
    merged = {**own, **dict(values or {})}
    given = {"run": run, "model": model, "drift": drift}
    outside = next((name for name, value in given.items() if value is not None), None)
    if outside is not None:
        context.reads_registry = f"mlops.check({outside}=...)"
    try:
        evaluation = gates.check(
            registry,
            rules,
            run=subject,
            model=model,
            values=merged or None,
            data=data,
            expect=expect,
            drift=drift,
            prediction=prediction,
            label=label,
            positive=positive,
            raise_on_failure=raise_on_failure,
        )
    except GateFailedError as exc:
        context.checks.append({"rules": _rule_list(rules), "passed": False, "message": str(exc)})
        raise
    context.checks.append({"rules": _rule_list(rules), "passed": evaluation.passed,
                           "evaluation": evaluation.id})  # fmt: skip
    if evaluation.inputs.get("aliases"):
        names = ", ".join(f"{alias}.*" for alias in evaluation.inputs["aliases"])
        context.reads_registry = context.reads_registry or f"mlops.check reads {names}"
    return evaluation


def gate_condition(
    condition: Any, description: str, values: Mapping[str, Any] | None = None
) -> None:
    """A condition written as Python in a ``gate`` cell: fail the gate when it is false.

    The exporter turns a bare ``accuracy >= 0.85`` in a gate cell into
    ``mlops_gate_check(accuracy >= 0.85, "accuracy >= 0.85", {"accuracy": accuracy})``.
    Python's verdict decides; the evaluation is stored with the step's run, with the
    actual and expected values when the condition is also a rule the gate language reads.
    """
    passed = bool(condition)
    context = current_context()
    evaluation_id = None
    outcome = _describe_condition(description, values or {})
    if context.registry is not None:
        from ..gates.records import GateResult, store_evaluation

        result = GateResult(
            rule=description,
            kind="rule",
            passed=passed,
            actual=outcome[0] if outcome else passed,
            expected=outcome[1] if outcome else "true",
            detail="evaluated as Python in the pipeline step",
        )
        try:
            evaluation = store_evaluation(
                context.registry,
                purpose="check",
                results=(result,),
                run_id=context.run.id if context.run is not None else None,
                model=None,
                version_id=None,
                alias=None,
                data=None,
                inputs={"values": _plain_values(values or {}), "step": context.step},
                notebook_path=None,
            )
            evaluation_id = evaluation.id
        except MlopsError as exc:  # the verdict stands even if it cannot be stored
            logger.warning("The gate condition %r was not stored: %s", description, exc)
    context.checks.append({"condition": description, "passed": passed, "evaluation": evaluation_id})
    if not passed:
        shown = f" (actual {outcome[0]}, expected {outcome[1]})" if outcome else ""
        raise GateFailedError(
            f"Gate condition failed: {description}{shown}",
            results=list(context.checks),
            hint="Downstream steps were not run. Improve the model or data, or revisit the"
            " threshold.",
        )


# -- drift ------------------------------------------------------------------------------------


def drift_check(variable: str, value: Any) -> None:
    """Check ``value`` (the step's ``variable``) against its reference snapshot.

    Called by the generated step code right after the cell tagged ``drift:VARIABLE``. The
    report is stored; when its decision reaches the check's ``stop_on`` (retrain by
    default) a GateFailedError stops the step and everything downstream.
    """
    from .drift_check import run_drift_check

    context = current_context()
    spec = context.drift_checks.get(variable)
    if spec is None:
        raise PipelineError(
            f'Step "{context.step}" has no drift check on "{variable}" in pipeline.json',
            step=context.step,
            hint="Export the notebook again: the step module and pipeline.json disagree.",
        )
    outcome = run_drift_check(context, spec, value)
    context.drift.append(outcome.to_dict())
    if outcome.stop:
        context.drift_stopped = True
        raise GateFailedError(
            f'Drift check on "{variable}" decided {outcome.decision}: {outcome.summary}',
            results=outcome.report,
            hint=f"The report is stored ({outcome.stored_as}). Look at the drifted columns;"
            " retrain on the new data, or run with --stop-on-drift never to continue anyway.",
        )


# -- seeds ------------------------------------------------------------------------------------


def seed_everything(seed: int) -> None:
    """Seed what draws at random before a step's code runs (``--seed N`` at export).

    Python's ``random``, NumPy's global generator (which scikit-learn uses when an
    estimator has no ``random_state``), torch when the step has imported it, and
    ``PYTHONHASHSEED`` for the processes the step starts (the runner starts the step
    itself with it). A generator the code makes with no seed (``default_rng()``) draws
    from the operating system all the same; the export names those.
    """
    import importlib.util
    import os
    import random

    random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    if "numpy" in sys.modules or importlib.util.find_spec("numpy") is not None:
        import numpy

        numpy.random.seed(seed % 2**32)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(seed)


# -- notebook stand-ins -----------------------------------------------------------------------


def display(*objects: Any, **_options: Any) -> None:
    """Stand-in for IPython's ``display`` in a pipeline: print a plain representation."""
    for obj in objects:
        print(repr(obj) if not isinstance(obj, str) else obj)


def shell(command: str) -> None:
    """Run a shell command the notebook ran with ``!``; fail the step when it fails."""
    import subprocess

    sys.stdout.flush()
    completed = subprocess.run(command, shell=True, check=False)  # noqa: S602 - notebook's own
    if completed.returncode != 0:
        raise PipelineError(
            f"The shell command {command!r} exited with {completed.returncode}",
            hint="Run it by hand to see why; it was a `!` line in the notebook.",
        )


def __getattr__(name: str) -> Any:
    """Everything else is :mod:`jupyter_mlops`'s own (``mlops.runs``, ``mlops.load_model``...)."""
    if name.startswith("__"):
        raise AttributeError(name)
    import jupyter_mlops

    return getattr(jupyter_mlops, name)


# -- helpers ----------------------------------------------------------------------------------


def _is_condition_value(value: Any) -> bool:
    if isinstance(value, bool):
        return True
    kind = type(value)
    return kind.__module__ == "numpy" and kind.__name__.startswith("bool")


def _rule_list(rules: Any) -> list[str]:
    return [rules] if isinstance(rules, str) else [str(r) for r in rules or ()]


def _own_metrics(context: StepContext) -> dict[str, Any]:
    """The latest value of each metric the step's run logged so far."""
    if context.run is None or context.registry is None:
        return {}
    context.run.flush()
    rows = context.registry.query(
        "SELECT key, last FROM metric_summaries WHERE run_id = ?", (context.run.id,)
    )
    return {row[0]: (math.nan if row[1] is None else row[1]) for row in rows}


def _detached_check(
    context: StepContext,
    rules: Any,
    values: Mapping[str, Any] | None,
    raise_on_failure: bool,
) -> None:
    """Rules against what the step collected and the pipeline's parameters, unstored."""
    from ..gates.rules import Operand, evaluate
    from ..tracking import expressions as ex

    known: dict[str, Any] = {f"params.{k}": v for k, v in context.params.items()}
    known.update({k: v for k, v in context.params.items()})
    known.update(context.upstream_metrics)
    known.update({m["key"]: m["value"] for m in context.metrics})
    known.update(values or {})

    def lookup(name: ex.Name) -> Operand:
        if name.dotted in known:
            return Operand(known[name.dotted])
        raise InvalidInputError(
            f'"{name.dotted}" is neither a metric this step logged nor a pipeline parameter',
            hint="Without a registry a gate reads only its own step's metrics; give the value"
            " with values={...}.",
        )

    failed = []
    for rule in _rule_list(rules):
        outcome = evaluate(ex.parse(rule), lookup, source=rule)
        context.checks.append({"rule": rule, "passed": outcome.passed})
        if not outcome.passed:
            failed.append(f"{rule} (actual {outcome.actual}, expected {outcome.expected})")
    if failed and raise_on_failure:
        raise GateFailedError(
            f"Gate failed: {'; '.join(failed)}",
            results=list(context.checks),
            hint="Downstream steps were not run.",
        )


def _describe_condition(text: str, values: Mapping[str, Any]) -> tuple[Any, str] | None:
    """(actual, expected) of a Python condition the rule language can also read, else None."""
    from ..gates.rules import Operand, evaluate
    from ..tracking import expressions as ex

    plain = _plain_values(values)
    try:
        tree = ex.parse(text)
        outcome = evaluate(tree, lambda name: Operand(plain[name.dotted]), source=text)
    except (MlopsError, KeyError, TypeError, ValueError):
        return None
    return outcome.actual, outcome.expected


def _plain_values(values: Mapping[str, Any]) -> dict[str, Any]:
    plain: dict[str, Any] = {}
    for key, value in values.items():
        if value is None or isinstance(value, (bool, int, float, str)):
            plain[key] = value
        elif isinstance(value, numbers.Real):
            plain[key] = float(value)
    return plain


def _number(key: str, value: Any) -> float:
    from ..tracking.values import metric_value

    return metric_value(key, value)


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, numbers.Real):
        return float(value)
    return repr(value)
