"""A pipeline's steps drawn as a graph: boxes in dependency order, arrows between them.

    step_graph_svg([StepBox("load"), StepBox("train", "failed", "0.8 s")], [("load", "train")])

Steps are placed left to right by depth (a step sits one column to the right of its
deepest parent), in the given order within a column. A box's colour says how the step
ended (``state``: ok, cached, reused, failed, killed, gate_failed, drift_stopped,
not_run, running, pending; none for a pipeline that has not run), its second line a short note (a
duration, "gate", "drift: X"). Pure Python and escaped text, like the charts in
``svg.py``, so the same picture shows in a notebook and in its HTML export.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import InvalidInputError
from .charts import INK, svg_opening
from .styles import ERROR, INFO, SUCCESS, WARN, tint

BOX_HEIGHT = 38
COLUMN_GAP = 46
ROW_GAP = 14
MARGIN = 8
CHAR_WIDTH = 6.6
MAX_LABEL = 28

# state -> (stroke, fill, words shown when the box has no note); colours as the panel's
_PLAIN = "var(--jp-layout-color1,#fff)"
STATE_STYLE = {
    None: ("var(--jp-border-color1,#999)", _PLAIN, ""),
    "ok": (SUCCESS, tint(SUCCESS, 14), "ok"),
    "cached": (SUCCESS, _PLAIN, "cached"),
    "reused": (SUCCESS, _PLAIN, "reused"),
    "failed": (ERROR, tint(ERROR, 14), "failed"),
    "gate_failed": (ERROR, tint(ERROR, 14), "gate failed"),
    "killed": (ERROR, tint(ERROR, 14), "killed"),
    "drift_stopped": (WARN, tint(WARN, 14), "drift stopped"),
    "running": (INFO, tint(INFO, 14), "running"),
    "pending": ("var(--jp-border-color1,#999)", "var(--jp-layout-color2,#f5f5f5)", "pending"),
    "not_run": ("var(--jp-border-color1,#999)", "var(--jp-layout-color2,#f5f5f5)", "not run"),
}
DASHED_STATES = frozenset(("cached", "reused", "not_run", "pending"))


@dataclass(frozen=True)
class StepBox:
    """One step as drawn: its name, how it ended (None: not run yet) and a short note."""

    name: str
    state: str | None = None
    note: str = ""


def step_columns(names: Sequence[str], edges: Sequence[tuple[str, str]]) -> dict[str, int]:
    """Each step's column: 0 for a step with no parent, else one more than its deepest parent.

    Raises InvalidInputError for an edge naming an unknown step or for a cycle.
    """
    known = set(names)
    parents: dict[str, list[str]] = {name: [] for name in names}
    for source, target in edges:
        for end in (source, target):
            if end not in known:
                raise InvalidInputError(
                    f'The step graph has an edge {source} -> {target}, but no step "{end}"',
                    hint="Steps: " + ", ".join(names),
                )
        parents[target].append(source)
    columns: dict[str, int] = {}
    visiting: set[str] = set()

    def column(name: str) -> int:
        if name in columns:
            return columns[name]
        if name in visiting:
            raise InvalidInputError(
                f'The steps form a cycle through "{name}"',
                hint="Export the notebook again: export refuses cycles, so the spec was edited.",
            )
        visiting.add(name)
        columns[name] = max((column(p) + 1 for p in parents[name]), default=0)
        visiting.discard(name)
        return columns[name]

    for name in names:
        column(name)
    return columns


def step_graph_svg(
    steps: Sequence[StepBox], edges: Sequence[tuple[str, str]], *, title: str = ""
) -> str:
    """The graph as an SVG string; every name and note is escaped."""
    names = [step.name for step in steps]
    if len(set(names)) != len(names):
        raise InvalidInputError("Two steps of the graph have the same name", hint=", ".join(names))
    for step in steps:
        if step.state not in STATE_STYLE:
            raise InvalidInputError(
                f'Step "{step.name}" has an unknown state "{step.state}"',
                hint="States: " + ", ".join(str(s) for s in STATE_STYLE if s),
            )
    columns = step_columns(names, edges)
    by_column: dict[int, list[StepBox]] = {}
    for step in steps:
        by_column.setdefault(columns[step.name], []).append(step)
    top = 24 if title else MARGIN
    widths = {c: max(_box_width(s) for s in boxes) for c, boxes in sorted(by_column.items())}
    x_of: dict[int, float] = {}
    x = float(MARGIN)
    for c in sorted(widths):
        x_of[c] = x
        x += widths[c] + COLUMN_GAP
    rows = max((len(boxes) for boxes in by_column.values()), default=0)
    width = int(max(x - COLUMN_GAP + MARGIN, 160))
    height = int(top + rows * (BOX_HEIGHT + ROW_GAP) - ROW_GAP + MARGIN) if rows else top + 30
    parts = svg_opening(width, height, title, MARGIN)
    if not steps:
        parts.append(f'<text x="{MARGIN}" y="{top + 16}" fill="{INK}">No steps</text></svg>')
        return "".join(parts)
    place: dict[str, tuple[float, float, float]] = {}  # name -> x, y, width
    for c, boxes in by_column.items():
        for row, step in enumerate(boxes):
            place[step.name] = (x_of[c], top + row * (BOX_HEIGHT + ROW_GAP), widths[c])
    parts.append(
        '<defs><marker id="mlops-arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" '
        f'markerHeight="7" orient="auto"><path d="M0,0L8,4L0,8z" fill="{INK}"/></marker></defs>'
    )
    for source, target in edges:
        sx, sy, sw = place[source]
        tx, ty, _ = place[target]
        x1, y1, x2, y2 = sx + sw, sy + BOX_HEIGHT / 2, tx - 1, ty + BOX_HEIGHT / 2
        bend = max((x2 - x1) / 2, 12)
        parts.append(
            f'<path class="mlops-edge" d="M{x1:.1f},{y1:.1f} C{x1 + bend:.1f},{y1:.1f} '
            f'{x2 - bend:.1f},{y2:.1f} {x2:.1f},{y2:.1f}" fill="none" stroke="{INK}" '
            'stroke-opacity="0.6" marker-end="url(#mlops-arrow)">'
            f"<title>{html.escape(source)} → {html.escape(target)}</title></path>"
        )
    for step in steps:
        x, y, w = place[step.name]
        stroke, fill, words = STATE_STYLE[step.state]
        dash = ' stroke-dasharray="4 3"' if step.state in DASHED_STATES else ""
        note = step.note or words
        tip = step.name + (f": {note}" if note else "")
        parts.append(
            f'<g class="mlops-step" data-step="{html.escape(step.name)}" '
            f'data-state="{html.escape(step.state or "")}"><title>{html.escape(tip)}</title>'
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{BOX_HEIGHT}" rx="5" '
            f'fill="{fill}" stroke="{stroke}" stroke-width="1.5"{dash}/>'
            f'<text x="{x + 8:.1f}" y="{y + 16:.1f}" fill="{INK}" font-weight="bold">'
            f"{html.escape(_shorten(step.name))}</text>"
        )
        if note:
            parts.append(
                f'<text x="{x + 8:.1f}" y="{y + 30:.1f}" fill="{stroke}">'
                f"{html.escape(_shorten(note))}</text>"
            )
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def _shorten(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def _box_width(step: StepBox) -> float:
    longest = max(len(_shorten(step.name)), len(_shorten(step.note or "")), 6)
    return longest * CHAR_WIDTH + 18
