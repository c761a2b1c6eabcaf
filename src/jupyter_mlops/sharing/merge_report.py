"""What a merge did (or, dry, would do): rows added per kind, conflicts, renumberings,
and the progress a merge reports as it goes.

    report = merge_registries(registry, Path("../colleague"))
    report.added["runs"]          # 12
    report.lines()                # ["runs: 12", "model versions: 3", ...]
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
        """One line per kind of record added, in a stable order: ``"runs: 12"``."""
        listed = [
            f"{label}: {self.added[table]}"
            for table, label in KIND_LABELS.items()
            if self.added.get(table)
        ]
        if self.artifacts_copied:
            verb = "to copy" if self.dry_run else "copied"
            listed.append(
                f"artifact files {verb}: {self.artifacts_copied} ({self.artifact_bytes:,} bytes)"
            )
        return listed

    def summary(self) -> str:
        """One sentence: what was (or would be) added and how many conflicts."""
        verb = "would add" if self.dry_run else "added"
        what = "; ".join(self.lines()) or "nothing"
        found = len(self.conflicts)
        return f"Merging {self.source} {verb} {what}; {found} conflict{'s' if found != 1 else ''}"

    def text(self) -> str:
        """The report for people, as the command line and ``%mlops merge`` print it."""
        head = (
            f"Dry run: merging {self.source} would add"
            if self.dry_run
            else f"Merged {self.source}, adding"
        )
        lines = [head + (":" if self.total_added or self.artifacts_copied else " nothing")]
        lines += [f"  {line}" for line in self.lines()]
        for run_id in self.pipeline_runs:
            lines.append(f"  pipeline run {run_id}")
        if self.conflicts:
            lines.append(
                f"{len(self.conflicts)} conflict(s): the same record differs on the two sides"
            )
            for conflict in self.conflicts:
                lines.append(f"  {conflict.describe()}")
                lines += [f"    {detail}" for detail in conflict.details]
        else:
            lines.append("No conflicts.")
        return "\n".join(lines)

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
