"""The server extension on a real Jupyter server (pytest-jupyter): routes, auth, errors."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import tornado.web
from tornado.httpclient import HTTPClientError

import jupyter_mlops
from jupyter_mlops.errors import (
    ArtifactIntegrityError,
    ExpressionError,
    MlopsError,
    NotFoundError,
    RecordingError,
    RegistryCorruptError,
    RegistryNotFoundError,
)
from jupyter_mlops.server import (
    _jupyter_labextension_paths,
    _jupyter_server_extension_points,
)
from jupyter_mlops.server.handlers import MlopsAPIHandler, status_for_error
from jupyter_mlops.server.registry_source import locate_registry
from jupyter_mlops.server.routes import ROUTE_NAMES


def _make_registry_file(path: Path) -> Path:
    """A real (empty) SQLite file where the registry would be."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE IF NOT EXISTS probe (x INTEGER)")
    connection.close()
    return path


class _RaisingHandler(MlopsAPIHandler):
    """A route that raises whatever core error the test puts in ``?error=``."""

    ERRORS: dict[str, MlopsError] = {
        "not-found": NotFoundError('Run "r42" does not exist', hint="List runs with %mlops runs."),
        "expression": ExpressionError(
            "Cannot parse 'accuracy >'", expression="accuracy >", hint="Write e.g. accuracy > 0.9"
        ),
        "no-registry": RegistryNotFoundError("No registry found from /x"),
        "corrupt": RegistryCorruptError("registry.db is not an SQLite file"),
        "locked": RecordingError("The registry stayed locked for 5 s"),
        "integrity": ArtifactIntegrityError("Artifact ab12 does not match its hash"),
    }

    @tornado.web.authenticated
    def get(self) -> None:
        name = self.get_argument("error")
        if name == "bug":
            raise ZeroDivisionError("secret internals")
        raise self.ERRORS[name]


@pytest.fixture
def jp_server_config(jp_server_config):
    """Enable the extension exactly as the installed config json does."""
    config_file = Path(__file__).parents[1] / "jupyter-config/server-config/jupyter_mlops.json"
    return {"ServerApp": json.loads(config_file.read_text())["ServerApp"]}


@pytest.fixture
def no_registry_env(monkeypatch):
    monkeypatch.delenv("MLOPS_REGISTRY", raising=False)


async def _fetch_error(jp_fetch, *parts, **kwargs) -> tuple[int, dict]:
    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch(*parts, **kwargs)
    response = caught.value.response
    assert response is not None
    assert response.headers["Content-Type"].startswith("application/json")
    return caught.value.code, json.loads(response.body)


async def test_status_reports_version_root_and_missing_registry(
    jp_fetch, jp_root_dir, no_registry_env
):
    response = await jp_fetch("jupyter-mlops", "api", "status")

    assert response.code == 200
    assert json.loads(response.body) == {
        "version": jupyter_mlops.__version__,
        "root_dir": str(jp_root_dir.resolve()),
        "registry": {"path": None, "exists": False},
    }
    assert response.headers["Cache-Control"] == "no-store"


async def test_status_finds_registry_in_a_parent_folder(jp_fetch, jp_root_dir, no_registry_env):
    registry = _make_registry_file(jp_root_dir.parent / ".mlops" / "registry.db")

    body = json.loads((await jp_fetch("jupyter-mlops", "api", "status")).body)

    assert body["registry"] == {"path": str(registry.resolve()), "exists": True}


@pytest.mark.parametrize(
    ("env_value", "create", "expected_exists"),
    [
        ("elsewhere/reg.db", True, True),
        ("elsewhere/reg.db", False, False),
        ("{tmp}/absolute/reg.db", True, True),
    ],
)
async def test_status_prefers_mlops_registry_env_var(
    jp_fetch, jp_root_dir, tmp_path, monkeypatch, env_value, create, expected_exists
):
    _make_registry_file(jp_root_dir / ".mlops" / "registry.db")  # must lose to the env var
    value = env_value.format(tmp=tmp_path)
    expected_path = Path(value) if Path(value).is_absolute() else jp_root_dir.resolve() / value
    if create:
        _make_registry_file(expected_path)
    monkeypatch.setenv("MLOPS_REGISTRY", value)

    body = json.loads((await jp_fetch("jupyter-mlops", "api", "status")).body)

    assert body["registry"] == {"path": str(expected_path), "exists": expected_exists}


async def test_status_takes_a_folder_in_mlops_registry_like_the_core(
    jp_fetch, jp_root_dir, tmp_path, monkeypatch
):
    registry = _make_registry_file(tmp_path / "shared" / ".mlops" / "registry.db")
    monkeypatch.setenv("MLOPS_REGISTRY", str(tmp_path / "shared"))

    body = json.loads((await jp_fetch("jupyter-mlops", "api", "status")).body)

    assert body["registry"] == {"path": str(registry), "exists": True}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"definitely not sqlite", "is not an SQLite database"),
        (None, "is an SQLite database but not a jupyter-mlops registry"),
    ],
)
async def test_a_file_that_is_not_a_registry_answers_409_and_is_left_alone(
    jp_fetch, jp_root_dir, no_registry_env, content, message
):
    path = jp_root_dir / ".mlops" / "registry.db"
    if content is None:
        _make_registry_file(path)
    else:
        path.parent.mkdir()
        path.write_bytes(content)
    before = path.read_bytes()

    code, body = await _fetch_error(jp_fetch, "jupyter-mlops", "api", "runs")
    changes = json.loads((await jp_fetch("jupyter-mlops", "api", "changes")).body)

    assert code == 409
    assert message in body["message"] and body["hint"]
    # the poll still answers, so the panel shows the section's error, not "no connection"
    assert changes["marker"].startswith(f"unusable:{path}:")
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": ""},
        {"Authorization": "token not-the-server-token"},
    ],
    ids=["no-token", "wrong-token"],
)
@pytest.mark.parametrize(
    "route", [name.replace("ID", "abc123") for name in ROUTE_NAMES] + ["no/such/route"]
)
async def test_api_refuses_requests_without_the_token(jp_fetch, headers, route):
    code, body = await _fetch_error(
        jp_fetch, "jupyter-mlops", "api", *route.split("/"), headers=headers
    )

    assert code == 403
    assert "authentication" in body["message"]
    assert "routes" not in body["message"]  # nothing about the API leaks before auth


@pytest.mark.parametrize("route", ["nope", "status/extra", "runs/r1/unknown", ""])
async def test_unknown_route_answers_404_json_naming_it(jp_fetch, route):
    parts = ["jupyter-mlops", "api", *[p for p in route.split("/") if p]]

    code, body = await _fetch_error(jp_fetch, *parts)

    assert code == 404
    assert "/jupyter-mlops/api" in body["message"]
    assert f"routes: {', '.join(ROUTE_NAMES)}" in body["message"]


async def test_write_method_on_status_answers_405_json(jp_fetch):
    code, body = await _fetch_error(
        jp_fetch, "jupyter-mlops", "api", "status", method="POST", body="{}"
    )

    assert code == 405
    assert "only answers GET" in body["message"]


@pytest.fixture
def raising_route(jp_serverapp):
    """Add a route that raises core errors, through the same base class the real routes use."""
    from jupyter_server.utils import url_path_join

    pattern = url_path_join(jp_serverapp.web_app.settings["base_url"], "jupyter-mlops/test/raise")
    jp_serverapp.web_app.add_handlers(".*$", [(pattern, _RaisingHandler)])
    return ("jupyter-mlops", "test", "raise")


@pytest.mark.parametrize(
    ("error", "expected_code"),
    [
        ("not-found", 404),
        ("no-registry", 404),
        ("expression", 400),
        ("corrupt", 409),
        ("locked", 503),
        ("integrity", 409),
    ],
)
async def test_core_errors_answer_their_code_with_message_and_hint(
    jp_fetch, raising_route, error, expected_code
):
    raised = _RaisingHandler.ERRORS[error]

    code, body = await _fetch_error(jp_fetch, *raising_route, params={"error": error})

    assert code == expected_code == status_for_error(raised)
    expected = {"message": raised.message}
    if raised.hint:
        expected["hint"] = raised.hint
    assert body == expected


async def test_unexpected_exception_answers_500_without_internals(jp_fetch, raising_route):
    code, body = await _fetch_error(jp_fetch, *raising_route, params={"error": "bug"})

    assert code == 500
    assert "ZeroDivisionError" in body["message"]
    assert "secret internals" not in body["message"]
    assert "traceback" not in body


def test_locate_registry_returns_none_when_nothing_up_the_tree(tmp_path, monkeypatch):
    monkeypatch.delenv("MLOPS_REGISTRY", raising=False)
    (tmp_path / ".mlops").mkdir()  # a folder without the database is not a registry

    assert locate_registry(tmp_path / "a" / "b") is None


def test_locate_registry_takes_the_nearest_of_two(tmp_path, monkeypatch):
    monkeypatch.delenv("MLOPS_REGISTRY", raising=False)
    _make_registry_file(tmp_path / ".mlops" / "registry.db")
    nearer = _make_registry_file(tmp_path / "project" / ".mlops" / "registry.db")

    assert locate_registry(tmp_path / "project" / "notebooks") == nearer


def test_extension_hooks_point_at_this_package():
    (labextension,) = _jupyter_labextension_paths()
    (server_extension,) = _jupyter_server_extension_points()

    assert labextension["dest"] == "jupyter-mlops"
    assert Path(labextension["src"]) == Path(jupyter_mlops.__file__).parent / "labextension"
    assert server_extension == {"module": "jupyter_mlops.server"}


def test_extension_hooks_import_without_tornado_or_jupyter_server():
    """The package __init__ re-exports the hooks; the core must stay free of Jupyter."""
    probe = (
        "import sys; from jupyter_mlops.server import _jupyter_server_extension_points; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'tornado', 'jupyter_server', 'jupyterlab', 'IPython'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )

    assert result.stdout.strip() == "[]"


def test_labextension_package_version_matches_python_version():
    package_json = Path(__file__).parents[1] / "labextension" / "package.json"

    assert json.loads(package_json.read_text())["version"] == jupyter_mlops.__version__
