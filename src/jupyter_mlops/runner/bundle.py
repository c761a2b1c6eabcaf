"""A step's registry records as a file tree that travels: the bundle of a Kubeflow task.

A Kubeflow task has no registry: its container starts empty and its files vanish with
it. So :mod:`.kfp_step` records the step into a registry of its own, made for the task
(the step's run, its parameters and metrics, the model versions it registers with their
files, its gate verdicts and drift reports), and hands it out as the task's
``mlops_records`` artifact, a directory:

=======================  ========================================================
``mlops-bundle.json``    what it is: the pipeline (its ``pipeline.json``), the step,
                         the Kubeflow run, the step's run id, status and exit code
``registry.db``          a registry (the schema of this version), checkpointed
``artifacts/``           the files its rows name (models, materialized data)
=======================  ========================================================

``jupyter mlops pipeline collect RUN_OUTPUTS`` finds every bundle under a folder (a
Kubeflow run's outputs, downloaded; ``kfp.local``'s pipeline root) and merges them into
the registry (see :mod:`.collect`).

    bundle = TaskBundle.create(Path(tempfile.mkdtemp()))
    ...                                            # the step records into bundle.registry
    bundle.write_to(Path(records_path), info)
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError
from ..registry.connection import Registry

BUNDLE_FILE = "mlops-bundle.json"
BUNDLE_FORMAT = "jupyter-mlops/bundle"
BUNDLE_FORMAT_VERSION = 1
REGISTRY_FILE = "registry.db"
ARTIFACTS_DIR = "artifacts"


@dataclass
class TaskBundle:
    """The registry a task records into, in a folder of its own until it is written out."""

    folder: Path
    registry: Registry

    @classmethod
    def create(cls, folder: Path) -> TaskBundle:
        folder.mkdir(parents=True, exist_ok=True)
        return cls(folder, Registry.open(folder / REGISTRY_FILE, create=True))

    def write_to(self, target: Path, info: dict[str, Any]) -> None:
        """Copy the registry (with SQLite's backup: the write-ahead log included, whatever
        connection still has it open), its artifacts and the description ``info`` into
        the directory ``target``."""
        target.mkdir(parents=True, exist_ok=True)
        copy = target / REGISTRY_FILE
        copy.unlink(missing_ok=True)
        source = sqlite3.connect(self.folder / REGISTRY_FILE)
        destination = sqlite3.connect(copy)
        try:
            source.backup(destination)
            destination.execute("PRAGMA journal_mode=DELETE")
        finally:
            destination.close()
            source.close()
        self.registry.close()
        artifacts = self.folder / ARTIFACTS_DIR
        if artifacts.is_dir():
            shutil.copytree(
                artifacts,
                target / ARTIFACTS_DIR,
                ignore=shutil.ignore_patterns("tmp"),
                dirs_exist_ok=True,
            )
        described = {"format": BUNDLE_FORMAT, "format_version": BUNDLE_FORMAT_VERSION, **info}
        (target / BUNDLE_FILE).write_text(
            json.dumps(described, indent=1, default=repr) + "\n", encoding="utf-8"
        )


@dataclass(frozen=True)
class BundleInfo:
    """A bundle found on disk: its folder and what its ``mlops-bundle.json`` says."""

    folder: Path
    pipeline: str
    step: str
    kfp_run: str | None
    run_id: str | None
    status: str
    spec: str | None = None  # the pipeline.json the task ran

    @property
    def registry_path(self) -> Path:
        return self.folder / REGISTRY_FILE


def read_bundle(folder: Path) -> BundleInfo:
    """The bundle in ``folder``; an InvalidInputError naming the file when it is not one."""
    marker = folder / BUNDLE_FILE
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InvalidInputError(
            f"{marker} is not a readable bundle description ({exc})",
            hint="Download the task's mlops_records artifact again, whole.",
        ) from exc
    if not isinstance(data, dict) or data.get("format") != BUNDLE_FORMAT:
        raise InvalidInputError(
            f"{marker} is not a jupyter-mlops bundle",
            hint="Point collect at the outputs of a pipeline exported with --target kfp.",
        )
    version = data.get("format_version")
    if not isinstance(version, int) or version > BUNDLE_FORMAT_VERSION:
        raise InvalidInputError(
            f"{marker} has bundle format {version!r}; this jupyter-mlops reads up to"
            f" {BUNDLE_FORMAT_VERSION}",
            hint="Upgrade jupyter-mlops to the version of the pipeline's image.",
        )
    if not (folder / REGISTRY_FILE).is_file():
        raise InvalidInputError(
            f"The bundle {folder} has no {REGISTRY_FILE}",
            hint="Download the task's mlops_records artifact again, whole.",
        )
    return BundleInfo(
        folder=folder,
        pipeline=str(data.get("pipeline", "")),
        step=str(data.get("step", "")),
        kfp_run=data.get("kfp_run") or None,
        run_id=data.get("run_id") or None,
        status=str(data.get("status", "")),
        spec=data.get("spec") if isinstance(data.get("spec"), str) else None,
    )


def find_bundles(root: Path) -> list[BundleInfo]:
    """Every bundle under ``root`` (or ``root`` itself), in a stable order."""
    if not root.exists():
        raise InvalidInputError(
            f"{root} does not exist",
            hint="Give the folder of a Kubeflow run's outputs (downloaded), or kfp.local's"
            " pipeline root.",
        )
    markers = sorted(root.rglob(BUNDLE_FILE)) if root.is_dir() else []
    return [read_bundle(marker.parent) for marker in markers]
