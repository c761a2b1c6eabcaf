"""The teams benchmark of ``bench/teams.py`` in its short form, end to end: 20 runs pushed to
a real MLflow server and imported back, and MLflow's own client logging and reading the same
runs. It checks that the benchmark still runs and that both sides sent and read the same
content, never how fast: the figures belong in bench/RESULTS.md.

Under scripts/test both sides go to the suite's shared MLflow server (MLOPS_TEST_MLFLOW_URI,
each into an experiment of its own), whose CPU seconds and requests the bench then reports as
unknown; run alone, the bench starts two servers of its own, as the full benchmark does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from .mlflow_tracking import SUITE_SERVER, mlflow_python

# seconds this module takes, for tests/sharding.py's order: the bench's smoke run pushes,
# imports, logs and reads 20 runs on the suite's MLflow server (measured: 26 s at load 2.4,
# where two servers of its own took 48 s; they start when the module runs alone)
EXPECTED_SECONDS = 35

BENCH = Path(__file__).resolve().parents[1] / "bench" / "teams.py"


@pytest.mark.slow
def test_the_teams_bench_pushes_imports_and_times_mlflows_client_on_the_same_runs(
    tmp_path: Path, python_env: dict[str, str]
) -> None:
    out = tmp_path / "teams.json"
    suite_server = os.environ.get(SUITE_SERVER)
    done = subprocess.run(
        [
            sys.executable, str(BENCH), "--smoke", "--no-write-results", "--json", str(out),
            "--mlflow-python", str(mlflow_python()), "--python", sys.executable,
            *(["--mlflow-uri", suite_server] if suite_server else []),
        ],
        env=python_env, capture_output=True, text=True, timeout=400,
    )  # fmt: skip

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    facts = json.loads(out.read_text())
    figures = facts["figures"]
    assert facts["runs"] == 20 and facts["steps"] == 100
    assert figures["push"]["sent"]["metric points"] == 20 * 100 * 2
    assert figures["push_again"]["sent"] == {}
    assert figures["import"]["points"] == figures["mlflow_read"]["points"] == 20 * 100 * 2
    for name in ("mlflow_log", "push", "push_again", "mlflow_read", "import", "import_again"):
        timing = figures[name]["first"]
        assert timing["seconds"] > 0, name
        if suite_server:  # not the bench's server: what it spent is not known, and not guessed
            assert timing["server_cpu"] is None and timing["requests"] is None, name
        else:
            assert timing["server_cpu"] >= 0 and timing["requests"] >= 0, name
    ours, theirs = figures["describe_ours"], figures["describe_mlflow"]
    assert ours["params"] == theirs["params"] == 10
    assert ours["metrics"] == theirs["metrics"] == ["accuracy", "loss"]
    assert set(theirs["tags"]) <= set(ours["tags"])
    assert "send 20 runs" in done.stdout
    if suite_server:  # what it made on the borrowed server went to MLflow's trash after it
        made = set(facts["experiments"].values())
        assert len(made) == 2 and made.isdisjoint(active_experiments(suite_server))


def active_experiments(uri: str) -> set[str]:
    request = urllib.request.Request(
        f"{uri}/api/2.0/mlflow/experiments/search",
        data=json.dumps({"max_results": 1000, "view_type": "ACTIVE_ONLY"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return {experiment["name"] for experiment in json.loads(answer.read())["experiments"]}
