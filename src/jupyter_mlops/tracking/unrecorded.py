"""An unrecorded run: what is active when a run could not be recorded.

When the registry cannot take a new run (the disk is full, the file is read-only, it
stays locked), the user's cell or script must still run to the end. An
:class:`UnrecordedRun` stands in for the run: ``mlops.log`` and the other calls accept
their values and drop them, and one warning per cell (or, in a script, per run) says
that nothing is being recorded and why.

    run = SESSION.start_unrecorded("baseline", reason="the disk holding ... is full")
    mlops.log(accuracy=0.9)     # dropped, with a warning the first time
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ..registry.connection import Registry
from .run import Run
from .values import new_id

logger = logging.getLogger(__name__)


class UnrecordedRun(Run):
    """A run that records nothing: every value given to it is dropped."""

    def __init__(
        self,
        registry: Registry | None,
        *,
        name: str,
        experiment: str,
        reason: str,
        on_close: Any = None,
    ) -> None:
        super().__init__(
            registry,  # type: ignore[arg-type]
            run_id=new_id(),
            name=name,
            experiment=experiment,
            kind="unrecorded",
            git=None,
            on_close=on_close,
        )
        self.reason = reason
        self._warned = False

    def __repr__(self) -> str:
        return f"<UnrecordedRun {self.name!r}: {self.reason}>"

    def new_cell(self, *, announced: bool = False) -> None:
        """Warn again at the next dropped value (the notebook calls this per cell), unless
        the cell was already ``announced`` as unrecorded."""
        self._warned = announced

    def _drop(self, what: str) -> None:
        if not self._warned:
            self._warned = True
            logger.warning(
                'jupyter-mlops: run "%s" is not recorded (%s); %s and what follows in this'
                " cell are dropped.",
                self.name,
                self.reason,
                what,
            )

    def log(
        self,
        metrics: Mapping[str, object] | None = None,
        /,
        *,
        step: int | None = None,
        **named: object,
    ) -> None:
        self._drop("metrics")

    def record_params(self, items: Mapping[str, object], *, source: str) -> None:
        self._drop("parameters")

    def set_tags(self, tags: Mapping[str, object] | None = None, /, **named: object) -> None:
        self._drop("tags")

    def record_cell(
        self, source: str, *, execution_count: int | None = None, cell_id: str | None = None
    ) -> None:
        """The cell's code is not kept: there is no run to keep it with."""

    def _accepts(self, what: str) -> bool:
        self._drop(what)
        return False

    def snapshot(self, data: object, **options: Any) -> Any:
        self._drop("a snapshot")
        return None

    def flush(self, through: Registry | None = None) -> None:
        """Nothing is buffered."""

    def write_end(self) -> None:
        """There is no row to end."""
        self._end = None
