"""What a run object can change about its recorded self after the fact: its note, name,
experiment and tags, archived or not. Each goes through :mod:`.housekeeping` at once,
also after the run ended; :class:`~.run.Run` takes these methods from here."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from . import housekeeping
from .notes import write_note

if TYPE_CHECKING:
    from ..registry.connection import Registry


class RunHousekeeping:
    """Mixin of :class:`~.run.Run`: housekeeping of the run it records."""

    registry: Registry
    id: str
    name: str
    experiment: str
    _lock: threading.RLock
    _tags: dict[str, Any]

    def note(self, text: str) -> None:
        """Write this run's note, free text the code search also finds; "" removes it.

        A run has one note: writing again replaces it. Written at once, also after
        the run has ended::

            run.note("tried a deeper forest: overfits after depth 12")
        """
        write_note(self.registry, self.id, text)

    def rename(self, name: str) -> None:
        """Give this run another name, now (also after it ended): ``run.rename("v2")``."""
        self.name = housekeeping.rename_run(self.registry, self.id, name).name

    def move(self, experiment: str) -> None:
        """Move this run (and its children) to ``experiment``, created when missing."""
        self.experiment = housekeeping.move_run(self.registry, self.id, experiment).experiment

    def untag(self, *keys: str) -> None:
        """Remove tags, whether set in this session or recorded earlier: ``run.untag("wip")``."""
        with self._lock:
            buffered = {key for key in keys if self._tags.pop(key, None) is not None}
        housekeeping.untag_run(self.registry, self.id, keys, missing_ok=buffered)

    def archive(self) -> None:
        """Hide this run (and its children) from every list until :meth:`restore`."""
        housekeeping.archive_run(self.registry, self.id)

    def restore(self) -> None:
        """Bring this archived run (and its children) back into the lists."""
        housekeeping.restore_run(self.registry, self.id)
