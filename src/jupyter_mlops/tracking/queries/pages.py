"""Pages of runs read in the order of an index, and the cursors that continue them.

A list sorted by one key is read as one or two *segments*, each a range of one index
read in order, so that a page costs about its own rows whatever the number of runs:

- sorted by a metric, parameter or tag: first the runs with a value, from the
  ``(key, value)`` index of its table, runs with equal values by run id; then the runs
  without one (never logged, or NaN), newest first, from ``runs(started_at)``;
- sorted by a run field: the runs from that field's index (``runs(experiment_id,
  name)``...), equal values in the order the runs were recorded; runs without the field
  (``ended_at`` of a running run) last, newest first.

Equal values follow the direction of the sort, so a list sorted the other way is
exactly this list reversed. Sorting by several keys reads one segment sorted as a whole.

A page ends with a :class:`Cursor`: the segment and the sort values of its last (or
first) run. The next page starts right after it (*keyset pagination*): no rows are
skipped one by one as with an offset, and a run recorded meanwhile neither repeats nor
hides a run of the pages already seen. Cursors travel as opaque text
(:meth:`Cursor.encode`); every value in them is bound as a parameter, never spliced.

When a filter keeps few of the runs, reading the sort's index would walk past many runs
to fill one page; the page is then read the other way (``"matched"``): from the index of
the filter's condition, the matches sorted afterwards. :func:`choose_mode` decides from
the count of matches, which the list needs anyway.
"""

from __future__ import annotations

import base64
import binascii
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from ...errors import ExpressionError, InvalidInputError
from ...registry.connection import Registry
from .. import expressions as ex
from .filters import RUN_FIELDS, FilterCompiler, Reference, SortKey, names_in, required_names

Mode = Literal["ordered", "matched"]
Row = tuple[Any, ...]

# The run's own fields every page reads, in this order (see listing.RunRow).
RUN_COLUMNS_SQL = (
    "runs.id, runs.name, runs.experiment_id, runs.status, runs.kind, runs.started_at,"
    " runs.ended_at, runs.notebook_path, runs.previous_run_id, runs.parent_run_id"
)
N_RUN_COLUMNS = 10

DEFAULT_SORT = (SortKey(Reference("field", "started_at"), True),)
MAX_CURSOR_CHARACTERS = 20_000
_CURSOR_VERSION = 1


@dataclass(frozen=True)
class Term:
    """One term of a segment's order: its SQL and its direction."""

    sql: str
    descending: bool


@dataclass(frozen=True)
class Segment:
    """A part of a list that one query reads in order: its tables (the driving one
    first), what puts a run in it, and the terms of its order (the last one unique)."""

    source: str
    source_params: tuple[Any, ...]
    condition: str | None
    condition_params: tuple[Any, ...]
    order: tuple[Term, ...]
    # The sort key whose value the driving table holds, and the SQL of that value.
    driver: tuple[Reference, str] | None = None


@dataclass(frozen=True)
class Scope:
    """Which runs a list holds before its filter: an experiment's (None: all of them),
    those a text search found (a JSON list of ids, or None), only the top-level runs
    (``top_level``), or only the children of one run (``parent_run_id``).

    Both of the last two read the index ``runs(parent_run_id, started_at)``; a list of
    top-level runs of a registry that has no child run needs no condition at all
    (:func:`~.listing.list_runs` leaves ``top_level`` off then), so its pages read the
    same indexes as before runs had parents.

    ``archived`` is ``"hide"`` (runs that are not archived), ``"only"`` (the archived
    ones) or None (no condition: every run, or a registry with no archived run)."""

    experiment_id: int | None = None
    run_ids: str | None = None
    top_level: bool = False
    parent_run_id: str | None = None
    archived: Literal["hide", "only"] | None = None

    def conditions(self) -> tuple[list[str], list[Any]]:
        sql: list[str] = []
        params: list[Any] = []
        if self.experiment_id is not None:
            sql.append("runs.experiment_id = ?")
            params.append(self.experiment_id)
        if self.run_ids is not None:
            sql.append("runs.id IN (SELECT value FROM json_each(?))")
            params.append(self.run_ids)
        if self.top_level:
            sql.append("runs.parent_run_id IS NULL")
        if self.parent_run_id is not None:
            sql.append("runs.parent_run_id = ?")
            params.append(self.parent_run_id)
        if self.archived == "hide":
            sql.append("runs.archived_at IS NULL")
        elif self.archived == "only":
            sql.append("runs.archived_at IS NOT NULL")
        return sql, params

    @property
    def by_parent(self) -> bool:
        """Whether the list is narrowed to top-level runs or to one run's children."""
        return self.top_level or self.parent_run_id is not None


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the sort it belongs to, the segment, and the values of the
    segment's order terms for the run at the page's edge."""

    sort: str
    segment: int
    values: tuple[Any, ...]

    def encode(self) -> str:
        """The cursor as URL-safe text, e.g. ``WzEsIi1tZXRyaWNz...``."""
        payload = [_CURSOR_VERSION, self.sort, self.segment, list(self.values)]
        text = json.dumps(payload, separators=(",", ":"), allow_nan=True)
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, sort: str, segments: Sequence[Segment]) -> Cursor:
        """The cursor ``text`` encodes, checked against the list it is to continue."""
        if not isinstance(text, str) or len(text) > MAX_CURSOR_CHARACTERS:
            raise _bad_cursor("it is not a cursor of this list")
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            payload = json.loads(raw)
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raise _bad_cursor("it is not a cursor of this list") from None
        if not (isinstance(payload, list) and len(payload) == 4 and payload[0] == _CURSOR_VERSION):
            raise _bad_cursor("it is not a cursor of this list")
        _, cursor_sort, segment, values = payload
        if cursor_sort != sort:
            raise InvalidInputError(
                f'The cursor continues a list sorted by "{cursor_sort}", not by "{sort}"',
                hint="Ask for the first page of the new order (without a cursor).",
            )
        if (
            type(segment) is not int
            or not 0 <= segment < len(segments)
            or not isinstance(values, list)
            or len(values) != len(segments[segment].order)
            or not all(_is_sql_value(value) for value in values)
        ):
            raise _bad_cursor("its position does not fit this list")
        return cls(sort, segment, tuple(values))


def _is_sql_value(value: Any) -> bool:
    return value is None or type(value) in (int, float, str)


def _bad_cursor(why: str) -> InvalidInputError:
    return InvalidInputError(
        f"The page cursor cannot be used: {why}",
        hint="Ask for the first page again (without a cursor).",
    )


def sort_text(keys: Sequence[SortKey]) -> str:
    """The sort as one string, e.g. ``-metrics.accuracy`` or ``params.depth,-name``."""
    return ",".join(key.text for key in keys)


def segments(keys: Sequence[SortKey], mode: Mode) -> tuple[Segment, ...]:
    """The segments of a list sorted by ``keys`` (see the module's docstring).

    In ``"ordered"`` mode the driving table of each segment is the index that gives its
    order; in ``"matched"`` mode the order's terms are written ``+x`` (the same value,
    which no index provides) and the runs come first, read from the list of matches
    that the filter's own indexes give; the matches are then sorted.
    """
    plus = "+" if mode == "matched" else ""
    newest = (Term(f"{plus}runs.started_at", True), Term(f"{plus}runs.rowid", True))
    if len(keys) != 1:
        return (_sorted_as_a_whole(keys, newest),)
    key = keys[0]
    reference, descending = key.reference, key.descending
    if reference.kind == "field":
        sql = RUN_FIELDS[reference.key]
        terms = (Term(f"{plus}{sql}", descending), Term(f"{plus}runs.rowid", descending))
        if not reference.nullable:
            return (Segment("runs", (), None, (), terms),)
        return (
            Segment("runs", (), f"{sql} IS NOT NULL", (), terms),
            Segment("runs", (), f"{sql} IS NULL", (), newest),
        )
    value = f"v.{reference.column}"
    order = (Term(f"{plus}{value}", descending), Term(f"{plus}v.run_id", descending))
    if mode == "ordered":
        valued = Segment(
            f"{reference.table} AS v CROSS JOIN runs ON runs.id = v.run_id",
            (),
            f"v.key = ? AND {value} IS NOT NULL",
            (reference.key,),
            order,
            driver=(reference, value),
        )
    else:  # runs first: they come from the matches (see PageReader._body)
        valued = Segment(
            f"runs CROSS JOIN {reference.table} AS v ON v.run_id = runs.id AND v.key = ?",
            (reference.key,),
            f"{value} IS NOT NULL",
            (),
            order,
            driver=(reference, value),
        )
    missing = Segment(
        "runs",
        (),
        f"NOT EXISTS (SELECT 1 FROM {reference.table} WHERE run_id = runs.id AND key = ?"
        f" AND {reference.column} IS NOT NULL)",
        (reference.key,),
        newest,
    )
    return (valued, missing)


def _sorted_as_a_whole(keys: Sequence[SortKey], newest: tuple[Term, ...]) -> Segment:
    """One segment for several sort keys: each key's runs without a value after those
    with one, then the newest first."""
    joins: list[str] = []
    params: list[Any] = []
    terms: list[Term] = []
    for index, key in enumerate(keys):
        reference = key.reference
        if reference.kind == "field":
            sql = RUN_FIELDS[reference.key]
        else:
            alias = f"s{index}"
            joins.append(
                f"LEFT JOIN {reference.table} AS {alias}"
                f" ON {alias}.run_id = runs.id AND {alias}.key = ?"
            )
            params.append(reference.key)
            sql = f"{alias}.{reference.column}"
        if reference.nullable:
            terms.append(Term(f"({sql} IS NULL)", False))
        terms.append(Term(sql, key.descending))
    return Segment(" ".join(["runs", *joins]), tuple(params), None, (), (*terms, *newest))


def choose_mode(matches: int | None, limit: int | None, runs_upper_bound: int) -> Mode:
    """``"ordered"`` when reading the sort's index finds a page sooner than reading
    every match would, else ``"matched"``.

    Read in order, a page of ``limit`` runs among ``matches`` of ``runs_upper_bound``
    visits about ``limit * runs_upper_bound / matches`` runs of the index; read from the
    filter, the page visits every match once and sorts them.
    """
    if matches is None or matches >= runs_upper_bound:
        return "ordered"
    if matches == 0:
        return "matched"
    visited = runs_upper_bound if limit is None else limit * runs_upper_bound / matches
    return "ordered" if visited <= matches else "matched"


@dataclass(frozen=True)
class PageRows:
    """Rows of one read (the run columns, then the values of the segment's order terms),
    the segments of the first and last of them (-1 when none), and whether more rows
    lie beyond them in the direction read."""

    rows: list[Row]
    first_segment: int
    last_segment: int
    more: bool

    def cursor(self, sort: str, *, last: bool) -> str:
        """The encoded cursor of the last (or first) row."""
        segment, row = (
            (self.last_segment, self.rows[-1]) if last else (self.first_segment, self.rows[0])
        )
        return Cursor(sort, segment, tuple(row[N_RUN_COLUMNS:])).encode()


@dataclass
class PageReader:
    """Reads the runs of one list (scope, filter, sort) page by page."""

    registry: Registry
    scope: Scope
    where: ex.Expression | None
    source: str  # the filter as written, for messages
    keys: tuple[SortKey, ...]
    mode: Mode = "ordered"
    known: dict[tuple[str, str], bool] = field(default_factory=dict)  # keys that exist

    @property
    def sort(self) -> str:
        return sort_text(self.keys)

    def segments(self) -> tuple[Segment, ...]:
        return segments(self.keys, self.mode)

    def read(
        self,
        *,
        limit: int | None,
        offset: int = 0,
        cursor: Cursor | None = None,
        backward: bool = False,
    ) -> PageRows:
        """Up to ``limit`` rows (run columns + order values) from ``offset``, or after
        (``backward``: before) ``cursor``, in the direction read."""
        parts = self.segments()
        indexes = list(range(len(parts)))
        if backward:
            indexes.reverse()
        if cursor is not None:
            indexes = indexes[indexes.index(cursor.segment) :]
        want = None if limit is None else limit + 1
        rows: list[Row] = []
        first_segment = last_segment = -1
        skip = offset
        for index in indexes:
            remaining = None if want is None else want - len(rows)
            keyset = cursor.values if cursor is not None and index == cursor.segment else None
            found = self._query(parts[index], keyset, backward, remaining, skip)
            if skip and not found:
                skip = max(0, skip - self._count_segment(parts[index]))
            else:
                skip = 0
            if found:
                if first_segment < 0:
                    first_segment = index
                if limit is None or len(rows) < limit:
                    last_segment = index  # the segment of the last row kept
                rows += found
            if remaining is not None and len(found) >= remaining:
                break
        more = limit is not None and len(rows) > limit
        return PageRows(rows[:limit] if more else rows, first_segment, last_segment, more)

    def _filter(self, segment: Segment, lookups: Literal["join", "lookup"]) -> FilterCompiler:
        return FilterCompiler(
            self.registry, self.source, lookups=lookups, driver=segment.driver, known=self.known
        )

    def _body(self, segment: Segment) -> tuple[str, list[Any]]:
        """``FROM ... WHERE ...`` of ``segment`` with the scope and the filter, and its
        bound values in the order they appear.

        Read in order, the filter is checked run by run as the index is read (a lookup
        per value); read from the matches, the runs are those of :meth:`_matches`, which
        SQLite reads from the filter's indexes as it does for the count.
        """
        conditions: list[str] = []
        where_params: list[Any] = list(segment.condition_params)
        if segment.condition:
            conditions.append(segment.condition)
        joins: list[str] = []
        join_params: list[Any] = []
        if self.mode == "matched":
            matches, matches_params = self._matches("runs.id")
            conditions.append(f"runs.id IN ({matches})")
            where_params += matches_params
        else:
            compiler = self._filter(segment, "lookup")
            scope_sql, scope_params = self.scope.conditions()
            conditions += scope_sql
            where_params += scope_params
            if self.where is not None:
                conditions.append(compiler.where(self.where, where_params))
            joins, join_params = compiler.joins, compiler.join_params
        sql = f"FROM {segment.source} {' '.join(joins)}"
        if conditions:
            sql += " WHERE " + " AND ".join(conditions)
        return sql, [*segment.source_params, *join_params, *where_params]

    def _matches(self, select: str) -> tuple[str, list[Any]]:
        """``SELECT {select} FROM ...`` of the runs in the scope that pass the filter (the
        selected run id written ``runs.id``), one join per value the filter reads:
        SQLite starts from the index of the most telling condition (``accuracy > 0.9``
        reads ``metric_summaries(key, last)``).

        Over all runs, a filter that needs a metric, parameter or tag of every run it
        keeps (``accuracy > 0.9 and ...``) and no run field reads that value's table
        instead of the runs: a lookup less per match. So does a list that leaves out (or
        keeps only) the archived runs and has no other scope: each match's run is then
        probed by its id for its ``archived_at``.
        """
        scope_sql, scope_params = self.scope.conditions()
        archived_only = self.scope == Scope(archived=self.scope.archived)
        use_scope = bool(scope_sql) and not archived_only
        driving = None if use_scope or self.where is None else self._driving_reference()
        if driving is None:
            compiler = FilterCompiler(self.registry, self.source, lookups="join", known=self.known)
            source, source_params = "runs", []
        else:
            compiler = FilterCompiler(
                self.registry, self.source, lookups="join", known=self.known, run_id_sql="d.run_id"
            )
            compiler.aliases[(driving.kind, driving.key)] = "d"
            source, source_params = f"{driving.table} AS d", [driving.key]
            select = select.replace("runs.id", "d.run_id")
            scope_sql = ["d.key = ?"]
            if self.scope.archived is not None:
                kept = "IS NULL" if self.scope.archived == "hide" else "IS NOT NULL"
                scope_sql.append(f"(SELECT archived_at FROM runs WHERE runs.id = d.run_id) {kept}")
        filter_params: list[Any] = []
        conditions = list(scope_sql)
        if self.where is not None:
            conditions.append(compiler.where(self.where, filter_params))
        sql = f"SELECT {select} FROM {source} {' '.join(compiler.joins)}".rstrip()
        if conditions:
            sql += " WHERE " + " AND ".join(conditions)
        return sql, [*compiler.join_params, *source_params, *scope_params, *filter_params]

    def _driving_reference(self) -> Reference | None:
        """The metric, parameter or tag every match has a value of, when the filter reads
        no run field; else None."""
        assert self.where is not None
        compiler = FilterCompiler(self.registry, self.source, known=self.known)
        if any(compiler.resolve(name).kind == "field" for name in names_in(self.where)):
            return None
        required = required_names(self.where)
        return compiler.resolve(required[0]) if required else None

    def _query(
        self,
        segment: Segment,
        keyset: tuple[Any, ...] | None,
        backward: bool,
        limit: int | None,
        offset: int,
    ) -> list[Row]:
        body, params = self._body(segment)
        terms = [
            Term(term.sql, term.descending != backward) for term in segment.order
        ]  # read backward: every direction flipped
        if keyset is not None:
            condition, keyset_params = _after(terms, keyset)
            body += (" AND " if " WHERE " in body else " WHERE ") + condition
            params += keyset_params
        order = ", ".join(f"{t.sql} {'DESC' if t.descending else 'ASC'}" for t in terms)
        select = ", ".join(t.sql for t in segment.order)
        sql = f"SELECT {RUN_COLUMNS_SQL}, {select} {body} ORDER BY {order}"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params += [limit, offset]
        elif offset:
            sql += " LIMIT -1 OFFSET ?"
            params.append(offset)
        return _rows(self.registry, sql, params)

    def _count_segment(self, segment: Segment) -> int:
        body, params = self._body(segment)
        return int(_rows(self.registry, f"SELECT COUNT(*) {body}", params)[0][0])

    def count(self) -> int:
        """How many runs the list holds: the scope and the filter only, read the way
        SQLite finds cheapest (the filter's own indexes), not in the sort's order.

        Without the archived runs, it is the count with them less the count of them: the
        archived ones come from the small partial index ``runs_archived``, where the
        condition ``archived_at IS NULL`` would read every run's row."""
        if self.scope.archived == "hide":
            every = replace(self, scope=replace(self.scope, archived=None))
            archived = replace(self, scope=replace(self.scope, archived="only"))
            return every.count() - archived.count()
        sql, params = self._matches("COUNT(*)")
        return int(_rows(self.registry, sql, params)[0][0])

    def settle_mode(self, matches: int, limit: int | None, runs_upper_bound: int) -> None:
        """Choose how pages are read, from the number of ``matches`` (see
        :func:`choose_mode`). A list narrowed by its experiment alone and sorted by one
        run field is always read in order: that field's index starts with the experiment."""
        narrowed_by_experiment_only = (
            self.where is None
            and self.scope.run_ids is None
            and not self.scope.by_parent
            and self.scope.archived is None
        )
        if narrowed_by_experiment_only and len(self.keys) == 1:
            if self.keys[0].reference.kind == "field":
                self.mode = "ordered"
                return
        self.mode = choose_mode(matches, limit, runs_upper_bound)


def _after(terms: Sequence[Term], values: Sequence[Any]) -> tuple[str, list[Any]]:
    """The condition for rows strictly after ``values`` in the order of ``terms``.

    Terms that all run one way compare as a row value, ``(a, b) < (?, ?)``, which SQLite
    reads as a range of the index that gives the order; mixed directions spell the
    lexicographic order out, with ``IS`` for equality so that NULLs compare.
    """
    if len({term.descending for term in terms}) == 1 and None not in values:
        op = "<" if terms[0].descending else ">"
        columns = ", ".join(term.sql for term in terms)
        marks = ", ".join("?" for _ in terms)
        return f"(({columns}) {op} ({marks}))", list(values)
    sql = "0"
    params: list[Any] = []
    for term, value in reversed(list(zip(terms, values))):
        op = "<" if term.descending else ">"
        sql = f"({term.sql} {op} ? OR ({term.sql} IS ? AND {sql}))"
        params = [value, value, *params]
    return sql, params


def _rows(registry: Registry, sql: str, params: Sequence[Any]) -> list[Row]:
    """Rows of a query built from a user's filter: an SQL error there is the filter's."""
    cursor = registry.conn.cursor()
    cursor.row_factory = None
    try:
        return cursor.execute(sql, params).fetchall()
    except sqlite3.DatabaseError as exc:
        raise ExpressionError(f"The filter could not run: {exc}", expression=sql) from exc
