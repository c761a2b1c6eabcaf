"""A data snapshot: the full-content fingerprint, schema and profile of a table."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InvalidInputError, NotFoundError
from ..registry.artifacts import sha256_file
from .fingerprint import (
    SCHEME,
    SHA256_SCHEME,
    check_index_policy,
    fingerprint_frame,
    index_is_hashed,
)
from .inputs import (
    COMPRESSION_SUFFIXES,
    CSV_SUFFIXES,
    PARQUET_SUFFIXES,
    ResolvedInput,
    resolve_input,
)
from .profiles import DataProfile, profile_frame

if TYPE_CHECKING:
    import pandas as pd


logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ColumnSchema:
    """One column (or index level) as a schema check sees it.

    ``nullable`` says whether the dtype can hold a missing value at all (``int64`` and
    ``bool`` cannot; floats, datetimes, strings, objects and pandas' nullable types can);
    ``null_count`` says how many values are missing in this data.
    """

    name: str
    dtype: str
    nullable: bool
    null_count: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dtype": self.dtype,
            "nullable": self.nullable,
            "null_count": self.null_count,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnSchema:
        return cls(
            name=str(data["name"]),
            dtype=str(data["dtype"]),
            nullable=bool(data["nullable"]),
            null_count=int(data["null_count"]),
        )


@dataclass(frozen=True)
class DataSnapshot:
    """What is known about one table a run read or wrote.

    ``index_policy`` is the policy asked for (``"auto"``, ``"include"``, ``"ignore"``) and
    ``index_hashed`` what it came to for this data: under ``"auto"`` a default RangeIndex
    is left out of the fingerprint and any other index is part of it. ``index_schema``
    describes the index levels either way. ``source_path`` and ``source_sha256`` are set
    for CSV and parquet inputs (the path as given; the sha256 of the file's bytes, or
    ``None`` for a parquet directory).
    """

    name: str
    kind: str
    fingerprint: str
    n_rows: int
    n_columns: int
    schema: tuple[ColumnSchema, ...]
    profile: DataProfile
    index_policy: str
    index_hashed: bool
    index_schema: tuple[ColumnSchema, ...]
    source_path: str | None = None
    source_sha256: str | None = None
    fingerprint_scheme: str = SCHEME

    def column(self, name: str) -> ColumnSchema:
        """The schema entry of column ``name``; NotFoundError names the snapshot's columns."""
        for entry in self.schema:
            if entry.name == name:
                return entry
        known = ", ".join(entry.name for entry in self.schema[:20]) or "(none)"
        raise NotFoundError(
            f'Snapshot "{self.name}" has no column "{name}"',
            hint=f"Its columns are: {known}.",
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict for storage; ``from_dict`` reads it back to an equal snapshot."""
        return {
            "name": self.name,
            "kind": self.kind,
            "fingerprint": self.fingerprint,
            "fingerprint_scheme": self.fingerprint_scheme,
            "n_rows": self.n_rows,
            "n_columns": self.n_columns,
            "schema": [entry.to_dict() for entry in self.schema],
            "profile": self.profile.to_dict(),
            "index_policy": self.index_policy,
            "index_hashed": self.index_hashed,
            "index_schema": [entry.to_dict() for entry in self.index_schema],
            "source_path": self.source_path,
            "source_sha256": self.source_sha256,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DataSnapshot:
        """Rebuild a snapshot from ``to_dict`` output; InvalidInputError if it is malformed."""
        try:
            return cls(
                name=str(data["name"]),
                kind=str(data["kind"]),
                fingerprint=str(data["fingerprint"]),
                # a record without a scheme predates the BLAKE3 one
                fingerprint_scheme=str(data.get("fingerprint_scheme", SHA256_SCHEME)),
                n_rows=int(data["n_rows"]),
                n_columns=int(data["n_columns"]),
                schema=tuple(ColumnSchema.from_dict(entry) for entry in data["schema"]),
                profile=DataProfile.from_dict(data["profile"]),
                index_policy=str(data["index_policy"]),
                index_hashed=bool(data["index_hashed"]),
                index_schema=tuple(
                    ColumnSchema.from_dict(entry) for entry in data.get("index_schema", ())
                ),
                source_path=data.get("source_path"),
                source_sha256=data.get("source_sha256"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(
                f"A stored snapshot could not be read: {type(exc).__name__}: {exc}",
                hint="The record may come from a newer version of jupyter-mlops; upgrade it.",
            ) from exc


def fingerprint(data: Any, *, index: str = "auto", scheme: str = SCHEME) -> str:
    """The hex fingerprint of the full content of ``data`` (any input ``as_frame`` takes).

    Every row and every dtype count; equal data gives an equal fingerprint wherever it
    lives. ``index``: ``"auto"`` (default) leaves out a default RangeIndex and hashes any
    other index, ``"include"`` always hashes it, ``"ignore"`` never does. ``scheme``: the
    current one by default; a stored snapshot's ``fingerprint_scheme`` to compare with it.

        fingerprint(df) == fingerprint(df.copy())                   # True
        fingerprint(df) == fingerprint(df.iloc[[1, 0, 2]])          # False: row order
        fingerprint(df, index="ignore") == fingerprint(df.reset_index(drop=True))  # True
        fingerprint(df, scheme=snap.fingerprint_scheme) == snap.fingerprint  # df unchanged
    """
    check_index_policy(index)
    return fingerprint_frame(resolve_input(data).frame, index=index, scheme=scheme)


def take_snapshot(data: Any, *, name: str | None = None, index: str = "auto") -> DataSnapshot:
    """Fingerprint, schema and profile of ``data`` in one frozen :class:`DataSnapshot`.

    ``name`` defaults to the file name without its suffixes for a path, the Series
    name for a named Series, else the input kind (``"dataframe"``...).

        snap = take_snapshot(df, name="train")
        snap.n_rows, snap.fingerprint[:12], snap.profile.column("age").mean
    """
    check_index_policy(index)
    source = resolve_input(data)
    frame = source.frame
    snapshot_name = _snapshot_name(name, data, source)
    started = time.perf_counter()
    digest = fingerprint_frame(frame, index=index)
    hashed_at = time.perf_counter()
    profile = profile_frame(frame)
    source_sha = sha256_file(source.source) if source.source and source.source.is_file() else None
    logger.debug(
        "snapshot %s: %d rows x %d columns, fingerprint %.3f s, profile %.3f s",
        snapshot_name,
        len(frame),
        frame.shape[1],
        hashed_at - started,
        time.perf_counter() - hashed_at,
    )
    return DataSnapshot(
        name=snapshot_name,
        kind=source.kind,
        fingerprint=digest,
        fingerprint_scheme=SCHEME,
        n_rows=len(frame),
        n_columns=frame.shape[1],
        schema=schema_of(frame),
        profile=profile,
        index_policy=index,
        index_hashed=index_is_hashed(frame, index),
        index_schema=index_schema_of(frame),
        source_path=source.source_path,
        source_sha256=source_sha,
    )


def schema_of(frame: pd.DataFrame) -> tuple[ColumnSchema, ...]:
    """One :class:`ColumnSchema` per column of ``frame``, in order."""
    return tuple(_column_schema(label, column) for label, column in frame.items())


def index_schema_of(frame: pd.DataFrame) -> tuple[ColumnSchema, ...]:
    """One :class:`ColumnSchema` per index level of ``frame`` (unnamed levels: ``""``)."""
    index = frame.index
    return tuple(
        _column_schema(index.names[level], index.get_level_values(level))
        for level in range(index.nlevels)
    )


def _snapshot_name(name: str | None, data: Any, source: ResolvedInput) -> str:
    if name is not None:
        if not isinstance(name, str) or not name.strip():
            raise InvalidInputError(
                f"A snapshot name must be a non-empty string, not {name!r}",
                hint='Name it after what it holds, e.g. name="train".',
            )
        return name
    if source.source is not None:
        stem = source.source.name
        for known in (COMPRESSION_SUFFIXES, CSV_SUFFIXES + PARQUET_SUFFIXES):
            if Path(stem).suffix.lower() in known:
                stem = Path(stem).stem
        return stem or source.kind
    series_name = getattr(data, "name", None) if source.kind == "series" else None
    if isinstance(series_name, str) and series_name:
        return series_name
    return source.kind


def _column_schema(label: object, values: Any) -> ColumnSchema:
    import pandas as pd

    dtype = values.dtype
    nullable = not (isinstance(dtype, np.dtype) and dtype.kind in "biu")
    return ColumnSchema(
        name="" if label is None else str(label),
        dtype=str(dtype),
        nullable=nullable,
        null_count=int(pd.isna(values).sum()) if nullable else 0,
    )


def index_dtypes(index: pd.Index) -> str:
    return ", ".join(str(index.get_level_values(level).dtype) for level in range(index.nlevels))
