"""The registry's tables, as an ordered list of named migrations.

A registry records which migrations it has applied in ``schema_migrations``; opening
it applies the missing ones, in this order, inside one write transaction, so two
processes opening a new registry at once cannot both migrate it. A registry that has
applied a migration this version does not know was made by a newer jupyter-mlops and
is refused rather than guessed at.

Conventions, so the file reads well from ``sqlite-utils``, datasette or pandas:
times are unix epoch seconds (REAL); the ``runs_view`` view adds readable times and
durations. A metric value of NULL means NaN (SQLite has no NaN); infinities are
stored as such. Parameters keep their native SQLite type so filters compare numbers
as numbers; lists and dicts are JSON text, and ``type`` says what to turn them back into.

The SQL of each migration lives in :mod:`.tables`, one module per group; a new
migration is appended here, after the others, under a name of its own.
"""

from __future__ import annotations

from .tables.artifact_details import RUN_ARTIFACT_DETAILS
from .tables.closures import CLOSURES
from .tables.columns import COLUMN_CHOICES
from .tables.drift import DRIFT
from .tables.gate_groups import GATE_GROUPS
from .tables.housekeeping import RUN_HOUSEKEEPING
from .tables.lists import LIST_INDEXES
from .tables.migration import Migration
from .tables.mlflow_pushes import MLFLOW_PUSHES
from .tables.models import GUARD
from .tables.monitoring import MONITORING
from .tables.parents import RUN_PARENTS
from .tables.pipelines import PIPELINES
from .tables.predictions import PREDICTIONS
from .tables.previews import METRIC_PREVIEWS
from .tables.reproductions import REPRODUCTIONS
from .tables.runs import CORE
from .tables.search import SEARCH

__all__ = ["MIGRATIONS", "Migration"]

MIGRATIONS: tuple[Migration, ...] = (
    CORE,
    GUARD,
    DRIFT,
    PIPELINES,
    SEARCH,
    LIST_INDEXES,
    METRIC_PREVIEWS,
    RUN_ARTIFACT_DETAILS,
    RUN_PARENTS,
    RUN_HOUSEKEEPING,
    COLUMN_CHOICES,
    CLOSURES,
    REPRODUCTIONS,
    PREDICTIONS,
    MONITORING,
    GATE_GROUPS,
    MLFLOW_PUSHES,
)
