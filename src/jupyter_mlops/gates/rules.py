"""Evaluating gate rules: the expression language of :mod:`jupyter_mlops.tracking.expressions`,
walked node by node by this module. Nothing is handed to Python's ``eval``.

    outcome = evaluate(parse("accuracy >= 0.85"), lookup)
    outcome.passed, outcome.actual, outcome.expected     # True, 0.91, ">= 0.85"

``lookup`` turns each name of the rule into an :class:`Operand`: a value, or a *waived*
operand when the name refers to something that does not exist yet (the champion, before
the first model is promoted). A comparison with a waived operand is waived: it neither
passes nor fails. ``and`` ignores waived parts (all waived: waived), ``or`` passes when
any part passes, ``not`` leaves a waived part waived. A rule that ends up waived passes,
and its detail says why ("no champion yet"), so the first model is not held to a bar
that does not exist.

Values are numbers, text, booleans or ``None``. A missing value (a metric logged as NaN,
a parameter set to None) makes the comparisons it takes part in fail, with a detail
saying so; ``x == None`` and ``x != None`` test for it. Ordering text against numbers, or
doing arithmetic on text, is an :class:`ExpressionError`: the rule cannot mean anything.

A rule may call a function (``demographic_parity_difference(sex)``, see
:mod:`jupyter_mlops.gates.fairness_rules`): ``call`` turns each call into an
:class:`Operand`, whose ``groups`` table (the value of each group) goes with the verdict.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import ExpressionError
from ..tracking import expressions as ex
from .groups import GroupTable

PASS, FAIL, WAIVED = "pass", "fail", "waived"


@dataclass(frozen=True)
class Operand:
    """The value of a name in a rule. ``waived`` (a reason) when what it names does not
    exist yet; ``note`` says where the value came from when that is worth showing."""

    value: Any = None
    waived: str | None = None
    note: str = ""
    groups: GroupTable | None = None


@dataclass(frozen=True)
class RuleOutcome:
    """The verdict of one rule, with what was compared.

    ``actual`` is the value of the rule's subject (for ``accuracy >= 0.85``, the
    accuracy); ``expected`` the condition it had to meet with the other side computed
    (``>= 0.85``, ``> 0.8845 (champion.f1 - 0.01)``). For rules joined with and/or,
    ``actual`` lists each name's value and ``expected`` shows the rule with values put in.
    ``values`` holds every name's value, for the record; ``groups`` the value of each
    group behind each function the rule called.
    """

    passed: bool
    waived: bool
    actual: Any
    expected: str
    detail: str
    values: dict[str, Any] = field(default_factory=dict)
    groups: tuple[GroupTable, ...] = ()


Lookup = Callable[[ex.Name], Operand]
CallLookup = Callable[[ex.Call], Operand]


@dataclass
class _Trace:
    source: str
    lookup: Lookup
    call: CallLookup | None = None
    values: dict[str, Any] = field(default_factory=dict)
    groups: list[GroupTable] = field(default_factory=list)
    computed: dict[ex.Expression, Operand] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    waivers: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if text and text not in self.notes:
            self.notes.append(text)


def evaluate(
    expression: ex.Expression,
    lookup: Lookup,
    *,
    source: str | None = None,
    call: CallLookup | None = None,
) -> RuleOutcome:
    """Evaluate a parsed rule; ``lookup`` gives the value of each name, ``call`` the value
    of each function call (a rule with calls and no ``call`` is an :class:`ExpressionError`).

    >>> from jupyter_mlops.tracking.expressions import parse
    >>> evaluate(parse("acc >= 0.9"), lambda name: Operand(0.93)).passed
    True
    """
    text = source or ex.to_text(expression)
    trace = _Trace(text, lookup, call)
    state = _condition(expression, trace)
    actual, expected = _describe(expression, trace)
    detail = "; ".join([*trace.waivers, *trace.failures, *trace.notes])
    return RuleOutcome(
        state != FAIL,
        state == WAIVED,
        actual,
        expected,
        detail,
        dict(trace.values),
        tuple(trace.groups),
    )


# -- conditions -------------------------------------------------------------------------------------


def _condition(node: ex.Expression, trace: _Trace) -> str:
    if isinstance(node, ex.Compare):
        return _compare(node, trace)
    if isinstance(node, ex.Membership):
        return _membership(node, trace)
    if isinstance(node, ex.Logical):
        states = [
            _condition(operand, trace) for operand in node.operands
        ]  # no short cut: every part is reported
        if node.op == "and":
            if FAIL in states:
                return FAIL
            return WAIVED if all(s == WAIVED for s in states) else PASS
        if PASS in states:
            return PASS
        return WAIVED if WAIVED in states else FAIL
    if isinstance(node, ex.Not):
        inner = _condition(node.operand, trace)
        return {PASS: FAIL, FAIL: PASS, WAIVED: WAIVED}[inner]
    raise ExpressionError(
        f"{ex.to_text(node)!r} is not a condition in {trace.source!r}",
        expression=trace.source,
        hint="A rule compares something, e.g. accuracy >= 0.85 or f1 > champion.f1 - 0.01.",
    )


def _compare(node: ex.Compare, trace: _Trace) -> str:
    left, right = _value(node.left, trace), _value(node.right, trace)
    shown = f"{_bare(node.left)} {node.op} {_bare(node.right)}"
    for operand in (left, right):
        if operand.waived:
            trace.waivers.append(f"{shown}: {operand.waived}")
            return WAIVED
    none_test = _is_none_literal(node.left) or _is_none_literal(node.right)
    if none_test:
        if node.op not in ("==", "!="):
            raise ExpressionError(
                f"Cannot order against None in {trace.source!r}",
                expression=trace.source,
                hint="Test for a missing value with == None or != None.",
            )
        same = _missing(left.value) == _missing(right.value)
        result = same if node.op == "==" else not same
        return _verdict(result, shown, left, right, trace)
    for operand, side in ((left, node.left), (right, node.right)):
        if _missing(operand.value):
            trace.failures.append(f"{_bare(side)} has no value (NaN or None)")
            return FAIL
    a, b = left.value, right.value
    if node.op in ("==", "!="):
        equal = a == b
        return _verdict(equal if node.op == "==" else not equal, shown, left, right, trace)
    if _is_number(a) != _is_number(b) or not (_is_number(a) or isinstance(a, str)):
        raise ExpressionError(
            f"{shown!r} orders {_kind(a)} against {_kind(b)} in {trace.source!r}",
            expression=trace.source,
            hint="Compare numbers with numbers; text can only be tested with == or in (...).",
        )
    result = {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[node.op]
    return _verdict(result, shown, left, right, trace)


def _verdict(result: bool, shown: str, left: Operand, right: Operand, trace: _Trace) -> str:
    if not result:
        trace.failures.append(f"{shown} is false ({_show(left.value)} vs {_show(right.value)})")
    return PASS if result else FAIL


def _membership(node: ex.Membership, trace: _Trace) -> str:
    item = _value(node.item, trace)
    shown = ex.to_text(node)
    if item.waived:
        trace.waivers.append(f"{shown}: {item.waived}")
        return WAIVED
    if _missing(item.value) and None not in node.values:
        trace.failures.append(f"{ex.to_text(node.item)} has no value (NaN or None)")
        return FAIL
    present = any(_same(item.value, value) for value in node.values)
    result = not present if node.negated else present
    if not result:
        trace.failures.append(f"{shown} is false ({_show(item.value)})")
    return PASS if result else FAIL


def _same(a: Any, b: Any) -> bool:
    if _missing(a) or b is None:
        return _missing(a) and b is None
    return bool(a == b) and isinstance(a, str) == isinstance(b, str)


# -- values -------------------------------------------------------------------------------------------


def _value(node: ex.Expression, trace: _Trace) -> Operand:
    operand = _compute(node, trace)
    trace.computed[node] = operand
    return operand


def _compute(node: ex.Expression, trace: _Trace) -> Operand:
    if isinstance(node, ex.Literal):
        return Operand(node.value)
    if isinstance(node, ex.Name):
        operand = trace.lookup(node)
        if operand.waived is None:
            trace.values[node.dotted] = operand.value
        trace.note(operand.note)
        return operand
    if isinstance(node, ex.Call):
        if trace.call is None:
            raise ExpressionError(
                f"{ex.to_text(node)!r} calls a function, and {trace.source!r} is read where"
                " there are none",
                expression=trace.source,
                hint="Functions such as demographic_parity_difference(sex) are for gate rules"
                " given data (check or promote with data=...).",
            )
        operand = trace.call(node)
        if operand.waived is None:
            trace.values[ex.to_text(node)] = operand.value
        if operand.groups is not None and operand.groups not in trace.groups:
            trace.groups.append(operand.groups)
        trace.note(operand.note)
        return operand
    if isinstance(node, ex.Negative):
        inner = _value(node.operand, trace)
        if inner.waived or _missing(inner.value):
            return inner
        _require_number(inner.value, node, trace)
        return Operand(-inner.value)
    if isinstance(node, ex.Arithmetic):
        left, right = _value(node.left, trace), _value(node.right, trace)
        for operand in (left, right):
            if operand.waived:
                return operand
        if _missing(left.value) or _missing(right.value):
            return Operand(None)
        _require_number(left.value, node, trace)
        _require_number(right.value, node, trace)
        a, b = float(left.value), float(right.value)
        if node.op == "+":
            return Operand(a + b)
        if node.op == "-":
            return Operand(a - b)
        if node.op == "*":
            return Operand(a * b)
        if b == 0:
            trace.failures.append(f"{_bare(node)} divides by zero")
            return Operand(None)
        return Operand(a / b)
    raise ExpressionError(
        f"{ex.to_text(node)!r} is a condition, not a value, in {trace.source!r}",
        expression=trace.source,
        hint="Join conditions with and / or instead of comparing them.",
    )


def _require_number(value: Any, node: ex.Expression, trace: _Trace) -> None:
    if not _is_number(value):
        raise ExpressionError(
            f"{ex.to_text(node)!r} does arithmetic on {_kind(value)} in {trace.source!r}",
            expression=trace.source,
            hint="Arithmetic works on numbers only.",
        )


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, str)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _is_none_literal(node: ex.Expression) -> bool:
    return isinstance(node, ex.Literal) and node.value is None


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if _is_number(value):
        return "a number"
    if isinstance(value, str):
        return f"the text {value!r}"
    return "nothing" if value is None else type(value).__name__


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return repr(value) if isinstance(value, str) else str(value)


# -- what the result table shows ------------------------------------------------------------------------


def _describe(node: ex.Expression, trace: _Trace) -> tuple[Any, str]:
    """(actual, expected) for the result table."""
    if isinstance(node, ex.Compare):
        subject_left = _reads(node.left) or not _reads(node.right)
        subject, other = (node.left, node.right) if subject_left else (node.right, node.left)
        op = node.op if subject_left else _FLIPPED[node.op]
        actual = _known(subject, trace)
        if isinstance(other, ex.Literal):
            return actual, f"{op} {_show(other.value)}"
        other_value = _known(other, trace)
        if other_value is None:
            return actual, f"{op} {_bare(other)}"
        return actual, f"{op} {_show(other_value)} ({_bare(other)})"
    if isinstance(node, ex.Membership):
        op = "not in" if node.negated else "in"
        return _known(node.item, trace), f"{op} {tuple(node.values)!r}"
    names = [n.dotted for n in ex.names(node)] + [ex.to_text(c) for c in ex.calls_in(node)]
    actual = ", ".join(f"{n}={_show(trace.values[n])}" for n in names if n in trace.values)
    return actual, _substituted(node, trace)


def _reads(node: ex.Expression) -> bool:
    """Whether a side of a comparison reads anything (a name or a call), not only literals."""
    return bool(ex.names(node) or ex.calls_in(node))


def _bare(node: ex.Expression) -> str:
    """The text of a side without the outer brackets ``to_text`` puts around arithmetic."""
    text = ex.to_text(node)
    return text[1:-1] if isinstance(node, ex.Arithmetic) else text


_FLIPPED = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _known(node: ex.Expression, trace: _Trace) -> Any:
    """The value a side of the rule had, or ``None`` when it was waived or never computed."""
    operand = trace.computed.get(node)
    return None if operand is None or operand.waived else operand.value


def _substituted(node: ex.Expression, trace: _Trace) -> str:
    """The rule's text with every known name replaced by its value."""
    if isinstance(node, ex.Name):
        if node.dotted not in trace.values:
            return ex.to_text(node)
        return _show(trace.values[node.dotted])
    if isinstance(node, ex.Literal):
        return _show(node.value)
    if isinstance(node, ex.Call):
        text = ex.to_text(node)
        return _show(trace.values[text]) if text in trace.values else text
    if isinstance(node, ex.Compare):
        return f"{_substituted(node.left, trace)} {node.op} {_substituted(node.right, trace)}"
    if isinstance(node, ex.Membership):
        op = "not in" if node.negated else "in"
        return f"{_substituted(node.item, trace)} {op} {tuple(node.values)!r}"
    if isinstance(node, ex.Logical):
        return f" {node.op} ".join(
            f"({_substituted(o, trace)})" if isinstance(o, ex.Logical) else _substituted(o, trace)
            for o in node.operands
        )
    if isinstance(node, ex.Not):
        return f"not ({_substituted(node.operand, trace)})"
    if isinstance(node, ex.Arithmetic):
        return f"{_substituted(node.left, trace)} {node.op} {_substituted(node.right, trace)}"
    if isinstance(node, ex.Negative):
        return f"-{_substituted(node.operand, trace)}"
    return ex.to_text(node)
