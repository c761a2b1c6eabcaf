"""The best run by a metric, shown by %mlops best and jupyter mlops best as show shows a run."""

from __future__ import annotations

import json
from typing import Any

import pytest
from IPython.utils.capture import capture_output

import jupyter_mlops as mlops
from jupyter_mlops.cli import main
from jupyter_mlops.registry.connection import Registry

from .conftest import cli_runner, run_cell


@pytest.fixture
def sweep(registry: Registry) -> Registry:
    """Three runs of "churn" and one of "fraud", each logging accuracy and loss."""
    for name, experiment, accuracy, loss in (
        ("low", "churn", 0.71, 0.9),
        ("high", "churn", 0.93, 0.4),
        ("mid", "churn", 0.85, 0.2),
        ("other", "fraud", 0.97, 0.6),
    ):
        with mlops.start_run(name, experiment=experiment) as run:
            run.log_params(lr=accuracy / 10)
            run.log(accuracy=accuracy, loss=loss)
    return registry


def cell(shell: Any, source: str) -> tuple[Any, str, list[Any]]:
    with capture_output() as captured:
        result = run_cell(shell, source)
    return result, captured.stdout, captured.outputs


@pytest.mark.parametrize(
    ("line", "name", "said"),
    [
        ("%mlops best accuracy", "other", "by highest accuracy: \"other\""),
        ("%mlops best accuracy --experiment churn", "high",
         'Best run of experiment "churn" by highest accuracy: "high"'),
        ("%mlops best loss --min", "mid", "by lowest loss: \"mid\""),
    ],
)  # fmt: skip
def test_best_magic_names_the_run_and_shows_it(
    shell: Any, sweep: Registry, line: str, name: str, said: str
) -> None:
    result, out, outputs = cell(shell, line)

    assert result.error_in_exec is None
    best = mlops.get_run(name).run
    assert said in out and best.id in out
    page = outputs[0].data["text/html"]
    assert best.id in page and "accuracy" in page and "lr" in page


@pytest.mark.parametrize(
    ("line", "message", "hint"),
    [
        ("%mlops best f1", 'No run has logged "f1"', "Check the metric's name"),
        ("%mlops best accuracy --experiment nope", 'No run has logged "accuracy" in experiment',
         "Check the metric's name"),
        ("%mlops best", "the following arguments are required: METRIC", "%mlops help best"),
    ],
)  # fmt: skip
def test_best_magic_explains_bad_input_in_one_line_and_a_hint(
    shell: Any, sweep: Registry, line: str, message: str, hint: str
) -> None:
    result, _, outputs = cell(shell, line)
    error = result.error_in_exec
    assert type(error).__name__ == "UsageError" and not outputs
    first, second = str(error).split("\n")
    assert message in first and second.startswith("Hint: ") and hint in second


def test_best_command_prints_the_run_as_show_does(sweep: Registry) -> None:
    result = cli_runner().invoke(main, ["best", "loss", "--min", "--experiment", "churn"])

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    mid = mlops.get_run("mid").run
    assert lines[0] == 'Best run of experiment "churn" by lowest loss: loss = 0.2'
    assert lines[2] == f"Run mid ({mid.id}) in churn: finished"
    shown = cli_runner().invoke(main, ["show", "mid"]).stdout
    assert result.stdout.endswith(shown)


def test_best_command_as_json_is_the_show_json(sweep: Registry) -> None:
    best = cli_runner().invoke(main, ["best", "accuracy", "--json"])
    shown = cli_runner().invoke(main, ["show", "other", "--format", "json"])
    assert best.exit_code == 0 and json.loads(best.stdout) == json.loads(shown.stdout)
    assert json.loads(best.stdout)["metrics"]["accuracy"]["last"] == 0.97


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["best", "f1"], 'Error: No run has logged "f1"'),
        (["best", "accuracy", "--experiment", "nope"],
         'Error: No run has logged "accuracy" in experiment "nope"'),
    ],
)  # fmt: skip
def test_best_command_exits_1_with_a_message_and_a_hint(
    sweep: Registry, args: list[str], message: str
) -> None:
    result = cli_runner().invoke(main, args)
    assert result.exit_code == 1 and result.stdout == ""
    error, advice = result.stderr.splitlines()
    assert error == message and advice.startswith("Hint: ")
