"""Artifacts through the faces: ``%mlops artifact`` and ``%mlops show`` in a real IPython
shell, ``jupyter mlops artifacts`` through click, and the server's run page and download
route on a real Jupyter server."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from tornado.httpclient import HTTPClientError

import jupyter_mlops as mlops
from jupyter_mlops.cli import main
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.tracking.queries.artifacts import previews
from jupyter_mlops.tracking.queries.detail import run_detail
from jupyter_mlops.widgets import RunView

from .conftest import cli_runner, run_cell

PIXELS = (np.arange(8 * 8 * 3) % 256).astype(np.uint8).reshape(8, 8, 3)


@pytest.fixture
def logged(registry: Registry) -> Registry:
    """A run "plots" with an image, a table of 30 rows and a text."""
    with mlops.start_run("plots"):
        mlops.log_image(PIXELS, "samples/first")
        mlops.log_table(
            pd.DataFrame({"x": range(30), "y": [f"<b>{i}</b>" for i in range(30)]}), "t"
        )
        mlops.log_text("accuracy went <up>", "notes.txt")
    return registry


# -- magics -------------------------------------------------------------------------------------


def test_the_artifact_magic_stores_a_file_linked_to_its_cell(
    shell: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.txt").write_text("a")
    (tmp_path / "out" / "b.csv").write_text("b\n1\n")
    run_cell(shell, "%mlops start spanning")
    result = run_cell(shell, "%mlops artifact out --name results")
    assert result.error_in_exec is None
    assert "Stored 2 artifact(s)" in capsys.readouterr().out
    run_cell(shell, "%mlops end")
    found = {a.name: a for a in mlops.get_run("spanning").artifacts}
    assert set(found) == {"results/a.txt", "results/b.csv"}
    assert found["results/a.txt"].execution_count == result.execution_count


def test_a_logging_call_in_a_run_cell_records_the_cell(shell: Any) -> None:
    result = run_cell(shell, '%%mlops run cellular\nmlops.log_text("hi", "hi.txt")')
    assert result.error_in_exec is None
    (record,) = mlops.get_run("cellular").artifacts
    assert record.execution_count == result.execution_count


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("%mlops artifact ../x", "no run is active"),
        ("%mlops artifact missing.txt", "no such file"),
    ],
)
def test_the_artifact_magic_says_what_is_wrong_in_one_line(
    shell: Any, line: str, message: str
) -> None:
    if "missing" in line:
        run_cell(shell, "%mlops start")
    result = run_cell(shell, line)
    assert type(result.error_in_exec).__name__ == "UsageError"
    assert message in str(result.error_in_exec).lower()


def test_the_artifact_magic_refuses_a_name_that_climbs_out(shell: Any, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a")
    run_cell(shell, "%mlops start")
    result = run_cell(shell, "%mlops artifact a.txt --name ../a.txt")
    assert type(result.error_in_exec).__name__ == "UsageError"
    assert 'Artifact name "../a.txt" holds ".."' in str(result.error_in_exec)


def test_show_lists_artifacts_with_previews_in_its_static_form(logged: Registry) -> None:
    detail = run_detail(logged, "plots")
    page = RunView(detail, previews(logged, detail.artifacts)).static_html()
    assert "<h4>Artifacts</h4>" in page
    for name in ("samples/first.png", "t.parquet", "notes.txt"):
        assert name in page
    image = next(a for a in detail.artifacts if a.name == "samples/first.png")
    png = logged.artifacts.read_bytes(image.sha256)
    assert f"data:image/png;base64,{base64.b64encode(png).decode()}" in page
    assert "first 20 of 30 rows" in page and "&lt;b&gt;3&lt;/b&gt;" in page  # escaped
    assert "accuracy went &lt;up&gt;" in page


def test_the_show_magic_displays_the_artifacts_tab(shell: Any, logged: Registry) -> None:
    from IPython.utils.capture import capture_output

    with capture_output() as output:
        result = run_cell(shell, "%mlops show plots")
    assert result.error_in_exec is None
    html = "".join(o.data.get("text/html", "") for o in output.outputs)
    assert "samples/first.png" in html and "data:image/png;base64," in html


# -- command line -------------------------------------------------------------------------------


def invoke(*args: str) -> tuple[int, str, str]:
    result = cli_runner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_cli_lists_a_runs_artifacts_as_a_table_and_as_json(logged: Registry) -> None:
    code, out, _ = invoke("artifacts", "plots")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["name", "kind", "size"]
    assert any(line.startswith("samples/first.png") and " image " in line for line in lines)
    code, out, _ = invoke("artifacts", "plots", "--json")
    listed = {a["name"]: a for a in json.loads(out)}
    assert listed["t.parquet"]["kind"] == "table" and listed["notes.txt"]["size"] == 18


def test_cli_get_writes_an_artifact_checked_by_hash(logged: Registry, tmp_path: Path) -> None:
    dest = tmp_path / "copy.png"
    code, out, _ = invoke("artifacts", "get", "plots", "samples/first.png", "-o", str(dest))
    assert code == 0 and "sha256 verified" in out
    record = {a.name: a for a in run_detail(logged, "plots").artifacts}["samples/first.png"]
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == record.sha256
    logged.artifacts.path_of(record.sha256).write_bytes(b"tampered")
    code, _, err = invoke("artifacts", "get", "plots", "samples/first.png", "-o", str(dest))
    assert code == 1 and "changed on disk" in err
    code, _, err = invoke("artifacts", "get", "plots", "nope.png")
    assert code == 1 and 'no artifact "nope.png"' in err and "notes.txt" in err


# -- server -------------------------------------------------------------------------------------


@pytest.fixture
def jp_server_config(jp_server_config):
    config_file = Path(__file__).parents[1] / "jupyter-config/server-config/jupyter_mlops.json"
    return {"ServerApp": json.loads(config_file.read_text())["ServerApp"]}


async def test_the_run_route_lists_artifacts_and_the_download_route_serves_them(
    jp_fetch: Any, logged: Registry
) -> None:
    run_id = run_detail(logged, "plots").run.id
    response = await jp_fetch("jupyter-mlops", "api", "runs", run_id)
    listed = {a["name"]: a for a in json.loads(response.body)["artifacts"]}
    image = listed["samples/first.png"]
    assert image["image"] is True and image["href"] == f"artifacts/{image['sha256']}"
    assert listed["t.parquet"]["preview"]["table"]["total_rows"] == 30
    assert listed["notes.txt"]["preview"]["text"] == "accuracy went <up>"

    served = await jp_fetch("jupyter-mlops", "api", *image["href"].split("/"))
    assert served.code == 200 and served.headers["Content-Type"] == "image/png"
    assert served.headers["Content-Security-Policy"] == "sandbox"
    assert hashlib.sha256(served.body).hexdigest() == image["sha256"]


@pytest.mark.parametrize(
    ("sha", "message"),
    [("0" * 64, "No artifact 000000000000"), ("..%2F..%2Fregistry.db", "not an artifact hash")],
)
async def test_the_download_route_answers_404_json_for_what_it_does_not_hold(
    jp_fetch: Any, logged: Registry, sha: str, message: str
) -> None:
    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch("jupyter-mlops", "api", "artifacts", sha)
    assert caught.value.code == 404
    assert message in json.loads(caught.value.response.body)["message"]  # type: ignore[union-attr]


def test_cli_show_lists_the_runs_artifacts(logged: Registry) -> None:
    code, out, _ = invoke("show", "plots", "--no-code")
    assert code == 0
    listed = out.split("\nArtifacts\n", 1)[1].splitlines()
    assert listed[0].split() == ["name", "kind", "size"]
    assert any(line.split()[:2] == ["t.parquet", "table"] for line in listed)
    code, out, _ = invoke("show", "plots", "--format", "json")
    shown = {a["name"]: a for a in json.loads(out)["artifacts"]}
    assert shown["notes.txt"]["media_type"] == "text/plain" and shown["notes.txt"]["size"] == 18
