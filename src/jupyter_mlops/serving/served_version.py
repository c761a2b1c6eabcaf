"""The version a reference names, loaded, and swapped for the next one when the alias moves.

    served = ServedModel(registry, parse_ref("churn@champion"))
    loaded = served.current            # LoadedVersion: churn@3 and its fitted object
    served.refresh()                   # the alias moved to 4: churn@4 is loaded, then swapped in

A request takes :attr:`ServedModel.current` once and scores all its rows with it, so a
request in flight when the alias moves finishes on the version it started with; the
swap is one assignment. A version whose file does not match its recorded hash is never
unpickled: at start the server refuses to start, naming the version; on an alias move it
goes on serving the version it has, and says why in its log.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import ArtifactIntegrityError, MlopsError, NotFoundError
from ..models.refs import ModelRef
from ..models.versions import ModelVersion, load, resolve_version
from ..registry.connection import Registry

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedVersion:
    """A model version and its fitted object, loaded after its bytes' hash was checked."""

    version: ModelVersion
    model: Any

    @property
    def ref(self) -> str:
        """``churn@3``: the version that scored a request."""
        return self.version.ref


def load_version(registry: Registry, version: ModelVersion) -> LoadedVersion:
    """The fitted object of ``version``, its artifact checked against the recorded sha256.

    A changed or missing file raises an error that names the version and says what to do.
    """
    with _version_named(registry, version):
        return LoadedVersion(version, load(registry, version.ref))


def verify_version_file(registry: Registry, version: ModelVersion) -> None:
    """Check that the file of ``version`` is there and still hashes to its recorded sha256."""
    with _version_named(registry, version):
        registry.artifacts.verified_path(version.artifact_sha256)


@contextlib.contextmanager
def _version_named(registry: Registry, version: ModelVersion) -> Iterator[None]:
    """The artifact store's errors, said of the version whose file it is."""
    try:
        yield
    except ArtifactIntegrityError as exc:
        raise ArtifactIntegrityError(
            f"The stored file of {version.ref} does not match the hash recorded when it was"
            f" registered ({version.artifact_sha256[:12]}): it was changed on disk, so"
            f" {version.ref} is not loaded",
            hint=f"Restore {registry.artifacts.path_of(version.artifact_sha256)} from a backup,"
            f" or register the model again and serve the new version.",
        ) from exc
    except NotFoundError as exc:
        if exc.message.startswith("Artifact "):
            raise NotFoundError(
                f"The stored file of {version.ref} is missing from {registry.artifacts.root}",
                hint="Restore it from a backup, or register the model again and serve the"
                " new version.",
            ) from exc
        raise


class ServedModel:
    """The loaded version that ``ref`` names now; :meth:`refresh` follows its moves.

    ``registry`` is read from the thread that calls :meth:`refresh` only (give it a
    connection of its own). :attr:`current` may be read from any thread.
    """

    def __init__(self, registry: Registry, ref: ModelRef) -> None:
        self.registry = registry
        self.ref = ref
        self.current = load_version(registry, resolve_version(registry, ref))
        self._refused: int | None = None  # a version that could not be loaded: not retried
        self._refreshing = threading.Lock()

    def refresh(self) -> LoadedVersion | None:
        """Load and swap in the version ``ref`` names now, when it changed; return it.

        ``None`` when nothing changed, or when the new version cannot be loaded (then the
        current one goes on answering and the log says why, once per version).
        """
        with self._refreshing:
            try:
                target = resolve_version(self.registry, self.ref)
            except MlopsError as exc:
                if self._refused != -1:
                    logger.error(
                        "%s: %s; serving %s still", self.ref.text, exc.message, self.current.ref
                    )
                    self._refused = -1
                return None
            if target.id == self.current.version.id or target.id == self._refused:
                return None
            try:
                loaded = load_version(self.registry, target)
            except MlopsError as exc:
                self._refused = target.id
                logger.error("%s; serving %s still", exc.describe(), self.current.ref)
                return None
            except Exception as exc:  # an unpickling failure of the user's class
                self._refused = target.id
                logger.error(
                    "Could not load %s (%s); serving %s still", target.ref, exc, self.current.ref
                )
                return None
            previous, self.current = self.current, loaded
            self._refused = None
            logger.info(
                "%s moved: now serving %s (was %s)", self.ref.text, loaded.ref, previous.ref
            )
            return loaded
