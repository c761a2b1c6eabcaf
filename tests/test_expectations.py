"""Data expectations: built in Python or read from text, checked on DataFrames and snapshots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import jupyter_mlops as mlops
from jupyter_mlops.errors import ExpressionError, GateFailedError, InvalidInputError
from jupyter_mlops.gates.expectations import expect, parse_expectation, parse_expectations
from jupyter_mlops.gates.frame_checks import check_frame
from jupyter_mlops.gates.snapshot_checks import check_snapshot, load_snapshot_facts
from jupyter_mlops.registry.connection import Registry

from .conftest import STRINGS
from .stored_snapshots import store_snapshot

# -- building and reading -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "built"),
    [
        ('has_columns("age", "plan")', expect.has_columns("age", "plan")),
        ('dtype("age", "integer")', expect.dtype("age", "integer")),
        ('dtype("age", "int64")', expect.dtype("age", "int64")),
        ('dtype("zip", "string", mostly=0.9)', expect.dtype("zip", "string", mostly=0.9)),
        ('not_null("income")', expect.not_null("income")),
        ('not_null("income", mostly=0.95)', expect.not_null("income", mostly=0.95)),
        ('between("age", 0, 120)', expect.between("age", 0, 120)),
        ('between("age", -1.5, None, mostly=0.99)', expect.between("age", -1.5, None, mostly=0.99)),
        ('between("age", max=120, strict=True)', expect.between("age", max=120, strict=True)),
        (
            'between("signup", "2020-01-01", "2024-12-31")',
            expect.between("signup", "2020-01-01", "2024-12-31"),
        ),
        ('in_set("plan", ["basic", "pro"])', expect.in_set("plan", ["basic", "pro"])),
        (
            'in_set("plan", ("basic", "pro"), mostly=0.5)',
            expect.in_set("plan", ["basic", "pro"], mostly=0.5),
        ),
        ('in_set("flag", [True, False])', expect.in_set("flag", [True, False])),
        ('unique("id")', expect.unique("id")),
        ('unique("id", mostly=0.999)', expect.unique("id", mostly=0.999)),
        ("row_count(min=1000)", expect.row_count(min=1000)),
        ("row_count(10, 20)", expect.row_count(10, 20)),
        ('expect.unique("id")', expect.unique("id")),
        ('mlops.expect.unique("id")', expect.unique("id")),
    ],
)
def test_parse_expectation_gives_what_expect_builds(text: str, built: Any) -> None:
    parsed = parse_expectation(text)
    assert parsed == built
    assert parse_expectation(parsed.text) == built  # the canonical text reads back


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('between("age", __import__("os").system("touch canary"), 1)', "is not a literal value"),
        ('__import__("os").system("touch canary")', "is not an expectation"),
        ('between("age", 0, 1); open("canary", "w")', "Cannot parse"),
        ('open("canary", "w")', '"open" is not an expectation'),
        ("exec(\"open('canary', 'w')\")", '"exec" is not an expectation'),
        ('between(*["age"], 0, 1)', r"\*arguments are not allowed"),
        ('between(**{"column": "age"}, min=0)', r"\*\*arguments are not allowed"),
        ('between("age", 0, 1).__class__', "it is not a call"),
        ("lambda: open('canary', 'w')", "it is not a call"),
        ("between(f\"{open('canary', 'w')}\", 0, 1)", "is not a literal value"),
        ('between("age", [0, [1]])', "nested lists"),
        ('in_set("plan", {"a": 1})', "is not a literal value"),
        ('between("age", 1 + 1, 3)', "is not a literal value"),
        ('between("age", 0, 1, maxx=3)', "unexpected keyword argument 'maxx'"),
        ('between("age")', "give a minimum, a maximum or both"),
        ('between("age", 5, 1)', "minimum 5 is above the maximum 1"),
        ('in_set("plan", "abc")', "must be a list"),
        ('in_set("plan", [])', "is empty"),
        ('not_null("x", mostly=1.5)', r"mostly must be a fraction in \(0, 1\]"),
        ('not_null("x", mostly=0)', r"mostly must be a fraction"),
        ("row_count(min=-1)", "whole numbers >= 0"),
        ("row_count(mostly=0.5)", "unexpected keyword argument 'mostly'"),
        ('dtype("x", "floaty")', '"floaty" is neither a dtype pandas knows nor a kind'),
        ('not_null("")', "non-empty string"),
        ("", "The expectation is empty"),
        ('between("age", b"0", 1)', "is not allowed"),
    ],
)
def test_parse_expectation_refuses_everything_else_and_runs_nothing(
    text: str, message: str, tmp_path: Path
) -> None:
    with pytest.raises(ExpressionError, match=message):
        parse_expectation(text)
    assert not (tmp_path / "canary").exists()


def test_parse_expectations_accepts_a_mix_and_refuses_other_objects() -> None:
    assert parse_expectations(['unique("id")', expect.not_null("x")]) == (
        expect.unique("id"),
        expect.not_null("x"),
    )
    assert parse_expectations('unique("id")') == (expect.unique("id"),)
    with pytest.raises(InvalidInputError, match="is not an expectation"):
        parse_expectations([42])


# -- on DataFrames -------------------------------------------------------------------------------

RNG = np.random.default_rng(7)
FRAME = pd.DataFrame(
    {
        "id": np.arange(200),
        "age": np.concatenate([RNG.integers(18, 90, 196), [150, 160, -1, 200]]),
        "income": np.where(RNG.random(200) < 0.04, np.nan, RNG.normal(50_000, 9_000, 200)),
        "plan": pd.Series(RNG.choice(["basic", "pro"], 200)).where(lambda s: s.index != 5, "trial"),
        "mixed": pd.Series(["a"] * 198 + [1, 2.5], dtype="object"),
        "flag": RNG.random(200) < 0.5,
        "code": pd.Series(RNG.choice(["x", "y"], 200)).astype("category"),
        "signup": pd.date_range("2021-01-01", periods=200, freq="D"),
        "score": np.append(RNG.random(199), np.inf),
    }
)
FRAME.loc[[3, 4], "id"] = 7  # two repeats of 7 besides row 7: three rows share it


@pytest.mark.parametrize(
    ("expectation", "passed", "actual"),
    [
        (expect.has_columns("age", "plan"), True, "all present"),
        (expect.has_columns("age", "tenure", "churn"), False, ["tenure", "churn"]),
        (expect.row_count(min=100), True, 200),
        (expect.row_count(max=199), False, 200),
        (expect.row_count(150, 250), True, 200),
        (expect.dtype("age", "int64"), True, "int64"),
        (expect.dtype("age", "int"), True, "int64"),
        (expect.dtype("age", "integer"), True, "int64"),
        (expect.dtype("age", "numeric"), True, "int64"),
        (expect.dtype("age", "float"), False, "int64"),
        (expect.dtype("income", "float"), True, "float64"),
        (expect.dtype("flag", "bool"), True, "bool"),
        (expect.dtype("code", "category"), True, "category"),
        (expect.dtype("signup", "datetime"), True, str(FRAME["signup"].dtype)),
        # a str column passes by its dtype; an object one (pandas 2) by the share of strings
        (expect.dtype("plan", "string"), True, 1.0 if STRINGS == "object" else STRINGS),
        (expect.dtype("mixed", "string"), False, 0.99),
        (expect.dtype("mixed", "string", mostly=0.98), True, 0.99),
        (expect.not_null("income"), False, 1 - FRAME["income"].isna().mean()),
        (expect.not_null("income", mostly=0.9), True, 1 - FRAME["income"].isna().mean()),
        (expect.not_null("age"), True, 1.0),
        (expect.between("age", 0, 120), False, 196 / 200),
        (expect.between("age", 0, 120, mostly=0.98), True, 196 / 200),
        (expect.between("age", 0, 120, mostly=0.99), False, 196 / 200),
        (expect.between("age", -1, 200), True, 1.0),
        (expect.between("age", -1, 200, strict=True), False, 198 / 200),
        (expect.between("age", min=0), True if (FRAME["age"] >= 0).all() else False, 199 / 200),
        (expect.between("income", 0, None), True, 1.0),  # missing values are left out
        (expect.between("score", 0, 1), False, 199 / 200),  # infinity is outside
        (expect.between("signup", "2021-01-01", "2021-06-30"), False, 181 / 200),
        (expect.between("signup", "2020-12-31", None), True, 1.0),
        (expect.between("plan", 0, 1), False, None),
        (expect.in_set("plan", ["basic", "pro"]), False, 199 / 200),
        (expect.in_set("plan", ["basic", "pro"], mostly=0.99), True, 199 / 200),
        (expect.in_set("flag", [True, False]), True, 1.0),
        (expect.in_set("code", ["x"]), False, (FRAME["code"] == "x").mean()),
        (expect.unique("id"), False, 197 / 200),
        (expect.unique("id", mostly=0.98), True, 197 / 200),
        (expect.unique("signup"), True, 1.0),
        (expect.not_null("tenure"), False, None),
        (expect.between("tenure", 0, 1), False, None),
    ],
)
def test_check_frame_measures_every_value(expectation: Any, passed: bool, actual: Any) -> None:
    outcome = check_frame(expectation, FRAME)
    assert outcome.passed is passed, outcome
    if isinstance(actual, float):
        assert outcome.actual == pytest.approx(actual)
    else:
        assert outcome.actual == actual
    assert outcome.exact
    assert outcome.expected == expectation.requirement


@pytest.mark.parametrize(
    ("expectation", "detail"),
    [
        (expect.between("age", 0, 120), "observed min -1, max 200; 4 of 200 values outside"),
        (expect.in_set("plan", ["basic", "pro"]), "not allowed: 'trial' (1)"),
        (expect.unique("id"), "1 value(s) repeated: '7' x3"),
        (expect.not_null("tenure"), 'column "tenure" is missing'),
        (expect.has_columns("tenure"), "missing: tenure"),
        (expect.dtype("mixed", "string"), "2 of 200 values are not string"),
        (expect.between("plan", 0, 1), "not numbers or dates"),
    ],
)
def test_check_frame_says_what_is_wrong(expectation: Any, detail: str) -> None:
    assert detail in check_frame(expectation, FRAME).detail


def test_check_frame_on_an_empty_column_has_nothing_to_fail() -> None:
    frame = pd.DataFrame({"x": [np.nan, np.nan]})
    outcome = check_frame(expect.between("x", 0, 1), frame)
    assert outcome.passed and outcome.detail == "no values to check"
    assert not check_frame(expect.not_null("x"), frame).passed


# -- on stored snapshots -----------------------------------------------------------------------


EXACT_ON_SNAPSHOTS = [
    expect.has_columns("age", "plan"),
    expect.has_columns("tenure"),
    expect.row_count(min=100),
    expect.row_count(max=10),
    expect.dtype("age", "int64"),
    expect.dtype("age", "integer"),
    expect.dtype("income", "integer"),
    expect.dtype("plan", "string"),
    expect.dtype("code", "category"),
    expect.dtype("signup", "datetime"),
    expect.not_null("income"),
    expect.not_null("income", mostly=0.9),
    expect.between("age", -1, 200),
    expect.between("age", 300, 400),
    expect.between("flag", 0, 1),
    expect.between("signup", "2020-12-31", None),
    expect.between("signup", "2030-01-01", None),
    expect.in_set("plan", ["basic", "pro"]),
    expect.in_set("plan", ["basic", "pro"], mostly=0.99),
    expect.in_set("flag", [True, False]),
    expect.in_set("code", ["x"]),
    expect.unique("plan"),
    expect.unique("signup"),
    expect.not_null("tenure"),
]


@pytest.mark.parametrize("expectation", EXACT_ON_SNAPSHOTS, ids=lambda e: e.text)
def test_check_snapshot_matches_the_data_where_the_profile_decides(
    registry: Registry, expectation: Any
) -> None:
    store_snapshot(registry, FRAME, "customers")
    on_snapshot = check_snapshot(expectation, load_snapshot_facts(registry, "customers"))
    on_frame = check_frame(expectation, FRAME)
    assert on_snapshot.passed == on_frame.passed
    assert on_snapshot.exact, on_snapshot.detail
    if isinstance(on_frame.actual, float):
        assert on_snapshot.actual == pytest.approx(on_frame.actual)
    elif on_frame.actual is not None and expectation.text.startswith(("has_", "row_", "not_")):
        assert on_snapshot.actual == on_frame.actual


def test_check_snapshot_counts_discrete_numbers_exactly(registry: Registry) -> None:
    frame = pd.DataFrame({"rating": RNG.integers(1, 8, 500)})  # 7 distinct values: counted
    store_snapshot(registry, frame, "ratings")
    facts = load_snapshot_facts(registry, "ratings")
    for expectation in (
        expect.between("rating", 2, 6, mostly=0.5),
        expect.in_set("rating", [1, 2, 3]),
        expect.unique("rating"),
    ):
        on_snapshot, on_frame = check_snapshot(expectation, facts), check_frame(expectation, frame)
        assert on_snapshot.exact
        assert (on_snapshot.passed, on_snapshot.actual) == (
            on_frame.passed,
            pytest.approx(on_frame.actual),
        )


def test_check_snapshot_estimates_a_partial_range_and_says_so(registry: Registry) -> None:
    frame = pd.DataFrame({"x": RNG.uniform(0, 100, 30_000)})  # more than a profile samples
    store_snapshot(registry, frame, "uniform")
    outcome = check_snapshot(
        expect.between("x", 0, 50, mostly=0.4), load_snapshot_facts(registry, "uniform")
    )
    truth = check_frame(expect.between("x", 0, 50, mostly=0.4), frame).actual
    assert not outcome.exact and outcome.passed
    assert outcome.actual == pytest.approx(truth, abs=0.02)
    assert "estimated from" in outcome.detail


def test_check_snapshot_takes_uncounted_categories_as_not_allowed(registry: Registry) -> None:
    frame = pd.DataFrame({"city": ["Oslo"] * 60 + ["Rome"] * 30 + [f"c{i}" for i in range(10)]})
    store_snapshot(registry, frame, "cities", category_cap=2)
    facts = load_snapshot_facts(registry, "cities")
    outcome = check_snapshot(expect.in_set("city", ["Oslo", "Rome"], mostly=0.85), facts)
    assert outcome.passed and not outcome.exact and outcome.actual == pytest.approx(0.9)
    assert "10 value(s) beyond the 2 counted categories" in outcome.detail


@pytest.mark.parametrize(
    ("values", "mostly", "passed", "exact"),
    [
        (list(range(100)), 1.0, True, True),  # distinct == count: surely unique
        ([1, 1] + list(range(2, 100)), 1.0, False, True),  # a repeat: surely not
        ([1, 1] + list(range(2, 100)), 0.9, True, True),  # at least 96 of 100 occur once
        ([1, 1, 1, 1] + list(range(4, 24)) * 4, 0.5, False, True),  # at most 20 of 84
    ],
)
def test_check_snapshot_bounds_uniqueness_from_the_distinct_count(
    registry: Registry, values: list[int], mostly: float, passed: bool, exact: bool
) -> None:
    frame = pd.DataFrame({"v": np.asarray(values, dtype="float64") + 0.5})
    store_snapshot(registry, frame, "values")
    outcome = check_snapshot(
        expect.unique("v", mostly=mostly), load_snapshot_facts(registry, "values")
    )
    assert (outcome.passed, outcome.exact) == (passed, exact)
    assert outcome.passed == check_frame(expect.unique("v", mostly=mostly), frame).passed


def test_check_snapshot_fails_what_the_profile_cannot_tell(registry: Registry) -> None:
    frame = pd.DataFrame({"mixed": pd.Series(["a", 1, 2.5] * 10, dtype="object")})
    store_snapshot(registry, frame, "mixed")
    outcome = check_snapshot(
        expect.dtype("mixed", "string", mostly=0.5), load_snapshot_facts(registry, "mixed")
    )
    assert not outcome.passed and not outcome.exact
    assert "cannot be told from the snapshot's profile" in outcome.detail


# -- through mlops.check ---------------------------------------------------------------------------


def test_check_stores_expectation_results_on_a_dataframe(registry: Registry) -> None:
    evaluation = mlops.check(
        data=FRAME,
        expect=[expect.has_columns("age"), 'between("age", 0, 120, mostly=0.95)'],
    )
    assert evaluation.passed and [r.kind for r in evaluation.results] == ["expectation"] * 2
    assert evaluation.data is not None and evaluation.data.n_rows == 200
    rows = registry.query("SELECT rule, passed, actual, exact FROM gate_results ORDER BY seq")
    assert [tuple(r) for r in rows] == [
        ("has_columns('age')", 1, '"all present"', 1),
        ("between('age', 0, 120, mostly=0.95)", 1, "0.98", 1),
    ]


def test_check_on_a_snapshot_by_name_raises_with_every_result(registry: Registry) -> None:
    store_snapshot(registry, FRAME, "customers")
    with pytest.raises(
        GateFailedError, match=r"1 of 2 checks failed: not_null\('income'\)"
    ) as failed:
        mlops.check(data="customers", expect=['not_null("age")', 'not_null("income")'])
    assert [r.passed for r in failed.value.results] == [True, False]
    stored = registry.query_one("SELECT snapshot_id, passed FROM gate_evaluations")
    assert stored is not None and stored["passed"] == 0
    assert stored["snapshot_id"] == load_snapshot_facts(registry, "customers").id


def test_check_needs_data_and_expectations_together(registry: Registry) -> None:
    with pytest.raises(InvalidInputError, match="Expectations need data"):
        mlops.check(expect=['not_null("age")'])
    with pytest.raises(InvalidInputError, match="no expectation to check it with"):
        mlops.check(data=FRAME)
    with pytest.raises(InvalidInputError, match="Cannot check expectations on list"):
        mlops.check(data=[1, 2], expect=['not_null("age")'])
    assert registry.query_one("SELECT COUNT(*) FROM gate_evaluations")[0] == 0  # type: ignore[index]
