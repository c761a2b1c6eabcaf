"""Which step results can be reused: an index from a content key to a step's outputs.

A step's key hashes its module and the shared setup module, the values of the
parameters it reads, the sha256 of each input artifact and the names of the
outputs later steps need from it. An entry also records the files the step read
(seen by an audit hook, plus the paths its code names literally) and wrote, with
their sha256; it is reused only while those still hash the same. Timestamps play
no part.

The runner sees the index through :class:`StepCacheIndex`;
:class:`RegistryStepCacheIndex` keeps it in the registry's ``step_cache`` table, so
every process that runs pipelines against one registry shares it.

    index = RegistryStepCacheIndex(registry)
    index.get(key)                   # a CachedStep or None
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..registry.artifacts import ArtifactStore, sha256_file

if TYPE_CHECKING:
    from ..registry.connection import Registry


@dataclass(frozen=True)
class CachedStep:
    """A finished step: its outputs and what it read and wrote, by content."""

    key: str
    pipeline: str
    step: str
    outputs: dict[str, dict[str, str]]  # name -> {"format", "sha"}
    metrics: list[dict[str, Any]] = field(default_factory=list)
    files_read: dict[str, str] = field(default_factory=dict)
    files_written: dict[str, str] = field(default_factory=dict)
    run_id: str = ""


class StepCacheIndex(Protocol):
    """Where finished steps are found again."""

    def get(self, key: str) -> CachedStep | None: ...

    def put(self, entry: CachedStep) -> None: ...

    def last(self, pipeline: str, step: str) -> CachedStep | None:
        """The most recent successful result of ``step`` (for ``--from``)."""
        ...


def step_key(
    *,
    module_sha: str,
    setup_sha: str,
    params: dict[str, Any],
    inputs: dict[str, str],
    outputs: list[str],
    extra: dict[str, Any] | None = None,
) -> str:
    """The content key of one step execution (``extra``: anything else its result depends
    on, such as the references of its drift checks)."""
    content: dict[str, Any] = {
        "module": module_sha,
        "setup": setup_sha,
        "params": params,
        "inputs": inputs,
        "outputs": sorted(outputs),
    }
    if extra:
        content["extra"] = extra
    payload = json.dumps(
        content,
        sort_keys=True,
        default=repr,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def is_current(entry: CachedStep, workdir: Path, store: ArtifactStore) -> bool:
    """True while the entry's outputs exist and its files still have the same bytes."""
    if not all(store.exists(ref["sha"]) for ref in entry.outputs.values()):
        return False
    for files in (entry.files_read, entry.files_written):
        for name, sha in files.items():
            path = Path(name) if os.path.isabs(name) else workdir / name
            if not path.is_file() or sha256_file(path) != sha:
                return False
    return True


class RegistryStepCacheIndex:
    """The index in the registry's ``step_cache`` table (migration 0004_pipelines)."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def get(self, key: str) -> CachedStep | None:
        row = self.registry.query_one("SELECT * FROM step_cache WHERE key = ?", (key,))
        return None if row is None else _entry(row)

    def put(self, entry: CachedStep) -> None:
        with self.registry.transaction(f'the cache entry of step "{entry.step}"') as conn:
            conn.execute(
                "INSERT OR REPLACE INTO step_cache (key, pipeline, step, run_id, outputs, metrics,"
                " files_read, files_written, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    entry.key,
                    entry.pipeline,
                    entry.step,
                    entry.run_id or None,
                    json.dumps(entry.outputs),
                    json.dumps(entry.metrics),
                    json.dumps(entry.files_read),
                    json.dumps(entry.files_written),
                    time.time(),
                ),
            )

    def last(self, pipeline: str, step: str) -> CachedStep | None:
        row = self.registry.query_one(
            "SELECT * FROM step_cache WHERE pipeline = ? AND step = ?"
            " ORDER BY created_at DESC LIMIT 1",
            (pipeline, step),
        )
        return None if row is None else _entry(row)


def _entry(row: Any) -> CachedStep:
    return CachedStep(
        key=row["key"],
        pipeline=row["pipeline"],
        step=row["step"],
        outputs=json.loads(row["outputs"]),
        metrics=json.loads(row["metrics"]),
        files_read=json.loads(row["files_read"]),
        files_written=json.loads(row["files_written"]),
        run_id=row["run_id"] or "",
    )
