"""Migration 0007: the previews of long metric curves, filled for those already recorded."""

from __future__ import annotations

from ..previews import PREVIEWS_SQL, fill_previews
from .migration import Migration

METRIC_PREVIEWS = Migration("0007_metric_previews", PREVIEWS_SQL, step=fill_previews)
