"""The safe expression language: what parses, what is refused, and that nothing runs."""

from __future__ import annotations

import pytest

from jupyter_mlops.errors import ExpressionError
from jupyter_mlops.tracking import expressions as ex


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("acc > 0.9", ex.Compare(">", ex.Name(("acc",)), ex.Literal(0.9))),
        ("acc >= -1", ex.Compare(">=", ex.Name(("acc",)), ex.Literal(-1))),
        ("status = 'failed'", ex.Compare("==", ex.Name(("status",)), ex.Literal("failed"))),
        ('status != "ok"', ex.Compare("!=", ex.Name(("status",)), ex.Literal("ok"))),
        ("params.lr < 1e-3", ex.Compare("<", ex.Name(("params", "lr")), ex.Literal(0.001))),
        ("`val-loss` <= 0.3", ex.Compare("<=", ex.Name(("val-loss",)), ex.Literal(0.3))),
        (
            "f1 > champion.f1 - 0.01",
            ex.Compare(
                ">",
                ex.Name(("f1",)),
                ex.Arithmetic("-", ex.Name(("champion", "f1")), ex.Literal(0.01)),
            ),
        ),
        (
            "a > 1 and b < 2",
            ex.Logical(
                "and",
                (
                    ex.Compare(">", ex.Name(("a",)), ex.Literal(1)),
                    ex.Compare("<", ex.Name(("b",)), ex.Literal(2)),
                ),
            ),
        ),
        (
            "a > 1 OR NOT b < 2",
            ex.Logical(
                "or",
                (
                    ex.Compare(">", ex.Name(("a",)), ex.Literal(1)),
                    ex.Not(ex.Compare("<", ex.Name(("b",)), ex.Literal(2))),
                ),
            ),
        ),
        (
            "0 < x < 1",
            ex.Logical(
                "and",
                (
                    ex.Compare("<", ex.Literal(0), ex.Name(("x",))),
                    ex.Compare("<", ex.Name(("x",)), ex.Literal(1)),
                ),
            ),
        ),
        ("model in ('rf', 'gbm')", ex.Membership(ex.Name(("model",)), ("rf", "gbm"), False)),
        ("model not in ['rf']", ex.Membership(ex.Name(("model",)), ("rf",), True)),
        ("done == true", ex.Compare("==", ex.Name(("done",)), ex.Literal(True))),
        ("note == null", ex.Compare("==", ex.Name(("note",)), ex.Literal(None))),
        (
            "a * 2 / b + -c > 0",
            ex.Compare(
                ">",
                ex.Arithmetic(
                    "+",
                    ex.Arithmetic(
                        "/", ex.Arithmetic("*", ex.Name(("a",)), ex.Literal(2)), ex.Name(("b",))
                    ),
                    ex.Negative(ex.Name(("c",))),
                ),
                ex.Literal(0),
            ),
        ),
    ],
)
def test_parse_accepts_the_language(text: str, expected: ex.Expression) -> None:
    assert ex.parse(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("__import__('os').system('rm -rf /')", "function call"),
        ("acc > 0.9; DROP TABLE runs", "';' is not allowed"),
        ("acc > 0.9 /* comment */", "Cannot parse"),
        ("open('/etc/passwd')", "function call"),
        ("acc.__class__.__bases__[0]", "Indexing"),
        ("(lambda: 1)() > 0", "function call"),
        ("x[0] > 1", "Indexing"),
        ("acc >", "Cannot parse"),
        ("", "empty"),
        ("   ", "empty"),
        ("(acc > 1", "unbalanced"),
        ("acc > 0.9 or runs.delete()", "function call"),
        ("a ** 2 > 1", "Pow"),
        ("a in b", "literal list"),
        ("x if y else z", "IfExp"),
        ("{1: 2}", "Dict"),
        ("b'bytes' == a", "constant"),
        ("a in (1,) == True", "Chaining"),
    ],
)
def test_parse_refuses_anything_else_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message) as caught:
        ex.parse(text)
    assert caught.value.expression == text or text.strip() == ""


def test_parse_never_evaluates_code(tmp_path: object) -> None:
    import builtins

    called = []
    original = builtins.__import__

    def spy(name: str, *args: object, **kwargs: object) -> object:
        if name == "os":
            called.append(name)
        return original(name, *args, **kwargs)

    builtins.__import__ = spy  # type: ignore[assignment]
    try:
        with pytest.raises(ExpressionError):
            ex.parse("__import__('os')")
    finally:
        builtins.__import__ = original
    assert called == []


def test_names_lists_each_name_once_in_order() -> None:
    parsed = ex.parse("b > 1 and a < b and params.lr == 0.1")
    assert [n.dotted for n in ex.names(parsed)] == ["b", "a", "params.lr"]


@pytest.mark.parametrize(
    "text",
    [
        "acc > 0.9 and params.lr <= 0.1",
        "`val-loss` < 0.3",
        "not (a == 'x')",
        "m in (1, 2)",
        "a - -1 > b / 2",
    ],
)
def test_to_text_round_trips(text: str) -> None:
    parsed = ex.parse(text)
    assert ex.parse(ex.to_text(parsed)) == parsed


def test_overlong_expression_is_refused() -> None:
    with pytest.raises(ExpressionError, match="longer than"):
        ex.parse("a > 1 and " * 500 + "a > 1")
