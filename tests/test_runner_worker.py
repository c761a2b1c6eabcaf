"""The warm worker: steps forked from a process that imported the setup code once, each
unable to change what the next one sees, and spawned as before when forking is unsafe.

Every pipeline here is real: exported from tagged cells, run by the runner, its steps
real processes. What a step saw it writes to a JSON file in the working directory.
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path
from typing import Any

import pytest

from jupyter_mlops.runner.worker import ENV_SWITCH, LOG_NAME, warm_worker_available

from .pipelines import code, export_cells, run, statuses

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not warm_worker_available(), reason="the warm worker needs Linux"),
]

# The setup code: a module-level object every step can reach through the setup's own
# functions (so the exporter sees no value passed on), a seeded generator, and the pid of
# the process that ran it (appended to SETUP_PIDS each time it runs).
SETUP = (
    "import json\nimport os\nimport random\nimport pathlib\n"
    "SHARED = {'items': [1]}\n"
    "def remember(item):\n"
    "    SHARED['items'].append(item)\n"
    "def recalled():\n"
    "    return list(SHARED['items'])\n"
    "random.seed(7)\n"
    "SETUP_PID = os.getpid()\n"
    "with open(os.environ['SETUP_PIDS'], 'a') as fh:\n"
    "    fh.write(f'{SETUP_PID}\\n')\n"
)


def seen(name: str) -> str:
    """Step code that writes what the step sees to seen-NAME.json."""
    return (
        f"seen_{name} = {{'items': recalled(), 'env': os.environ.get('LEAKED'),"
        " 'cwd': os.getcwd(), 'leaked': hasattr(json, 'leaked'), 'draw': random.random(),"
        f" 'pid': os.getpid(), 'ppid': os.getppid(), 'setup_pid': SETUP_PID}}\n"
        f"pathlib.Path('seen-{name}.json').write_text(json.dumps(seen_{name}))"
    )


ISOLATION_CELLS = [
    code(SETUP, "setup"),
    code(
        seen("first") + "\n"
        "remember(2)\n"  # changes a module-level object of the setup code
        "os.environ['LEAKED'] = 'yes'\n"
        "json.leaked = True\n"  # a module the setup code imported
        "random.random()\n"
        "os.chdir('/')\n"
        "value = 1",
        "step:first",
    ),
    code(seen("second") + "\nvalue = value + 1", "step:second"),
    code(seen("third") + "\ntotal = value + 1", "step:third"),
]


@pytest.fixture
def setup_pids(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the setup code writes its pid each time it runs (outside the workdir)."""
    path = tmp_path.parent / f"{tmp_path.name}-setup.pids"
    monkeypatch.setenv("SETUP_PIDS", str(path))
    return path


def read_seen(workdir: Path, name: str) -> dict[str, Any]:
    return json.loads((workdir / f"seen-{name}.json").read_text())


@pytest.mark.parametrize("warm", [True, False], ids=["forked", "spawned"])
def test_a_step_cannot_change_what_the_next_step_sees(tmp_path, setup_pids, warm):
    pipeline = export_cells(tmp_path, "isolated", ISOLATION_CELLS)
    result = run(pipeline, tmp_path, warm_worker=warm)
    assert result.ok, [s.message for s in result.steps]

    first, second, third = (read_seen(tmp_path, n) for n in ("first", "second", "third"))
    fresh = {"items": [1], "env": None, "cwd": str(tmp_path), "leaked": False,
             "draw": random.Random(7).random()}  # fmt: skip
    for step in (first, second, third):  # as the setup code left it, each time
        assert {key: step[key] for key in fresh} == fresh
    pids = [int(line) for line in setup_pids.read_text().split()]
    steps = [first, second, third]
    assert len({s["pid"] for s in steps}) == 3  # a process per step
    if warm:  # the setup code ran once, in the worker, which forked each step
        assert len(pids) == 1 and all(s["setup_pid"] == s["ppid"] == pids[0] for s in steps)
        assert all(s["pid"] != pids[0] for s in steps)
        assert "warmed up" in (Path(result.run_dir) / LOG_NAME).read_text()
    else:  # the setup code ran in each step's own process
        assert sorted(pids) == sorted(s["pid"] for s in steps)
        assert all(s["setup_pid"] == s["pid"] and s["ppid"] == os.getpid() for s in steps)
        assert not (Path(result.run_dir) / LOG_NAME).exists()


def test_the_switch_in_the_environment_spawns_every_step(tmp_path, setup_pids, monkeypatch):
    monkeypatch.setenv(ENV_SWITCH, "0")
    pipeline = export_cells(tmp_path, "isolated", ISOLATION_CELLS)
    result = run(pipeline, tmp_path)
    assert result.ok
    assert len(setup_pids.read_text().split()) == 3
    assert not (Path(result.run_dir) / LOG_NAME).exists()


UNSHAREABLE = {
    "open-file": (
        "HANDLE = open('config.txt')",
        "the setup code leaves open {workdir}/config.txt: each step would share it",
    ),
    "thread": (
        "import threading\nimport time\n"
        "threading.Thread(target=time.sleep, args=(60,), name='poller', daemon=True).start()",
        "the setup code started threads (poller)",
    ),
    "sqlite": (
        "import sqlite3\nDB = sqlite3.connect('lookup.db')",
        "the setup code leaves open {workdir}/lookup.db",
    ),
}


@pytest.mark.parametrize("case", list(UNSHAREABLE))
def test_setup_code_that_leaves_something_unshareable_makes_the_steps_spawn(
    tmp_path, setup_pids, case
):
    extra, why = UNSHAREABLE[case]
    (tmp_path / "config.txt").write_text("first")
    cells = [code(SETUP + extra, "setup"), *ISOLATION_CELLS[1:]]
    pipeline = export_cells(tmp_path, "unshareable", cells)
    result = run(pipeline, tmp_path)
    assert result.ok, [s.message for s in result.steps]
    log = (Path(result.run_dir) / LOG_NAME).read_text()
    assert "Steps start as separate processes from now on: " + why.format(workdir=tmp_path) in log
    steps = [read_seen(tmp_path, n) for n in ("first", "second", "third")]
    pids = [int(line) for line in setup_pids.read_text().split()]
    assert len(pids) == 4  # once in the worker, which gave up, then in each step
    assert all(s["setup_pid"] == s["pid"] and s["ppid"] == os.getpid() for s in steps)
    assert all(s["items"] == [1] and s["env"] is None for s in steps)


def test_setup_code_that_fails_fails_each_step_as_before(tmp_path, setup_pids):
    cells = [code("import os\nraise RuntimeError('no data source configured')", "setup"),
             code("value = os.getpid()", "step:first")]  # fmt: skip
    pipeline = export_cells(tmp_path, "broken", cells)
    result = run(pipeline, tmp_path)
    assert statuses(result) == {"first": "failed"}
    assert "RuntimeError: no data source configured" in result.step("first").message
    log = (Path(result.run_dir) / LOG_NAME).read_text()
    assert "the setup code failed (RuntimeError: no data source configured)" in log


def test_setup_code_past_the_first_steps_timeout_fails_it_and_stops_the_worker(tmp_path):
    cells = [
        code("import os\nimport time\nopen('worker.pid', 'w').write(str(os.getpid()))\n"
             "time.sleep(600)", "setup"),
        code("value = 1", "step:first", "timeout:2"),
        code("total = value + 1", "step:second"),
    ]  # fmt: skip
    pipeline = export_cells(tmp_path, "slow-setup", cells)
    started = time.monotonic()
    result = run(pipeline, tmp_path)
    assert time.monotonic() - started < 30
    assert statuses(result) == {"first": "failed", "second": "not_run"}
    first = result.step("first")
    assert first.message.startswith("timed out after 2 s and was stopped")
    assert "setup code did not finish within 2 s" in Path(first.log_path).read_text()
    worker = int((tmp_path / "worker.pid").read_text())
    assert not Path(f"/proc/{worker}").exists() or _zombie(worker)


def _zombie(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2] in "ZX"


def test_files_the_setup_code_reads_count_for_every_forked_step(tmp_path):
    (tmp_path / "labels.txt").write_text("a,b")
    cells = [
        code("LABELS = open('labels.txt').read().split(',')", "setup"),
        code("first = list(LABELS)", "step:first"),
    ]
    pipeline = export_cells(tmp_path, "reads", cells)
    assert run(pipeline, tmp_path).ok
    assert statuses(run(pipeline, tmp_path)) == {"first": "cached"}
    (tmp_path / "labels.txt").write_text("a,b,c")  # the file the setup code read changed
    again = run(pipeline, tmp_path)
    assert statuses(again) == {"first": "ok"}
