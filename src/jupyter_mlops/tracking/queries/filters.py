"""The filter compiler: filter expressions and sort keys turned into SQL.

A name is first resolved to a :class:`Reference` (a run field, or the key of a metric,
parameter or tag), then read in one of two ways, chosen by the query that uses it:

- ``"join"``: one ``LEFT JOIN`` per metric, parameter or tag used. SQLite may then read
  the runs from the index of a condition (``accuracy > 0.9`` reads the
  ``metric_summaries(key, last)`` index from 0.9 up): what a count of the matching runs
  wants.
- ``"lookup"``: a correlated lookup by primary key where the value is needed, which
  leaves the order of the ``FROM`` clause alone: what a page read in the order of a sort
  key's index wants, so that it stops after one page.

The sort key's own value can come from the table that drives the page (``driver``);
a filter on it then narrows the index range that is read.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ...errors import ExpressionError, InvalidInputError
from ...registry.connection import Registry
from .. import expressions as ex

# Run fields a filter or sort may name, and the SQL that gives each.
RUN_FIELDS: dict[str, str] = {
    "id": "runs.id",
    "name": "runs.name",
    "status": "runs.status",
    "kind": "runs.kind",
    "experiment": "(SELECT name FROM experiments WHERE experiments.id = runs.experiment_id)",
    "started_at": "runs.started_at",
    "ended_at": "runs.ended_at",
    "duration": "(runs.ended_at - runs.started_at)",
    "notebook_path": "runs.notebook_path",
    "git_commit": "runs.git_commit",
    "git_dirty": "runs.git_dirty",
    "previous_run_id": "runs.previous_run_id",
    "parent_run_id": "runs.parent_run_id",
    "is_child": "(runs.parent_run_id IS NOT NULL)",
}

# Run fields that can be NULL: a list sorted by one puts the runs without it last.
NULLABLE_FIELDS = frozenset(
    (
        "ended_at",
        "duration",
        "notebook_path",
        "git_commit",
        "git_dirty",
        "previous_run_id",
        "parent_run_id",
    )
)

# Where each kind of value is stored: (table, column of the value).
VALUE_TABLES: dict[str, tuple[str, str]] = {
    "metrics": ("metric_summaries", "last"),
    "params": ("params", "value"),
    "tags": ("tags", "value"),
}

_PREFIXES = {
    "params": "params",
    "param": "params",
    "metrics": "metrics",
    "metric": "metrics",
    "tags": "tags",
    "tag": "tags",
}


@dataclass(frozen=True)
class Reference:
    """What a name in a filter or a sort key stands for: a run field (``kind`` "field",
    ``key`` its name) or the key of a metric (its last value), parameter or tag."""

    kind: str  # field | metrics | params | tags
    key: str

    @property
    def table(self) -> str:
        return VALUE_TABLES[self.kind][0]

    @property
    def column(self) -> str:
        return VALUE_TABLES[self.kind][1]

    @property
    def nullable(self) -> bool:
        return self.kind != "field" or self.key in NULLABLE_FIELDS

    @property
    def text(self) -> str:
        """The name as a sort key writes it: ``started_at``, ``metrics.accuracy``."""
        return self.key if self.kind == "field" else f"{self.kind}.{self.key}"


@dataclass(frozen=True)
class SortKey:
    """One key of a sort: what it reads, and in which direction."""

    reference: Reference
    descending: bool

    @property
    def text(self) -> str:
        """The key as the API takes it: ``-metrics.accuracy``."""
        return ("-" if self.descending else "") + self.reference.text


@dataclass
class FilterCompiler:
    """Turns names into SQL: resolves each one, then reads it by join or by lookup."""

    registry: Registry
    source: str
    lookups: Literal["join", "lookup"] = "join"
    # The reference the driving table of the query holds, and the SQL of its value.
    driver: tuple[Reference, str] | None = None
    # What the joins match run_id against: the runs' id, or the run_id of the table the
    # query reads first when it does not read the runs (see PageReader._matches).
    run_id_sql: str = "runs.id"
    joins: list[str] = field(default_factory=list)
    join_params: list[Any] = field(default_factory=list)
    aliases: dict[tuple[str, str], str] = field(default_factory=dict)
    known: dict[tuple[str, str], bool] = field(default_factory=dict)  # keys looked up once

    def resolve(self, name: ex.Name) -> Reference:
        """The run field, metric, parameter or tag ``name`` stands for.

        A bare name is a run field, else a metric, else a parameter (an error when it is
        both); ``metrics.x``, ``params.x`` and ``tags.x`` say which.
        """
        parts = name.parts
        if len(parts) == 2 and parts[0] in _PREFIXES:
            kind = _PREFIXES[parts[0]]
            key = parts[1]
            if not self._exists(kind, key):
                raise self._unknown(name.dotted, kind, key)
            return Reference(kind, key)
        dotted = name.dotted
        if dotted in RUN_FIELDS:
            return Reference("field", dotted)
        is_metric = self._exists("metrics", dotted)
        is_param = self._exists("params", dotted)
        if is_metric and is_param:
            raise ExpressionError(
                f'"{dotted}" is both a metric and a parameter',
                expression=self.source,
                hint=f"Write metrics.{dotted} or params.{dotted}.",
            )
        if is_metric:
            return Reference("metrics", dotted)
        if is_param:
            return Reference("params", dotted)
        raise self._unknown(dotted, None, dotted)

    def value_sql(self, reference: Reference, params: list[Any]) -> str:
        """The SQL of ``reference``'s value for the run of the current row; a lookup's
        bound key is appended to ``params`` (a join's goes to ``join_params``)."""
        if reference.kind == "field":
            return RUN_FIELDS[reference.key]
        if self.driver is not None and self.driver[0] == reference:
            return self.driver[1]
        if self.lookups == "lookup":
            params.append(reference.key)
            return (
                f"(SELECT {reference.column} FROM {reference.table}"
                " WHERE run_id = runs.id AND key = ?)"
            )
        alias = self.aliases.get((reference.kind, reference.key))
        if alias is None:
            alias = f"j{len(self.aliases)}"
            self.aliases[(reference.kind, reference.key)] = alias
            self.joins.append(
                f"LEFT JOIN {reference.table} AS {alias}"
                f" ON {alias}.run_id = {self.run_id_sql} AND {alias}.key = ?"
            )
            self.join_params.append(reference.key)
        return f"{alias}.{reference.column}"

    def _exists(self, kind: str, key: str) -> bool:
        known = self.known.get((kind, key))
        if known is None:
            table = VALUE_TABLES[kind][0]
            row = self.registry.query_one(f"SELECT 1 FROM {table} WHERE key = ? LIMIT 1", (key,))
            known = self.known[(kind, key)] = row is not None
        return known

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
        """The SQL of a parsed filter; its bound values are appended to ``params``."""
        if isinstance(node, ex.Name):
            return self.value_sql(self.resolve(node), params)
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


def names_in(node: ex.Expression) -> list[ex.Name]:
    """Every name a parsed filter reads, in order."""
    if isinstance(node, ex.Name):
        return [node]
    if isinstance(node, ex.Compare | ex.Arithmetic):
        return names_in(node.left) + names_in(node.right)
    if isinstance(node, ex.Membership):
        return names_in(node.item)
    if isinstance(node, ex.Logical):
        return [name for operand in node.operands for name in names_in(operand)]
    if isinstance(node, ex.Not | ex.Negative):
        return names_in(node.operand)
    return []


def required_names(node: ex.Expression) -> list[ex.Name]:
    """Names that every run the filter keeps has a value for: those compared with a
    literal (other than None) or tested for membership in a conjunct of the filter."""
    conjuncts = node.operands if isinstance(node, ex.Logical) and node.op == "and" else (node,)
    found = []
    for conjunct in conjuncts:
        if isinstance(conjunct, ex.Compare):
            sides = (conjunct.left, conjunct.right)
            literal = next((side for side in sides if isinstance(side, ex.Literal)), None)
            name = next((side for side in sides if isinstance(side, ex.Name)), None)
            if name is not None and literal is not None and literal.value is not None:
                found.append(name)
        elif isinstance(conjunct, ex.Membership) and not conjunct.negated:
            if isinstance(conjunct.item, ex.Name):
                found.append(conjunct.item)
    return found


# Other spellings of sort names, still understood: the table's column titles and the
# panel's former labels ("metric auc").
SORT_ALIASES = {"started": "started_at", "ended": "ended_at", "run_id": "id"}
_SPELLED_KINDS = {"metric": "metrics", "param": "params", "tag": "tags"}


def sort_name(name: str) -> str:
    """``name`` as sorts write it: ``metrics.auc`` for ``metric auc``, ``started_at`` for
    ``started``; any other name as given."""
    kind, space, rest = name.partition(" ")
    if space and kind in _SPELLED_KINDS and rest.strip():
        return f"{_SPELLED_KINDS[kind]}.{rest.strip()}"
    return SORT_ALIASES.get(name, name)


def sort_keys(compiler: FilterCompiler, sort: str | Sequence[str] | None) -> tuple[SortKey, ...]:
    """The sort keys ``sort`` names (``-`` in front for descending), resolved.

    Example::

        sort_keys(compiler, "-accuracy")   # (SortKey(Reference("metrics", "accuracy"), True),)
    """
    keys = [sort] if isinstance(sort, str) else list(sort or [])
    resolved = []
    for key in keys:
        key = key.strip()
        descending = key.startswith("-")
        name = sort_name(key.lstrip("-+").strip())
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
        resolved.append(SortKey(compiler.resolve(parsed), descending))
    return tuple(resolved)
