"""Artifacts a run logs: files, figures, images, tables and texts, by name.

The bytes go to the registry's content-addressed store (:mod:`jupyter_mlops.registry.artifacts`):
the same bytes logged twice, by one run or by several, are one file. Each artifact of
a run is a row of ``run_artifacts``: its name, kind, media type, size, hash, the cell
that logged it (when a notebook says) and when. Logging the same name again in a run
replaces what the name points to.

    run.log_artifact("reports/")                  # reports/a.csv, reports/b/c.txt...
    run.log_figure(fig, "roc")                    # roc.png (+ roc.svg)
    run.log_image(array, "sample")                # sample.png
    run.log_table(frame, "errors")                # errors.parquet, first rows kept as preview
    run.log_text(summary, "summary.md")

A failure to store (a full disk, a read-only directory) never stops the caller's code:
a warning names the artifact and says why, and the call returns nothing. A bad name or
an object that is not what the call takes is an :class:`InvalidInputError` at once.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import mimetypes
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInputError, NotFoundError, RecordingError
from .artifact_formats import (
    Payload,
    figure_payloads,
    image_png,
    table_payloads,
    text_bytes,
)
from .queries.records import ArtifactRecord

if TYPE_CHECKING:
    from ..registry.connection import Registry

logger = logging.getLogger(__name__)

KINDS = ("file", "figure", "image", "table", "text", "model")
MAX_NAME_LENGTH = 512
# Suffixes a name may carry that the stored format replaces: log_figure(fig, "roc.png").
_FORMAT_SUFFIXES = (".plotly.json", ".png", ".svg", ".json", ".html", ".parquet", ".csv")


def check_artifact_name(name: object) -> str:
    """``name`` if it is a relative path of plain parts, else a clear error naming it.

    Names are shown as paths (``plots/roc.png``) and written as such by ``artifacts get``,
    so none may climb out (``..``), start at a root or a drive, or hold empty parts.
    """
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError(
            f"An artifact needs a name (got {name!r})",
            hint='Give one, e.g. name="plots/roc".',
        )
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInputError(
            f'Artifact name "{name[:40]}..." is longer than {MAX_NAME_LENGTH} characters',
            hint="Give a shorter name.",
        )
    bad = None
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        bad = "is an absolute path"
    elif "\\" in name:
        bad = "holds a backslash"
    elif any(ord(ch) < 32 for ch in name):
        bad = "holds a control character"
    elif ":" in name:
        bad = 'holds ":"'
    else:
        parts = name.split("/")
        if ".." in parts:
            bad = 'holds ".."'
        elif any(part in ("", ".") for part in parts):
            bad = "holds an empty part"
    if bad is not None:
        raise InvalidInputError(
            f'Artifact name "{name}" {bad}',
            hint='Names are relative paths of plain parts, e.g. "plots/roc.png".',
        )
    return name


def media_type_of(name: str) -> str:
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed or "application/octet-stream"


def _stem(name: str) -> str:
    """``name`` without a suffix the stored format replaces."""
    lowered = name.lower()
    for suffix in _FORMAT_SUFFIXES:
        if lowered.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def cell_of(context: Mapping[str, Any] | None) -> tuple[int | None, str | None]:
    """The execution count and id of the cell a frontend's context names."""
    if not context:
        return None, None
    return context.get("execution_count"), context.get("cell_id")


def store_and_link(
    registry: Registry,
    run_id: str,
    name: str,
    data: bytes | Path,
    *,
    kind: str,
    media_type: str,
    fmt: str,
    cell: tuple[int | None, str | None] = (None, None),
    preview: bytes | None = None,
) -> ArtifactRecord:
    """Store ``data`` (bytes, or a file's path) and link it to ``run_id`` as ``name``.

    Raises :class:`RecordingError` when the store or the registry cannot be written.
    """
    store = registry.artifacts
    if isinstance(data, Path):
        try:
            opened = open(data, "rb")  # a file that cannot be read is not a full disk
        except OSError as exc:
            raise InvalidInputError(
                f'Cannot read the file of artifact "{name}" ({data}): {exc.strerror or exc}',
                hint="Check that the file exists and is readable.",
            ) from exc
        with opened:
            sha = store.put_writer(lambda handle: shutil.copyfileobj(opened, handle, 1 << 20))
        size = store.path_of(sha).stat().st_size
    else:
        sha, size = store.put_bytes(data), len(data)
    preview_sha = None if preview is None else store.put_bytes(preview)
    now = time.time()
    execution_count, cell_id = cell
    with registry.transaction(f'the artifact "{name}" of run {run_id}') as conn:
        rows: list[tuple[str | None, int, str, float]] = [(sha, size, fmt, now)]
        if preview is not None:
            rows.append((preview_sha, len(preview), "json", now))
        conn.executemany(
            "INSERT OR IGNORE INTO artifacts (sha256, size, format, created_at) VALUES (?, ?, ?, ?)",
            rows,
        )
        conn.execute(
            "INSERT OR REPLACE INTO run_artifacts (run_id, name, sha256, kind, media_type, size,"
            " execution_count, cell_id, created_at, preview_sha256)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, name, sha, kind, media_type, size, execution_count, cell_id, now, preview_sha),
        )
    return ArtifactRecord(
        run_id, name, kind, media_type, size, sha, now, execution_count, cell_id, preview_sha
    )


def _files_of(directory: Path) -> Iterator[tuple[str, Path]]:
    """Every file under ``directory``, as (relative POSIX path, path), in a stable order."""
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        for file_name in sorted(files):
            path = Path(root) / file_name
            if path.is_file():
                yield PurePosixPath(path.relative_to(directory).as_posix()).as_posix(), path


class ArtifactLogging:
    """The ``log_artifact``, ``log_figure``, ``log_image``, ``log_table`` and ``log_text``
    methods of a run (mixed into :class:`~jupyter_mlops.tracking.run.Run`)."""

    registry: Registry
    id: str
    name: str
    _lock: threading.RLock
    # What the frontend says about where the code runs now (the session sets it):
    # the cell that logs an artifact is recorded with it.
    context_source: Callable[[], Mapping[str, Any] | None] | None = None

    def _current_cell(self) -> tuple[int | None, str | None]:
        if self.context_source is None:
            return None, None
        try:
            return cell_of(self.context_source())
        except Exception:  # noqa: BLE001 - where it was logged is a nicety, never a failure
            return None, None

    def _check_open(self) -> None:  # pragma: no cover - Run defines it
        raise NotImplementedError

    def _accepts(self, what: str) -> bool:
        """Whether this run keeps what it is given (an unrecorded run drops it)."""
        return True

    def _default_name(self, kind: str) -> str:
        with self._lock:
            counts: dict[str, int] = self.__dict__.setdefault("_artifact_counts", {})
            counts[kind] = counts.get(kind, 0) + 1
            return f"{kind}-{counts[kind]}"

    def _keep(self, name: str, what: str, store: Any) -> Any:
        """Call ``store()``; a failure to write is a warning naming ``name``, and None."""
        try:
            return store()
        except RecordingError as exc:
            logger.warning(
                'jupyter-mlops: %s "%s" of run %s (%s) was not stored: %s',
                what,
                name,
                self.id,
                self.name,
                exc.message,
            )
            return None

    def log_artifact(
        self, path: str | os.PathLike[str], name: str | None = None
    ) -> tuple[ArtifactRecord, ...]:
        """Store a file, or every file of a directory, as artifacts of this run.

        A file is named ``name`` (default: its file name); a directory's files are named
        ``name/<path inside it>`` (default: the directory's name). Returns one record per
        file stored, none when they could not be stored (a warning says why)::

            run.log_artifact("model_card.md")
            run.log_artifact("outputs/plots", name="plots")   # plots/a.png, plots/b/c.png
        """
        self._check_open()
        source = Path(path)
        if not source.exists():
            raise NotFoundError(
                f'Cannot log artifact "{path}": no such file or directory',
                hint="Give the path of a file or a directory that exists.",
            )
        base = check_artifact_name(name if name is not None else source.resolve().name)
        if source.is_dir():
            files = [(f"{base}/{relative}", file) for relative, file in _files_of(source)]
            if not files:
                raise InvalidInputError(
                    f'Cannot log artifact "{base}": the directory {path} holds no files',
                    hint="Give a directory with files in it, or a file.",
                )
        else:
            files = [(base, source)]
        for artifact_name, _ in files:
            check_artifact_name(artifact_name)
        if not self._accepts("artifacts"):
            return ()
        cell = self._current_cell()
        kept = []
        for artifact_name, file in files:

            def store(artifact_name: str = artifact_name, file: Path = file) -> ArtifactRecord:
                return store_and_link(
                    self.registry,
                    self.id,
                    artifact_name,
                    file,
                    kind="file",
                    media_type=media_type_of(artifact_name),
                    fmt="bytes",
                    cell=cell,
                )

            record = self._keep(artifact_name, "artifact", store)
            if record is None:
                break  # the disk that failed one file fails the next
            kept.append(record)
        return tuple(kept)

    def log_figure(self, figure: Any, name: str | None = None) -> ArtifactRecord | None:
        """Store a figure: matplotlib as ``NAME.png`` (and ``NAME.svg`` when it draws few
        points), plotly as ``NAME.plotly.json`` and a standalone ``NAME.html``. Returns
        the first one's record::

            run.log_figure(fig, "roc")          # roc.png, roc.svg
        """
        self._check_open()
        stem = _stem(check_artifact_name(name) if name else self._default_name("figure"))
        payloads = figure_payloads(figure)
        return self._store_payloads(stem, "figure", payloads)

    def log_image(self, image: Any, name: str | None = None) -> ArtifactRecord | None:
        """Store an image as ``NAME.png``: a numpy array HxW, HxWx3 or HxWx4 of uint8 or
        floats 0..1, or a PIL image::

            run.log_image(sample_batch[0], "samples/first")
        """
        self._check_open()
        stem = _stem(check_artifact_name(name) if name else self._default_name("image"))
        return self._store_payloads(
            stem, "image", (Payload(".png", "image/png", image_png(image)),)
        )

    def log_table(self, table: Any, name: str | None = None) -> ArtifactRecord | None:
        """Store a table as ``NAME.parquet`` (``NAME.csv`` when the name ends in ``.csv``,
        or without pyarrow), with its first rows kept for previews::

            run.log_table(errors_df, "errors")
        """
        self._check_open()
        given = check_artifact_name(name) if name else self._default_name("table")
        payload, preview = table_payloads(table, csv=given.lower().endswith(".csv"))
        return self._store_payloads(_stem(given), "table", (payload,), preview=preview)

    def log_text(self, text: str, name: str) -> ArtifactRecord | None:
        """Store text (UTF-8) as ``name``; its media type follows the name's suffix
        (``.md``, ``.json``...), text/plain without one::

            run.log_text(classification_report(y, y_hat), "report.txt")
        """
        self._check_open()
        name = check_artifact_name(name)
        data = text_bytes(text)
        guessed = media_type_of(name)
        media_type = guessed if guessed != "application/octet-stream" else "text/plain"
        payload = Payload("", media_type, data)
        return self._store_payloads(name, "text", (payload,))

    def log_output(
        self,
        data: bytes,
        *,
        name: str,
        media_type: str,
        kind: str = "image",
        cell: tuple[int | None, str | None] = (None, None),
    ) -> ArtifactRecord | None:
        """Store what a cell of this run displayed (a frontend calls this). The same bytes
        shown again by the run are stored once: the first record is returned."""
        self._check_open()
        sha = hashlib.sha256(data).hexdigest()
        with self._lock:
            shown: dict[str, ArtifactRecord] = self.__dict__.setdefault("_outputs_shown", {})
            if sha in shown:
                return shown[sha]
        if not self._accepts("displayed outputs"):
            return None
        check_artifact_name(name)

        def store() -> ArtifactRecord:
            return store_and_link(
                self.registry,
                self.id,
                name,
                data,
                kind=kind,
                media_type=media_type,
                fmt=name.rsplit(".", 1)[-1],
                cell=cell,
            )

        record: ArtifactRecord | None = self._keep(name, "output", store)
        if record is not None:
            with self._lock:
                shown[sha] = record
        return record

    def _store_payloads(
        self,
        stem: str,
        kind: str,
        payloads: tuple[Payload, ...],
        *,
        preview: bytes | None = None,
    ) -> ArtifactRecord | None:
        if not self._accepts(f"a {kind}"):
            return None
        cell = self._current_cell()
        first: ArtifactRecord | None = None
        for index, payload in enumerate(payloads):
            artifact_name = check_artifact_name(stem + payload.suffix)
            fmt = payload.suffix.rsplit(".", 1)[-1] if payload.suffix else "txt"

            store = functools.partial(
                store_and_link,
                self.registry,
                self.id,
                artifact_name,
                payload.data,
                kind=kind,
                media_type=payload.media_type,
                fmt=fmt,
                cell=cell,
                preview=preview if index == 0 else None,
            )
            record = self._keep(artifact_name, kind, store)
            if record is None:
                return first
            first = first or record
        return first
