"""What step code calls while a pipeline step runs: ``mlops.log``, ``mlops.snapshot``...

Exported step modules import this module as ``mlops`` so that the tracking calls a
notebook makes (``mlops.log(accuracy=acc)``, ``%mlops log ...``) work in a bare
process with no IPython. For now the calls are collected in memory and the step
process writes them into its result file next to the step's outputs; once the
registry's tracking API is available, each step process will start a tracked run
and these functions will forward to it (same signatures:
``log(**metrics, step=None)``, ``log_params(**params)``,
``snapshot(data, name=..., role=...)``, ``start_run(name, experiment=..., kind=...)``).

    from jupyter_mlops.runner import step_api as mlops
    mlops.log(accuracy=0.93)
    mlops.check(accuracy >= 0.9, "accuracy >= 0.9")   # raises GateFailedError if False
"""

from __future__ import annotations

import logging
import math
import numbers
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ..errors import GateFailedError, InvalidInputError, PipelineError

logger = logging.getLogger(__name__)


@dataclass
class StepRecord:
    """What the running step reported; read by the step process when the code ends."""

    metrics: list[dict[str, Any]] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    snapshots: list[dict[str, Any]] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)


_record = StepRecord()


def current_record() -> StepRecord:
    """The record of the step running in this process."""
    return _record


def reset_record() -> StepRecord:
    """Start a fresh record (the step process calls this before the step code runs)."""
    global _record
    _record = StepRecord()
    return _record


def log(step: int | None = None, **metrics: Any) -> None:
    """Record numeric metrics, optionally at a training ``step``.

    Example::

        mlops.log(accuracy=0.93, loss=0.2)
        mlops.log(loss=0.1, step=10)
    """
    for key, value in metrics.items():
        _record.metrics.append({"key": key, "value": _number(key, value), "step": step})


def log_params(**params: Any) -> None:
    """Record parameters of the step (in addition to the pipeline's own parameters)."""
    _record.params.update({key: _plain(value) for key, value in params.items()})


def snapshot(data: Any, name: str | None = None, role: str | None = None, **options: Any) -> None:
    """Record that the step used ``data`` under ``name`` and ``role``.

    Shape and columns are recorded now; the full fingerprint and profile come with
    the registry's snapshot support.
    """
    entry: dict[str, Any] = {"name": name, "role": role, "type": type(data).__name__}
    shape = getattr(data, "shape", None)
    if shape is not None:
        entry["shape"] = [int(n) for n in shape]
    columns = getattr(data, "columns", None)
    if columns is not None:
        entry["columns"] = [str(c) for c in columns]
    entry.update({key: _plain(value) for key, value in options.items()})
    _record.snapshots.append(entry)


@contextmanager
def start_run(
    name: str | None = None, *, experiment: str | None = None, kind: str = "pipeline-step"
) -> Iterator[None]:
    """A no-op context: inside a pipeline, each step already is a run."""
    yield None


def check(condition: Any, description: str = "condition") -> None:
    """A gate condition: raise GateFailedError when ``condition`` is false.

    Example::

        mlops.check(accuracy >= 0.9, "accuracy >= 0.9")
    """
    passed = bool(condition)
    _record.checks.append({"condition": description, "passed": passed})
    if not passed:
        raise GateFailedError(
            f"Gate condition failed: {description}",
            results=list(_record.checks),
            hint="Downstream steps were not run. Improve the model or revisit the threshold.",
        )


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


def _number(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidInputError(
            f'Metric "{key}" must be a number, got {type(value).__name__}: {value!r}'[:200],
            hint="Log numbers only; record text with log_params.",
        )
    number = float(value)
    if math.isnan(number):
        logger.warning('Metric "%s" is NaN', key)
    return number


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
