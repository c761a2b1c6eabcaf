"""Pieces every view shares: escaping, tables, the static-HTML fallback."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets

from ..tracking.formatting import value_text
from .styles import TABLE_STYLE


def text(value: Any) -> str:
    """A value as escaped text for a table cell (:func:`value_text`, cut short: JSON at 80
    characters, other text at 120)."""
    limit = 80 if isinstance(value, (list, dict)) else 120
    return html.escape(value_text(value)[:limit])


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    numeric: Sequence[bool] | None = None,
    row_classes: Sequence[str] | None = None,
) -> str:
    numeric = numeric or [False] * len(headers)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = []
    for index, row in enumerate(rows):
        cls = f' class="{row_classes[index]}"' if row_classes and row_classes[index] else ""
        cells = "".join(
            f'<td class="num">{c}</td>' if n else f"<td>{c}</td>" for c, n in zip(row, numeric)
        )
        body.append(f"<tr{cls}>{cells}</tr>")
    return f'<table class="mlops-table"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


class View(widgets.VBox):
    """A VBox that also offers static HTML and text, for readers without a widget manager.

    ``display(view)`` shows it through :func:`.static.show`: the static form (HTML tables
    and SVG charts, and the same as text) that an exported or reopened notebook and a
    terminal keep, and the live widget where a kernel runs.
    """

    def static_html(self) -> str:
        """The view as HTML without widgets; each view renders its own."""
        return ""

    def static_text(self) -> str:
        """The view as plain text: its static HTML's tables laid out in columns."""
        from .static import plain_text

        return plain_text(self.static_html())

    def _ipython_display_(self) -> None:
        from .static import show

        show(self)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """One bundle: the widget, its static HTML and its text (for callers that format
        the view themselves; ``display`` goes through :meth:`_ipython_display_`)."""
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        bundle["text/html"] = TABLE_STYLE + self.static_html()
        bundle["text/plain"] = self.static_text()
        return bundle


def message(text: str, *, level: str = "info") -> widgets.HTML:
    """A one-line note in the notebook, escaped."""
    colour = {
        "info": "var(--jp-ui-font-color1)",
        "warning": "var(--jp-warn-color1,#a60)",
        "error": "var(--jp-error-color1,#c00)",
    }[level]
    return widgets.HTML(f'<span style="color:{colour}">{html.escape(text)}</span>')
