"""Each model version's latest gate verdict, for overviews of the whole registry."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..registry.connection import Registry

if TYPE_CHECKING:
    from ..models.versions import ModelVersion
    from .evaluation import GateEvaluation


def latest_gate_verdicts(
    registry: Registry, versions: Iterable[ModelVersion]
) -> dict[int, GateEvaluation]:
    """The most recent gate evaluation that concerns each version, by version id.

    An evaluation concerns a version when it was made to promote that version, or when
    it checked the run that trained the version (for that model, or for no model in
    particular). Versions never evaluated are left out of the answer.

    Example::

        model = list_models(registry, "churn")[0]
        verdicts = latest_gate_verdicts(registry, model.versions)
        {v.version: verdicts[v.id].passed for v in model.versions if v.id in verdicts}
    """
    from .evaluation import get_evaluation

    wanted = {version.id: version for version in versions}
    if not wanted:
        return {}
    marks = ", ".join("?" for _ in wanted)
    rows = registry.query(
        "SELECT model_versions.id AS version_id, gate_evaluations.id AS evaluation_id,"
        " gate_evaluations.evaluated_at AS evaluated_at"
        " FROM model_versions JOIN models ON models.id = model_versions.model_id"
        " JOIN gate_evaluations ON gate_evaluations.model_version_id = model_versions.id"
        "  OR (gate_evaluations.model_version_id IS NULL"
        "      AND gate_evaluations.run_id = model_versions.run_id"
        "      AND COALESCE(json_extract(gate_evaluations.inputs, '$.model'), models.name)"
        "          = models.name)"
        f" WHERE model_versions.id IN ({marks})"
        " ORDER BY gate_evaluations.evaluated_at, gate_evaluations.id",
        list(wanted),
    )
    latest: dict[int, str] = {}
    for row in rows:  # ordered by time: the last one seen for a version is its latest
        latest[int(row["version_id"])] = str(row["evaluation_id"])
    loaded: dict[str, GateEvaluation] = {}
    verdicts: dict[int, GateEvaluation] = {}
    for version_id, evaluation_id in latest.items():
        if evaluation_id not in loaded:
            loaded[evaluation_id] = get_evaluation(registry, evaluation_id)
        verdicts[version_id] = loaded[evaluation_id]
    return verdicts
