"""A run's artifacts as HTML: the list (name, kind, size, media type, cell) and what can be
shown of each, images inline, a table's first rows, the start of a text. Shared by the
run view's widget and its static form, which keeps the images inside the page (data URLs)
so a saved notebook shows them without a kernel."""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence

from ..tracking.formatting import size_text
from ..tracking.queries.artifacts import ArtifactPreview
from ..tracking.queries.records import ArtifactRecord
from .base import table, text

# Images larger than this are listed, not embedded in the page.
INLINE_IMAGE_MAX_BYTES = 1024 * 1024


def artifacts_html(
    records: Sequence[ArtifactRecord], previews: Mapping[str, ArtifactPreview] | None = None
) -> str:
    """The list of ``records`` and, below it, the preview of each one ``previews`` holds."""
    if not records:
        return "<p>No artifacts.</p>"
    previews = previews or {}
    listing = table(
        ["name", "kind", "size", "media type", "cell"],
        [
            [
                text(a.name),
                text(a.kind),
                size_text(a.size),
                text(a.media_type),
                "" if a.execution_count is None else f"[{a.execution_count}]",
            ]
            for a in records
        ],
        [False, False, True, False, False],
    )
    shown = [_preview_html(previews[a.name]) for a in records if a.name in previews]
    return listing + "".join(part for part in shown if part)


def _preview_html(preview: ArtifactPreview) -> str:
    title = f"<div><b>{html.escape(preview.name)}</b></div>"
    if preview.image is not None and len(preview.image) <= INLINE_IMAGE_MAX_BYTES:
        data = base64.b64encode(preview.image).decode("ascii")
        media = html.escape(preview.media_type or "image/png")
        return (
            f'<div class="mlops-artifact">{title}<img alt="{html.escape(preview.name)}"'
            f' src="data:{media};base64,{data}" style="max-width:480px;max-height:360px"></div>'
        )
    if preview.table is not None:
        columns = [str(c) for c in preview.table.get("columns", [])]
        rows = preview.table.get("rows", [])
        total = preview.table.get("total_rows", len(rows))
        body = table(columns, [[text(v) for v in row] for row in rows])
        note = f"<small>first {len(rows)} of {total:,} rows</small>"
        return f'<div class="mlops-artifact">{title}{body}{note}</div>'
    if preview.text is not None:
        more = "<small>(cut short)</small>" if preview.truncated else ""
        return (
            f'<div class="mlops-artifact">{title}'
            f'<div class="mlops-code">{html.escape(preview.text)}</div>{more}</div>'
        )
    return ""
