"""Every table of the registry's schema has a merge decision (sharing.merge_plan): a
migration that adds a table without saying how a merge treats it fails here."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.registry.migrations import statements_of
from jupyter_mlops.registry.schema import MIGRATIONS
from jupyter_mlops.sharing import merge_plan
from jupyter_mlops.sharing.merge_plan import HOW, TABLE_DECISIONS, decision_for


def schema_tables(tmp_path: Path) -> set[str]:
    with Registry.init(tmp_path) as registry:
        return {
            row[0]
            for row in registry.query(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        }


def test_every_table_of_the_schema_has_a_merge_decision(tmp_path: Path) -> None:
    tables = schema_tables(tmp_path)
    undecided = sorted(t for t in tables if decision_for(t) is None)
    assert undecided == [], (
        f"Say in jupyter_mlops/sharing/merge_plan.py how a merge treats {undecided}"
    )
    assert {decision_for(t).how for t in tables} <= set(HOW)  # type: ignore[union-attr]


def test_no_decision_names_a_table_the_schema_lacks(tmp_path: Path) -> None:
    assert sorted(set(TABLE_DECISIONS) - schema_tables(tmp_path)) == []


def test_a_table_a_new_migration_would_add_is_undecided() -> None:
    created = {
        statement.split("(")[0].split()[-1]
        for migration in MIGRATIONS
        for statement in statements_of(migration.sql)
        if statement.upper().startswith("CREATE TABLE")
    }
    assert "runs" in created and decision_for("runs") is not None
    assert decision_for("a_table_added_later") is None


@pytest.mark.parametrize("table", sorted(TABLE_DECISIONS))
def test_the_docstring_table_lists_each_decided_table(table: str) -> None:
    assert table in (merge_plan.__doc__ or "")
