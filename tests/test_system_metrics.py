"""System metrics: CPU, memory (and GPU where NVML is) sampled into a run's ``system/...``
series while it records; on in notebook runs, off in scripts, chosen per run and
globally; sampling stops with the run, survives a registry that cannot be written, and
never keeps the process alive."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

import jupyter_mlops as mlops
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.tracking import background
from jupyter_mlops.tracking.session import SESSION
from jupyter_mlops.tracking.system_metrics import SystemSampler

from .conftest import run_cell

FAST = 0.2  # seconds between samples in these tests
CORES = os.cpu_count() or 1


def system_series(run_id: str) -> dict[str, list[tuple[int, float | None]]]:
    detail = mlops.get_run(run_id)
    return {k: list(v) for k, v in detail.series.items() if k.startswith("system/")}


def system_keys(registry: Registry, run_id: str) -> dict[str, int]:
    return dict(
        registry.query_tuples(
            "SELECT key, COUNT(*) FROM metrics WHERE run_id = ? AND key LIKE 'system/%'"
            " GROUP BY key",
            (run_id,),
        )
    )


def busy(seconds: float) -> None:
    """Keep this process's CPU busy for ``seconds``."""
    end = time.monotonic() + seconds
    total = 0
    while time.monotonic() < end:
        total += sum(range(1000))


def test_a_sampled_run_records_plausible_cpu_and_memory(registry: Registry) -> None:
    mlops.configure(system_metrics_interval=FAST)
    with mlops.start_run("sampled", system_metrics=True) as run:
        busy(2.0)
    series = system_series(run.id)
    cpu = [value for _, value in series["system/cpu_percent"]]
    assert len(cpu) >= 3 and all(v is not None and 0 <= v <= 100 * CORES + 5 for v in cpu)
    assert max(v for v in cpu if v is not None) > 20  # the loop kept a core busy
    steps = [step for step, _ in series["system/cpu_percent"]]
    assert steps == list(range(len(steps)))
    if sys.platform.startswith("linux"):
        rss = [value for _, value in series["system/memory_rss_mb"]]
        assert all(v is not None and 10 < v < 1_000_000 for v in rss)
        for key in ("system/machine_cpu_percent", "system/machine_memory_percent"):
            assert all(v is not None and 0 <= v <= 100 for _, v in series[key]), key


def test_the_sampler_reads_this_process_and_this_machine() -> None:
    wall, cpu = time.monotonic(), time.process_time()
    sampler = SystemSampler()
    busy(0.3)
    figures = sampler.sample()
    wall, cpu = time.monotonic() - wall, time.process_time() - cpu
    sampler.close()
    # what this process itself counted over the same stretch: on a busy machine the loop gets
    # less than a core, and the sampler must say how much it got, not a fixed share
    assert figures["system/cpu_percent"] == pytest.approx(100 * cpu / wall, rel=0.2, abs=3)
    assert 3 < figures["system/cpu_percent"] <= 100 * CORES + 5
    if sys.platform.startswith("linux"):
        rss_kib = int(Path("/proc/self/status").read_text().split("VmRSS:")[1].split()[0])
        assert figures["system/memory_rss_mb"] == pytest.approx(rss_kib / 1024, rel=0.2)
    assert not any(key.startswith("system/gpu") for key in figures) or _has_nvml()


def _has_nvml() -> bool:
    import ctypes

    try:
        ctypes.CDLL("libnvidia-ml.so.1")
    except OSError:
        return False
    return True


def test_a_script_run_samples_nothing_by_default(registry: Registry) -> None:
    mlops.configure(system_metrics_interval=FAST)
    with mlops.start_run("script") as run:
        time.sleep(1.5)
        mlops.log(acc=1.0)
    assert system_keys(registry, run.id) == {}
    assert mlops.get_run(run.id).run.metrics == {"acc": 1.0}


@pytest.mark.parametrize(
    ("configured", "asked", "sampled"),
    [
        (True, None, True),  # mlops.configure(system_metrics=True): every run
        (False, True, True),  # the run's own choice wins
        (None, False, False),
    ],
)
def test_system_metrics_are_chosen_globally_and_per_run(
    registry: Registry, configured: bool | None, asked: bool | None, sampled: bool
) -> None:
    mlops.configure(system_metrics=configured, system_metrics_interval=FAST)
    with mlops.start_run("chosen", system_metrics=asked) as run:
        time.sleep(1.6)
    assert bool(system_keys(registry, run.id)) is sampled


def test_a_run_inside_another_leaves_sampling_to_the_outer_one(
    shell: Any, registry: Registry
) -> None:
    mlops.configure(system_metrics_interval=FAST)
    run_cell(
        shell,
        "%%mlops run outer\n"
        "import time\n"
        "with mlops.start_run('inner') as inner:\n"
        "    time.sleep(1.6)\n"
        "with mlops.start_run('asked', system_metrics=True):\n"
        "    time.sleep(1.6)",
    )
    outer, inner, asked = (mlops.get_run(name) for name in ("outer", "inner", "asked"))
    assert inner.run.kind == "notebook"
    assert "system/cpu_percent" in outer.run.metrics and "system/cpu_percent" in asked.run.metrics
    assert not any(key.startswith("system/") for key in inner.run.metrics)


def test_ending_the_run_stops_sampling(registry: Registry) -> None:
    mlops.configure(system_metrics_interval=FAST)
    with mlops.start_run("stops", system_metrics=True) as run:
        time.sleep(1.6)
    counted = system_keys(registry, run.id)
    assert counted and SESSION.background._sampling == {}
    time.sleep(5 * FAST)
    assert system_keys(registry, run.id) == counted  # no point after the end
    with pytest.raises(mlops.MlopsError, match="has already ended"):
        run.log(x=1.0)


def test_sampling_survives_a_registry_that_cannot_be_written(
    registry: Registry, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(background, "BUSY_TIMEOUT_SECONDS", 0.05)
    mlops.configure(system_metrics_interval=FAST, flush_interval=0.1)
    blocker = registry.another_connection()
    run = mlops.start_run("blocked", system_metrics=True)
    with caplog.at_level(logging.WARNING):
        blocker.conn.execute("BEGIN IMMEDIATE")
        try:
            time.sleep(2.0)
            assert run.pending_points > 0  # sampled, kept in memory
        finally:
            blocker.conn.execute("ROLLBACK")
            blocker.close()
        time.sleep(1.0)  # sampling went on through it
        run.end()
    counted = system_keys(registry, run.id)
    assert counted["system/cpu_percent"] >= 5
    steps = registry.query_tuples(
        "SELECT step FROM metrics WHERE run_id = ? AND key = 'system/cpu_percent' ORDER BY step",
        (run.id,),
    )
    assert [step for (step,) in steps] == list(range(len(steps)))  # none lost, none twice


def test_a_notebook_run_samples_by_default_unless_told_not_to(
    shell: Any, registry: Registry
) -> None:
    mlops.configure(system_metrics_interval=FAST)
    run_cell(shell, "%%mlops run sampled\nimport time\ntime.sleep(1.6)")
    run_cell(shell, "%%mlops run quiet --no-system-metrics\nimport time\ntime.sleep(1.6)")
    sampled, quiet = mlops.get_run("sampled"), mlops.get_run("quiet")
    assert "system/cpu_percent" in sampled.run.metrics
    assert not any(key.startswith("system/") for key in quiet.run.metrics)


def test_the_magic_refuses_both_switches(shell: Any, registry: Registry) -> None:
    result = run_cell(shell, "%%mlops run both --system-metrics --no-system-metrics\nx = 1")
    assert result.error_in_exec is not None or result.error_before_exec is not None
    assert registry.query("SELECT * FROM runs") == []


SCRIPT = textwrap.dedent(
    """
    import sys, time
    import jupyter_mlops as mlops
    mlops.init(sys.argv[1])
    run = mlops.start_run("from-env")
    time.sleep(1.5)
    print("the script ends without ending its run")
    """
)


@pytest.mark.slow
def test_a_script_asked_by_the_environment_samples_and_exits_promptly(
    tmp_path: Path, python_env: dict[str, str]
) -> None:
    env = {**python_env, "MLOPS_SYSTEM_METRICS": "1", "MLOPS_SYSTEM_METRICS_INTERVAL": "0.2"}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    took = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert took < 15  # the sampling thread does not hold the process at exit
    with Registry.open(tmp_path / ".mlops" / "registry.db") as registry:
        (run_id, status), *_ = registry.query_tuples("SELECT id, status FROM runs")
        assert status == "finished"
        assert system_keys(registry, run_id).get("system/cpu_percent", 0) >= 3
