"""What a view leaves in the notebook for readers without a kernel: one display path for
every view.

A view (:class:`~jupyter_mlops.widgets.base.View`) is shown through :func:`show`, which
``display(view)`` and a cell's value both reach (``View._ipython_display_``):

- In a kernel that runs widgets (ipykernel), two outputs. The first is the static form:
  ``text/html`` (the view's tables and inline SVG charts, escaped, no JavaScript) and
  ``text/plain`` (the same tables as text). The second is the live widget, whose only
  fallback is empty text. The widget carries a style that hides the static output while
  the widget is drawn, so JupyterLab shows the live view once; where no widget is drawn
  (``jupyter nbconvert --to html``, nbviewer, GitHub, a notebook reopened without its
  kernel) the static output is what shows. Two outputs rather than one bundle because
  nbconvert picks a bundle's widget over its HTML whenever the notebook saved the widget
  state (nbclient, ``nbconvert --execute`` and papermill always do), and then draws it
  only with JavaScript fetched from a CDN.
- Without such a kernel (terminal IPython, a plain ``InteractiveShell``), one output of
  ``text/plain`` and ``text/html``: the terminal prints the tables as text.

:func:`plain_text` turns any view's static HTML into that text, so no view writes its
text form by hand.

    show(RunsTableView(list_runs(registry)))      # what display(view) does
    plain_text(RunView(detail).static_html())     # the tables as text
"""

from __future__ import annotations

import re
import uuid
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

from .styles import TABLE_STYLE

if TYPE_CHECKING:
    from .base import View

OUTPUT_KEY = "jupyter_mlops"
"""The output metadata key that pairs a static output (``{"static": token}``) with its
live widget (``{"live": token}``)."""

CELL_WIDTH = 48
"""Widest column of a text table; longer values are cut with an ellipsis."""


def live_widgets(shell: Any) -> bool:
    """Whether ``shell`` runs in a kernel, whose frontend may draw widgets."""
    return shell is not None and getattr(shell, "kernel", None) is not None


def static_bundle(body: str, *, token: str | None = None) -> dict[str, str]:
    """A view's static output from its static HTML ``body``: the HTML (style included)
    and the same as text."""
    marker = f" mlops-static-{token}" if token else ""
    return {
        "text/plain": plain_text(body),
        "text/html": f'<div class="mlops-static{marker}">{TABLE_STYLE}{body}</div>',
    }


def show(view: View, shell: Any = None) -> None:
    """Display ``view``: its static form, and the live widget when a kernel runs."""
    from IPython.core.getipython import get_ipython
    from IPython.display import publish_display_data

    shell = shell if shell is not None else get_ipython()
    if not live_widgets(shell):
        publish_display_data(static_bundle(view.static_html()))
        return
    token = uuid.uuid4().hex[:16]
    publish_display_data(
        static_bundle(view.static_html(), token=token), metadata={OUTPUT_KEY: {"static": token}}
    )
    live = _live(view, token)
    bundle = live._repr_mimebundle_() or {}
    bundle["text/plain"] = ""  # the static output above is the fallback
    publish_display_data(bundle, metadata={OUTPUT_KEY: {"live": token}})


def _live(view: View, token: str) -> Any:
    """The widget to display: ``view`` after a style, present in the page only while the
    widget is drawn, that hides the static output of the same token."""
    import ipywidgets as widgets

    hide = (
        f"<style>.mlops-static-{token}{{display:none}}"
        f".jp-OutputArea-child:has(.mlops-static-{token}){{display:none}}</style>"
    )
    style = widgets.HTML(hide, layout=widgets.Layout(height="0px", margin="0px"))
    return widgets.VBox([style, view])


# -- the text form -------------------------------------------------------------------------------

_BLOCKS = frozenset(
    ("p", "div", "br", "h1", "h2", "h3", "h4", "h5", "h6", "details", "summary", "li", "ul")
)
_HEADINGS = frozenset(("h1", "h2", "h3", "h4", "h5", "h6"))


class _TextForm(HTMLParser):
    """Collects blocks of text from a view's HTML: paragraphs, headings, tables laid out
    in columns, code as written, and one line per chart or image."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self.line: list[str] = []
        self.skip = 0  # inside <style> or <script>
        self.rows: list[list[str]] | None = None  # inside a table
        self.cell: list[str] | None = None
        self.code_depth = 0  # inside a code block: whitespace kept
        self.svg_depth = 0
        self.chart_title: str | None = None
        self.in_chart_title = False
        self.heading = False

    # -- structure ------------------------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag in ("style", "script"):
            self.skip += 1
            return
        if self.svg_depth:
            if tag == "svg":
                self.svg_depth += 1
            elif tag == "text" and found.get("font-weight") == "bold" and self.chart_title is None:
                self.in_chart_title = True
                self.chart_title = ""
            return
        if tag == "svg":
            self.svg_depth, self.chart_title = 1, None
            return
        if self.code_depth:
            if tag == "div":
                self.code_depth += 1
            return
        if tag == "table":
            self._end_line()
            self.rows = []
        elif tag == "tr" and self.rows is not None:
            self.rows.append([])
        elif tag in ("td", "th") and self.rows is not None:
            self.cell = []
        elif tag == "img":
            self._text(f"[image: {found.get('alt') or ''}]")
        elif tag in _BLOCKS:
            self._end_line()
            if tag == "div" and "mlops-code" in (found.get("class") or "").split():
                self.code_depth = 1
            self.heading = tag in _HEADINGS

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self.skip = max(self.skip - 1, 0)
            return
        if self.svg_depth:
            if tag == "text":
                self.in_chart_title = False
            elif tag == "svg":
                self.svg_depth -= 1
                if not self.svg_depth:
                    self._end_line()
                    self.blocks.append(f"[chart: {(self.chart_title or '').strip()}]")
            return
        if self.code_depth:
            if tag == "div":
                self.code_depth -= 1
                if not self.code_depth:
                    self._end_line(keep_spaces=True)
            return
        if tag in ("td", "th") and self.cell is not None and self.rows:
            self.rows[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "table" and self.rows is not None:
            self.blocks.append(_columns(self.rows))
            self.rows = None
        elif tag in _BLOCKS:
            heading = self.heading and tag in _HEADINGS
            text = self._end_line()
            if heading and text:
                self.blocks.append("-" * len(text))
            self.heading = False

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.svg_depth:
            if self.in_chart_title:
                self.chart_title = (self.chart_title or "") + data
            return
        self._text(data)

    # -- text -----------------------------------------------------------------------------------

    def _text(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)
        elif self.rows is None:
            self.line.append(data)

    def _end_line(self, *, keep_spaces: bool = False) -> str:
        joined = "".join(self.line)
        self.line = []
        text = joined.strip("\n") if keep_spaces else " ".join(joined.split())
        if text.strip():
            self.blocks.append(text)
        return text

    def text(self) -> str:
        self._end_line()
        return "\n".join(self.blocks)


def _cut(value: str) -> str:
    return value if len(value) <= CELL_WIDTH else value[: CELL_WIDTH - 1] + "…"


def _columns(rows: list[list[str]]) -> str:
    """Rows of cells as aligned columns, the first row (the header) underlined."""
    rows = [[_cut(cell) for cell in row] for row in rows if row]
    if not rows:
        return ""
    count = max(len(row) for row in rows)
    rows = [row + [""] * (count - len(row)) for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(count)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def plain_text(page: str) -> str:
    """A view's static HTML as plain text: tables as aligned columns, a line per chart.

    >>> plain_text('<table><tr><th>name</th></tr><tr><td>base&lt;1&gt;</td></tr></table>')
    'name\\n-------\\nbase<1>'
    """
    parser = _TextForm()
    parser.feed(page)
    parser.close()
    return re.sub(r"\n{3,}", "\n\n", parser.text()).strip()
