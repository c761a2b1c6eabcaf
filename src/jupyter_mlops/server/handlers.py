"""REST handlers of the jupyter-mlops server extension.

Every route lives under ``/jupyter-mlops/api/``, requires Jupyter's authentication
(a token or a logged-in session; without one the answer is 403) and answers JSON.
Errors answer ``{"message": ..., "hint": ...}`` with a 4xx code: the core's
:class:`~jupyter_mlops.errors.MlopsError` subclasses are turned into HTTP codes here
and nowhere else (:func:`status_for_error`), so a route only calls the core and
returns what it got::

    class ExperimentsHandler(MlopsAPIHandler):
        @tornado.web.authenticated
        def get(self) -> None:
            self.reply({"experiments": [...]})     # a NotFoundError raised here -> 404 JSON

An unknown route under the prefix answers 404 JSON too, never Jupyter's HTML page.
"""

from __future__ import annotations

import json
import os
from http.client import responses
from pathlib import Path
from types import TracebackType
from typing import Any

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from jupyter_mlops import __version__
from jupyter_mlops.errors import (
    InvalidInputError,
    MlopsError,
    NotFoundError,
    RecordingError,
    RegistryCorruptError,
    RegistryNotFoundError,
)

API_PREFIX = "/jupyter-mlops/api"

REGISTRY_ENV_VAR = "MLOPS_REGISTRY"
REGISTRY_RELATIVE_PATH = Path(".mlops") / "registry.db"

# First match wins, so subclasses come before their bases.
_STATUS_BY_ERROR: tuple[tuple[type[MlopsError], int], ...] = (
    (RegistryNotFoundError, 404),
    (NotFoundError, 404),
    (InvalidInputError, 400),
    (RegistryCorruptError, 409),
    (RecordingError, 503),
    (MlopsError, 400),
)

_DEFAULT_MESSAGES = {
    403: "Forbidden: the jupyter-mlops API needs Jupyter's authentication "
    "(open JupyterLab with its token, or log in).",
    405: "Method not allowed: the jupyter-mlops API is read-only; use GET.",
}


def status_for_error(error: MlopsError) -> int:
    """The HTTP status a core error is answered with.

    Example::

        status_for_error(NotFoundError('Run "r1" does not exist'))   # 404
    """
    for error_type, status in _STATUS_BY_ERROR:
        if isinstance(error, error_type):
            return status
    return 400  # unreachable: MlopsError closes the table; kept for type checkers


def locate_registry(root_dir: Path) -> Path | None:
    """The registry file the panel shows: ``$MLOPS_REGISTRY``, else the nearest
    ``.mlops/registry.db`` from ``root_dir`` upwards, else None.

    A relative ``$MLOPS_REGISTRY`` is taken relative to ``root_dir``. The path named
    by the variable is returned even when the file does not exist yet, so the panel
    can say where it looked.

    Example::

        locate_registry(Path("~/projects/churn").expanduser())
        # PosixPath('/home/me/projects/.mlops/registry.db'), or None
    """
    configured = os.environ.get(REGISTRY_ENV_VAR)
    if configured:
        return root_dir / Path(configured).expanduser()
    for folder in (root_dir, *root_dir.parents):
        candidate = folder / REGISTRY_RELATIVE_PATH
        if candidate.is_file():
            return candidate
    return None


class MlopsAPIHandler(APIHandler):
    """Base of every jupyter-mlops route: JSON replies, JSON errors, core errors mapped.

    Subclasses decorate each method with ``@tornado.web.authenticated`` and call
    :meth:`reply`; they let :class:`MlopsError` propagate.
    """

    @property
    def root_dir(self) -> Path:
        """The server's root folder: where notebook paths are relative to."""
        return Path(self.settings["server_root_dir"]).expanduser().resolve()

    def reply(self, payload: dict[str, Any]) -> None:
        """Send ``payload`` as JSON; NaN and infinities are refused, never sent as bare words."""
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(payload, allow_nan=False))

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        """Answer a core error with its 4xx code instead of tornado's 500."""
        error = _exception_of(kwargs)
        if isinstance(error, MlopsError):
            status_code = status_for_error(error)
        super().send_error(status_code, **kwargs)

    def log_exception(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Log a core error as one line; anything else keeps tornado's traceback."""
        if isinstance(value, MlopsError):
            self.log.warning(
                "jupyter-mlops: %s %s: %s", self.request.method, self.request.path, value.message
            )
            return
        super().log_exception(typ, value, tb)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Write ``{"message": ..., "hint": ...}``; never a traceback, never HTML."""
        error = _exception_of(kwargs)
        hint: str | None = None
        if isinstance(error, MlopsError):
            message, hint = error.message, error.hint
        elif isinstance(error, tornado.web.HTTPError) and error.log_message:
            message = error.log_message % error.args if error.args else error.log_message
        elif error is not None and not isinstance(error, tornado.web.HTTPError):
            message = (
                f"Internal error in jupyter-mlops ({type(error).__name__}); "
                "the Jupyter server log has the details."
            )
        else:
            message = _DEFAULT_MESSAGES.get(status_code, responses.get(status_code, "Error"))
        payload: dict[str, Any] = {"message": message}
        if hint:
            payload["hint"] = hint
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(payload))


def _exception_of(kwargs: dict[str, Any]) -> BaseException | None:
    exc_info = kwargs.get("exc_info")
    return exc_info[1] if exc_info else None


class StatusHandler(MlopsAPIHandler):
    """``GET status``: version, server root and where the registry is (if anywhere)."""

    @tornado.web.authenticated
    def get(self) -> None:
        root_dir = self.root_dir
        registry = locate_registry(root_dir)
        self.reply(
            {
                "version": __version__,
                "root_dir": str(root_dir),
                "registry": {
                    "path": None if registry is None else str(registry),
                    "exists": registry is not None and registry.is_file(),
                },
            }
        )


class UnknownRouteHandler(MlopsAPIHandler):
    """Anything else under the prefix: 404 JSON that names the route and the known ones."""

    def _reject(self, *args: Any) -> None:
        known = ", ".join(sorted(name for name, _ in ROUTES))
        raise tornado.web.HTTPError(
            404, "No route %s in the jupyter-mlops API (routes: %s).", self.request.path, known
        )

    get = post = put = patch = delete = tornado.web.authenticated(_reject)


ROUTES: tuple[tuple[str, type[MlopsAPIHandler]], ...] = (("status", StatusHandler),)


def setup_handlers(web_app: tornado.web.Application) -> None:
    """Add every route, under the server's base URL, to ``web_app``."""
    base_url = web_app.settings["base_url"]
    prefix = url_path_join(base_url, API_PREFIX)
    handlers: list[tuple[str, type[MlopsAPIHandler]]] = [
        (url_path_join(prefix, name), handler) for name, handler in ROUTES
    ]
    handlers.append((prefix + r"(?:/.*)?", UnknownRouteHandler))
    web_app.add_handlers(".*$", handlers)
