"""The filter compiler: filter expressions and sort keys turned into SQL."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ...errors import ExpressionError, InvalidInputError
from ...registry.connection import Registry
from .. import expressions as ex

# Run fields a filter or sort may name, and the SQL that gives each.
RUN_FIELDS: dict[str, str] = {
    "id": "runs.id",
    "name": "runs.name",
    "status": "runs.status",
    "kind": "runs.kind",
    "experiment": "experiments.name",
    "started_at": "runs.started_at",
    "ended_at": "runs.ended_at",
    "duration": "(runs.ended_at - runs.started_at)",
    "notebook_path": "runs.notebook_path",
    "git_commit": "runs.git_commit",
    "git_dirty": "runs.git_dirty",
    "previous_run_id": "runs.previous_run_id",
}


@dataclass
class FilterCompiler:
    """Turns names into SQL, adding one join per metric, parameter or tag used."""

    registry: Registry
    source: str
    joins: list[str] = field(default_factory=list)
    join_params: list[Any] = field(default_factory=list)
    aliases: dict[tuple[str, str], str] = field(default_factory=dict)

    def column(self, name: ex.Name) -> str:
        parts = name.parts
        if len(parts) == 2 and parts[0] in ("params", "param", "metrics", "metric", "tags", "tag"):
            kind = {"param": "params", "metric": "metrics", "tag": "tags"}.get(parts[0], parts[0])
            key = parts[1]
            if not self._exists(kind, key):
                raise self._unknown(name.dotted, kind, key)
            return self._join(kind, key)
        dotted = name.dotted
        if dotted in RUN_FIELDS:
            return RUN_FIELDS[dotted]
        is_metric = self._exists("metrics", dotted)
        is_param = self._exists("params", dotted)
        if is_metric and is_param:
            raise ExpressionError(
                f'"{dotted}" is both a metric and a parameter',
                expression=self.source,
                hint=f"Write metrics.{dotted} or params.{dotted}.",
            )
        if is_metric:
            return self._join("metrics", dotted)
        if is_param:
            return self._join("params", dotted)
        raise self._unknown(dotted, None, dotted)

    def _exists(self, kind: str, key: str) -> bool:
        table = {"metrics": "metric_summaries", "params": "params", "tags": "tags"}[kind]
        row = self.registry.query_one(f"SELECT 1 FROM {table} WHERE key = ? LIMIT 1", (key,))
        return row is not None

    def _join(self, kind: str, key: str) -> str:
        alias = self.aliases.get((kind, key))
        if alias is None:
            alias = f"j{len(self.aliases)}"
            self.aliases[(kind, key)] = alias
            table = {"metrics": "metric_summaries", "params": "params", "tags": "tags"}[kind]
            self.joins.append(
                f"LEFT JOIN {table} AS {alias} ON {alias}.run_id = runs.id AND {alias}.key = ?"
            )
            self.join_params.append(key)
        return f"{alias}.last" if kind == "metrics" else f"{alias}.value"

    def _unknown(self, shown: str, kind: str | None, key: str) -> ExpressionError:
        candidates = list(RUN_FIELDS)
        for table, prefix in (
            ("metric_summaries", "metrics."),
            ("params", "params."),
            ("tags", "tags."),
        ):
            keys = [
                r[0] for r in self.registry.query(f"SELECT DISTINCT key FROM {table} LIMIT 500")
            ]
            candidates += keys + [prefix + k for k in keys]
        close = difflib.get_close_matches(shown, candidates, n=3)
        what = {"metrics": "metric", "params": "parameter", "tags": "tag"}.get(kind or "", "column")
        hint = (
            f"Did you mean {', '.join(close)}?"
            if close
            else (
                "Known run fields: "
                + ", ".join(RUN_FIELDS)
                + "; metrics and params by their names."
            )
        )
        return ExpressionError(
            f'Unknown {what} "{shown}" in {self.source!r}', expression=self.source, hint=hint
        )

    def where(self, node: ex.Expression, params: list[Any]) -> str:
        if isinstance(node, ex.Name):
            return self.column(node)
        if isinstance(node, ex.Literal):
            if node.value is None:
                return "NULL"
            params.append(int(node.value) if isinstance(node.value, bool) else node.value)
            return "?"
        if isinstance(node, ex.Compare):
            left = self.where(node.left, params)
            if isinstance(node.right, ex.Literal) and node.right.value is None:
                if node.op not in ("==", "!="):
                    raise ExpressionError(
                        f"Cannot order against None in {self.source!r}", expression=self.source
                    )
                return f"({left} IS {'NOT ' if node.op == '!=' else ''}NULL)"
            right = self.where(node.right, params)
            op = "=" if node.op == "==" else node.op
            return f"({left} {op} {right})"
        if isinstance(node, ex.Membership):
            item = self.where(node.item, params)
            params.extend(int(v) if isinstance(v, bool) else v for v in node.values)
            marks = ", ".join("?" for _ in node.values) or "NULL"
            return f"({item} {'NOT IN' if node.negated else 'IN'} ({marks}))"
        if isinstance(node, ex.Logical):
            joined = f" {node.op.upper()} ".join(self.where(o, params) for o in node.operands)
            return f"({joined})"
        if isinstance(node, ex.Not):
            return f"(NOT {self.where(node.operand, params)})"
        if isinstance(node, ex.Arithmetic):
            left = self.where(node.left, params)
            right = self.where(node.right, params)
            if node.op == "/":
                return f"(CAST({left} AS REAL) / {right})"
            return f"({left} {node.op} {right})"
        if isinstance(node, ex.Negative):
            return f"(-{self.where(node.operand, params)})"
        raise ExpressionError(f"Cannot use {node!r} in a filter", expression=self.source)


def order_by_clause(compiler: FilterCompiler, sort: str | Sequence[str] | None) -> str:
    keys = [sort] if isinstance(sort, str) else list(sort or [])
    clauses = []
    for key in keys:
        key = key.strip()
        descending = key.startswith("-")
        name = key.lstrip("-+").strip()
        if not name:
            raise InvalidInputError(
                f'"{key}" is not a sort key',
                hint="Sort by a field, metric or param, e.g. -accuracy.",
            )
        try:
            parsed = ex.parse(name)
        except ExpressionError:
            parsed = ex.Name(tuple(name.split(".")))
        if not isinstance(parsed, ex.Name):
            raise InvalidInputError(
                f'"{name}" is not a sort key', hint="Sort by one name, e.g. -accuracy or params.lr."
            )
        column = compiler.column(parsed)
        clauses.append(f"({column} IS NULL), {column} {'DESC' if descending else 'ASC'}")
    clauses.append("runs.started_at DESC")
    return ", ".join(clauses)
