"""Values per group behind one number of a gate rule, shown beside its verdict and stored.

A fairness rule such as ``demographic_parity_difference(sex) <= 0.05`` compares one number,
but why it passes or fails is in each group's value: the selection rate of every sex. A
:class:`GroupTable` keeps those values, with the number of rows of each group:

    table = GroupTable("demographic_parity_difference(sex)", "sex", ("selection_rate",),
                       ("F", "M"), (480, 520), ((0.31,), (0.52,)))
    table.to_text()
    #   demographic_parity_difference(sex) by sex
    #   sex  rows  selection_rate
    #   F     480  0.31
    #   M     520  0.52
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class GroupTable:
    """``metrics`` of each group of ``column`` (one row per group, ``counts`` its rows),
    computed for the rule's value ``of``. A value is ``None`` where the metric is
    undefined for the group (a true positive rate in a group with no positive label)."""

    of: str
    column: str
    metrics: tuple[str, ...]
    groups: tuple[str, ...]
    counts: tuple[int, ...]
    values: tuple[tuple[float | None, ...], ...]

    def rows(self) -> list[list[Any]]:
        """``[group, rows, value...]`` for each group."""
        return [
            [group, count, *values]
            for group, count, values in zip(self.groups, self.counts, self.values)
        ]

    def to_text(self) -> str:
        """The table as aligned text, under a line naming what it breaks down."""
        header = [self.column, "rows", *self.metrics]
        cells = [header] + [
            [str(group), str(count), *(_number(v) for v in values)]
            for group, count, values in zip(self.groups, self.counts, self.values)
        ]
        widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
        lines = [f"{self.of} by {self.column}"]
        for row in cells:
            first = row[0].ljust(widths[0])
            rest = [cell.rjust(width) for cell, width in zip(row[1:], widths[1:])]
            lines.append("  ".join([first, *rest]).rstrip())
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "of": self.of,
            "column": self.column,
            "metrics": list(self.metrics),
            "groups": list(self.groups),
            "counts": list(self.counts),
            "values": [[_stored(v) for v in row] for row in self.values],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GroupTable:
        return cls(
            str(data["of"]),
            str(data["column"]),
            tuple(str(m) for m in data["metrics"]),
            tuple(str(g) for g in data["groups"]),
            tuple(int(c) for c in data["counts"]),
            tuple(tuple(None if v is None else float(v) for v in row) for row in data["values"]),
        )


def tables_from_json(data: Sequence[Mapping[str, Any]] | None) -> tuple[GroupTable, ...]:
    """The tables of a stored gate line (``None`` when it has none)."""
    return tuple(GroupTable.from_dict(item) for item in data or ())


def _stored(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"
