"""Parity: does a pipeline run reproduce the notebook run it was exported from?

The exporter records the notebook's tracked run in ``pipeline.json``
(``source.exported_from_run_id``). After a pipeline run, its metrics (the last value of
each key, copied from its steps) are compared with that run's:

- only when both ran with the same parameters: a run with ``-p lr=0.5`` is not expected
  to reproduce a notebook run made with ``lr = 0.1``, and parity says "not checked" and
  names the parameters that differ;
- two values are equal when ``math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)`` (the
  default tolerance; NaN equals NaN): the same code, seeds and library versions give
  the same numbers, and a different BLAS build may change the last digits;
- keys logged on one side only are listed, not counted as mismatches (a notebook may
  log in cells the pipeline skips);
- on a mismatch, ``likely_causes`` lists what the registry and the spec can show
  (:mod:`.parity_causes`): calls that draw at random with no seed (found at export),
  package versions that differ, input snapshots whose fingerprints differ.

    report = check_parity(registry, pipeline_run_id, "3f9c2a1b7e40")
    report.status, report.summary()   # ("ok", "3 metrics equal the notebook run's ...")
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..registry.connection import Registry
    from .spec import UnseededCallSpec

REL_TOLERANCE = 1e-6
ABS_TOLERANCE = 1e-9


@dataclass(frozen=True)
class MetricParity:
    """One metric on both sides."""

    key: str
    notebook: float | None
    pipeline: float | None
    equal: bool


@dataclass(frozen=True)
class ParityReport:
    """The pipeline run's metrics against the notebook run's.

    ``status`` is ``ok`` (every shared metric equal), ``mismatch`` (some differ, named in
    ``mismatches``) or ``not_checked`` (``reason`` says why).
    """

    status: str
    reference_run_id: str | None
    reason: str = ""
    compared: tuple[MetricParity, ...] = ()
    only_in_notebook: tuple[str, ...] = ()
    only_in_pipeline: tuple[str, ...] = ()
    differing_params: tuple[tuple[str, Any, Any], ...] = ()
    likely_causes: tuple[str, ...] = ()
    rel_tolerance: float = REL_TOLERANCE
    abs_tolerance: float = ABS_TOLERANCE

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def mismatches(self) -> tuple[MetricParity, ...]:
        return tuple(m for m in self.compared if not m.equal)

    def summary(self, *, with_causes: bool = True) -> str:
        """One line for people (``with_causes=False``: without the likely causes, which a
        terminal shows one per line)."""
        reference = f"notebook run {self.reference_run_id}"
        if self.status == "not_checked":
            return f"parity not checked: {self.reason}"
        tolerance = f"rel {self.rel_tolerance:g}, abs {self.abs_tolerance:g}"
        if self.status == "ok":
            keys = ", ".join(m.key for m in self.compared)
            return (
                f"parity ok: {len(self.compared)} metric(s) equal the {reference}'s"
                f" within {tolerance} ({keys})"
            )
        shown = "; ".join(
            f"{m.key}: notebook {metric_text(m.notebook)}, pipeline {metric_text(m.pipeline)}"
            for m in self.mismatches
        )
        causes = ""
        if self.likely_causes and with_causes:
            causes = ". Likely causes: " + " | ".join(self.likely_causes)
        return (
            f"parity MISMATCH with the {reference} ({tolerance}): {len(self.mismatches)} of"
            f" {len(self.compared)} metric(s) differ: {shown}{causes}"
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["compared"] = [
            {**item, "notebook": json_metric(item["notebook"]),
             "pipeline": json_metric(item["pipeline"])}
            for item in data["compared"]
        ]  # fmt: skip
        data["differing_params"] = [
            {"key": key, "notebook": notebook, "pipeline": pipeline}
            for key, notebook, pipeline in self.differing_params
        ]
        return data


def check_parity(
    registry: Registry,
    pipeline_run_id: str,
    reference_run_id: str | None,
    *,
    rel_tolerance: float = REL_TOLERANCE,
    abs_tolerance: float = ABS_TOLERANCE,
    seed: int | None = None,
    unseeded: Sequence[UnseededCallSpec] = (),
) -> ParityReport:
    """Compare the metrics of ``pipeline_run_id`` with those of ``reference_run_id``.

    ``seed`` and ``unseeded`` are the spec's (``--seed``, the calls with no seed found at
    export): a mismatch names them among its likely causes.
    """

    def report(status: str, reference: str | None, **fields: Any) -> ParityReport:
        return ParityReport(
            status, reference, rel_tolerance=rel_tolerance, abs_tolerance=abs_tolerance, **fields
        )

    if not reference_run_id:
        return report(
            "not_checked",
            None,
            reason="the export recorded no notebook run (export from the notebook's kernel with"
            " %mlops export, or give --run)",
        )
    exists = registry.query_one("SELECT 1 FROM runs WHERE id = ?", (reference_run_id,))
    if exists is None:
        return report(
            "not_checked",
            reference_run_id,
            reason=f"the notebook run {reference_run_id} is not in this registry ({registry.path})",
        )
    differing = _differing_params(registry, pipeline_run_id, reference_run_id)
    if differing:
        shown = ", ".join(f"{k} ({n!r} in the notebook, {p!r} here)" for k, n, p in differing)
        return report(
            "not_checked",
            reference_run_id,
            reason=f"the pipeline ran with other parameters than the notebook run: {shown}",
            differing_params=differing,
        )
    notebook = _last_metrics(registry, reference_run_id)
    pipeline = _last_metrics(registry, pipeline_run_id)
    shared = [key for key in notebook if key in pipeline]
    only_notebook = tuple(sorted(set(notebook) - set(pipeline)))
    only_pipeline = tuple(sorted(set(pipeline) - set(notebook)))
    if not shared:
        return report(
            "not_checked",
            reference_run_id,
            reason="the two runs logged no metric in common",
            only_in_notebook=only_notebook,
            only_in_pipeline=only_pipeline,
        )
    compared = tuple(
        MetricParity(
            key,
            notebook[key],
            pipeline[key],
            metrics_close(notebook[key], pipeline[key], rel_tolerance, abs_tolerance),
        )
        for key in sorted(shared)
    )
    causes: tuple[str, ...] = ()
    if not all(m.equal for m in compared):
        from .parity_causes import likely_causes

        causes = likely_causes(registry, pipeline_run_id, reference_run_id, seed, unseeded)
    return report(
        "ok" if all(m.equal for m in compared) else "mismatch",
        reference_run_id,
        likely_causes=causes,
        compared=compared,
        only_in_notebook=only_notebook,
        only_in_pipeline=only_pipeline,
    )


def _last_metrics(registry: Registry, run_id: str) -> dict[str, float | None]:
    rows = registry.query("SELECT key, last FROM metric_summaries WHERE run_id = ?", (run_id,))
    return {row[0]: row[1] for row in rows if not row[0].startswith("drift.")}


def _differing_params(
    registry: Registry, pipeline_run_id: str, reference_run_id: str
) -> tuple[tuple[str, Any, Any], ...]:
    from ..tracking.values import decode_param

    def params(run_id: str, source: str | None) -> dict[str, Any]:
        sql = "SELECT key, value, type FROM params WHERE run_id = ?"
        args: list[Any] = [run_id]
        if source is not None:
            sql += " AND source = ?"
            args.append(source)
        return {row[0]: decode_param(row[1], row[2]) for row in registry.query(sql, args)}

    ours = params(pipeline_run_id, "pipeline")
    theirs = params(reference_run_id, None)
    differing = []
    for key in sorted(ours):
        if key in theirs and not _same_value(ours[key], theirs[key]):
            differing.append((key, theirs[key], ours[key]))
    return tuple(differing)


def _same_value(a: Any, b: Any) -> bool:
    numeric = (int, float)
    if isinstance(a, numeric) and isinstance(b, numeric) and not isinstance(a, bool):
        return metrics_close(float(a), float(b), 1e-12, 0.0)
    return bool(a == b)


def metrics_close(a: float | None, b: float | None, rel: float, absolute: float) -> bool:
    """Whether two metric values are equal within the tolerances (None, the registry's
    NaN, equals only None; NaN only NaN)."""
    if a is None or b is None:  # NULL is NaN in the registry
        return a is None and b is None
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=rel, abs_tol=absolute)


def metric_text(value: float | None) -> str:
    """A metric value as a parity line shows it (None, the registry's NaN, as NaN)."""
    return "NaN" if value is None else f"{value:.10g}"


def json_metric(value: float | None) -> float | str | None:
    """A metric value as JSON can hold it (infinities as text)."""
    if value is None or math.isfinite(value):
        return value
    return "inf" if value > 0 else "-inf"
