"""Drift in the notebook, on the command line and as a view: a real IPython shell, the CLI on
the bench recipe's data, and the static HTML of the drift view."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from IPython.utils.capture import capture_output

import jupyter_mlops as mlops
from jupyter_mlops.cli import main
from jupyter_mlops.drift.deciding import drift_report
from jupyter_mlops.drift.store import drift_reports, get_drift_report
from jupyter_mlops.models.registering import register
from jupyter_mlops.models.versions import aliases_of
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.widgets import DriftView
from jupyter_mlops.widgets.charts import histogram

from .conftest import cli_runner, run_cell
from .drift_recipe import load_drift_recipe

SEED = 3


@pytest.fixture(scope="module")
def recipe_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The bench recipe's reference and drifted data (bench/drift_data.py) as CSV files,
    at 20,000 rows a side, plus two halves of the reference (no drift between them)."""
    recipe = load_drift_recipe()
    reference, current = recipe.make(n_ref=20_000, n_cur=20_000)
    folder = tmp_path_factory.mktemp("recipe")
    files = {
        "ref": reference,
        "cur": current,
        "ref_a": reference.iloc[:10_000],
        "ref_b": reference.iloc[10_000:],
    }
    paths = {}
    for name, frame in files.items():
        paths[name] = folder / f"{name}.csv"
        frame.to_csv(paths[name], index=False)
    return paths


def frames(n: int = 3_000) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(SEED)
    ref = pd.DataFrame(
        {"x": rng.normal(0, 1, n), "c": rng.choice(list("abc"), n), "z": rng.normal(0, 1, n)}
    )
    cur = pd.DataFrame(
        {"x": rng.normal(0.7, 1, n), "c": rng.choice(list("abc"), n), "z": rng.normal(0, 1, n)}
    )
    return ref, cur


def cell(shell: Any, source: str) -> tuple[Any, str, list[Any]]:
    with capture_output() as captured:
        result = run_cell(shell, source)
    return result, captured.stdout, captured.outputs


def html_of(outputs: list[Any]) -> list[str]:
    return [o.data["text/html"] for o in outputs if "text/html" in o.data]


# -- %mlops drift ------------------------------------------------------------------------------


def test_drift_magic_shows_the_view_and_stores_the_report(shell: Any, registry: Registry) -> None:
    shell.push(dict(zip(("ref_df", "cur_df"), frames())))
    register(registry, {"w": 1}, "churn")
    result, _, outputs = cell(
        shell, "%mlops drift ref_df cur_df --critical x --name nightly --model churn@1"
    )
    assert result.error_in_exec is None, result.error_in_exec
    [page] = html_of(outputs)
    assert "Retrain: the data changed" in page and "mlops-drift-retrain" in page
    stored = get_drift_report(registry, "last")
    assert (stored.record.name, stored.record.origin) == ("nightly", "notebook")
    assert (stored.record.reference_name, stored.record.current_name) == ("ref_df", "cur_df")
    assert stored.record.model_ref == "churn@1" and stored.record.critical == ("x",)
    assert stored.id in page


def test_drift_magic_inside_a_run_links_it_and_reads_snapshots(
    shell: Any, registry: Registry
) -> None:
    ref, cur = frames()
    mlops.snapshot(ref, name="train")
    shell.push({"cur_df": cur})
    result, _, outputs = cell(
        shell, "%%mlops run scoring\n%mlops drift train cur_df --columns x,z --alpha 0.01"
    )
    assert result.error_in_exec is None, result.error_in_exec
    stored = get_drift_report(registry, "last")
    assert stored.record.run_name == "scoring"
    assert (stored.record.reference_kind, stored.record.reference_name) == ("snapshot", "train")
    assert [c.column for c in stored.report.columns] == ["x", "z"]
    assert stored.report.alpha == 0.01
    assert "The reference is a stored profile" in html_of(outputs)[0]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("%mlops drift nothing cur_df", 'No file, snapshot or model version named "nothing"'),
        ("%mlops drift ref_df missing.csv", 'No file at "missing.csv"'),
        ("%mlops drift ref_df cur_df --alpha high", "argument --alpha: invalid float value"),
        ("%mlops drift ref_df cur_df --critical nope", "Critical column 'nope'"),
        ("%mlops drift ref_df", "the following arguments are required: CUR"),
    ],
)
def test_drift_magic_errors_are_one_line_and_a_hint(
    shell: Any, registry: Registry, line: str, message: str
) -> None:
    shell.push(dict(zip(("ref_df", "cur_df"), frames())))
    result, _, outputs = cell(shell, line)
    assert type(result.error_in_exec).__name__ == "UsageError"
    assert message in str(result.error_in_exec)
    assert "Hint:" in str(result.error_in_exec) and not html_of(outputs)
    assert drift_reports(registry) == ()


def test_drift_magic_is_in_help(shell: Any, registry: Registry) -> None:
    _, out, _ = cell(shell, "%mlops help drift")
    assert "--critical" in out and "REF" in out and "CUR" in out


# -- %mlops gate / promote --drift ----------------------------------------------------------------


def test_gate_magic_with_drift_shows_the_gate_and_the_report(
    shell: Any, registry: Registry
) -> None:
    ref, cur = frames()
    mlops.snapshot(ref, name="train")
    shell.push({"ref_df": ref, "cur_df": cur})
    result, _, outputs = cell(shell, "%mlops gate --drift train:ref_df")
    assert result.error_in_exec is None, result.error_in_exec
    gate_page, drift_page = html_of(outputs)
    assert "drift(train, ref_df) &lt; retrain" in gate_page and "✓ passed" in gate_page
    assert "Monitor: no column changed materially" in drift_page
    result, _, outputs = cell(
        shell, "%mlops gate --drift train:cur_df --critical c --fail-on review"
    )
    assert type(result.error_in_exec).__name__ == "UsageError"
    assert "drift(train, cur_df) < review (actual retrain" in str(result.error_in_exec)
    assert len(html_of(outputs)) == 2
    result, _, _ = cell(shell, "%mlops gate --critical c")
    assert "--critical and --fail-on belong to a drift check" in str(result.error_in_exec)
    result, _, _ = cell(shell, "%mlops gate --drift train")
    assert "is not of the form REFERENCE:CURRENT" in str(result.error_in_exec)


def test_promote_magic_with_drift_keeps_the_alias_when_data_moved(
    shell: Any, registry: Registry
) -> None:
    ref, cur = frames()
    mlops.snapshot(ref, name="train")
    register(registry, {"w": 1}, "churn", snapshot="train")
    shell.push({"ref_df": ref, "cur_df": cur})
    result, _, outputs = cell(shell, "%mlops promote churn@1 --alias live --drift churn@1:cur_df")
    assert "churn@1 was not promoted to live" in str(result.error_in_exec)
    assert len(html_of(outputs)) == 2 and aliases_of(registry, "churn") == {}
    result, out, _ = cell(shell, "%mlops promote churn@1 --alias live --drift churn@1:ref_df")
    assert result.error_in_exec is None and "churn@live -> version 1." in out


# -- the Python API ------------------------------------------------------------------------------


def test_check_drift_in_a_run_returns_a_report_that_shows_itself(
    registry: Registry, shell: Any
) -> None:
    ref, cur = frames()
    with mlops.start_run("scoring") as run:
        stored = mlops.check_drift(ref, cur, reference_name="train", critical="x", columns="x,c")
    assert stored.record.run_id == run.id and stored.decision == "retrain"
    assert stored.record.origin == "python" and not stored.gate_passed
    bundle, _ = shell.display_formatter.format(stored)  # the extension registered the view
    assert bundle["text/html"].count("<svg") == 2
    assert bundle["text/plain"].startswith(f"<StoredDriftReport {stored.id} 'train vs current'")
    shell.run_cell("%unload_ext jupyter_mlops")
    plain, _ = shell.display_formatter.format(stored)
    assert set(plain) == {"text/plain"}  # without the extension: its repr, no widget imported
    history = mlops.drift_history()
    assert history.index.tolist() == [stored.id] and history.loc[stored.id, "flagged"] == "x"


# -- the view --------------------------------------------------------------------------------------


def test_drift_view_escapes_names_and_draws_one_chart_per_column(registry: Registry) -> None:
    rng = np.random.default_rng(SEED)
    n = 2_000
    evil = "<script>alert(1)</script>"
    ref = pd.DataFrame(
        {
            evil: rng.normal(0, 1, n),
            "kind": rng.choice(["<b>a</b>", "b"], n),
            "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 300, n), "D"),
            "gone": rng.normal(0, 1, n),
        }
    )
    cur = ref.drop(columns="gone").assign(**{evil: rng.normal(1, 1, n)})
    stored = mlops.check_drift(ref, cur, reference_name="<i>ref</i>", max_rows=1_500)
    page = DriftView(stored).static_html()
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<i>ref</i>" not in page and "&lt;i&gt;ref&lt;/i&gt;" in page
    assert "<b>a</b>" not in page and "&lt;b&gt;a&lt;/b&gt;" in page
    assert page.count("<svg") == 3  # the vanished column has nothing to draw
    assert "No chart: values not tested: the column is missing from the current data" in page
    assert "Subsampled to 1,500 reference and 1,500 current rows" in page
    assert re.search(r"<text[^>]*>2024-\d\d-\d\d</text>", page)  # dates on the date axis
    first_row = page.index("<tbody>")
    assert page.index("&lt;script&gt;", first_row) < page.index("kind", first_row)  # worst first


def test_drift_view_of_a_report_not_stored(registry: Registry) -> None:
    ref, _ = frames()
    page = DriftView(drift_report(ref, ref)).static_html()
    assert "Monitor: no column changed materially" in page and "report <code>" not in page
    assert page.count("<details") == 3 and page.count("<svg") == 3


def test_drift_view_widget_carries_the_static_html(registry: Registry) -> None:
    ref, cur = frames()
    view = DriftView(drift_report(ref, cur))
    bundle = view._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "Retrain: the data changed" in bundle["text/html"]


@pytest.mark.parametrize(
    ("edges", "groups", "bars"),
    [
        ([0, 1, 2, 3], {"reference": [0.2, 0.5, 0.3], "current": [0.1, 0.4, 0.5]}, 6),
        ([5.0, 5.0], {"reference": [1.0], "current": [1.0]}, 2),
        ([0, 1, 2], {"reference": [0.5, 0.5], "current": [0.5]}, 2),  # a group that does not fit
        ([0, 1], {}, 0),
    ],
)
def test_histogram_draws_a_bar_per_bin_and_group(
    edges: list[float], groups: dict[str, list[float]], bars: int
) -> None:
    svg = histogram(edges, groups, title="<x>")
    assert svg.count("<rect") - len([g for g in groups if len(groups[g]) == len(edges) - 1]) == bars
    assert "&lt;x&gt;" in svg and ("no values" in svg) == (bars == 0)


def test_histogram_tooltips_say_the_end_bins_hold_the_tails() -> None:
    svg = histogram([0, 1, 2, 3], {"reference": [0.2, 0.5, 0.3]})
    assert "reference, below 1: 0.2" in svg and "reference, 2 and above: 0.3" in svg
    assert "reference, 1 to 2: 0.5" in svg


# -- jupyter mlops drift ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "cur", "extra", "status", "decision"),
    [
        ("ref_a", "ref_b", [], 0, "monitor"),
        ("ref", "cur", ["--columns", "num_3,num_4"], 1, "review"),  # 10 % nulls injected
        ("ref", "cur", [], 2, "retrain"),
        ("ref", "cur", ["--columns", "num_2,num_4,cat_2", "--critical", "num_2"], 0, "monitor"),
    ],
)
def test_drift_command_exit_status_is_the_decision(
    recipe_files: dict[str, Path],
    ref: str,
    cur: str,
    extra: list[str],
    status: int,
    decision: str,
) -> None:
    result = cli_runner().invoke(
        main, ["drift", str(recipe_files[ref]), str(recipe_files[cur]), *extra]
    )
    assert result.exit_code == status, result.output
    assert result.stdout.startswith(decision.upper())
    assert f"exit status {status} ({decision})" in result.stdout
    assert "no registry found, so the report is not stored" in result.stderr


def test_drift_command_names_the_injected_drift(recipe_files: dict[str, Path]) -> None:
    result = cli_runner().invoke(
        main, ["drift", str(recipe_files["ref"]), str(recipe_files["cur"])]
    )
    table = result.stdout.split("\n\n")[1].splitlines()[2:]
    flagged = {line.split()[0]: line.split()[1] for line in table if "monitor" not in line}
    assert flagged == {
        "num_0": "retrain",
        "num_1": "retrain",
        "cat_0": "retrain",
        "cat_1": "retrain",
        "num_3": "review",
    }
    assert "Why:\n  num_" in result.stdout


def test_drift_command_stores_in_the_registry_and_prints_json(
    registry: Registry, recipe_files: dict[str, Path]
) -> None:
    mlops.snapshot(str(recipe_files["ref"]), name="train")
    result = cli_runner().invoke(
        main, ["drift", "train", str(recipe_files["cur"]), "--json", "--name", "ci"]
    )
    assert result.exit_code == 2, result.output
    data = json.loads(result.stdout)
    assert data["decision"] == "retrain" and data["exit_status"] == 2 and data["stored"]
    stored = get_drift_report(registry, data["id"])
    assert (stored.record.name, stored.record.origin, stored.record.reference_kind) == (
        "ci",
        "cli",
        "snapshot",
    )
    assert stored.report.to_dict() == data["report"]
    again = cli_runner().invoke(main, ["drift", "train", str(recipe_files["cur"]), "--no-store"])
    assert again.exit_code == 2 and "Not stored" in again.stdout
    assert len(drift_reports(registry)) == 1


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["train", "{cur}"], "no registry to look for a snapshot"),
        (["{ref}", "missing.csv"], 'No file at "missing.csv"'),
        (["{ref}", "{cur}", "--alpha", "x"], "Invalid value for '--alpha'"),
        (["{ref}", "{cur}", "--alpha", "2"], "alpha must be between 0 and 1"),
        (["{ref}", "{cur}", "--critical", "nope"], "Critical column 'nope'"),
        (["{ref}", "{cur}", "--bogus"], "No such option"),
        (["{ref}"], "Missing argument 'CUR'"),
        (["{ref}", "{cur}", "--model", "churn"], "No registry"),
    ],
)
def test_drift_command_bad_input_exits_4_with_a_message(
    recipe_files: dict[str, Path], arguments: list[str], message: str
) -> None:
    given = [a.format(ref=recipe_files["ref_a"], cur=recipe_files["ref_b"]) for a in arguments]
    result = cli_runner().invoke(main, ["drift", *given])
    assert result.exit_code == 4, result.output
    assert message in result.stderr


def test_drift_command_exit_status_in_a_real_process(
    recipe_files: dict[str, Path], python_env: dict[str, str], tmp_path: Path
) -> None:
    command = [sys.executable, "-c", "from jupyter_mlops.cli import main; main()", "drift"]
    done = subprocess.run(
        [*command, str(recipe_files["ref"]), str(recipe_files["cur"]), "--columns", "num_0"],
        capture_output=True,
        text=True,
        env=python_env,
        cwd=tmp_path,
    )
    assert done.returncode == 2, done.stderr
    broken = subprocess.run(
        [*command, "nothing.csv", "x.csv"], capture_output=True, text=True, env=python_env,
        cwd=tmp_path,
    )  # fmt: skip
    assert broken.returncode == 4 and "Error: No file at" in broken.stderr


def test_gate_command_with_drift_exits_3_when_it_fails(
    registry: Registry, recipe_files: dict[str, Path]
) -> None:
    mlops.snapshot(str(recipe_files["ref"]), name="train")
    ok = cli_runner().invoke(main, ["gate", "--drift", f"train:{recipe_files['ref_b']}"])
    assert ok.exit_code == 0, ok.output
    assert re.search(r"^PASSED +drift\(train, ", ok.stdout, re.MULTILINE)
    bad = cli_runner().invoke(
        main, ["gate", "--drift", f"train:{recipe_files['cur']}", "--critical", "num_3"]
    )
    assert bad.exit_code == 3 and "FAILED" in bad.stdout
    assert "critical num_3: monitor" in bad.stdout
    lonely = cli_runner().invoke(main, ["gate", "--fail-on", "review"])
    assert lonely.exit_code == 1 and "belong to a drift check" in lonely.stderr


def test_drift_command_on_csv_files_tests_iso_timestamps_and_says_retrain(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(8)
    start = pd.Timestamp("2024-03-01") + pd.to_timedelta(rng.integers(0, 60 * 86400, 1_500), "s")
    amount = rng.gamma(2.0, 10.0, 1_500)
    pd.DataFrame({"signed_up": start, "amount": amount}).to_csv(tmp_path / "ref.csv", index=False)
    shifted = pd.DataFrame({"signed_up": start + pd.Timedelta(days=120), "amount": amount})
    shifted.to_csv(tmp_path / "cur.csv", index=False)

    result = cli_runner().invoke(
        main, ["drift", str(tmp_path / "ref.csv"), str(tmp_path / "cur.csv")]
    )
    assert result.exit_code == 2, result.output
    assert result.stdout.startswith("RETRAIN")
    rows = {line.split()[0]: line.split()[1:3] for line in result.stdout.splitlines() if line}
    assert rows["signed_up"][0] == "retrain" and rows["amount"][0] == "monitor"
