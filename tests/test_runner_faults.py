"""The pipeline runner under real faults: a tampered ``pipeline.json``.

Everything is real: the tampered spec points at code that would leave a marker file if
anything ran it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jupyter_mlops.errors import InvalidInputError
from jupyter_mlops.registry.connection import Registry

from .pipelines import code, export_cells, run

pytestmark = pytest.mark.slow


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
