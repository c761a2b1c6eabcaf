"""Merging registries by id: ``jupyter mlops merge OTHER``, ``%mlops merge OTHER``,
``mlops.merge(OTHER)``.

    report = merge_registries(registry, Path("../colleague"))    # a project with .mlops
    report = merge_registries(registry, Path("kfp-outputs/run-42"))   # a folder of bundles
    report.summary()    # 'Merging ../colleague added runs: 12; model versions: 3; 1 conflict'

The source is another registry (its ``registry.db`` or the folder holding ``.mlops``)
or a folder of pipeline bundles (the ``mlops_records`` of Kubeflow tasks; merged as
``pipeline collect`` does, which goes through the same code). What the target lacks is
added: the union, by id or by natural key, of runs and everything recorded for them,
experiments, environments, snapshots, models, versions, aliases with their history,
gate evaluations, drift reports, pipeline runs, reproductions, monitoring windows and
predictions. :mod:`.merge_plan` says, table by table, how each is matched (and which
tables stay local), and how model versions whose number is taken are renumbered.

- Conflicts (the same id or key with different content) are reported, never settled
  silently: the target keeps its own (:mod:`.merge_conflicts`).
- Artifacts are copied file by file and hashed on the way; a missing or changed file
  stops the merge, naming the file, before anything is written (:mod:`.merge_artifacts`).
- One transaction per source registry (per bundle for a folder of bundles): an
  interrupted merge leaves the target consistent; merging again adds nothing.
- ``dry_run=True`` reports what would be added and changes nothing (for a folder of
  bundles each bundle is counted on its own, so a record two bundles share counts twice).
- ``progress`` is called after each stage with a :class:`~.merge_report.MergeProgress`.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import InvalidInputError
from ..registry.artifacts import ArtifactStore
from ..registry.connection import Registry
from ..registry.location import DIRECTORY_NAME, FILE_NAME
from .merge_report import MergeReport, ProgressCallback
from .merge_source import merge_registry_file

BUNDLE_MARKER = "mlops-bundle.json"  # runner.bundle.BUNDLE_FILE: a folder of bundles


def merge_registries(
    target: Registry,
    source: str | Path,
    *,
    dry_run: bool = False,
    progress: ProgressCallback | None = None,
) -> MergeReport:
    """Merge ``source`` (a registry, or a folder of pipeline bundles) into ``target``.

    >>> merge_registries(registry, "../colleague").summary()    # doctest: +SKIP
    'Merging ../colleague added runs: 12; metric points: 40; 0 conflicts'
    """
    path = Path(source).expanduser()
    if not path.exists():
        raise InvalidInputError(
            f"{source} does not exist",
            hint="Give another registry (its .mlops/registry.db, or the folder holding .mlops)"
            " or a folder of pipeline bundles.",
        )
    registry_file = _registry_file(path)
    if registry_file is None:
        if path.is_dir() and any(path.rglob(BUNDLE_MARKER)):
            from ..runner.collect import collect_outputs

            return collect_outputs(target, path, dry_run=dry_run, progress=progress).merged
        raise InvalidInputError(
            f"{source} is neither a registry nor a folder of pipeline bundles",
            hint="Give another registry's .mlops/registry.db, the folder holding its .mlops,"
            " or the downloaded outputs of a Kubeflow run.",
        )
    if _same_file(registry_file, target.path):
        raise InvalidInputError(
            f"{source} is the registry being merged into",
            hint="Give another registry: a colleague's, a container's, a copy.",
        )
    return merge_registry_file(
        target,
        registry_file,
        ArtifactStore(registry_file.parent / "artifacts"),
        label=str(source),
        dry_run=dry_run,
        progress=progress,
    )


def _registry_file(path: Path) -> Path | None:
    """The registry file ``path`` names, or None for a folder that holds none (of its own:
    a bundle's registry.db is the bundle's)."""
    if path.is_file():
        return path
    nested = path / DIRECTORY_NAME / FILE_NAME
    if nested.is_file():
        return nested
    if (path / FILE_NAME).is_file() and not (path / BUNDLE_MARKER).is_file():
        return path / FILE_NAME
    return None


def _same_file(one: Path, other: Path) -> bool:
    try:
        return os.path.samefile(one, other)
    except OSError:
        return False
