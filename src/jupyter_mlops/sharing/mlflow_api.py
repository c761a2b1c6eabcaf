"""An MLflow tracking server, spoken to over its REST API: what push and import send.

    server = MlflowServer("http://mlflow.team.internal:5000")
    server.post("experiments/create", {"name": "churn"})["experiment_id"]
    server.get("experiments/get-by-name", experiment_name="churn")["experiment"]
    for run in server.pages("POST", "runs/search", {"experiment_ids": ["1"]}, "runs"): ...
    server.upload("mlflow-artifacts:/1/0af3.../artifacts", "code/cell-3.py", Path("cell.py"))

The REST API (``/api/2.0/mlflow/...``) is MLflow's public contract between its client and
its server, stable across MLflow 2 and 3; speaking it directly keeps MLflow (and the
hundred packages it brings) out of this project's dependencies, and lets one kept-alive
connection carry a whole push. Artifacts go through the server's artifact proxy
(``/api/2.0/mlflow-artifacts/artifacts/...``, on by default since MLflow 2.0, ``mlflow
server --serve-artifacts``), so the client needs no access to the bucket behind it.

Credentials are read as MLflow's client reads them: ``MLFLOW_TRACKING_TOKEN`` (a bearer
token) or ``MLFLOW_TRACKING_USERNAME`` and ``MLFLOW_TRACKING_PASSWORD`` (basic auth).
A request the server is too busy for (429, 502, 503, 504) or a dropped connection is tried
again after a growing pause; every other failure is a :class:`TrackingServerError` that
names the server, the endpoint and MLflow's own message.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError, TrackingServerError

API = "/api/2.0/mlflow/"
ARTIFACTS_API = "/api/2.0/mlflow-artifacts/artifacts/"
PROXIED_SCHEME = "mlflow-artifacts:"

_RETRIED_STATUSES = frozenset({429, 502, 503, 504})
_ATTEMPTS = 5


class MlflowServer:
    """A connection to one MLflow tracking server (kept alive between requests)."""

    def __init__(self, uri: str, *, timeout: float = 60.0) -> None:
        parsed = urllib.parse.urlsplit(uri.strip())
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise InvalidInputError(
                f"{uri!r} is not the address of an MLflow tracking server",
                hint="give its http(s) address, e.g. http://127.0.0.1:5000 "
                "(a file or database store: start `mlflow server` over it first)",
            )
        self.uri = urllib.parse.urlunsplit(
            (parsed.scheme, parsed.netloc, parsed.path.rstrip("/"), "", "")
        )
        self._scheme = parsed.scheme
        self._host = parsed.hostname
        self._port = parsed.port
        self._prefix = parsed.path.rstrip("/")
        self._timeout = timeout
        self._headers = {"Content-Type": "application/json", **_credentials()}
        self._connection: http.client.HTTPConnection | None = None

    # -- the tracking and registry API ------------------------------------------------
    def get(self, endpoint: str, **query: Any) -> dict[str, Any]:
        """``GET /api/2.0/mlflow/ENDPOINT?QUERY``, its JSON answer."""
        return self._json("GET", API + endpoint, query=query)

    def post(self, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /api/2.0/mlflow/ENDPOINT`` with a JSON body, its JSON answer."""
        return self._json("POST", API + endpoint, body=body)

    def patch(self, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
        """``PATCH /api/2.0/mlflow/ENDPOINT`` with a JSON body, its JSON answer."""
        return self._json("PATCH", API + endpoint, body=body)

    def delete(
        self, endpoint: str, body: dict[str, Any] | None = None, **query: Any
    ) -> dict[str, Any]:
        """``DELETE /api/2.0/mlflow/ENDPOINT`` (a body or a query), its JSON answer."""
        return self._json("DELETE", API + endpoint, body=body, query=query)

    def pages(
        self, method: str, endpoint: str, request: dict[str, Any], key: str
    ) -> Iterator[dict[str, Any]]:
        """Every item under ``key`` of a paged answer, following ``next_page_token``."""
        request = dict(request)
        while True:
            answer = (
                self.post(endpoint, request) if method == "POST" else self.get(endpoint, **request)
            )
            yield from answer.get(key, ())
            token = answer.get("next_page_token")
            if not token:
                return
            request["page_token"] = token

    # -- artifacts, through the server's proxy ---------------------------------------
    def upload(self, artifact_uri: str, relative_path: str, source: Path) -> None:
        """Put the file ``source`` at ``relative_path`` under a run's ``artifact_uri``."""
        url = self._artifact_url(artifact_uri, relative_path)
        data = Path(source).read_bytes()
        self._request("PUT", url, data, {"Content-Type": "application/octet-stream"})

    def download(self, artifact_uri: str, relative_path: str, destination: Path) -> Path:
        """The file at ``relative_path`` under ``artifact_uri``, written to ``destination``."""
        url = self._artifact_url(artifact_uri, relative_path)
        data = self._request("GET", url, None, {})
        destination = Path(destination)
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(data)
        return destination

    def list_artifacts(self, artifact_uri: str, relative_path: str = "") -> list[dict[str, Any]]:
        """The entries (``path``, ``is_dir``, ``file_size``) of the folder at
        ``relative_path`` under ``artifact_uri``, paths relative to that folder; a file,
        or nothing there, lists as empty."""
        url = self._artifact_url(artifact_uri, "")
        stored = urllib.parse.unquote(url[len(ARTIFACTS_API) :])
        path = "/".join(part for part in (stored, relative_path.strip("/")) if part)
        answer = self._json("GET", ARTIFACTS_API.rstrip("/"), query={"path": path})
        return list(answer.get("files", ()))

    def close(self) -> None:
        """Close the kept-alive connection (a later request opens a new one)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> MlflowServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------
    def _artifact_url(self, artifact_uri: str, relative_path: str) -> str:
        if not artifact_uri.startswith(PROXIED_SCHEME):
            raise TrackingServerError(
                f"the MLflow server {self.uri} keeps run artifacts at {artifact_uri}, "
                "which only its own machine can write",
                url=self.uri,
                hint="start it with artifact serving on (`mlflow server --serve-artifacts`, "
                "the default since MLflow 2.0) and no --default-artifact-root of a local path",
            )
        stored = artifact_uri[len(PROXIED_SCHEME) :].lstrip("/")
        path = "/".join(part for part in (stored, relative_path.strip("/")) if part)
        return ARTIFACTS_API + urllib.parse.quote(path)

    def _json(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        if query:
            path += "?" + urllib.parse.urlencode(
                {k: v for k, v in query.items() if v is not None}, doseq=True
            )
        data = None if body is None else json.dumps(body).encode()
        raw = self._request(method, path, data, self._headers)
        if not raw:
            return {}
        try:
            answer = json.loads(raw)
        except ValueError as exc:
            raise TrackingServerError(
                f"{self.uri}{path} did not answer with JSON; is it an MLflow tracking server?",
                url=self.uri + path,
                hint="check the address (an MLflow UI behind a proxy may need its path prefix)",
            ) from exc
        return answer if isinstance(answer, dict) else {}

    def _request(
        self, method: str, path: str, data: bytes | None, headers: dict[str, str]
    ) -> bytes:
        url = self.uri + path
        headers = {**self._headers, **headers}
        pause = 0.25
        for attempt in range(_ATTEMPTS):
            last = attempt == _ATTEMPTS - 1
            try:
                connection = self._open()
                connection.request(method, self._prefix + path, body=data, headers=headers)
                response = connection.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                if last:
                    raise TrackingServerError(
                        f"the MLflow server at {self.uri} cannot be reached ({exc})",
                        url=url,
                        hint="check that `mlflow server` runs there and the address is right",
                    ) from exc
            else:
                if response.status < 300:
                    return payload
                if response.status not in _RETRIED_STATUSES or last:
                    raise _refusal(url, method, response.status, payload)
            time.sleep(pause)
            pause *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    def _open(self) -> http.client.HTTPConnection:
        if self._connection is None:
            kind = (
                http.client.HTTPSConnection
                if self._scheme == "https"
                else http.client.HTTPConnection
            )
            connection = kind(self._host, self._port, timeout=self._timeout)
            connection.connect()
            # many small requests: send each at once rather than wait for the last ack
            connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._connection = connection
        return self._connection


def _credentials() -> dict[str, str]:
    token = os.environ.get("MLFLOW_TRACKING_TOKEN")
    if token:
        return {"Authorization": f"Bearer {token}"}
    user = os.environ.get("MLFLOW_TRACKING_USERNAME")
    password = os.environ.get("MLFLOW_TRACKING_PASSWORD")
    if user and password:
        pair = base64.b64encode(f"{user}:{password}".encode()).decode()
        return {"Authorization": f"Basic {pair}"}
    return {}


def _refusal(url: str, method: str, status: int, payload: bytes) -> TrackingServerError:
    """MLflow's own error (``{"error_code": ..., "message": ...}``) as a TrackingServerError."""
    try:
        answer = json.loads(payload)
        detail = f"{answer.get('error_code', '')}: {answer.get('message', '')}".strip(": ")
    except ValueError:
        detail = payload[:300].decode(errors="replace").strip()
    hints = {
        401: "set MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD",
        403: "the credentials given may not write here; ask the server's owner for access",
        404: "the server may be older than MLflow 2.0, or the address lacks its path prefix",
    }
    return TrackingServerError(
        f"the MLflow server refused {method} {url} (HTTP {status}): {detail or 'no detail'}",
        url=url,
        status=status,
        hint=hints.get(status),
    )
