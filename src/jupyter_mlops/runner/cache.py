"""Which step results can be reused: an index from a content key to a step's outputs.

A step's key hashes its module and the shared setup module, the values of the
parameters it reads, the sha256 of each input artifact and the names of the
outputs later steps need from it. An entry also records
the files the step read (seen by an audit hook, plus the paths its code names
literally) and wrote, with their sha256; it is reused only while those still hash
the same. Timestamps play no part.

The index sits behind :class:`StepCacheIndex` so that it can move into the registry's
tables without the runner changing; :class:`FileStepCacheIndex` keeps one small JSON
file per entry under the registry directory (atomic renames, safe for concurrent runs).

    index = FileStepCacheIndex(Path(".mlops/pipeline-cache"))
    index.get(key)                   # a CachedStep or None
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..artifacts import ArtifactStore, sha256_file


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
) -> str:
    """The content key of one step execution."""
    payload = json.dumps(
        {
            "module": module_sha,
            "setup": setup_sha,
            "params": params,
            "inputs": inputs,
            "outputs": sorted(outputs),
        },
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


class FileStepCacheIndex:
    """One JSON file per entry: ``entries/<key>.json`` and ``last/<pipeline>/<step>.json``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def get(self, key: str) -> CachedStep | None:
        return self._read(self.root / "entries" / f"{key}.json")

    def put(self, entry: CachedStep) -> None:
        data = json.dumps(asdict(entry), indent=1)
        self._write(self.root / "entries" / f"{entry.key}.json", data)
        self._write(self.root / "last" / _safe(entry.pipeline) / f"{_safe(entry.step)}.json", data)

    def last(self, pipeline: str, step: str) -> CachedStep | None:
        return self._read(self.root / "last" / _safe(pipeline) / f"{_safe(step)}.json")

    def _read(self, path: Path) -> CachedStep | None:
        try:
            return CachedStep(**json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None

    def _write(self, path: Path, text: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".w-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temp, path)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)
