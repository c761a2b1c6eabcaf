"""Data expectations: what a table must look like before a model trains on it or ships.

    from jupyter_mlops import expect

    checks = [
        expect.has_columns("age", "plan", "churned"),
        expect.dtype("age", "integer"),
        expect.not_null("income", mostly=0.95),       # at most 5 % missing
        expect.between("age", 0, 120, mostly=0.99),
        expect.in_set("plan", ["basic", "pro", "team"]),
        expect.unique("customer_id"),
        expect.row_count(min=1_000),
    ]
    mlops.check(data=df, expect=checks)       # or check_frame(e, df) for one outcome

The same expectations as text, for magics and command lines, are read with Python's
parser and a whitelist: one call to one of the names above, with literal arguments
only (numbers, strings, ``True``/``False``/``None`` and lists of them). Nothing in the
text is ever evaluated, so ``between("age", __import__("os").getpid(), 1)`` is refused.

    parse_expectation('between("age", 0, 120, mostly=0.99)') == expect.between("age", 0, 120, mostly=0.99)

Conventions, the same as in the usual data-validation tools: missing values are left out
of ``between``, ``in_set``, ``unique`` and ``dtype`` (``not_null`` is about them);
``mostly`` is the share of the remaining values that must pass (1.0, the default, means
all of them). Infinite values fall outside every finite range. A column that is not
there fails the expectation with a detail that says so; it is not an error.

Checking them, on a DataFrame (exact) or on a stored snapshot's schema and profile
(saying when a figure is an estimate), is :mod:`jupyter_mlops.gates.frame_checks`.
"""

from __future__ import annotations

import datetime as _dt
import math
import numbers
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ExpressionError, InvalidInputError

if TYPE_CHECKING:
    import ast

KINDS = ("integer", "float", "numeric", "string", "datetime", "bool", "category")
"""Dtype families ``expect.dtype`` accepts besides exact dtype names such as ``int64``."""

_MAX_TEXT = 2000

AllowedValue = str | int | float | bool | None


# -- the expectations ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Expectation(ABC):
    """Base of every expectation; ``text`` is its canonical form, readable by
    :func:`parse_expectation`."""

    @property
    @abstractmethod
    def text(self) -> str: ...

    @property
    @abstractmethod
    def requirement(self) -> str:
        """What it asks for, in words: the "expected" column of a result table."""

    def __str__(self) -> str:
        return self.text


def _share_words(mostly: float, what: str = "values") -> str:
    return f"all {what}" if mostly >= 1 else f">= {mostly:.4g} of {what}"


@dataclass(frozen=True)
class HasColumns(Expectation):
    columns: tuple[str, ...]

    @property
    def text(self) -> str:
        return f"has_columns({_args(*self.columns)})"

    @property
    def requirement(self) -> str:
        return "columns " + ", ".join(self.columns)


@dataclass(frozen=True)
class DtypeIs(Expectation):
    column: str
    dtype: str
    mostly: float = 1.0

    @property
    def text(self) -> str:
        return f"dtype({_args(self.column, self.dtype, mostly=self.mostly)})"

    @property
    def requirement(self) -> str:
        return f"dtype {self.dtype}" + (
            "" if self.mostly >= 1 else f" ({_share_words(self.mostly)})"
        )


@dataclass(frozen=True)
class NotNull(Expectation):
    column: str
    mostly: float = 1.0

    @property
    def text(self) -> str:
        return f"not_null({_args(self.column, mostly=self.mostly)})"

    @property
    def requirement(self) -> str:
        return "no missing values" if self.mostly >= 1 else f">= {self.mostly:.4g} of rows filled"


@dataclass(frozen=True)
class Between(Expectation):
    column: str
    min: float | str | None
    max: float | str | None
    mostly: float = 1.0
    strict: bool = False

    @property
    def text(self) -> str:
        return f"between({_args(self.column, self.min, self.max, mostly=self.mostly, strict=self.strict)})"

    @property
    def requirement(self) -> str:
        return f"{_share_words(self.mostly)} in {self.range_text}"

    @property
    def range_text(self) -> str:
        low = "-inf" if self.min is None else _show(self.min)
        high = "inf" if self.max is None else _show(self.max)
        return f"({low}, {high})" if self.strict else f"[{low}, {high}]"


@dataclass(frozen=True)
class InSet(Expectation):
    column: str
    values: tuple[AllowedValue, ...]
    mostly: float = 1.0

    @property
    def text(self) -> str:
        return f"in_set({_args(self.column, list(self.values), mostly=self.mostly)})"

    @property
    def requirement(self) -> str:
        shown = ", ".join(_show(v) for v in self.values[:8])
        more = ", ..." if len(self.values) > 8 else ""
        return f"{_share_words(self.mostly)} in {{{shown}{more}}}"


@dataclass(frozen=True)
class Unique(Expectation):
    column: str
    mostly: float = 1.0

    @property
    def text(self) -> str:
        return f"unique({_args(self.column, mostly=self.mostly)})"

    @property
    def requirement(self) -> str:
        return (
            "every value unique" if self.mostly >= 1 else f">= {self.mostly:.4g} of values unique"
        )


@dataclass(frozen=True)
class RowCount(Expectation):
    min: int | None = None
    max: int | None = None

    @property
    def text(self) -> str:
        return f"row_count({_args(min=self.min, max=self.max)})"

    @property
    def requirement(self) -> str:
        if self.max is None:
            return f">= {self.min:,} rows"
        if self.min is None:
            return f"<= {self.max:,} rows"
        return f"{self.min:,} to {self.max:,} rows"


def _show(value: object) -> str:
    return (
        repr(value)
        if isinstance(value, str)
        else f"{value:g}"
        if isinstance(value, float)
        else str(value)
    )


def _args(*positional: object, **named: object) -> str:
    defaults = {"mostly": 1.0, "strict": False, "min": None, "max": None}
    parts = [repr(v) for v in positional]
    parts += [f"{k}={v!r}" for k, v in named.items() if v != defaults.get(k, object())]
    return ", ".join(parts)


# -- building them --------------------------------------------------------------------------------


def _column(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidInputError(
            f"{what}: the column must be named by a non-empty string, got {value!r}",
            hint=f'For example: {what}("age", ...).',
        )
    return value


def _mostly(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < float(value) <= 1:
        raise InvalidInputError(
            f"{what}: mostly must be a fraction in (0, 1], got {value!r}",
            hint="mostly=0.99 means at least 99 % of the values must pass.",
        )
    return float(value)


def _bound(value: object, what: str) -> float | str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
        raise InvalidInputError(
            f"{what}: a bound must be a number, a date string or None, got {value!r}",
            hint='For example: between("age", 0, 120) or between("signup", "2020-01-01", None).',
        )
    return value if isinstance(value, int) else float(value)


class _Factories:
    """``expect.<name>(...)``: build the expectations (frozen values you can keep in a list)."""

    def has_columns(self, *columns: str) -> HasColumns:
        """These columns must all be present: ``expect.has_columns("age", "plan")``."""
        if not columns:
            raise InvalidInputError(
                "has_columns: name at least one column", hint='has_columns("age", "plan")'
            )
        return HasColumns(tuple(_column(c, "has_columns") for c in columns))

    def dtype(self, column: str, dtype: str, *, mostly: float = 1.0) -> DtypeIs:
        """The column's dtype: an exact name (``int64``, ``category``, ``datetime64[ns]``) or a
        kind: integer, float, numeric, string, datetime, bool, category.

        For ``object`` columns the values are checked one by one and ``mostly`` is the
        share that must be of that kind: ``expect.dtype("zip", "string", mostly=0.99)``.
        """
        _column(column, "dtype")
        if not isinstance(dtype, str) or not dtype:
            raise InvalidInputError(f"dtype: expected a dtype name, got {dtype!r}")
        if dtype not in KINDS:
            import pandas as pd

            try:
                pd.api.types.pandas_dtype(dtype)
            except TypeError:
                raise InvalidInputError(
                    f'dtype: "{dtype}" is neither a dtype pandas knows nor a kind',
                    hint=f"Use a dtype such as int64 or float32, or a kind: {', '.join(KINDS)}.",
                ) from None
        return DtypeIs(column, dtype, _mostly(mostly, "dtype"))

    def not_null(self, column: str, *, mostly: float = 1.0) -> NotNull:
        """No missing values, or at least ``mostly`` of the rows filled:
        ``expect.not_null("income", mostly=0.95)`` allows 5 % missing."""
        return NotNull(_column(column, "not_null"), _mostly(mostly, "not_null"))

    def between(
        self,
        column: str,
        min: float | str | None = None,  # noqa: A002 - the words users write
        max: float | str | None = None,  # noqa: A002
        *,
        mostly: float = 1.0,
        strict: bool = False,
    ) -> Between:
        """Values within ``[min, max]`` (``(min, max)`` with ``strict=True``); either bound may be
        None. Dates are given as ISO strings: ``expect.between("signup", "2020-01-01")``."""
        _column(column, "between")
        low, high = _bound(min, "between"), _bound(max, "between")
        if low is None and high is None:
            raise InvalidInputError(
                "between: give a minimum, a maximum or both", hint='between("age", 0, 120)'
            )
        if isinstance(low, (int, float)) and isinstance(high, (int, float)) and low > high:
            raise InvalidInputError(f"between: the minimum {low} is above the maximum {high}")
        if isinstance(low, str) != isinstance(high, str) and None not in (low, high):
            raise InvalidInputError("between: both bounds must be numbers, or both dates")
        if not isinstance(strict, bool):
            raise InvalidInputError(f"between: strict must be True or False, got {strict!r}")
        return Between(column, low, high, _mostly(mostly, "between"), strict)

    def in_set(self, column: str, values: Iterable[AllowedValue], *, mostly: float = 1.0) -> InSet:
        """Values among the allowed ones: ``expect.in_set("plan", ["basic", "pro"])``."""
        _column(column, "in_set")
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            raise InvalidInputError(
                f"in_set: the allowed values must be a list, got {values!r}",
                hint='in_set("plan", ["basic", "pro"])',
            )
        allowed = list(values)
        if isinstance(values, (set, frozenset)):
            allowed.sort(key=repr)
        if not allowed:
            raise InvalidInputError("in_set: the list of allowed values is empty")
        for value in allowed:
            if value is not None and not isinstance(value, (str, int, float, bool)):
                raise InvalidInputError(
                    f"in_set: allowed values are strings, numbers or booleans, got {value!r}"
                )
        return InSet(column, tuple(allowed), _mostly(mostly, "in_set"))

    def unique(self, column: str, *, mostly: float = 1.0) -> Unique:
        """No value occurs twice (or at least ``mostly`` of the values occur once)."""
        return Unique(_column(column, "unique"), _mostly(mostly, "unique"))

    def row_count(self, min: int | None = None, max: int | None = None) -> RowCount:  # noqa: A002
        """The number of rows lies within ``[min, max]``: ``expect.row_count(min=1000)``."""
        for bound in (min, max):
            if bound is not None and (
                isinstance(bound, bool) or not isinstance(bound, int) or bound < 0
            ):
                raise InvalidInputError(f"row_count: bounds are whole numbers >= 0, got {bound!r}")
        if min is None and max is None:
            raise InvalidInputError("row_count: give min, max or both", hint="row_count(min=1000)")
        if min is not None and max is not None and min > max:
            raise InvalidInputError(f"row_count: min {min} is above max {max}")
        return RowCount(min, max)

    def __repr__(self) -> str:
        return f"<expect: {', '.join(NAMES)}>"


expect = _Factories()
NAMES = ("has_columns", "dtype", "not_null", "between", "in_set", "unique", "row_count")


# -- the text form -----------------------------------------------------------------------------


def parse_expectation(text: str) -> Expectation:
    """Read ``between("age", 0, 120, mostly=0.99)`` into the same value ``expect`` builds.

    Only a call of a whitelisted name with literal arguments is accepted; anything else
    raises :class:`ExpressionError` and nothing is evaluated.
    """
    import ast  # the parser is only needed here: importing the package stays cheap
    import inspect

    if isinstance(text, Expectation):
        return text
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError(
            "The expectation is empty",
            expression=str(text),
            hint='Write one such as between("age", 0, 120).',
        )
    source = text.strip()
    if len(source) > _MAX_TEXT:
        raise ExpressionError(
            f"The expectation is longer than {_MAX_TEXT} characters", expression=source[:80]
        )
    try:
        node = ast.parse(source, mode="eval").body
    except SyntaxError:
        raise ExpressionError(
            f"Cannot parse the expectation {source!r}",
            expression=source,
            hint=f'Write a call such as between("age", 0, 120); expectations: {", ".join(NAMES)}.',
        ) from None
    if not isinstance(node, ast.Call):
        raise _refuse(source, "it is not a call of an expectation")
    name = _called_name(node.func)
    if name not in NAMES:
        shown = name if name is not None else ast.dump(node.func)[:40]
        raise _refuse(source, f'"{shown}" is not an expectation')
    positional = []
    for argument in node.args:
        if isinstance(argument, ast.Starred):
            raise _refuse(source, "*arguments are not allowed")
        positional.append(_literal(argument, source))
    named = {}
    for keyword in node.keywords:
        if keyword.arg is None:
            raise _refuse(source, "**arguments are not allowed")
        named[keyword.arg] = _literal(keyword.value, source)
    factory = getattr(expect, name)
    try:
        inspect.signature(factory).bind(*positional, **named)
    except TypeError as exc:
        raise ExpressionError(
            f"{name}(): {exc} in {source!r}",
            expression=source,
            hint=f"{name}{inspect.signature(factory)}",
        ) from None
    try:
        return factory(*positional, **named)
    except InvalidInputError as exc:
        raise ExpressionError(exc.message, expression=source, hint=exc.hint) from None


def parse_expectations(items: Iterable[str | Expectation]) -> tuple[Expectation, ...]:
    """Each item as an :class:`Expectation` (already built ones are kept as they are)."""
    if isinstance(items, (str, Expectation)):
        items = [items]
    found = []
    for item in items:
        if isinstance(item, Expectation):
            found.append(item)
        elif isinstance(item, str):
            found.append(parse_expectation(item))
        else:
            raise InvalidInputError(
                f"{item!r} is not an expectation",
                hint='Use expect.between("age", 0, 120) or the text between("age", 0, 120).',
            )
    return tuple(found)


def _called_name(func: ast.expr) -> str | None:
    import ast

    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        if func.value.id in ("expect", "mlops.expect"):
            return func.attr
    if (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Attribute)
        and isinstance(func.value.value, ast.Name)
        and func.value.value.id == "mlops"
        and func.value.attr == "expect"
    ):
        return func.attr
    return None


def _literal(node: ast.expr, source: str) -> Any:
    """A literal argument: a constant, a signed number, or a list/tuple/set of those."""
    import ast

    if isinstance(node, ast.Constant):
        if node.value is None or isinstance(node.value, (str, bool, int, float)):
            return node.value
        raise _refuse(source, f"the constant {node.value!r} is not allowed")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = node.operand
        if (
            isinstance(operand, ast.Constant)
            and isinstance(operand.value, (int, float))
            and not isinstance(operand.value, bool)
        ):
            return -operand.value if isinstance(node.op, ast.USub) else operand.value
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        values = []
        for element in node.elts:
            if isinstance(element, (ast.List, ast.Tuple, ast.Set)):
                raise _refuse(source, "nested lists are not allowed")
            values.append(_literal(element, source))
        return values
    shown = ast.get_source_segment(source, node) or type(node).__name__
    raise _refuse(source, f"{shown[:60]} is not a literal value")


def _refuse(source: str, why: str) -> ExpressionError:
    return ExpressionError(
        f"Cannot read the expectation {source!r}: {why}",
        expression=source,
        hint=f"Write one call of {', '.join(NAMES)} with literal arguments only, "
        'e.g. between("age", 0, 120, mostly=0.99).',
    )
