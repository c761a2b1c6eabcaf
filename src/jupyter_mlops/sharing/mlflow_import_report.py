"""What an import from MLflow did: per kind, what was added, updated and left unchanged,
and what had no place in the registry, named one by one.

    report = import_from_mlflow(registry, "http://mlflow.team.internal:5000")
    report.counts["runs"]            # KindCounts(added=12, updated=1, unchanged=40)
    print(report.summary())
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

KINDS = ("experiments", "runs", "metric series", "artifacts", "models", "versions", "aliases")
"""The kinds an import counts, in the order the report names them."""

SUMMARY_ITEMS = 50
"""The things not imported that a summary names one by one; the report keeps them all."""


@dataclass(frozen=True)
class KindCounts:
    """How many things of one kind the import added, updated and found unchanged."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.added + self.updated + self.unchanged


@dataclass(frozen=True)
class ImportProgress:
    """Where an import is: ``done`` of ``total`` things of ``stage`` (runs, versions)."""

    stage: str
    done: int
    total: int


ProgressCallback = Callable[[ImportProgress], object]


@dataclass(frozen=True)
class ImportReport:
    """The outcome of one import: counts per kind (:data:`KINDS`), what did not map, and
    the renumbering of versions whose number was taken here."""

    server: str
    counts: dict[str, KindCounts]
    not_imported: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        """Whether the import wrote anything."""
        return any(c.added or c.updated for c in self.counts.values())

    def summary(self) -> str:
        """A few lines: one per kind, then each thing that was not imported and why."""
        lines = [f"Imported from {self.server}:"]
        for kind in KINDS:
            counts = self.counts.get(kind, KindCounts())
            lines.append(
                f"  {kind}: {counts.added} added, {counts.updated} updated,"
                f" {counts.unchanged} unchanged"
            )
        for note in self.notes:
            lines.append(f"  note: {note}")
        if self.not_imported:
            lines.append(f"Not imported ({len(self.not_imported)}):")
            lines.extend(f"  - {item}" for item in self.not_imported[:SUMMARY_ITEMS])
            if len(self.not_imported) > SUMMARY_ITEMS:
                lines.append(
                    f"  ... and {len(self.not_imported) - SUMMARY_ITEMS} more"
                    " (the report's not_imported names them all)"
                )
        return "\n".join(lines)


@dataclass
class Tally:
    """The counts and findings of an import while it runs; :meth:`report` freezes them."""

    server: str
    added: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    not_imported: dict[str, None] = field(default_factory=dict)  # in order, once each
    notes: list[str] = field(default_factory=list)

    def count(self, kind: str, outcome: str, n: int = 1) -> None:
        """Count ``n`` things of ``kind`` as ``outcome`` (added, updated or unchanged)."""
        table = {"added": self.added, "updated": self.updated, "unchanged": self.unchanged}
        table[outcome][kind] = table[outcome].get(kind, 0) + n

    def skip(self, what: str) -> None:
        """Name something that was not imported, with why."""
        self.not_imported.setdefault(what)

    def report(self) -> ImportReport:
        return ImportReport(
            server=self.server,
            counts={
                kind: KindCounts(
                    self.added.get(kind, 0), self.updated.get(kind, 0), self.unchanged.get(kind, 0)
                )
                for kind in KINDS
            },
            not_imported=tuple(self.not_imported),
            notes=tuple(self.notes),
        )
