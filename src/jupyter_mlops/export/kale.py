"""Kale's conventions that are not plain cell roles: resource tags and notebook metadata.

Kale (Kubeflow's notebook-to-pipeline tool) keeps its settings in the notebook metadata
``kubeflow_notebook`` and in cell tags. What the export does with each of them:

========================  ==================================================================
``limit:KEY:VALUE``       a resource limit of the step (``limit:nvidia.com/gpu:1``,
                          ``limit:memory:4Gi``, ``limit:cpu:2``), recorded in the step's
                          spec as ``resource_limits``, the Kubeflow task's resources
                          (see :mod:`.kfp_target`); the local runner does not limit steps
``annotation:K:V``,       Kubernetes pod annotations and labels: not applied, reported
``label:K:V``
``pipeline_name``         the pipeline's name (when no name is given to the export)
``experiment_name``       the experiment pipeline runs are recorded in, when the notebook
                          has no tracked run (whose experiment is taken then)
``docker_image``          the base image of the generated Dockerfile (when none is given),
                          which adds the requirements lock and jupyter-mlops
``steps_defaults``        its ``limit:`` entries are every step's default resource limits;
                          its ``annotation:``/``label:`` entries are reported
anything else             reported at export with what happens instead, when it asks for
                          something (an empty list or ``false`` asks for nothing)
========================  ==================================================================
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ExportError

METADATA_KEY = "kubeflow_notebook"

# A Kubernetes resource name (cpu, memory, nvidia.com/gpu, ephemeral-storage) and a
# quantity (2, 500m, 4Gi, 1.5)
_LIMIT = re.compile(r"^limit:([A-Za-z0-9][A-Za-z0-9_.\-/]*):([A-Za-z0-9.]+)$")
POD_TAG_PREFIXES = ("annotation:", "label:")

# What happens instead of each Kale field this export does not use
_NOT_USED = {
    "pipeline_description": "not recorded; describe the pipeline in the notebook's markdown",
    "volumes": "no volume is mounted: steps pass values as artifacts and read files"
    " relative to the runner's working directory (--workdir)",
    "marshal_volume": "values between steps are saved by the runner as artifacts, not in"
    " a marshal volume",
    "marshal_path": "values between steps are saved by the runner as artifacts, not in"
    " a marshal volume",
    "abs_working_dir": "steps run in the runner's working directory (--workdir)",
    "katib_run": "no Katib experiment is created; run sweeps in the notebook (child runs)"
    " or call the pipeline with -p name=value",
    "katib_metadata": "no Katib experiment is created; run sweeps in the notebook (child"
    " runs) or call the pipeline with -p name=value",
    "autosnapshot": "no Rok snapshot is taken; runs record their data fingerprints instead",
    "snapshot_volumes": "no Rok snapshot is taken; runs record their data fingerprints instead",
    "kfp_host": "nothing is uploaded; export with --target kfp and upload"
    " kfp/pipeline.yaml to your Kubeflow Pipelines",
    "storage_class_name": "no volume is created",
    "volume_access_mode": "no volume is created",
    "timeout": "not applied to the whole pipeline; give steps a timeout:SECONDS tag",
}


@dataclass(frozen=True)
class KaleSettings:
    """What the notebook's ``kubeflow_notebook`` metadata gives the export, and the
    notes on every field it does not use."""

    pipeline_name: str | None = None
    experiment_name: str | None = None
    docker_image: str | None = None
    default_limits: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()


def limit_tag(tag: str, cell_index: int) -> tuple[str, str]:
    """``limit:nvidia.com/gpu:1`` -> ("nvidia.com/gpu", "1"); an ExportError naming the
    cell when the tag is malformed."""
    match = _LIMIT.match(tag.strip())
    if match is None:
        raise ExportError(
            f'Cell {cell_index + 1}: tag "{tag}" must name a resource and a quantity, as in'
            " limit:cpu:2, limit:memory:4Gi or limit:nvidia.com/gpu:1",
            cell_index=cell_index,
            tag=tag,
            hint="Write limit:RESOURCE:QUANTITY (Kubernetes resource names and quantities).",
        )
    return match.group(1), match.group(2)


def kale_settings(notebook_metadata: Mapping[str, Any] | None) -> KaleSettings:
    """Read ``metadata.kubeflow_notebook`` (see the module docstring)."""
    meta = (notebook_metadata or {}).get(METADATA_KEY)
    if meta is None:
        return KaleSettings()
    if not isinstance(meta, Mapping):
        return KaleSettings(notes=(f"notebook metadata {METADATA_KEY} is not a mapping; ignored",))
    notes: list[str] = []
    where = f"notebook metadata {METADATA_KEY}"

    def text(key: str) -> str | None:
        value = meta.get(key)
        if value in (None, ""):
            return None
        if not isinstance(value, str):
            notes.append(f"{where}.{key} is not a string ({value!r}); ignored")
            return None
        return value

    limits: dict[str, str] = {}
    defaults = meta.get("steps_defaults") or []
    if isinstance(defaults, Mapping):  # Kale's parsed form: {"limits": {...}, ...}
        entries = [f"limit:{k}:{v}" for k, v in dict(defaults.get("limits") or {}).items()]
        entries += [
            f"{kind[:-1]}:{k}:{v}"
            for kind in ("annotations", "labels")
            for k, v in dict(defaults.get(kind) or {}).items()
        ]
    else:
        entries = [str(e) for e in defaults] if isinstance(defaults, list) else []
    for entry in entries:
        if entry.startswith("limit:"):
            match = _LIMIT.match(entry)
            if match is None:
                notes.append(f'{where}.steps_defaults entry "{entry}" is not limit:RESOURCE:'
                             "QUANTITY; ignored")  # fmt: skip
                continue
            limits[match.group(1)] = match.group(2)
        else:
            notes.append(
                f'{where}.steps_defaults entry "{entry}": pod annotations and labels are not'
                " applied to the steps"
            )
    experiment = text("experiment_name")
    chosen = meta.get("experiment")
    if isinstance(chosen, Mapping) and chosen.get("name") and not experiment:
        experiment = str(chosen["name"])
    for key, value in meta.items():
        if key in ("pipeline_name", "experiment_name", "docker_image", "steps_defaults",
                   "experiment", "notebook_path"):  # fmt: skip
            continue
        if value in (None, "", [], {}, False):
            continue  # asks for nothing
        instead = _NOT_USED.get(key, "not a setting jupyter-mlops knows; ignored")
        notes.append(f"{where}.{key} is not used: {instead}")
    return KaleSettings(
        pipeline_name=text("pipeline_name"),
        experiment_name=experiment,
        docker_image=text("docker_image"),
        default_limits=tuple(sorted(limits.items())),
        notes=tuple(notes),
    )
