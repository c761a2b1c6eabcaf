"""Every error jupyter-mlops raises on purpose.

Each error carries a message that names the object concerned and, where there is
one, a ``hint`` that tells the user what to do next. The faces (magics, CLI,
server) show ``str(error)`` and the hint; only ``%mlops --debug`` shows a traceback.

The whole tree::

    MlopsError
    ├── RegistryError              the registry cannot be opened or written
    │   ├── RegistryNotFoundError  no registry here, and none was asked to be created
    │   ├── RegistryCorruptError   not an SQLite file, failed integrity, or a newer schema
    │   └── RecordingError         a write failed (disk full, read-only, locked too long)
    ├── NotFoundError              a run, snapshot, model, version or alias does not exist
    ├── InvalidInputError          a value of the wrong kind (non-numeric metric, bad type)
    │   ├── NoActiveRunError       logging with no run started
    │   └── ExpressionError        a --where filter or gate rule that does not parse
    ├── ArtifactIntegrityError     an artifact's bytes do not match its recorded hash
    ├── GateFailedError            one or more gate rules failed (.results)
    ├── ExportError                a notebook cannot become a pipeline (.cell_index, ...)
    ├── PipelineError              a pipeline step failed or was stopped (.step)
    ├── ServingError               a model server did not start, or stopped (.log)
    ├── TrackingServerError        a team's tracking server (MLflow) refused a request or
    │                              could not be reached (.url, .status)
    ├── ReproductionError          a past run cannot be run again as it was (.variable, .paths)
    └── AlreadyRunningError        work that runs one at a time is running already (.job)

Errors from lower libraries (sqlite3, pyarrow, joblib) are translated where they
are caught, with ``raise ... from exc`` so the cause stays in ``--debug`` output.
"""

from __future__ import annotations

from typing import Any


class MlopsError(Exception):
    """Base of every error raised on purpose; carries a hint for the user."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def describe(self) -> str:
        """The message and, on a second line, the hint: what the faces print."""
        return self.message if not self.hint else f"{self.message}\nHint: {self.hint}"


class RegistryError(MlopsError):
    """The registry cannot be opened, migrated or written."""


class RegistryNotFoundError(RegistryError):
    """No registry was found from here and none was asked to be created."""


class RegistryCorruptError(RegistryError):
    """The registry file is not a usable jupyter-mlops registry; it is never overwritten."""


class RecordingError(RegistryError):
    """A write to the registry failed; what was not recorded is named in the message."""


class NotFoundError(MlopsError):
    """A run, snapshot, model, version or alias does not exist."""


class InvalidInputError(MlopsError):
    """An argument of the wrong kind or value."""


class NoActiveRunError(InvalidInputError):
    """Something needs an active run and none is running."""


class ExpressionError(InvalidInputError):
    """A filter or rule expression that does not parse or names something unknown."""

    def __init__(self, message: str, *, expression: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.expression = expression


class ArtifactIntegrityError(MlopsError):
    """An artifact's bytes do not match the sha256 it was stored under; it is not loaded."""


class GateFailedError(MlopsError):
    """One or more gate rules failed; ``results`` holds every rule's outcome."""

    def __init__(self, message: str, *, results: Any, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.results = results


class ExportError(MlopsError):
    """A notebook cannot be exported to a pipeline; names the cell, tag and variable."""

    def __init__(
        self,
        message: str,
        *,
        cell_index: int | None = None,
        tag: str | None = None,
        variable: str | None = None,
        step: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.cell_index = cell_index
        self.tag = tag
        self.variable = variable
        self.step = step


class PipelineError(MlopsError):
    """A pipeline step failed, or a gate or drift check stopped the pipeline."""

    def __init__(self, message: str, *, step: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.step = step


class ServingError(MlopsError):
    """A model server did not start or stopped; ``log`` holds the end of its output."""

    def __init__(self, message: str, *, log: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.log = log


class TrackingServerError(MlopsError):
    """A team's tracking server (MLflow's) could not be reached, or answered a request with
    an error; ``url`` is what was asked, ``status`` the HTTP status (None when unreachable)."""

    def __init__(
        self, message: str, *, url: str = "", status: int | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.url = url
        self.status = status


class ReproductionError(MlopsError):
    """A past run cannot be run again as it ran: data it read changed (``variable``, and
    the files it was loaded from, ``paths``), or what it needs is missing."""

    def __init__(
        self,
        message: str,
        *,
        variable: str | None = None,
        paths: tuple[str, ...] = (),
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.variable = variable
        self.paths = paths


class AlreadyRunningError(MlopsError):
    """Work that runs one at a time (a run's reproduction) is running already; ``job``
    names the one that runs, so the caller can follow it instead."""

    def __init__(self, message: str, *, job: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.job = job
