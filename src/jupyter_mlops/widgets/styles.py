"""The style every view's HTML starts with: tables, status colours, code blocks; JupyterLab's
theme colours where there are some, plain ones elsewhere (an exported page)."""

from __future__ import annotations

TABLE_STYLE = (
    "<style>.mlops-table{border-collapse:collapse;font-size:12px;margin:4px 0}"
    ".mlops-table th,.mlops-table td{padding:3px 8px;border-bottom:1px solid "
    "var(--jp-border-color2,#ddd);text-align:left;white-space:nowrap}"
    ".mlops-table th{font-weight:600}.mlops-table td.num{text-align:right;"
    "font-variant-numeric:tabular-nums}.mlops-diff{background:var(--jp-warn-color3,#fff3cd)}"
    ".mlops-status-failed,.mlops-status-crashed,.mlops-status-killed{color:var(--jp-error-color1,#c00)}"
    ".mlops-status-running{color:var(--jp-info-color1,#07c)}"
    ".mlops-code{font-family:var(--jp-code-font-family,monospace);font-size:12px;"
    "white-space:pre;overflow:auto;background:var(--jp-layout-color2,#f5f5f5);padding:6px;margin:4px 0}"
    "</style>"
)
