"""What a migration is: a name, its SQL and an optional Python step."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import sqlite_utils


class Migration(NamedTuple):
    """A named step of the schema; applied once, in the order of ``MIGRATIONS``.

    ``sql`` runs first; ``step``, when given, then gets the same connection, inside the
    same transaction, as a ``sqlite_utils.Database``: for what sqlite-utils does better
    than hand-written SQL (``table.transform(...)``, ``table.enable_fts(...)``).
    """

    name: str
    sql: str
    step: Callable[[sqlite_utils.Database], None] | None = None
