"""The base of the jupyter-mlops REST handlers: JSON replies, JSON errors, the registry.

Every route lives under ``/jupyter-mlops/api/`` (see :mod:`jupyter_mlops.server.routes`),
requires Jupyter's authentication (a token or a logged-in session; without one the
answer is 403; a session's POST also needs Jupyter's XSRF token) and answers JSON.
Errors answer ``{"message": ..., "hint": ...}`` with a 4xx code: the core's
:class:`~jupyter_mlops.errors.MlopsError` subclasses are turned into HTTP codes here
and nowhere else (:func:`status_for_error`), so a route only calls the core and
returns what it got::

    class ExperimentsHandler(MlopsAPIHandler):
        @tornado.web.authenticated
        async def get(self) -> None:
            self.reply(await self.read(payloads.experiments_payload))  # NotFoundError -> 404

Registry reads run in a worker thread (the server's event loop keeps serving kernels
meanwhile) on the one registry the server keeps open (:class:`RegistrySource`).
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable
from http.client import responses
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import tornado.web
from jupyter_server.base.handlers import APIHandler

from jupyter_mlops.errors import (
    AlreadyRunningError,
    ArtifactIntegrityError,
    InvalidInputError,
    MlopsError,
    NotFoundError,
    RecordingError,
    RegistryCorruptError,
    RegistryNotFoundError,
)
from jupyter_mlops.server.registry_source import RegistrySource

API_PREFIX = "/jupyter-mlops/api"
SOURCE_SETTING = "jupyter_mlops.registry_source"

T = TypeVar("T")

# First match wins, so subclasses come before their bases.
_STATUS_BY_ERROR: tuple[tuple[type[MlopsError], int], ...] = (
    (RegistryNotFoundError, 404),
    (NotFoundError, 404),
    (InvalidInputError, 400),
    (RegistryCorruptError, 409),
    (ArtifactIntegrityError, 409),
    (AlreadyRunningError, 409),
    (RecordingError, 503),
    (MlopsError, 400),
)

_DEFAULT_MESSAGES = {
    403: "Forbidden: the jupyter-mlops API needs Jupyter's authentication "
    "(open JupyterLab with its token, or log in).",
    405: "Method not allowed: this jupyter-mlops route only answers GET"
    " (the writes are POST export, POST runs/ID/reproduce, POST models/NAME/monitoring,"
    " PATCH and DELETE runs/ID,"
    " PATCH experiments/NAME).",
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


class MlopsAPIHandler(APIHandler):
    """Base of every jupyter-mlops route: JSON replies, JSON errors, core errors mapped.

    Subclasses decorate each method with ``@tornado.web.authenticated``, read the
    registry with :meth:`read` and answer with :meth:`reply`; they let
    :class:`MlopsError` propagate.
    """

    def _not_allowed(self, *args: Any) -> None:
        raise tornado.web.HTTPError(405)

    # A method a route does not define answers 405, but only after authentication, so a
    # request without a token learns nothing about the routes.
    get = post = put = patch = delete = tornado.web.authenticated(_not_allowed)

    @property
    def root_dir(self) -> Path:
        """The server's root folder: where notebook paths are relative to."""
        return Path(self.settings["server_root_dir"]).expanduser().resolve()

    @property
    def source(self) -> RegistrySource:
        """The server's one :class:`RegistrySource` (made with the routes)."""
        source: RegistrySource = self.settings[SOURCE_SETTING]
        return source

    async def read(self, build: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``build(registry, *args, **kwargs)`` on the open registry, in a worker thread."""

        def call() -> T:
            with self.source.registry() as registry:
                return build(registry, *args, **kwargs)

        return await self.in_thread(call)

    async def long_work(self, build: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``build(registry, *args, **kwargs)`` on a connection of its own, in a worker thread:
        for work of seconds (running the monitor), which under :meth:`read`'s lock would
        hold every other request of the panel, its polling included, until it ended."""

        def call() -> T:
            with self.source.registry() as registry:
                own = registry.another_connection()
            try:
                return build(own, *args, **kwargs)
            finally:
                own.close()

        return await self.in_thread(call)

    async def in_thread(self, work: Callable[..., T], *args: Any) -> T:
        """Run blocking ``work`` off the event loop and wait for its result."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, functools.partial(work, *args))

    def argument(self, name: str) -> str | None:
        """A query argument's value (the last one if repeated), or None when absent."""
        return self.get_query_argument(name, None)

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
