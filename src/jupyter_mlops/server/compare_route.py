"""``GET compare?runs=ID,ID,...``: runs side by side for the panel's compare view.

Built from the core's :func:`~jupyter_mlops.tracking.queries.comparison.compare` (the
same comparison ``%mlops compare`` and ``mlops.compare`` show), as of one moment:

=============  ================================================================
``runs``       each run as ``GET runs`` lists it, in the order asked
``params``     ``[{"key", "values", "differs"}]``: one value per run (``null``
               where a run has none), ``differs`` when they are not all equal
``metrics``    ``[{"key", "values"}]``: each run's last value
``curves``     ``[{"key", "runs": [{"id", "points", "logged"}]}]``: the series
               to overlay, one per run that logged the metric more than once;
               ``logged`` is the full count when ``points`` is a preview
=============  ================================================================

At most :data:`MAX_COMPARED` runs; fewer than two, an unknown run or too many answer
400/404 with what to do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tornado.web

from jupyter_mlops.errors import InvalidInputError
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.server import payloads
from jupyter_mlops.server.handlers import MlopsAPIHandler
from jupyter_mlops.tracking.queries.comparison import compare

# More curves than this on one chart are not readable, nor a table this wide.
MAX_COMPARED = 12


def compare_refs(raw: str | None) -> list[str]:
    """The runs of ``runs=A,B,C``: ids (or names) separated by commas, blanks dropped."""
    refs = [ref.strip() for ref in (raw or "").split(",") if ref.strip()]
    if len(refs) < 2:
        raise InvalidInputError(
            "Compare needs at least two runs",
            hint="Send compare?runs=ID,ID (two or more run ids, separated by commas).",
        )
    if len(refs) > MAX_COMPARED:
        raise InvalidInputError(
            f"Compare shows at most {MAX_COMPARED} runs, {len(refs)} were asked",
            hint=f"Select {MAX_COMPARED} runs or fewer.",
        )
    return refs


def compare_payload(registry: Registry, refs: list[str], *, root_dir: Path) -> dict[str, Any]:
    """``GET compare``: the parameters of ``refs`` side by side, their last metric values
    and their curves to overlay (see the module's docstring)."""
    comparison = compare(registry, refs)
    details = comparison.runs
    curve_keys = sorted({key for detail in details for key in detail.series})
    return {
        "runs": [
            payloads.record_json(
                detail.run,
                payloads.RUN_KEYS,
                duration=detail.run.duration,
                notebook_lab_path=payloads.lab_path(detail.run.notebook_path, root_dir),
            )
            for detail in details
        ],
        "params": [
            {"key": key, "values": payloads.json_safe(list(values)), "differs": differs}
            for key, values, differs in comparison.params
        ],
        "metrics": [
            {"key": key, "values": payloads.json_safe(list(values))}
            for key, values in comparison.metrics
        ],
        "curves": [
            {
                "key": key,
                "runs": [
                    {
                        "id": detail.run.id,
                        "points": payloads.json_safe(detail.series[key]),
                        "logged": (
                            detail.points_logged(key) if key in detail.downsampled else None
                        ),
                    }
                    for detail in details
                    if key in detail.series
                ],
            }
            for key in curve_keys
        ],
    }


class CompareHandler(MlopsAPIHandler):
    """``GET compare?runs=ID,ID,...``."""

    @tornado.web.authenticated
    async def get(self) -> None:
        refs = compare_refs(self.argument("runs"))
        self.reply(await self.read(compare_payload, refs, root_dir=self.root_dir))
