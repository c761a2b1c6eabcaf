"""``jupyter mlops reproduce`` / ``%mlops reproduce``: a run recorded in a real IPython
shell, run again from the registry alone in a fresh kernel, with its verdict: parity, a
mismatch with the unseeded call named, data that changed stopped with the variable and the
file named, stored snapshots standing in for it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from jupyter_mlops.cli import main
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.tracking.reproductions import reproductions_of

from .conftest import run_cell

pytestmark = pytest.mark.slow  # each reproduction starts a kernel

IMPORTS = "import numpy as np\nimport pandas as pd"
LOAD = 'raw = pd.read_csv("measures.csv")'
PLOT = "summary = raw.describe()"
RUN = (
    "%%mlops run measured\n"
    "scale = 3\n"
    "total = float((raw.a * scale).sum())\n"
    "mlops.log(total=total, rows=len(raw))"
)


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "measures.csv").write_text("a,b\n1,2\n3,4\n5,6\n")
    return tmp_path


def run_id_named(registry: Registry, name: str) -> str:
    row = registry.query_one(
        "SELECT id FROM runs WHERE name = ? ORDER BY started_at LIMIT 1", (name,)
    )
    assert row is not None
    return str(row[0])


def reproduce(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["reproduce", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_a_run_comes_back_with_parity_and_the_reproduction_is_linked_to_it(
    shell: object, registry: Registry, folder: Path
) -> None:
    for source in (IMPORTS, LOAD, PLOT, RUN):
        assert run_cell(shell, source).success  # type: ignore[attr-defined]
    original = run_id_named(registry, "measured")

    status, output = reproduce("measured")

    assert status == 0, output
    assert "cell 1/" in output  # progress, a line per cell
    assert "data check: raw: as the run read it" in output
    assert f"parity ok: 2 metric(s) of run {original[:12]}" in output
    (record,) = reproductions_of(registry, original)
    assert record.status == "parity" and record.environment == "current"
    assert record.run_id is not None and record.run_id != original
    again = registry.query_one(
        "SELECT last FROM metric_summaries WHERE run_id = ? AND key = 'total'", (record.run_id,)
    )
    assert again is not None and again[0] == 27.0
    assert Path(record.report["notebook"]).is_file()


def test_a_changed_csv_stops_before_the_runs_cells_naming_the_variable_and_the_file(
    shell: object, registry: Registry, folder: Path
) -> None:
    for source in (IMPORTS, LOAD, RUN):
        run_cell(shell, source)
    original = run_id_named(registry, "measured")
    (folder / "measures.csv").write_text("a,b\n1,2\n3,4\n5,7\n")

    status, output = reproduce("measured")

    assert status == 2, output
    assert "FAILED: raw is not the data run" in output
    assert "measures.csv, changed since the run" in output
    count = registry.query_one("SELECT COUNT(*) FROM runs WHERE name = 'measured'")
    assert count is not None and count[0] == 1  # the run's cells never ran
    (record,) = reproductions_of(registry, original)
    assert record.status == "failed" and record.run_id is None


def test_stored_snapshots_stand_in_for_changed_data_and_parity_holds(
    shell: object, registry: Registry, folder: Path
) -> None:
    run_cell(shell, IMPORTS)
    run_cell(shell, LOAD)
    run_cell(shell, "%mlops start measured")
    run_cell(shell, "%mlops snapshot raw --name measures --materialize")
    run_cell(shell, "total = float((raw.a * 3).sum())\nmlops.log(total=total)")
    run_cell(shell, "%mlops end")
    (folder / "measures.csv").write_text("a,b\n10,20\n")

    status, output = reproduce("measured", "--data-from-snapshots")

    assert status == 0, output
    assert 'the data stored with snapshot "measures"' in output and "takes its place" in output
    assert "parity ok" in output


def test_an_unseeded_model_gives_a_mismatch_that_names_the_unseeded_call(
    shell: object, registry: Registry, folder: Path
) -> None:
    run_cell(shell, IMPORTS)
    run_cell(
        shell,
        "from sklearn.datasets import make_classification\n"
        "X, y = make_classification(n_samples=200, random_state=0)",
    )
    run_cell(
        shell,
        "%%mlops run forest\n"
        "from sklearn.ensemble import RandomForestClassifier\n"
        "model = RandomForestClassifier(n_estimators=3, max_depth=2).fit(X, y)\n"
        "mlops.log(mean_probability=float(model.predict_proba(X)[:, 1].mean()))",
    )

    status, output = reproduce("forest", "--json")

    assert status == 1, output
    verdict = json.loads(output.strip().splitlines()[-1])
    assert verdict["status"] == "mismatch"
    assert [m["key"] for m in verdict["compared"] if not m["equal"]] == ["mean_probability"]
    assert any(
        "RandomForestClassifier(n_estimators=3, max_depth=2)" in cause and "random_state" in cause
        for cause in verdict["causes"]
    ), verdict["causes"]


def test_a_parameter_given_runs_with_it_and_parity_is_not_checked(
    shell: object, registry: Registry, folder: Path
) -> None:
    for source in (IMPORTS, LOAD, RUN):
        run_cell(shell, source)

    status, output = reproduce("measured", "-p", "scale=10")

    assert status == 0, output
    assert "parity not checked: run with other parameters (scale=10)" in output
    rows = registry.query(
        "SELECT m.last FROM runs r JOIN metric_summaries m ON m.run_id = r.id"
        " WHERE r.name = 'measured' AND m.key = 'total' ORDER BY r.started_at"
    )
    assert [row[0] for row in rows] == [27.0, 90.0]


def test_an_unknown_parameter_or_run_is_refused_before_anything_runs(
    shell: object, registry: Registry, folder: Path
) -> None:
    for source in (IMPORTS, LOAD, RUN):
        run_cell(shell, source)

    status, output = reproduce("measured", "-p", "depth=3")
    assert status == 2
    assert 'has no parameter "depth"' in output and "scale" in output

    status, output = reproduce("nosuchrun")
    assert status == 2 and "nosuchrun" in output


def test_a_run_without_a_closure_fails_saying_what_to_do(registry: Registry, folder: Path) -> None:
    import jupyter_mlops as mlops

    with mlops.start_run("from-a-script") as run:
        run.log(value=1.0)

    status, output = reproduce("from-a-script")

    assert status == 2
    assert "no closure was recorded" in output and "checkout" in output


def test_the_magic_prints_the_verdict_in_the_notebook(
    shell: object, registry: Registry, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for source in (IMPORTS, LOAD, RUN):
        run_cell(shell, source)
    capsys.readouterr()

    run_cell(shell, "%mlops reproduce measured")

    printed = capsys.readouterr().out
    assert 'reproducing run "measured"' in printed
    assert "parity ok" in printed and "the executed notebook:" in printed
