"""The images a run's cells display, stored as the run's artifacts with no logging call.

While a run records (``%%mlops run``, or ``%mlops start`` ... ``%mlops end``), what its
cells display goes through IPython's display publisher (``display()``, ``plt.show()``
under the inline backend, a plotly figure's output) or its display hook (a cell's
value). Both are wrapped: the output is shown first, exactly as before, then its image
(PNG, else JPEG, else SVG) or plotly figure is handed to the core as
``outputs/cell-<n>-<k>.<ext>``, the k-th image cell n showed, linked to that cell. The
same bytes shown again by a run are stored once. A cell that displays nothing never
reaches this code; ``--no-outputs`` (or ``--no-capture``) turns it off for a run.

A ``%%mlops run`` cell ends its run before IPython shows the cell's value and draws the
figures left open (``post_execute``): the magic calls :meth:`OutputCapture.end_of_run_cell`
first, which draws those figures now and stores the value's image.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import sys
from typing import Any

from ..tracking.artifact_formats import is_plotly_figure, matplotlib_figure
from ..tracking.run import Run
from ..tracking.session import active_run
from ..tracking.unrecorded import UnrecordedRun
from .session import NotebookSession, warn

PLOTLY = "application/vnd.plotly.v1+json"
# What is kept of a displayed output, best first: (media type, suffix, kind)
CAPTURED = (
    ("image/png", "png", "image"),
    ("image/jpeg", "jpg", "image"),
    ("image/svg+xml", "svg", "image"),
    (PLOTLY, "plotly.json", "figure"),
)
CAPTURED_TYPES = frozenset(media for media, _, _ in CAPTURED)


def output_bytes(media_type: str, value: Any) -> bytes | None:
    """The bytes of one entry of a display bundle: binary images come base64-encoded
    from some formatters and raw from others; SVG is text; plotly's is a JSON object."""
    if media_type == PLOTLY:
        return json.dumps(value, sort_keys=True, default=str).encode("utf-8")
    if isinstance(value, bytes):
        return value
    if not isinstance(value, str):
        return None
    if media_type == "image/svg+xml":
        return value.encode("utf-8")
    try:
        return base64.b64decode(value, validate=False)
    except (binascii.Error, ValueError):
        return None


class OutputCapture:
    """Wraps a shell's display publisher and display hook while the extension is loaded."""

    def __init__(self, shell: Any, session: NotebookSession) -> None:
        self.shell = shell
        self.session = session
        self.enabled: dict[str, bool] = {}  # run id -> capture on (default on)
        self._counts: dict[tuple[str, int | None], int] = {}
        self._shown: dict[str, set[str]] = {}  # run id -> sha256 of what it stored
        self._installed: list[tuple[Any, str]] = []
        self._warned = False

    # -- hooks ------------------------------------------------------------------------------

    def install(self) -> None:
        publisher = getattr(self.shell, "display_pub", None)
        if publisher is not None:
            self._wrap(publisher, "publish", self._published)
        hook = getattr(self.shell, "displayhook", None)
        if hook is not None:
            self._wrap(hook, "write_format_data", self._published)

    def uninstall(self) -> None:
        for target, method in self._installed:
            try:
                delattr(target, method)  # the class's own method again
            except AttributeError:
                pass
        self._installed.clear()

    def _wrap(self, target: Any, method: str, after: Any) -> None:
        original = getattr(target, method)

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)  # shown first, whatever happens next
            data = kwargs.get("data", kwargs.get("format_dict", args[0] if args else None))
            if isinstance(data, dict) and not CAPTURED_TYPES.isdisjoint(data):
                after(data)
            return result

        setattr(target, method, wrapped)
        self._installed.append((target, method))

    # -- capture ----------------------------------------------------------------------------

    def recording(self) -> Run | None:
        """The run that keeps what is displayed now, if any."""
        run = active_run()
        if run is None or isinstance(run, UnrecordedRun) or not self.enabled.get(run.id, True):
            return None
        return run

    def _published(self, data: dict[str, Any]) -> None:
        run = self.recording()
        if run is None:
            return
        try:
            self.keep(run, data)
        except Exception as exc:  # noqa: BLE001 - an output must never fail the cell
            if not self._warned:
                self._warned = True
                warn(f'a displayed output of run "{run.name}" was not stored: {exc}')

    def keep(self, run: Run, data: dict[str, Any]) -> None:
        """Store the best image (or plotly figure) of the bundle ``data`` for ``run``."""
        for media_type, suffix, kind in CAPTURED:
            if media_type not in data:
                continue
            blob = output_bytes(media_type, data[media_type])
            if not blob:
                continue
            sha = hashlib.sha256(blob).hexdigest()
            shown = self._shown.setdefault(run.id, set())
            if sha in shown:
                return  # the same image shown again: stored once
            number = self.session.execution_count
            if number is None:  # after the cell's code (post_execute), IPython has
                number = _previous_count(self.shell)  # counted the next cell already
            key = (run.id, number)
            index = self._counts.get(key, 0) + 1
            self._counts[key] = index
            cell = "x" if number is None else str(number)
            record = run.log_output(
                blob,
                name=f"outputs/cell-{cell}-{index}.{suffix}",
                media_type=media_type,
                kind=kind,
                cell=(number, self.session.cell_id),
            )
            if record is not None:
                shown.add(sha)
            return

    def end_of_run_cell(self, run: Run, value: Any) -> None:
        """Before a ``%%mlops run`` cell ends its run: draw the figures the inline backend
        would draw after the cell, and store the image of the cell's value."""
        if self.recording() is not run:
            return
        flush = _inline_flush()
        if flush is not None:
            try:
                flush()
            except Exception:  # noqa: BLE001 - the figures are drawn again after the cell
                pass
        if value is None or not _has_image(value):
            return
        try:
            data, _ = self.shell.display_formatter.format(value, include=CAPTURED_TYPES)
        except Exception:  # noqa: BLE001 - IPython shows the value's error itself
            return
        if data:
            self._published(data)


def _previous_count(shell: Any) -> int | None:
    count = getattr(shell, "execution_count", None)
    return count - 1 if isinstance(count, int) and count > 1 else None


def _has_image(value: Any) -> bool:
    if matplotlib_figure(value) is not None or is_plotly_figure(value):
        return True
    return any(hasattr(value, f"_repr_{kind}_") for kind in ("png", "jpeg", "svg"))


def _inline_flush() -> Any:
    """matplotlib-inline's ``flush_figures`` when the inline backend is the one in use."""
    inline = sys.modules.get("matplotlib_inline.backend_inline")
    matplotlib = sys.modules.get("matplotlib")
    if inline is None or matplotlib is None:
        return None
    backend = str(matplotlib.get_backend()).lower()
    if "inline" not in backend:
        return None
    return getattr(inline, "flush_figures", None)
