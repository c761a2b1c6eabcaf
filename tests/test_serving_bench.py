"""The serving benchmark of ``bench/serving.py`` in its short form, end to end: two real
servers of a registered model (prediction log on and off) under load from 1 and 4
keep-alive clients, every answer a 200 and the first ones equal to the model's own, then
the in-process cost of logging a request. It checks that the benchmark still runs and
counts what it sent, never how fast: the figures belong in bench/RESULTS.md."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# seconds this module takes, for tests/sharding.py's order: the bench's smoke run starts two
# servers and loads them (measured: 20 s at load 1.5)
EXPECTED_SECONDS = 25

pytest.importorskip("mlserver", reason="the serve extra (MLServer) is not installed here")

BENCH = Path(__file__).resolve().parents[1] / "bench" / "serving.py"


@pytest.mark.slow
def test_the_serving_bench_loads_both_of_our_servers_and_times_the_log(
    tmp_path: Path, python_env: dict[str, str]
) -> None:
    out = tmp_path / "serving.json"
    done = subprocess.run(
        [sys.executable, str(BENCH), "--smoke", "--no-write-results", "--json", str(out)],
        env=python_env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    facts = json.loads(out.read_text())
    assert sorted(facts["cells"]) == sorted(
        f"{server}|{rows}|{clients}"
        for server in ("ours", "ours --no-log")
        for rows in (1, 100)
        for clients in (1, 4)
    )
    for cell in facts["cells"].values():
        assert cell["requests"] == facts["requests"] * facts["rounds"]
        assert 0 < cell["p50"] <= cell["p99"] and cell["throughput"] > 0
    for rows in ("1", "100"):
        cost = facts["log_cost"][rows]
        assert cost["records"] == 2_000 and len(cost["submit_seconds"]) == 2
    assert "MLflow was left out" in done.stdout
