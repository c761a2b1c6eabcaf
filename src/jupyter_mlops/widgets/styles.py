"""The style every view's HTML starts with: tables, status colours, code blocks; JupyterLab's
theme colours where there are some, plain ones elsewhere (an exported page).

Every state has one colour, the same as in the panel (``labextension/style/base.css``): green
for finished, passed and monitor; amber for review and running-into-trouble states; red for
failed, retrain and a failed gate; blue for running; grey for archived. A highlighted row or
a badge is a *tint* of that colour over the page (:func:`tint`) under the theme's own text
colour, so it reads in the light and the dark theme (never white text on a light colour).

    f'<span class="mlops-badge" style="{badge_style("review")}">review</span>'
"""

from __future__ import annotations

SUCCESS = "var(--jp-success-color1,#388e3c)"
WARN = "var(--jp-warn-color1,#f57c00)"
ERROR = "var(--jp-error-color1,#d32f2f)"
INFO = "var(--jp-brand-color1,#1976d2)"
NEUTRAL = "var(--jp-layout-color3,#bdbdbd)"
TEXT = "var(--jp-ui-font-color1,rgba(0,0,0,.87))"

STATE_COLOURS = {
    **dict.fromkeys(
        ("finished", "completed", "succeeded", "passed", "ok", "monitor", "cached", "reused"),
        SUCCESS,
    ),
    **dict.fromkeys(
        ("failed", "crashed", "killed", "gate_failed", "error", "retrain", "drift"), ERROR
    ),
    **dict.fromkeys(
        ("review", "skipped", "stopped", "drift_stopped", "null-rate drift", "unseen categories"),
        WARN,
    ),
    **dict.fromkeys(("running", "pending"), INFO),
}
"""The colour of each state word; any other state is :data:`NEUTRAL`."""


def state_colour(state: str | None) -> str:
    """The colour of ``state`` (a run status, a verdict, a drift decision)."""
    return STATE_COLOURS.get(state or "", NEUTRAL)


def tint(colour: str, share: int = 22) -> str:
    """``colour`` mixed into the page's background: a highlight that keeps text readable."""
    return f"color-mix(in srgb,{colour} {share}%,var(--jp-layout-color1,#fff))"


def badge_style(state: str | None) -> str:
    """The inline style of a badge for ``state``, as the panel draws it."""
    colour = state_colour(state)
    return f"background:{tint(colour)};border:1px solid {colour};color:{TEXT}"


TABLE_STYLE = (
    "<style>.mlops-table{border-collapse:collapse;font-size:12px;margin:4px 0}"
    ".mlops-table th,.mlops-table td{padding:3px 8px;border-bottom:1px solid "
    "var(--jp-border-color2,#ddd);text-align:left;white-space:nowrap}"
    ".mlops-table th{font-weight:600}.mlops-table td.num{text-align:right;"
    f"font-variant-numeric:tabular-nums}}.mlops-diff{{background:{tint(WARN)};color:{TEXT}}}"
    f".mlops-status-failed,.mlops-status-crashed,.mlops-status-killed{{color:{ERROR}}}"
    f".mlops-status-running{{color:{INFO}}}"
    ".mlops-code{font-family:var(--jp-code-font-family,monospace);font-size:12px;"
    "white-space:pre;overflow:auto;background:var(--jp-layout-color2,#f5f5f5);padding:6px;margin:4px 0}"
    "</style>"
)
