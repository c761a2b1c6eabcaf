"""Runs side by side: which parameters differ, each metric's values."""

from __future__ import annotations

from collections.abc import Sequence

from ...errors import InvalidInputError
from ...registry.connection import Registry
from .detail import run_detail
from .records import Comparison

_MISSING = object()


def compare(registry: Registry, refs: Sequence[str]) -> Comparison:
    """Compare two or more runs: parameters (marking the ones that differ) and metrics."""
    if len(refs) < 2:
        raise InvalidInputError(
            "Compare needs at least two runs", hint="For example: %mlops compare baseline tuned"
        )
    with registry.reading():  # every run as of the same moment
        details = tuple(run_detail(registry, ref) for ref in refs)
    param_keys = sorted({p.key for d in details for p in d.params})
    params = []
    for key in param_keys:
        values = tuple(d.run.params.get(key, _MISSING) for d in details)
        shown = tuple(None if v is _MISSING else v for v in values)
        differs = any(v != values[0] for v in values[1:])
        params.append((key, shown, differs))
    metric_keys = sorted({m.key for d in details for m in d.metrics})
    metrics = [(key, tuple(d.run.metrics.get(key) for d in details)) for key in metric_keys]
    return Comparison(details, tuple(params), tuple(metrics))
