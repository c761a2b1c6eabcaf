"""The faces of merging: ``jupyter mlops merge`` (its output and exit status),
``%mlops merge`` in a real IPython shell, ``mlops.merge``, and the bundles of a
pipeline's Kubeflow tasks merged through the same command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from IPython.utils.capture import capture_output

import jupyter_mlops as mlops
from jupyter_mlops.cli import main
from jupyter_mlops.registry.connection import Registry

from .conftest import cli_runner, run_cell
from .test_merge import record, rows_of, user_tables

# measured on 2 busy cores (the bundles of a Kubeflow run, two registries recorded once)
EXPECTED_SECONDS = 50


@pytest.fixture
def theirs(tmp_path: Path) -> Path:
    """A colleague's project folder (holding .mlops) with runs, models and an alias move;
    asked for before ``registry`` and ``shell``, which use the session it resets."""
    record(tmp_path / "theirs", "ben", seed=2, promote=True)
    return tmp_path / "theirs"


@pytest.fixture
def ours(tmp_path: Path) -> Path:
    return record(tmp_path / "ours", "ana", seed=1, promote=False)


def merge(*args: str) -> Any:
    return cli_runner().invoke(main, ["merge", *args])


def test_cli_merge_prints_what_it_added_and_the_conflicts_and_exits_0(ours, theirs):
    dry = merge(str(theirs), "--registry", str(ours), "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    assert dry.stdout.startswith(f"Dry run: merging {theirs} would add:")
    assert "  runs: 5\n" in dry.stdout and "  model versions: 2\n" in dry.stdout
    assert len(rows_of(ours, "runs")) == 4  # two runs, each with a child

    done = merge(str(theirs), "--registry", str(ours))
    assert done.exit_code == 0, done.stderr
    assert done.stdout.startswith(f"Merged {theirs}, adding:")
    assert "  runs: 5\n  metric points: 3014\n" in done.stdout
    assert "artifact files copied: 4" in done.stdout
    assert "  alias churn@champion: target churn 1, source churn 2 (churn 4 here)" in done.stdout
    assert "    source history: churn 1 -> churn 2 (promote, " in done.stdout
    assert "  model version churn 1: target artifact " in done.stdout
    assert len(rows_of(ours, "runs")) == 9

    again = merge(str(theirs), "--registry", str(ours), "--fail-on-conflict")
    assert again.exit_code == 2  # the alias still differs; nothing else to add
    assert again.stdout.startswith(f"Merged {theirs}, adding nothing\n1 conflict(s)")


def test_cli_merge_as_json_and_its_errors(ours, theirs, tmp_path):
    done = merge(
        str(theirs / ".mlops" / "registry.db"), "--registry", str(ours), "--format", "json"
    )
    assert done.exit_code == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["added"]["runs"] == 5 and len(report["runs_added"]) == 5
    assert {c["kind"] for c in report["conflicts"]} == {"alias", "model version"}

    missing = merge(str(tmp_path / "nowhere"), "--registry", str(ours))
    assert missing.exit_code == 1 and missing.stdout == ""
    assert "nowhere does not exist" in missing.stderr and "Hint:" in missing.stderr


def test_magic_merge_in_a_real_shell(theirs: Path, shell: Any, registry: Registry) -> None:
    with capture_output() as dry:
        run_cell(shell, "%mlops merge theirs --dry-run")
    assert dry.stdout.startswith("Dry run: merging theirs would add:"), dry.stdout + dry.stderr
    assert registry.query_one("SELECT COUNT(*) FROM runs")[0] == 0
    with capture_output() as done:
        run_cell(shell, "%mlops merge theirs")
    assert "  runs: 5\n" in done.stdout and "No conflicts." in done.stdout
    assert registry.query_one("SELECT COUNT(*) FROM runs")[0] == 5
    with capture_output() as wrong:
        run_cell(shell, "%mlops merge missing-folder")
    assert "missing-folder does not exist" in wrong.stdout + wrong.stderr
    assert "Traceback" not in wrong.stdout + wrong.stderr


def test_api_merge_uses_the_session_registry(theirs: Path, registry: Registry) -> None:
    report = mlops.merge(theirs)
    assert report.added["runs"] == 5 and report.conflicts == ()
    assert mlops.merge(theirs).total_added == 0
    assert {t for t in user_tables(registry.path)} >= {"runs", "model_alias_history"}


@pytest.mark.slow
def test_cli_merge_takes_the_bundles_of_a_kubeflow_run(tmp_path: Path) -> None:
    pytest.importorskip("kfp", reason="the kfp extra is not installed (pip install '.[kfp]')")
    import nbformat
    from nbformat.v4 import new_notebook

    from jupyter_mlops.export import export_notebook
    from jupyter_mlops.runner.collect import pipeline_run_id

    from .test_kfp_collect import CELLS, run_tasks

    nbformat.write(new_notebook(cells=CELLS), tmp_path / "tiny.ipynb")
    exported = export_notebook(
        tmp_path / "tiny.ipynb", tmp_path / "out", targets="kfp", image="local", run_id=None
    )
    assert run_tasks(exported.output_dir, tmp_path / "outputs", 0.5, kfp_run="run-9") == 0
    registry_path = tmp_path / ".mlops" / "registry.db"
    Registry.open(registry_path, create=True).close()

    done = merge(str(tmp_path / "outputs"), "--registry", str(registry_path))
    assert done.exit_code == 0, done.stderr
    assert "  runs: 3\n" in done.stdout and "  model versions: 1\n" in done.stdout
    assert f"  pipeline run {pipeline_run_id('run-9')}" in done.stdout
    assert "No conflicts." in done.stdout
    with Registry.open(registry_path) as registry:
        kinds = registry.query("SELECT kind, COUNT(*) FROM runs GROUP BY kind ORDER BY kind")
        assert [tuple(r) for r in kinds] == [("pipeline", 1), ("pipeline-step", 3)]

    again = merge(str(tmp_path / "outputs"), "--registry", str(registry_path))
    assert again.exit_code == 0, again.stderr
    assert "adding nothing\n" in again.stdout and "No conflicts." in again.stdout


def test_a_backup_with_its_artifacts_merges_into_a_new_registry(theirs, tmp_path):
    copy = tmp_path / "shared" / "ben.db"
    made = cli_runner().invoke(
        main, ["backup", str(copy), "--artifacts", "--registry", str(theirs)]
    )
    assert made.exit_code == 0, made.stderr
    target = tmp_path / "new" / ".mlops" / "registry.db"
    Registry.open(target, create=True).close()
    done = merge(str(copy), "--registry", str(target))
    assert done.exit_code == 0, done.stderr
    assert "  runs: 5\n" in done.stdout and "No conflicts." in done.stdout
    assert rows_of(target, "metrics") == rows_of(theirs / ".mlops" / "registry.db", "metrics")
