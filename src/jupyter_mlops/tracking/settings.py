"""How recording behaves in this process: the background flush, system metrics, and the
line that confirms a notebook run.

Each setting has a default, an environment variable that overrides it when the process
starts, and :func:`jupyter_mlops.configure` to change it while the process runs::

    MLOPS_FLUSH_INTERVAL=2 python train.py             # points reach the registry every 2 s
    MLOPS_SYSTEM_METRICS=1 python train.py             # sample CPU, memory, GPU in a script too

    mlops.configure(system_metrics_interval=5)         # from Python, for the runs started next

- ``flush_interval`` (``MLOPS_FLUSH_INTERVAL``, seconds, default 1): how often a background
  thread writes what active runs have buffered, so that a curve moves in the panel while
  its cell still runs. ``0`` writes only at the end of each cell, the end of the run, and
  every 50,000 points or 30 s in long loops.
- ``system_metrics`` (``MLOPS_SYSTEM_METRICS``: ``1`` / ``0``, unset by default): record
  CPU, memory and GPU use as ``system/...`` series. Unset means on for notebook runs (but
  not for a run started inside another one) and off for scripts and pipeline steps; ``start_run(system_metrics=...)`` and ``%%mlops run
  --system-metrics`` / ``--no-system-metrics`` decide for one run.
- ``system_metrics_interval`` (``MLOPS_SYSTEM_METRICS_INTERVAL``, seconds, default 10):
  the time between two samples; the first is taken a second after the run starts.
- ``run_summary`` (``MLOPS_RUN_SUMMARY``: ``1`` / ``0``, default on): a ``%%mlops run``
  cell and ``%mlops end`` close with one line, the run's id, name and what it recorded
  (:mod:`.queries.counts`). Off, a run cell prints nothing and ``%mlops end`` says only
  that the run ended.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

from ..errors import InvalidInputError

logger = logging.getLogger(__name__)

FLUSH_INTERVAL_SECONDS = 1.0
SYSTEM_METRICS_INTERVAL_SECONDS = 10.0
# Shorter intervals than these would cost the user's code more than they tell.
MIN_FLUSH_INTERVAL = 0.05
MIN_SYSTEM_METRICS_INTERVAL = 0.1

ENV_FLUSH_INTERVAL = "MLOPS_FLUSH_INTERVAL"
ENV_SYSTEM_METRICS = "MLOPS_SYSTEM_METRICS"
ENV_SYSTEM_METRICS_INTERVAL = "MLOPS_SYSTEM_METRICS_INTERVAL"
ENV_RUN_SUMMARY = "MLOPS_RUN_SUMMARY"

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


@dataclass(frozen=True)
class Settings:
    """The recording settings of this process (see the module docstring)."""

    flush_interval: float = FLUSH_INTERVAL_SECONDS
    system_metrics: bool | None = None
    system_metrics_interval: float = SYSTEM_METRICS_INTERVAL_SECONDS
    run_summary: bool = True

    def samples_system_metrics(
        self, kind: str, asked: bool | None = None, *, nested: bool = False
    ) -> bool:
        """Whether a run of ``kind`` samples system metrics: what the run asks, else the
        setting, else on for notebook runs that are not ``nested`` in another run (the
        outer run's samples cover the same process)."""
        if asked is not None:
            return asked
        if self.system_metrics is not None:
            return self.system_metrics
        return kind == "notebook" and not nested

    def changed(self, **changes: object) -> Settings:
        """These settings with ``changes`` checked and applied; a bad value is an
        :class:`InvalidInputError` naming the setting."""
        known = {field.name for field in fields(self)}
        for name in changes:
            if name not in known:
                raise InvalidInputError(
                    f'"{name}" is not a setting of jupyter-mlops',
                    hint=f"Settings: {', '.join(sorted(known))}.",
                )
        checked: dict[str, object] = {}
        if "flush_interval" in changes:
            checked["flush_interval"] = _interval(
                "flush_interval", changes["flush_interval"], MIN_FLUSH_INTERVAL, zero_ok=True
            )
        if "system_metrics_interval" in changes:
            checked["system_metrics_interval"] = _interval(
                "system_metrics_interval",
                changes["system_metrics_interval"],
                MIN_SYSTEM_METRICS_INTERVAL,
                zero_ok=False,
            )
        if "system_metrics" in changes:
            value = changes["system_metrics"]
            if value is not None and not isinstance(value, bool):
                raise InvalidInputError(
                    f"system_metrics must be True, False or None, got {value!r}",
                    hint="None samples in notebook runs only (the default).",
                )
            checked["system_metrics"] = value
        if "run_summary" in changes:
            value = changes["run_summary"]
            if not isinstance(value, bool):
                raise InvalidInputError(
                    f"run_summary must be True or False, got {value!r}",
                    hint="False silences the line that ends a run cell.",
                )
            checked["run_summary"] = value
        return replace(self, **checked)  # type: ignore[arg-type]


def _interval(name: str, value: object, lowest: float, *, zero_ok: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInputError(
            f"{name} must be a number of seconds, got {value!r}", hint="For example 2 or 0.5."
        )
    seconds = float(value)
    if zero_ok and seconds == 0:
        return 0.0
    if not math.isfinite(seconds) or seconds < lowest:
        off = " (0 switches it off)" if zero_ok else ""
        raise InvalidInputError(
            f"{name} of {value!r} s is too short",
            hint=f"Use at least {lowest} s{off}.",
        )
    return seconds


def settings_from_environment(environ: Mapping[str, str] | None = None) -> Settings:
    """The defaults with what ``MLOPS_FLUSH_INTERVAL``, ``MLOPS_SYSTEM_METRICS``,
    ``MLOPS_SYSTEM_METRICS_INTERVAL`` and ``MLOPS_RUN_SUMMARY`` say; a value that cannot be read is ignored with a
    warning naming the variable (a typo must not stop a training script)."""
    environ = os.environ if environ is None else environ
    settings = Settings()
    for variable, name in (
        (ENV_FLUSH_INTERVAL, "flush_interval"),
        (ENV_SYSTEM_METRICS_INTERVAL, "system_metrics_interval"),
    ):
        text = environ.get(variable, "").strip()
        if not text:
            continue
        try:
            settings = settings.changed(**{name: float(text)})
        except (ValueError, InvalidInputError) as exc:
            logger.warning("jupyter-mlops: %s=%r is ignored: %s", variable, text, exc)
    switch = environ.get(ENV_SYSTEM_METRICS, "").strip().lower()
    if switch in _TRUE:
        settings = replace(settings, system_metrics=True)
    elif switch in _FALSE:
        settings = replace(settings, system_metrics=False)
    elif switch:
        logger.warning("jupyter-mlops: %s=%r is ignored: use 1 or 0", ENV_SYSTEM_METRICS, switch)
    summary = environ.get(ENV_RUN_SUMMARY, "").strip().lower()
    if summary in _FALSE:
        settings = replace(settings, run_summary=False)
    elif summary and summary not in _TRUE:
        logger.warning("jupyter-mlops: %s=%r is ignored: use 1 or 0", ENV_RUN_SUMMARY, summary)
    return settings
