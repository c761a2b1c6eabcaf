"""``POST export`` on a real Jupyter server: a notebook under the root becomes a pipeline
beside it; every path that leaves the root, or is not a notebook, is refused and nothing
is written; a logged-in browser session needs Jupyter's XSRF token."""

from __future__ import annotations

import json
import os
import shlex
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import nbformat
import pytest
from tornado.httpclient import HTTPClientError

from jupyter_mlops.errors import InvalidInputError, NotFoundError
from jupyter_mlops.server.export_route import check_api_path, confined_file


@pytest.fixture
def jp_server_config(jp_server_config):
    config_file = Path(__file__).parents[1] / "jupyter-config/server-config/jupyter_mlops.json"
    return {"ServerApp": json.loads(config_file.read_text())["ServerApp"]}


def write_notebook(path: Path, *cells: tuple[str, list[str]]) -> Path:
    notebook = nbformat.v4.new_notebook()
    for source, tags in cells:
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["tags"] = tags
        notebook.cells.append(cell)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


TAGGED = (
    ("n = 10", ["parameters"]),
    ("data = list(range(n))", ["step:prepare"]),
    ("total = sum(data)", ["step:train"]),
)


@pytest.fixture
def tree(jp_root_dir: Path, tmp_path: Path) -> dict[str, Path]:
    """A root with a tagged notebook, a hidden one, a text file, a notebook outside the
    root, a link to it from inside, and a folder named like a notebook."""
    inside = write_notebook(jp_root_dir / "analysis" / "train.ipynb", *TAGGED)
    hidden = write_notebook(jp_root_dir / ".secret" / "hidden.ipynb", *TAGGED)
    (jp_root_dir / "notes.txt").write_text("not a notebook")
    outside = write_notebook(tmp_path / "outside" / "secret.ipynb", *TAGGED)
    (jp_root_dir / "linked.ipynb").symlink_to(outside)
    (jp_root_dir / "folder.ipynb").mkdir()
    return {"inside": inside, "hidden": hidden, "outside": outside}


def files_under(*folders: Path) -> dict[str, int]:
    """Every file (and link) under ``folders`` with its size: what an export could change."""
    found = {}
    for folder in folders:
        for dirpath, dirnames, filenames in os.walk(folder):
            for name in dirnames + filenames:
                path = Path(dirpath) / name
                found[str(path)] = path.lstat().st_size if not path.is_dir() else -1
    return found


async def post_export(jp_fetch, body: Any, **kwargs: Any):
    return await jp_fetch(
        "jupyter-mlops", "api", "export", method="POST", body=json.dumps(body), **kwargs
    )


async def test_export_writes_the_pipeline_beside_the_notebook(jp_fetch, tree, jp_root_dir):
    response = await post_export(jp_fetch, {"path": "analysis/train.ipynb", "targets": ["local"]})

    body = json.loads(response.body)
    assert response.code == 200
    assert body["notebook"] == "analysis/train.ipynb"
    assert body["output_dir"] == "analysis/train-pipeline"
    assert body["steps"] == ["prepare", "train"]
    assert body["targets"] == ["local"]
    assert "pipeline.json" in body["files"] and "steps/train.py" in body["files"]
    assert body["command"] == "jupyter mlops pipeline run analysis/train-pipeline"
    spec = json.loads((jp_root_dir / "analysis/train-pipeline/pipeline.json").read_text())
    assert [step["name"] for step in spec["steps"]] == ["prepare", "train"]


async def test_export_of_a_notebook_with_a_hostile_name_answers_a_command_that_stays_one(
    jp_fetch, jp_root_dir
):
    name = "my run; touch pwned $(id) `x`.ipynb"
    write_notebook(jp_root_dir / "work" / name, *TAGGED)
    response = await post_export(jp_fetch, {"path": f"work/{name}", "targets": ["docker"]})

    body = json.loads(response.body)
    assert response.code == 200
    words = shlex.split(body["command"])
    assert words == ["jupyter", "mlops", "pipeline", "run", body["output_dir"]]
    assert body["output_dir"] == "work/my run; touch pwned $(id) `x`-pipeline"
    dockerfile = (jp_root_dir / body["output_dir"] / "Dockerfile").read_text()
    assert "pwned" not in "".join(x for x in dockerfile.splitlines() if not x.startswith("#"))


async def test_export_defaults_to_the_exporters_targets(jp_fetch, tree, jp_root_dir):
    body = json.loads((await post_export(jp_fetch, {"path": "analysis/train.ipynb"})).body)

    assert body["targets"] == ["local", "docker"]
    assert (jp_root_dir / "analysis/train-pipeline/Dockerfile").is_file()


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ({"path": "../../etc/passwd"}, 400, "leaves its folder"),
        ({"path": "analysis/../../outside/secret.ipynb"}, 400, "leaves its folder"),
        ({"path": "/etc/passwd"}, 400, "is an absolute path"),
        ({"path": "~/secret.ipynb"}, 400, "is an absolute path"),
        ({"path": "C:/Windows/x.ipynb"}, 400, "is an absolute path"),
        ({"path": "analysis\\..\\..\\x.ipynb"}, 400, "is not a notebook path"),
        ({"path": "analysis/train.ipynb\x00.txt"}, 400, "is not a notebook path"),
        ({"path": "notes.txt"}, 400, "is not a notebook"),
        ({"path": ""}, 400, "names no notebook"),
        ({"path": 42}, 400, "names no notebook"),
        ({"notebook": "analysis/train.ipynb"}, 400, "names no notebook"),
        (["analysis/train.ipynb"], 400, "must be a JSON object"),
        ({"path": "analysis/train.ipynb", "targets": "local"}, 400, "targets must be a list"),
        ({"path": "analysis/train.ipynb", "targets": ["rocket"]}, 400, "Unknown export target"),
        ({"path": "missing.ipynb"}, 404, ""),
        ({"path": "folder.ipynb"}, 400, "is not a notebook"),
        ({"path": "linked.ipynb"}, 404, "No notebook 'linked.ipynb' under the server root"),
        ({"path": ".secret/hidden.ipynb"}, 404, ""),
    ],
)
async def test_export_refuses_paths_outside_the_root_and_non_notebooks(
    jp_fetch, tree, jp_root_dir, tmp_path, body, code, message
):
    before = files_under(tmp_path)

    with pytest.raises(HTTPClientError) as caught:
        await post_export(jp_fetch, body)

    assert caught.value.code == code
    reply = json.loads(caught.value.response.body)
    assert message in reply["message"]
    assert files_under(tmp_path) == before, "a refused export must write nothing"


async def test_export_of_a_notebook_that_cannot_be_a_pipeline_says_why(jp_fetch, jp_root_dir):
    write_notebook(jp_root_dir / "broken.ipynb", ("y = undefined_name + 1", ["step:train"]))

    with pytest.raises(HTTPClientError) as caught:
        await post_export(jp_fetch, {"path": "broken.ipynb"})

    assert caught.value.code == 400
    reply = json.loads(caught.value.response.body)
    assert "undefined_name" in reply["message"]
    assert not (jp_root_dir / "broken-pipeline").exists()


async def test_export_will_not_write_through_a_link_beside_the_notebook(
    jp_fetch, tree, jp_root_dir, tmp_path
):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (jp_root_dir / "analysis" / "train-pipeline").symlink_to(elsewhere)

    with pytest.raises(HTTPClientError) as caught:
        await post_export(jp_fetch, {"path": "analysis/train.ipynb"})

    assert caught.value.code == 400
    assert "is a link" in json.loads(caught.value.response.body)["message"]
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize(
    "headers",
    [{"Authorization": ""}, {"Authorization": "token wrong"}],
    ids=["no-token", "wrong-token"],
)
async def test_export_needs_authentication(jp_fetch, tree, jp_root_dir, headers):
    with pytest.raises(HTTPClientError) as caught:
        await post_export(jp_fetch, {"path": "analysis/train.ipynb"}, headers=headers)

    assert caught.value.code == 403
    assert not (jp_root_dir / "analysis" / "train-pipeline").exists()


async def test_export_from_a_browser_session_needs_the_xsrf_token(jp_fetch, tree, jp_root_dir):
    # A token-authenticated request logs the browser in: it sets the login cookie.
    login = await jp_fetch("jupyter-mlops", "api", "status")
    cookies = SimpleCookie()
    for header in login.headers.get_list("Set-Cookie"):
        cookies.load(header)
    session = "; ".join(f"{name}={morsel.value}" for name, morsel in cookies.items())
    assert session, "the token request should have set a login cookie"

    with pytest.raises(HTTPClientError) as caught:
        await post_export(
            jp_fetch, {"path": "analysis/train.ipynb"},
            headers={"Authorization": "", "Cookie": session},
        )  # fmt: skip
    assert caught.value.code == 403
    assert not (jp_root_dir / "analysis" / "train-pipeline").exists()

    response = await post_export(
        jp_fetch, {"path": "analysis/train.ipynb", "targets": ["local"]},
        headers={"Authorization": "", "Cookie": f"{session}; _xsrf=token-123",
                 "X-XSRFToken": "token-123"},
    )  # fmt: skip
    assert response.code == 200
    assert (jp_root_dir / "analysis" / "train-pipeline" / "pipeline.json").is_file()


async def test_reading_routes_refuse_post(jp_fetch):
    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch("jupyter-mlops", "api", "runs", method="POST", body="{}")

    assert caught.value.code == 405


@pytest.mark.parametrize(
    "path", ["a/b.ipynb", "nb.ipynb", "folder with spaces/n.ipynb", "a/.b/c.ipynb"]
)
def test_check_api_path_accepts_relative_notebook_paths(path: str):
    assert check_api_path(path) == path


def test_confined_file_follows_links_and_refuses_what_leaves_the_root(tmp_path: Path):
    root = tmp_path / "root"
    inside = write_notebook(root / "a" / "nb.ipynb", *TAGGED)
    outside = write_notebook(tmp_path / "out.ipynb", *TAGGED)
    (root / "a" / "link-in.ipynb").symlink_to(inside)
    (root / "link-out.ipynb").symlink_to(outside)

    assert confined_file(root, "a/nb.ipynb") == inside.resolve()
    assert confined_file(root, "a/link-in.ipynb") == inside.resolve()
    with pytest.raises(NotFoundError, match="under the server root"):
        confined_file(root, "link-out.ipynb")
    with pytest.raises(InvalidInputError, match="leaves its folder"):
        confined_file(root, "a/../../out.ipynb")
