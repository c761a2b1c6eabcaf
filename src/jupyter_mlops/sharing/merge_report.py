"""What a merge did (or, dry, would do): rows added per kind, conflicts, renumberings,
and the progress a merge reports as it goes.

    report = merge_registries(registry, Path("../colleague"))
    report.added["runs"]          # 12
    report.lines()                # ["12 runs", "3 model versions", ...]
    [c.describe() for c in report.conflicts]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .merge_conflicts import Conflict
from .merge_plan import KIND_LABELS


@dataclass(frozen=True)
class MergeProgress:
    """Where a merge is: a stage of ``total`` done, and the rows it has added so far."""

    source: str  # the registry (or bundle) being merged
    stage: str  # "runs", "models", ...
    done: int
    total: int
    added: int

    def line(self) -> str:
        return f"merging {self.source}: {self.stage} ({self.done}/{self.total}), {self.added} rows added"


ProgressCallback = Callable[[MergeProgress], None]


@dataclass(frozen=True)
class MergeReport:
    """The outcome of merging one source (a registry, or a folder of bundles)."""

    source: str
    dry_run: bool
    added: dict[str, int]  # table -> rows added (or that would be)
    conflicts: tuple[Conflict, ...] = ()
    renumbered: tuple[tuple[str, int, int], ...] = ()  # (model, source number, number here)
    runs_added: tuple[str, ...] = ()
    model_versions_added: tuple[str, ...] = ()  # "name number", as numbered here
    artifacts_copied: int = 0
    artifact_bytes: int = 0
    bundles: tuple[str, ...] = ()  # the bundles merged, for a folder of them
    pipeline_runs: tuple[str, ...] = field(default=())  # made for the bundles' Kubeflow runs

    @property
    def total_added(self) -> int:
        return sum(self.added.values())

    def lines(self) -> list[str]:
        """One line per kind of record added, in a stable order: ``"12 runs"``."""
        listed = [
            f"{self.added[table]} {label}"
            for table, label in KIND_LABELS.items()
            if self.added.get(table)
        ]
        if self.artifacts_copied:
            listed.append(
                f"{self.artifacts_copied} artifact files ({self.artifact_bytes:,} bytes) copied"
            )
        return listed

    def summary(self) -> str:
        """One sentence: what was (or would be) added and how many conflicts."""
        verb = "would add" if self.dry_run else "added"
        what = ", ".join(self.lines()) or "nothing"
        found = len(self.conflicts)
        return f"Merging {self.source} {verb} {what}; {found} conflict{'s' if found != 1 else ''}"

    def to_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "dry_run": self.dry_run,
            "added": dict(self.added),
            "conflicts": [c.to_dict() for c in self.conflicts],
            "renumbered": [list(r) for r in self.renumbered],
            "runs_added": list(self.runs_added),
            "model_versions_added": list(self.model_versions_added),
            "artifacts_copied": self.artifacts_copied,
            "artifact_bytes": self.artifact_bytes,
            "bundles": list(self.bundles),
            "pipeline_runs": list(self.pipeline_runs),
        }

    @classmethod
    def combined(
        cls,
        source: str,
        dry_run: bool,
        reports: Iterable[MergeReport],
        *,
        bundles: tuple[str, ...] = (),
        pipeline_runs: tuple[str, ...] = (),
    ) -> MergeReport:
        """One report for the merge of several registries (the bundles of a folder)."""
        parts = list(reports)
        added: dict[str, int] = {}
        for part in parts:
            for table, count in part.added.items():
                added[table] = added.get(table, 0) + count
        return cls(
            source=source,
            dry_run=dry_run,
            added=added,
            conflicts=tuple(c for p in parts for c in p.conflicts),
            renumbered=tuple(r for p in parts for r in p.renumbered),
            runs_added=tuple(r for p in parts for r in p.runs_added),
            model_versions_added=tuple(v for p in parts for v in p.model_versions_added),
            artifacts_copied=sum(p.artifacts_copied for p in parts),
            artifact_bytes=sum(p.artifact_bytes for p in parts),
            bundles=bundles,
            pipeline_runs=pipeline_runs,
        )
