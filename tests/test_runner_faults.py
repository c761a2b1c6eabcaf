"""The pipeline runner under real faults: a step that hangs, a runner stopped by SIGTERM or
killed by SIGKILL, a tampered ``pipeline.json``.

Everything is real: steps are processes that start processes of their own, the runner is
a process of its own where a test signals it, and what is left is read from ``/proc`` and
from the registry.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_mlops.errors import InvalidInputError
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.registry.liveness import RUNNER_DIED, STEP_NOT_REACHED, STEP_STOPPED
from jupyter_mlops.runner.history import pipeline_run
from jupyter_mlops.runner.processes import GRACE_S
from jupyter_mlops.runner.spec import PipelineSpec

from .pipelines import code, export_cells, open_registry, run, statuses

pytestmark = pytest.mark.slow

TIMEOUT = 6  # seconds: long enough for the setup code to import and the hanging step to start
# its child and say so, on a busy machine too (a default timeout bounds the setup as well)


def hanging_cells(*hang_tags: str, ignore_sigterm: bool = False) -> list[Any]:
    """prepare -> hang -> after. ``hang`` starts a ``sleep`` child, writes both pids to
    hang.pids and sleeps; with ``ignore_sigterm`` both ignore SIGTERM."""
    ignore = "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n" if ignore_sigterm else ""
    return [
        code("import os\nimport signal\nimport subprocess\nimport time", "setup"),
        code("value = 1", "step:prepare"),
        code(
            f"{ignore}sleeper = subprocess.Popen(['sleep', '600'])\n"
            "with open('hang.tmp', 'w') as fh:\n"
            "    fh.write(f'{os.getpid()} {sleeper.pid}')\n"
            "os.replace('hang.tmp', 'hang.pids')\n"
            "time.sleep(600)\n"
            "result = value + 1",
            "step:hang",
            *hang_tags,
        ),
        code("total = result * 2", "step:after"),
    ]


def alive(pid: int) -> bool:
    """Whether ``pid`` still runs; a zombie (ended, not yet reaped by its parent) has not."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc here
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return stat[stat.rindex(")") + 2] not in "ZX"


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> float:
    """Poll ``condition`` until true; fail the test saying ``what`` did not happen."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > seconds:
            pytest.fail(f"{what} within {seconds} s")
        time.sleep(0.05)
    return time.monotonic() - started


def step_pids(workdir: Path) -> tuple[int, int]:
    """(the hanging step's pid, its child's), once the step has written them."""
    wait_for((workdir / "hang.pids").is_file, 60, "the hanging step did not start")
    step, child = (workdir / "hang.pids").read_text().split()
    return int(step), int(child)


@pytest.fixture
def leftovers(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Runner processes a test starts; at the end they and any step process still alive
    are killed, so that a failing test leaves nothing behind."""
    runners: list[subprocess.Popen[bytes]] = []
    yield runners
    for runner in runners:
        if runner.poll() is None:
            runner.kill()
        runner.wait()
    pids = tmp_path / "hang.pids"
    if pids.is_file():
        for pid in map(int, pids.read_text().split()):
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def in_thread(call: Callable[[], Any], seconds: float) -> Any:
    """``call()``, failing the test instead of hanging when it does not return in time."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"the pipeline run did not end within {seconds} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def assert_registry_sound(workdir: Path) -> None:
    with open_registry(workdir) as registry:
        assert registry.integrity_check() == "ok"
        left = registry.query("SELECT name, kind FROM runs WHERE status = 'running'")
        assert [tuple(row) for row in left] == []


@pytest.mark.parametrize(
    "hang_tags, step_timeout",
    [
        ((f"timeout:{TIMEOUT}",), None),  # the tag alone
        ((), TIMEOUT),  # the runner's default for steps without one
        ((f"timeout:{TIMEOUT}s",), 3600),  # the tag wins over the default
    ],
    ids=["tag", "default", "tag-over-default"],
)
def test_a_step_past_its_timeout_is_stopped_with_its_child_and_fails_the_run(
    tmp_path, leftovers, hang_tags, step_timeout
):
    pipeline = export_cells(tmp_path, "hanging", hanging_cells(*hang_tags))
    expected = float(TIMEOUT) if hang_tags else None
    assert PipelineSpec.load(pipeline).step("hang").timeout_s == expected

    started = time.monotonic()
    result = in_thread(lambda: run(pipeline, tmp_path, step_timeout=step_timeout), 90)
    elapsed = time.monotonic() - started

    step, child = step_pids(tmp_path)
    assert not alive(step) and not alive(child)
    assert statuses(result) == {"prepare": "ok", "hang": "failed", "after": "not_run"}
    assert result.status == "failed" and result.failed_step == "hang"
    hang = result.step("hang")
    assert hang.message.startswith(f"timed out after {TIMEOUT} s and was stopped")
    assert hang.log_path in hang.message and Path(hang.log_path).is_file()
    assert TIMEOUT <= hang.duration_s < TIMEOUT + 3, "SIGTERM should have ended it at once"
    assert elapsed < 60
    with open_registry(tmp_path) as registry:
        record = pipeline_run(registry, result.run_id)
        assert record.status == "failed" and record.failed_step == "hang"
        assert f"timed out after {TIMEOUT} s" in (record.message or "")
        assert {s.name: s.status for s in record.steps} == statuses(result)
        step_run = registry.query_one("SELECT status FROM runs WHERE id = ?", (hang.run_id,))
        assert step_run["status"] == "killed"  # the step ended its own run on SIGTERM
    assert_registry_sound(tmp_path)


def test_a_step_that_ignores_sigterm_is_killed_after_the_grace_period(tmp_path, leftovers):
    pipeline = export_cells(tmp_path, "stubborn", hanging_cells(ignore_sigterm=True))

    result = in_thread(lambda: run(pipeline, tmp_path, step_timeout=TIMEOUT), 90)

    step, child = step_pids(tmp_path)
    assert not alive(step) and not alive(child)  # both ignored SIGTERM: SIGKILL got them
    hang = result.step("hang")
    assert statuses(result) == {"prepare": "ok", "hang": "failed", "after": "not_run"}
    assert hang.message.startswith(f"timed out after {TIMEOUT} s")
    assert TIMEOUT + GRACE_S - 0.5 <= hang.duration_s < TIMEOUT + GRACE_S + 5
    with open_registry(tmp_path) as registry:
        rows = registry.query(
            "SELECT status FROM runs WHERE kind = 'pipeline-step' AND name LIKE '%.hang'"
        )
        assert [row["status"] for row in rows] == ["crashed"]  # it never ended its run
    assert_registry_sound(tmp_path)


def start_runner(
    pipeline: Path, workdir: Path, entry: str, python_env: dict[str, str]
) -> subprocess.Popen[bytes]:
    argv = {
        "runner": [sys.executable, "-m", "jupyter_mlops.runner", str(pipeline)],
        "cli": [
            sys.executable, "-c", "from jupyter_mlops.cli import main; main()",
            "pipeline", "run", str(pipeline), "--step-timeout", "600",
        ],
    }[entry]  # fmt: skip
    return subprocess.Popen(
        argv, cwd=workdir, env=python_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


@pytest.mark.parametrize("entry", ["runner", "cli"])
def test_sigterm_to_the_runner_stops_the_step_and_records_the_run_killed(
    tmp_path, leftovers, python_env, entry
):
    pipeline = export_cells(tmp_path, "hanging", hanging_cells())
    runner = start_runner(pipeline, tmp_path, entry, python_env)
    leftovers.append(runner)
    step, child = step_pids(tmp_path)

    runner.send_signal(signal.SIGTERM)
    _, err = runner.communicate(timeout=30)

    assert runner.returncode == 128 + signal.SIGTERM, err.decode()
    assert "Stopped (SIGTERM received)" in err.decode()
    assert not alive(step) and not alive(child)
    with open_registry(tmp_path) as registry:
        record = pipeline_run(registry, "last")
        assert record.status == "killed" and record.failed_step == "hang"
        assert record.message is not None
        assert record.message.startswith('the runner received SIGTERM; step "hang" was stopped')
        steps = {s.name: s for s in record.steps}
        assert {n: s.status for n, s in steps.items()} == {
            "prepare": "ok", "hang": "failed", "after": "not_run"
        }  # fmt: skip
        assert steps["hang"].message == record.message
        statuses_by_kind = {
            (row["kind"], row["name"]): row["status"]
            for row in registry.query("SELECT kind, name, status FROM runs")
        }
        assert statuses_by_kind == {
            ("pipeline", "hanging"): "killed",
            ("pipeline-step", "hanging.prepare"): "finished",
            ("pipeline-step", "hanging.hang"): "killed",
        }
    assert_registry_sound(tmp_path)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_sigkill_to_the_runner_kills_the_step_and_the_registry_records_the_run_killed(
    tmp_path, leftovers, python_env
):
    pipeline = export_cells(tmp_path, "hanging", hanging_cells())
    runner = start_runner(pipeline, tmp_path, "runner", python_env)
    leftovers.append(runner)
    step, _child = step_pids(tmp_path)

    runner.kill()  # no chance to clean up
    runner.communicate(timeout=30)

    wait_for(lambda: not alive(step), 5, "the step process outlived its runner")
    with open_registry(tmp_path) as registry:  # opening it marks what died
        record = pipeline_run(registry, "last")
        assert record.status == "killed" and record.failed_step == "hang"
        assert record.message == f'{RUNNER_DIED} while step "hang" ran'
        assert record.ended_at is not None
        assert [(s.name, s.status, s.message) for s in record.steps] == [
            ("prepare", "ok", None),
            ("hang", "failed", STEP_STOPPED),
            ("after", "not_run", STEP_NOT_REACHED),
        ]
    assert_registry_sound(tmp_path)


# -- a tampered pipeline.json -----------------------------------------------------------

MARKED_CELLS = [
    code("import pathlib", "setup"),
    code("value = 1\npathlib.Path('ran-first').write_text('ran')", "step:first"),
    code("pathlib.Path('ran-second').write_text(str(value))", "step:second"),
]


def _drift_check(reference_file: str) -> Callable[[dict[str, Any], Path], None]:
    def tamper(data: dict[str, Any], pipeline: Path) -> None:
        data["steps"][0]["drift_checks"] = [
            {"step": "first", "variable": "value", "cell_index": 1,
             "reference_file": reference_file}
        ]  # fmt: skip

    return tamper


def _symlinked_reference(data: dict[str, Any], pipeline: Path) -> None:
    (pipeline / "references").mkdir()
    (pipeline / "references" / "first.value.json").symlink_to(pipeline.parent / "ref.json")
    _drift_check("references/first.value.json")(data, pipeline)


def _set(*path: Any, value: Any) -> Callable[[dict[str, Any], Path], None]:
    def tamper(data: dict[str, Any], pipeline: Path) -> None:
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return tamper


TAMPERED = {
    "module-outside": (
        _set("steps", 0, "module", value="../../outside"),
        r'steps\[0\]\.module "\.\./\.\./outside" is not a plain module name under steps/',
    ),
    "module-path": (
        _set("steps", 1, "module", value="sub/second"),
        r'steps\[1\]\.module "sub/second" is not a plain module name',
    ),
    "setup-elsewhere": (
        _set("setup_module", value="../outside.py"),
        r'setup_module "\.\./outside\.py" is not steps/pipeline_setup\.py',
    ),
    "reference-absolute": (
        _drift_check("/etc/passwd"),
        r'steps\[0\]\.drift_checks\[0\]\.reference_file "/etc/passwd" is not a relative path',
    ),
    "reference-parent": (
        _drift_check("references/../../ref.json"),
        r'reference_file "references/\.\./\.\./ref\.json" is not a relative path inside',
    ),
    "reference-symlink": (
        _symlinked_reference,
        r'reference_file "references/first\.value\.json" resolves to \S+/ref\.json, outside',
    ),
    "step-name": (
        _set("steps", 1, "name", value="../x"),
        r'steps\[1\]\.name "\.\./x" is not a safe step name',
    ),
}


@pytest.fixture
def tampered(tmp_path: Path, request: pytest.FixtureRequest) -> tuple[Path, str]:
    """An exported pipeline whose pipeline.json was edited by hand as ``request.param``
    says; ``outside.py`` next to it would leave a marker too if anything ran it."""
    pipeline = export_cells(tmp_path, "marked", MARKED_CELLS)
    (tmp_path / "outside.py").write_text("open('ran-outside', 'w').write('ran')\n")
    (tmp_path / "ref.json").write_text("{}")
    tamper, message = TAMPERED[request.param]
    spec_file = pipeline / "pipeline.json"
    data = json.loads(spec_file.read_text())
    tamper(data, pipeline)
    spec_file.write_text(json.dumps(data))
    return pipeline, message


@pytest.mark.parametrize("tampered", list(TAMPERED), indirect=True)
def test_a_tampered_spec_is_refused_before_anything_runs(tmp_path, tampered):
    pipeline, message = tampered
    with pytest.raises(InvalidInputError, match=message) as refused:
        run(pipeline, tmp_path)
    assert "Nothing was run" in (refused.value.hint or "")
    assert sorted(p.name for p in tmp_path.glob("ran-*")) == []
    assert not (tmp_path / ".mlops").exists()  # not even a pipeline run was recorded


@pytest.mark.parametrize("tampered", ["module-outside"], indirect=True)
def test_the_container_entry_point_refuses_a_tampered_spec_with_exit_2(
    tmp_path, tampered, python_env
):
    pipeline, message = tampered
    done = subprocess.run(
        [sys.executable, "-m", "jupyter_mlops.runner", str(pipeline)],
        cwd=tmp_path, env=python_env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "steps[0].module" in done.stderr and "Nothing was run" in done.stderr
    assert sorted(p.name for p in tmp_path.glob("ran-*")) == []


def test_an_untampered_spec_runs_also_through_a_symlinked_folder(tmp_path):
    pipeline = export_cells(tmp_path, "marked", MARKED_CELLS)
    (tmp_path / "link").symlink_to(pipeline, target_is_directory=True)
    result = run(tmp_path / "link", tmp_path)
    assert result.ok, [s.message for s in result.steps]
    assert sorted(p.name for p in tmp_path.glob("ran-*")) == ["ran-first", "ran-second"]
    with Registry.open(tmp_path / ".mlops") as registry:
        assert registry.integrity_check() == "ok"
