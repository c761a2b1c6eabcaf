"""A small, safe expression language for filters and gate rules.

    acc > 0.9 and params.lr <= 0.1
    status == "finished" or `val-loss` < 0.3
    f1 > champion.f1 - 0.01
    model in ("rf", "gbm") and not (depth > 10)

Expressions are parsed with Python's own parser into an AST, then every node is
checked against a short list of allowed kinds before anything else sees it: names,
dotted names, numbers, strings, ``True``/``False``/``None``, comparisons, ``and`` /
``or`` / ``not``, ``+ - * /``, unary minus and ``in`` over a literal tuple or list.
Attribute access on values, subscripts, lambdas and everything else are refused, so
nothing is ever evaluated by Python. Calls are refused too, except of the functions the
reader names (``parse(text, functions=("min_by", ...))``, as gate rules do): ``f(a, b)``
with one of those names and names or literals as arguments becomes a :class:`Call`,
which the backend computes itself; nothing is called by Python either. A lone ``=`` means ``==`` and
``AND`` / ``OR`` / ``NOT`` / ``true`` / ``false`` / ``null`` are accepted; names that are
not identifiers (``val-loss``) go in backticks.

The result is a tree of frozen dataclasses that a backend turns into something:
:mod:`jupyter_mlops.tracking.queries` compiles it to parameterized SQL, gates evaluate it.
"""

from __future__ import annotations

import ast
import difflib
import io
import re
import tokenize
from collections.abc import Collection
from dataclasses import dataclass

from ..errors import ExpressionError

Value = int | float | str | bool | None


@dataclass(frozen=True)
class Name:
    """A possibly dotted name: ``acc`` is ``("acc",)``, ``champion.f1`` is ``("champion", "f1")``."""

    parts: tuple[str, ...]

    @property
    def dotted(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class Literal:
    value: Value


@dataclass(frozen=True)
class Compare:
    """``left op right``; chains such as ``0 < x < 1`` are split into ``and`` of pairs."""

    op: str  # == != < <= > >=
    left: Expression
    right: Expression


@dataclass(frozen=True)
class Membership:
    item: Expression
    values: tuple[Value, ...]
    negated: bool


@dataclass(frozen=True)
class Logical:
    op: str  # and | or
    operands: tuple[Expression, ...]


@dataclass(frozen=True)
class Not:
    operand: Expression


@dataclass(frozen=True)
class Arithmetic:
    op: str  # + - * /
    left: Expression
    right: Expression


@dataclass(frozen=True)
class Negative:
    operand: Expression


@dataclass(frozen=True)
class Call:
    """``function(arg, ...)`` of a function the parser was given: each argument is a
    :class:`Name` or a :class:`Literal`; what the function computes is the backend's."""

    function: str
    args: tuple[Name | Literal, ...]


Expression = Name | Literal | Compare | Membership | Logical | Not | Arithmetic | Negative | Call

_COMPARE_OPS = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
}
_ARITH_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_WORD_TOKENS = {
    "AND": "and",
    "OR": "or",
    "NOT": "not",
    "IN": "in",
    "true": "True",
    "TRUE": "True",
    "false": "False",
    "FALSE": "False",
    "null": "None",
    "NULL": "None",
}
_BACKTICK = re.compile(r"`([^`]*)`")
_MAX_LENGTH = 2000
# Deeper nesting is no real filter or rule, and SQLite refuses expressions deeper than 1000.
MAX_DEPTH = 100


def parse(text: str, *, functions: Collection[str] = ()) -> Expression:
    """Parse ``text`` into an expression tree, or raise :class:`ExpressionError`.

    A call of one of ``functions`` (gate rules name theirs) is read as a :class:`Call`;
    any other call is refused.

    >>> parse("acc > 0.9")
    Compare(op='>', left=Name(parts=('acc',)), right=Literal(value=0.9))
    """
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError(
            "The expression is empty",
            expression=str(text),
            hint='Write a condition such as "accuracy > 0.9".',
        )
    if len(text) > _MAX_LENGTH:
        raise ExpressionError(
            f"The expression is longer than {_MAX_LENGTH} characters", expression=text[:80] + "..."
        )
    quoted: dict[str, str] = {}

    def placeholder(match: re.Match[str]) -> str:
        name = match.group(1)
        if not name:
            raise ExpressionError("Empty backtick name ``", expression=text)
        key = f"__quoted_{len(quoted)}__"
        quoted[key] = name
        return key

    source = _normalise_tokens(_BACKTICK.sub(placeholder, text), text)
    try:
        tree = ast.parse(source, mode="eval")
        expression = _convert(tree.body, text, quoted, functions=functions)
    except SyntaxError as exc:
        column = f" near column {exc.offset}" if exc.offset else ""
        raise ExpressionError(
            f"Cannot parse {text!r}{column}",
            expression=text,
            hint='Write conditions like "acc > 0.9 and params.lr < 0.1"; '
            "quote strings and put names with dashes in `backticks`.",
        ) from None
    except (RecursionError, MemoryError):
        raise _too_deep(text) from None
    if depth(expression) > MAX_DEPTH:
        raise _too_deep(text)
    return expression


def _too_deep(text: str) -> ExpressionError:
    return ExpressionError(
        f"The expression {text[:40]!r}... is nested more than {MAX_DEPTH} levels deep",
        expression=text[:80] + "...",
        hint="Write it with fewer parentheses, signs or operators inside each other.",
    )


def depth(expression: Expression) -> int:
    """How deep ``expression``'s tree is (a name or a literal is 1), without recursion."""
    deepest = 0
    stack: list[tuple[object, int]] = [(expression, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        for child in _children(node):
            stack.append((child, level + 1))
    return deepest


def _children(node: object) -> list[object]:
    if isinstance(node, (Compare, Arithmetic)):
        return [node.left, node.right]
    if isinstance(node, Membership):
        return [node.item]
    if isinstance(node, Logical):
        return list(node.operands)
    if isinstance(node, (Not, Negative)):
        return [node.operand]
    if isinstance(node, Call):
        return list(node.args)
    return []


def calls_in(expression: Expression) -> list[Call]:
    """Every call the expression makes, in order of appearance, without repeats."""
    found: dict[Call, None] = {}
    stack: list[object] = [expression]
    while stack:
        node = stack.pop()
        if isinstance(node, Call):
            found.setdefault(node)
        else:
            stack.extend(reversed(_children(node)))
    return list(found)


def names(expression: Expression) -> list[Name]:
    """Every name the expression reads, in order of appearance, without repeats."""
    found: dict[tuple[str, ...], Name] = {}

    def walk(node: Expression) -> None:
        if isinstance(node, Name):
            found.setdefault(node.parts, node)
        elif isinstance(node, (Compare, Arithmetic)):
            walk(node.left)
            walk(node.right)
        elif isinstance(node, Logical):
            for operand in node.operands:
                walk(operand)
        elif isinstance(node, (Not, Negative)):
            walk(node.operand)
        elif isinstance(node, Membership):
            walk(node.item)

    walk(expression)
    return list(found.values())


def to_text(expression: Expression) -> str:
    """Render an expression back to text (normalised spacing and operators)."""
    if isinstance(expression, Name):
        return ".".join(p if p.isidentifier() else f"`{p}`" for p in expression.parts)
    if isinstance(expression, Literal):
        return repr(expression.value)
    if isinstance(expression, Compare):
        return f"{to_text(expression.left)} {expression.op} {to_text(expression.right)}"
    if isinstance(expression, Membership):
        op = "not in" if expression.negated else "in"
        return f"{to_text(expression.item)} {op} {tuple(expression.values)!r}"
    if isinstance(expression, Logical):
        return f" {expression.op} ".join(f"({to_text(o)})" for o in expression.operands)
    if isinstance(expression, Not):
        return f"not ({to_text(expression.operand)})"
    if isinstance(expression, Arithmetic):
        return f"({to_text(expression.left)} {expression.op} {to_text(expression.right)})"
    if isinstance(expression, Negative):
        return f"-{to_text(expression.operand)}"
    if isinstance(expression, Call):
        return f"{expression.function}({', '.join(to_text(a) for a in expression.args)})"
    raise TypeError(f"not an expression: {expression!r}")


def _normalise_tokens(source: str, original: str) -> str:
    """Accept SQL-ish spellings: ``=`` for ``==``, ``AND``/``OR``/``NOT``, ``true``, ``null``."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        raise ExpressionError(
            f"Cannot parse {original!r}: unbalanced brackets or quotes",
            expression=original,
            hint="Check that every ( has its ) and every quote is closed.",
        ) from None
    rewritten = []
    for token in tokens:
        if token.type == tokenize.OP and token.string == "=":
            token = token._replace(string="==")
        elif token.type == tokenize.NAME and token.string in _WORD_TOKENS:
            token = token._replace(string=_WORD_TOKENS[token.string])
        elif token.type == tokenize.OP and token.string == ";":
            raise ExpressionError(
                f"Cannot parse {original!r}: ';' is not allowed",
                expression=original,
                hint="An expression is a single condition; combine conditions with and / or.",
            )
        rewritten.append((token.type, token.string))
    return tokenize.untokenize(rewritten).strip()


def _convert(
    node: ast.AST, text: str, quoted: dict[str, str], *, functions: Collection[str]
) -> Expression:
    def refuse(what: str) -> ExpressionError:
        return ExpressionError(
            f"{what} is not allowed in {text!r}",
            expression=text,
            hint="Only names, numbers, strings, comparisons, and/or/not, + - * / and "
            "`in (...)` are allowed"
            + (f" (and the functions {', '.join(functions)})." if functions else "."),
        )

    def convert(node: ast.AST) -> Expression:
        if isinstance(node, ast.Name):
            return Name((quoted.get(node.id, node.id),))
        if isinstance(node, ast.Attribute):
            base = convert(node.value)
            if not isinstance(base, Name):
                raise refuse("Attribute access on a value")
            return Name((*base.parts, quoted.get(node.attr, node.attr)))
        if isinstance(node, ast.Constant):
            if isinstance(node.value, (bool, int, float, str)) or node.value is None:
                return Literal(node.value)
            raise refuse(f"The constant {node.value!r}")
        if isinstance(node, ast.BoolOp):
            op = "and" if isinstance(node.op, ast.And) else "or"
            return Logical(op, tuple(convert(value) for value in node.values))
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return Not(convert(node.operand))
            if isinstance(node.op, ast.USub):
                operand = convert(node.operand)
                if isinstance(operand, Literal) and isinstance(operand.value, (int, float)):
                    if not isinstance(operand.value, bool):
                        return Literal(-operand.value)
                return Negative(operand)
            if isinstance(node.op, ast.UAdd):
                return convert(node.operand)
            raise refuse("The operator ~")
        if isinstance(node, ast.BinOp):
            arithmetic = _ARITH_OPS.get(type(node.op))
            if arithmetic is None:
                raise refuse(f"The operator {type(node.op).__name__}")
            return Arithmetic(arithmetic, convert(node.left), convert(node.right))
        if isinstance(node, ast.Compare):
            parts: list[Expression] = []
            left = convert(node.left)
            for op_node, right_node in zip(node.ops, node.comparators):
                if isinstance(op_node, (ast.In, ast.NotIn)):
                    if len(node.ops) > 1:
                        raise refuse("Chaining `in` with other comparisons")
                    negated = isinstance(op_node, ast.NotIn)
                    return Membership(left, _literal_values(right_node), negated)
                comparison = _COMPARE_OPS.get(type(op_node))
                if comparison is None:
                    raise refuse(f"The comparison {type(op_node).__name__}")
                right = convert(right_node)
                parts.append(Compare(comparison, left, right))
                left = right
            return parts[0] if len(parts) == 1 else Logical("and", tuple(parts))
        if isinstance(node, ast.Call):
            if not functions or not isinstance(node.func, ast.Name):
                raise refuse("A function call")
            return call(node)
        if isinstance(node, ast.Subscript):
            raise refuse("Indexing with []")
        if isinstance(node, ast.Lambda):
            raise refuse("A lambda")
        raise refuse(f"The syntax {type(node).__name__}")

    def call(node: ast.Call) -> Call:
        assert isinstance(node.func, ast.Name)
        name = quoted.get(node.func.id, node.func.id)
        if name not in functions:
            close = difflib.get_close_matches(name, list(functions), n=1)
            raise ExpressionError(
                f"A function call is not allowed in {text!r}: {name} is none of the functions"
                " a rule may call",
                expression=text,
                hint=(f"Did you mean {close[0]}? " if close else "")
                + f"Functions: {', '.join(functions)}.",
            )
        if node.keywords:
            raise refuse("A keyword argument")
        args: list[Name | Literal] = []
        for arg in node.args:
            converted = convert(arg)
            if not isinstance(converted, (Name, Literal)):
                raise refuse(f"The argument {ast.unparse(arg)!r}, not a name or a literal,")
            args.append(converted)
        return Call(name, tuple(args))

    def _literal_values(node: ast.AST) -> tuple[Value, ...]:
        if not isinstance(node, (ast.Tuple, ast.List)):
            raise refuse("`in` with something other than a literal list")
        values = []
        for element in node.elts:
            converted = convert(element)
            if not isinstance(converted, Literal):
                raise refuse("`in` with something other than literal values")
            values.append(converted.value)
        return tuple(values)

    return convert(node)
