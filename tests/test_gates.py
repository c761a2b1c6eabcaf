"""Validation gates: the rule evaluator, champion comparisons, promotion, storage, faces."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from IPython.utils.capture import capture_output

import jupyter_mlops as mlops
from jupyter_mlops.cli import main
from jupyter_mlops.errors import ExpressionError, GateFailedError, InvalidInputError, NotFoundError
from jupyter_mlops.gates import evaluation as gates
from jupyter_mlops.models.aliases import alias_history
from jupyter_mlops.models.versions import ModelVersion, aliases_of, resolve_version
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.tracking.line_commands import rules_from_words
from jupyter_mlops.widgets import GateView

from .conftest import cli_runner, run_cell

VALUES = {"acc": 0.9, "f1": 0.8, "n": 3, "zero": 0, "model": "rf", "flag": True, "nan": math.nan}


def evaluations_stored(registry: Registry) -> int:
    return int(registry.query_one("SELECT COUNT(*) FROM gate_evaluations")[0])  # type: ignore[index]


# -- the evaluator -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "passed"),
    [
        ("acc > 0.85", True),
        ("acc > 0.9", False),
        ("acc >= 0.9", True),
        ("acc < 0.9", False),
        ("acc <= 0.9", True),
        ("acc == 0.9", True),
        ("acc = 0.9", True),
        ("acc != 0.9", False),
        ("0.85 < acc", True),
        ("0.85 < acc < 0.95", True),
        ("0.95 < acc < 1", False),
        ("acc > f1 + 0.05", True),
        ("acc > f1 + 0.15", False),
        ("acc - f1 >= 0.09", True),
        ("acc * 2 > 1.7", True),
        ("acc / 2 < 0.5", True),
        ("-acc < 0", True),
        ("n * n == 9", True),
        ("acc > 0.95 or f1 > 0.75", True),
        ("acc > 0.95 or f1 > 0.85", False),
        ("acc > 0.85 and f1 > 0.75", True),
        ("acc > 0.85 and f1 > 0.85", False),
        ("acc > 0.85 AND NOT f1 > 0.85", True),
        ("not (acc > 0.85)", False),
        ("(acc > 0.95 or f1 > 0.75) and n == 3", True),
        ("model == 'rf'", True),
        ('model != "rf"', False),
        ("model in ('rf', 'gbm')", True),
        ("model not in ['rf']", False),
        ("n in (1, 2, 3)", True),
        ("flag == true", True),
        ("flag", None),  # not a condition: an error, see below
        ("nan > 0", False),
        ("nan == None", True),
        ("acc != null", True),
        ("acc / zero > 1", False),
    ],
)
def test_check_evaluates_every_operator(registry: Registry, rule: str, passed: bool | None) -> None:
    if passed is None:
        with pytest.raises(ExpressionError, match="is not a condition"):
            mlops.check(rule, values=VALUES)
        return
    evaluation = mlops.check(rule, values=VALUES, raise_on_failure=False)
    assert evaluation.passed is passed, evaluation


@pytest.mark.parametrize(
    ("rule", "actual", "expected", "detail"),
    [
        ("acc >= 0.85", 0.9, ">= 0.85", ""),
        ("0.95 <= acc", 0.9, ">= 0.95", "0.95 <= acc is false (0.95 vs 0.9)"),
        ("acc > f1 + 0.15", 0.9, "> 0.95 (f1 + 0.15)", "acc > f1 + 0.15 is false (0.9 vs 0.95)"),
        ("model in ('rf', 'gbm')", "rf", "in ('rf', 'gbm')", ""),
        (
            "acc > 0.8 and f1 > 0.9",
            "acc=0.9, f1=0.8",
            "0.9 > 0.8 and 0.8 > 0.9",
            "f1 > 0.9 is false (0.8 vs 0.9)",
        ),
        ("nan > 0", None, "> 0", "nan has no value (NaN or None)"),
        (
            "acc / zero > 1",
            None,
            "> 1",
            "acc / zero divides by zero; acc / zero has no value (NaN or None)",
        ),
    ],
)
def test_check_reports_actual_and_expected(
    registry: Registry, rule: str, actual: Any, expected: str, detail: str
) -> None:
    (result,) = mlops.check(rule, values=VALUES, raise_on_failure=False).results
    assert (result.actual, result.expected, result.detail) == (actual, expected, detail)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("__import__('os').system('touch canary')", "A function call is not allowed"),
        ("acc > 0.5; DROP TABLE runs", "';' is not allowed"),
        ("acc > 0.5 --", "Cannot parse"),
        ('exec(\'open("canary", "w")\')', "A function call is not allowed"),
        ("acc.__class__.__bases__ == 1", "Unknown metric or parameter"),
        ("(lambda: 1)() > 0", "A function call is not allowed"),
        ("[x for x in ()] == 1", "not allowed"),
        ("acc > open('canary', 'w')", "A function call is not allowed"),
        ("acc[0] > 1", "Indexing with \\[\\] is not allowed"),
        ("acc >", "Cannot parse"),
        ("", "The expression is empty"),
        ("model > 1", "orders the text 'rf' against a number"),
        ("model + 1 > 2", "does arithmetic on the text 'rf'"),
        ("(acc > 1) == True", "is a condition, not a value"),
        ("acc > None", "Cannot order against None"),
        ("acuracy > 0.5", 'Unknown metric or parameter "acuracy"'),
    ],
)
def test_check_refuses_bad_rules_runs_nothing_and_stores_nothing(
    registry: Registry, rule: str, message: str, tmp_path: Path
) -> None:
    with mlops.start_run("r") as run:
        run.log(acc=0.9)
    with pytest.raises(ExpressionError, match=message):
        mlops.check(rule, run="r", values={"model": "rf"})
    assert not (tmp_path / "canary").exists()
    assert [row[0] for row in registry.query("SELECT name FROM runs")] == ["r"]
    assert evaluations_stored(registry) == 0


def test_unknown_metric_error_suggests_close_names(registry: Registry) -> None:
    with mlops.start_run("r") as run:
        run.log(accuracy=0.9, val_loss=0.3)
        run.log_params(lr=0.1)
    with pytest.raises(
        ExpressionError, match='Unknown metric or parameter "acuracy" of run'
    ) as error:
        mlops.check("acuracy > 0.5", run="r")
    assert error.value.hint == "Did you mean accuracy?"
    with pytest.raises(ExpressionError) as error:
        mlops.check("params.zzz_unrelated > 2", run="r")
    assert "Metrics of run" in (error.value.hint or "") and "val_loss" in (error.value.hint or "")


# -- what names read --------------------------------------------------------------------------------


def test_rules_read_the_run_metrics_params_and_given_values(registry: Registry) -> None:
    with mlops.start_run("tuned") as run:
        run.log(accuracy=0.5, step=0)
        run.log(accuracy=0.93, step=1)  # the last value counts
        run.log_params(lr=0.01, model="rf")
    evaluation = mlops.check(
        ["accuracy > 0.9", "metrics.accuracy > 0.9", "params.lr < 0.1", "lr < 0.1",
         "params.model == 'rf'", "latency_ms < 50"],
        run="tuned",
        values={"latency_ms": 42},
    )  # fmt: skip
    assert evaluation.passed and evaluation.run_id == run.id and evaluation.run_name == "tuned"
    assert evaluation.inputs["resolved"] == {
        "accuracy": 0.93, "metrics.accuracy": 0.93, "params.lr": 0.01, "lr": 0.01,
        "params.model": "rf", "latency_ms": 42,
    }  # fmt: skip
    assert evaluation.inputs["values"] == {"latency_ms": 42}


def test_check_inside_a_run_reads_its_unwritten_metrics(registry: Registry) -> None:
    with mlops.start_run("live") as run:
        mlops.log(accuracy=0.97)  # still in the run's buffer
        evaluation = mlops.check("accuracy > 0.95")
    assert evaluation.run_id == run.id and evaluation.results[0].actual == 0.97


def test_check_without_a_run_reads_the_latest_one(registry: Registry) -> None:
    for name, accuracy in (("old", 0.99), ("new", 0.7)):
        with mlops.start_run(name) as run:
            run.log(accuracy=accuracy)
    evaluation = mlops.check("accuracy > 0.9", raise_on_failure=False)
    assert evaluation.run_name == "new" and not evaluation.passed
    only_values = mlops.check("x > 1", values={"x": 2})
    assert only_values.run_id is None  # nothing needed a run


def test_check_with_no_run_at_all_names_what_is_missing(registry: Registry) -> None:
    with pytest.raises(ExpressionError, match='"accuracy" in .* needs a run to read it from'):
        mlops.check("accuracy > 0.9")


# -- champions ------------------------------------------------------------------------------------


def register_run(name: str, metrics: dict[str, float], alias: str | None = None) -> ModelVersion:
    with mlops.start_run(name) as run:
        run.log(metrics)
        return mlops.register_model({"from": name}, "churn", alias=alias)


def test_promote_with_no_champion_yet_passes_and_says_so(registry: Registry) -> None:
    register_run("first", {"accuracy": 0.9, "f1": 0.8})
    promotion = mlops.promote(
        "churn@1", alias="champion", gates=["accuracy >= 0.85", "f1 >= champion.f1 - 0.01"]
    )
    assert promotion.moved and promotion.previous_version is None and promotion.version == 1
    assert promotion.evaluation is not None and promotion.evaluation.passed
    first, second = promotion.evaluation.results
    assert first.detail == "" and second.detail == "f1 >= champion.f1 - 0.01: no champion yet"
    assert (second.actual, second.expected) == (0.8, ">= champion.f1 - 0.01")
    assert promotion.evaluation.inputs["aliases"] == {"champion": None}
    assert resolve_version(registry, "churn@champion").version == 1


def test_promote_compares_with_the_champions_own_metrics(registry: Registry) -> None:
    register_run("first", {"accuracy": 0.9, "f1": 0.8}, alias="champion")
    register_run("better", {"accuracy": 0.91, "f1": 0.85})
    register_run("worse", {"accuracy": 0.95, "f1": 0.7})
    rules = ["accuracy >= 0.85", "f1 >= champion.f1 - 0.01"]
    with pytest.raises(GateFailedError) as failed:
        mlops.promote("churn@3", alias="champion", gates=rules)
    message = str(failed.value)
    assert "churn@3 was not promoted to champion (champion still points at version 1)" in message
    assert "1 of 2 checks failed: f1 >= champion.f1 - 0.01 (actual 0.7, expected >= 0.79" in message
    assert [r.passed for r in failed.value.results] == [True, False]
    assert failed.value.results[1].detail.endswith("champion is churn@1 (run first)")
    assert resolve_version(registry, "churn@champion").version == 1
    promotion = mlops.promote("churn@2", alias="champion", gates=rules)
    assert (promotion.moved, promotion.previous_version, promotion.version) == (True, 1, 2)
    assert promotion.evaluation is not None
    assert promotion.evaluation.inputs["alias_before"] == {
        "version": 1,
        "run_id": mlops.get_run("first").run.id,
    }
    history = alias_history(registry, "churn", "champion")
    assert [(m.from_version, m.to_version, m.evaluation_id) for m in history] == [
        (None, 1, None),
        (1, 2, promotion.evaluation.id),
    ]
    failed_evaluation = registry.query_one(
        "SELECT passed, n_failed, alias FROM gate_evaluations WHERE purpose = 'promote' AND passed = 0"
    )
    assert tuple(failed_evaluation) == (0, 1, "champion")  # type: ignore[arg-type]


def test_promote_without_gates_moves_and_records_the_move(registry: Registry) -> None:
    register_run("a", {"f1": 0.5}, alias="champion")
    register_run("b", {"f1": 0.4})
    promotion = mlops.promote("churn@2", alias="champion")
    assert promotion.moved and promotion.evaluation is None and promotion.previous_version == 1
    again = mlops.promote("churn@2", alias="champion")
    assert not again.moved and again.previous_version == 2
    assert [m.reason for m in alias_history(registry, "churn", "champion")] == [
        "register",
        "promote",
    ]
    assert evaluations_stored(registry) == 0


def test_champion_rules_in_checks_name_the_model(registry: Registry) -> None:
    register_run("champ", {"f1": 0.8}, alias="champion")
    with mlops.start_run("candidate") as run:
        run.log(f1=0.82)
    with pytest.raises(ExpressionError, match="refers to an alias, but no model is named"):
        mlops.check("f1 > champion.f1", run="candidate")
    evaluation = mlops.check(
        ["f1 > champion.f1", "f1 > champion.metrics.f1"], run="candidate", model="churn"
    )
    assert evaluation.passed and evaluation.model == "churn"
    # a run with a registered version needs no model= : its model is known
    register_run("registered", {"f1": 0.9})
    assert mlops.check("f1 > champion.f1", run="registered").model == "churn"
    with pytest.raises(NotFoundError, match='No model named "fraud"'):
        mlops.check("f1 > champion.f1", run="candidate", model="fraud")


def test_a_misspelt_alias_is_refused_not_waived(registry: Registry) -> None:
    register_run("champ", {"f1": 0.8}, alias="champion")
    register_run("next", {"f1": 0.9})
    with pytest.raises(ExpressionError, match='has no alias "champoin"') as error:
        mlops.promote("churn@2", alias="champion", gates=["f1 > champoin.f1"])
    assert error.value.hint == "Did you mean champion.f1?"
    assert resolve_version(registry, "churn@champion").version == 1
    with pytest.raises(ExpressionError, match='whose run has no "auc"'):
        mlops.promote("churn@2", alias="champion", gates=["f1 > champion.auc"])
    assert evaluations_stored(registry) == 0


def test_champion_without_a_run_cannot_be_compared(registry: Registry) -> None:
    mlops.register_model({"a": 1}, "churn", alias="champion")
    register_run("next", {"f1": 0.9})
    with pytest.raises(ExpressionError, match="was registered without a run, so it has no metrics"):
        mlops.promote("churn@2", alias="champion", gates=["f1 > champion.f1"])
    promotion = mlops.promote(
        "churn@2", alias="champion", gates=["f1 > champion.f1"], values={"champion.f1": 0.5}
    )
    assert promotion.moved


def test_promote_checks_data_expectations_too(registry: Registry) -> None:
    register_run("r", {"f1": 0.9})
    frame = pd.DataFrame({"age": [20, 30, 200]})
    with pytest.raises(GateFailedError, match=r"between\('age', 0, 120\)"):
        mlops.promote("churn@1", alias="prod", data=frame, expect=['between("age", 0, 120)'])
    assert aliases_of(registry, "churn") == {}
    assert mlops.promote(
        "churn@1", alias="prod", data=frame, expect=['between("age", 0, 300)']
    ).moved


# -- storage and reading back -------------------------------------------------------------------------


def test_every_evaluation_is_stored_with_inputs_and_verdicts(registry: Registry) -> None:
    with mlops.start_run("r") as run:
        run.log(accuracy=0.8, latency=float("inf"))
    with pytest.raises(GateFailedError) as failed:
        mlops.check(["accuracy >= 0.85", "latency > 0"], run="r")
    assert [r.verdict for r in failed.value.results] == ["failed", "passed"]
    rows = registry.query("SELECT * FROM gate_results_view ORDER BY seq")
    assert [(r["rule"], r["verdict"], r["actual"], r["expected"]) for r in rows] == [
        ("accuracy >= 0.85", "failed", "0.8", ">= 0.85"),
        ("latency > 0", "passed", '"inf"', "> 0"),
    ]
    stored = gates.evaluations(registry, run="r")
    assert len(stored) == 1 and stored[0].run_id == run.id and not stored[0].passed
    assert stored[0].inputs["resolved"] == {"accuracy": 0.8, "latency": "inf"}
    assert (
        json.loads(registry.query_one("SELECT inputs FROM gate_evaluations")[0])["run_id"] == run.id
    )  # type: ignore[index]
    again = mlops.check(["accuracy >= 0.85"], run="r", raise_on_failure=False)
    assert not again.passed and gates.get_evaluation(registry, again.id) == again
    assert [e.id for e in gates.evaluations(registry, limit=1)] == [again.id]


def test_evaluations_of_a_model_include_checks_that_named_it(registry: Registry) -> None:
    register_run("r", {"f1": 0.9}, alias="champion")
    checked = mlops.check("f1 >= champion.f1", run="r", model="churn")
    promoted = mlops.promote("churn@1", alias="stable", gates=["f1 > 0.5"])
    assert promoted.evaluation is not None
    assert {e.id for e in gates.evaluations(registry, model="churn")} == {
        checked.id,
        promoted.evaluation.id,
    }


def test_values_must_be_plain(registry: Registry) -> None:
    with pytest.raises(
        InvalidInputError, match='values: "x" must be a number, text, a boolean or None'
    ):
        mlops.check("x > 1", values={"x": [1, 2]})
    with pytest.raises(InvalidInputError, match="A rule must be text"):
        mlops.check([lambda: True])  # type: ignore[list-item]
    with pytest.raises(InvalidInputError, match="Nothing to check"):
        mlops.check([])


# -- views, magics, command line -------------------------------------------------------------------


def test_gate_view_escapes_and_marks_failures(registry: Registry) -> None:
    evaluation = mlops.check(
        ["model == '<script>alert(1)</script>'", "n > 1"], values={"model": "<b>x</b>", "n": 2},
        raise_on_failure=False,
    )  # fmt: skip
    page = GateView(evaluation).static_html()
    assert "<script>" not in page and "&lt;script&gt;" in page and "&lt;b&gt;x&lt;/b&gt;" in page
    assert page.count('class="mlops-row-failed"') == 1 and "✗ failed" in page and "✓ passed" in page


@pytest.mark.parametrize(
    ("words", "rules"),
    [
        (["accuracy >= 0.85"], ["accuracy >= 0.85"]),
        (["accuracy >= 0.85", "f1 > 0.5"], ["accuracy >= 0.85", "f1 > 0.5"]),
        (["accuracy", ">=", "0.85"], ["accuracy >= 0.85"]),
        (["accuracy", ">=", "0.85", "and", "f1", ">", "0.5"], ["accuracy >= 0.85 and f1 > 0.5"]),
        ([], []),
    ],
)
def test_rules_from_words_joins_unquoted_rules(words: list[str], rules: list[str]) -> None:
    assert rules_from_words(words) == rules


def cell(shell: Any, source: str) -> tuple[Any, str, list[Any]]:
    with capture_output() as captured:
        result = run_cell(shell, source)
    return result, captured.stdout, captured.outputs


def test_gate_magic_shows_the_table_then_one_line(shell: Any, registry: Registry) -> None:
    cell(shell, "%%mlops run r\nmlops.log(accuracy=0.8)")
    result, _, outputs = cell(shell, "%mlops gate accuracy >= 0.7")
    assert result.error_in_exec is None and "✓ passed" in outputs[0].data["text/html"]
    result, _, outputs = cell(shell, '%mlops gate "accuracy >= 0.85" "accuracy > 0.1"')
    assert type(result.error_in_exec).__name__ == "UsageError"
    assert (
        "Gate failed: 1 of 2 checks failed: accuracy >= 0.85 (actual 0.8, expected >= 0.85)"
        in str(result.error_in_exec)
    )
    assert "✗ failed" in outputs[0].data["text/html"]
    assert evaluations_stored(registry) == 2


def test_gate_magic_checks_data_of_a_variable(shell: Any, registry: Registry) -> None:
    cell(shell, "import pandas as pd\ndf = pd.DataFrame({'age': [1, 2, None]})")
    result, _, outputs = cell(
        shell,
        "%mlops gate --data df --expect 'not_null(\"age\", mostly=0.6)' -x 'between(\"age\", 0, 5)'",
    )
    assert result.error_in_exec is None, result.error_in_exec
    assert "data df (3 rows)" in outputs[0].data["text/html"]
    result, _, _ = cell(shell, '%mlops gate --data df --expect \'unique("age", __import__("os"))\'')
    assert "is not a literal value" in str(result.error_in_exec)


def test_promote_magic_moves_or_shows_why_not(shell: Any, registry: Registry) -> None:
    register_run("a", {"f1": 0.8}, alias="champion")
    register_run("b", {"f1": 0.6})
    register_run("c", {"f1": 0.9})
    result, _, outputs = cell(
        shell, '%mlops promote churn@2 --alias champion --gate "f1 >= champion.f1"'
    )
    assert type(result.error_in_exec).__name__ == "UsageError"
    assert "churn@2 was not promoted to champion" in str(result.error_in_exec)
    assert (
        "✗ failed" in outputs[0].data["text/html"]
        and "churn@2 → champion" in outputs[0].data["text/html"]
    )
    result, out, _ = cell(
        shell, '%mlops promote churn@3 --alias champion --gate "f1 >= champion.f1"'
    )
    assert result.error_in_exec is None and "churn@champion -> version 3 (was version 1)." in out


def test_gate_and_promote_commands_exit_3_when_a_gate_fails(registry: Registry) -> None:
    register_run("a", {"f1": 0.8}, alias="champion")
    register_run("b", {"f1": 0.6})
    runner = cli_runner()
    ok = runner.invoke(main, ["gate", "f1 > 0.5", "--run", "b"])
    assert ok.exit_code == 0 and ok.stdout.splitlines()[2].split()[:2] == ["PASSED", "f1"]
    bad = runner.invoke(main, ["gate", "f1 > x", "--run", "b", "--value", "x=0.7"])
    assert bad.exit_code == 3 and "FAILED" in bad.stdout and "Gate failed: 1 of 1" in bad.stderr
    refused = runner.invoke(
        main, ["promote", "churn@2", "--alias", "champion", "--gate", "f1 >= champion.f1"]
    )
    assert refused.exit_code == 3 and "champion still points at version 1" in refused.stderr
    moved = runner.invoke(main, ["promote", "churn@2", "--alias", "champion"])
    assert moved.exit_code == 0 and "churn@champion -> version 2 (was version 1)." in moved.stdout
    broken = runner.invoke(main, ["gate", "f1 >", "--run", "b"])
    assert broken.exit_code == 1 and "Cannot parse" in broken.stderr


def test_gate_command_checks_a_csv_file(registry: Registry, tmp_path: Path) -> None:
    path = tmp_path / "new.csv"
    pd.DataFrame({"age": [10, 20, 30]}).to_csv(path, index=False)
    result = cli_runner().invoke(main, ["gate", "--data", str(path), "-x", 'between("age", 0, 25)'])
    assert result.exit_code == 3 and "0.666667" in result.stdout
