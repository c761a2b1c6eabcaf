"""Data snapshots: what a run read, identified by a fingerprint of its full content.

A snapshot records a table's fingerprint (every row, every dtype, see
:mod:`jupyter_mlops.fingerprinting`), its schema, its size, the index policy used and a
profile (:func:`jupyter_mlops.profiles.profile_frame`) that later serves as the reference
of a drift check. Nothing here touches the registry: the caller stores the snapshot
(``to_dict`` gives JSON-able columns) and, on request, the data itself as parquet in the
artifact store (:func:`materialize`).

    snap = take_snapshot(train_df, name="train")
    snap.fingerprint, snap.n_rows, snap.schema[0]
    sha = materialize(train_df, store)          # parquet, named by its sha256
    same = load_materialized(sha, store, expected_fingerprint=snap.fingerprint)

Inputs: a pandas DataFrame or Series, a 1-D or 2-D numpy array, or the path (``str`` or
``pathlib.Path``) of a CSV file (``.csv``, ``.tsv``, compressed ``.csv.gz`` and the like)
or a parquet file or directory (``.parquet``, ``.pq``). Files are read with pandas'
defaults (CSV floats exactly, with pandas 2 as with 3); read them yourself and pass the
frame when you need other options.

Parquet does not keep every dtype. :func:`materialize` checks the round trip by reading
the file back (strings as ``string[pyarrow]``, pandas 3's way, with pandas 2 too) and
refuses, naming the columns, data that would come back different. With pandas 3.1 and
pyarrow 26 as with pandas 2.0 and pyarrow 14: complex numbers, sparse and mixed-type
object columns and duplicate column names cannot be written at all; ``datetime64[s]``
comes back as ``datetime64[ms]``, categoricals of numbers as plain numbers,
``string[python]`` as ``string[pyarrow]``, a nullable ``Int64`` index level as ``int64``,
and lists in object columns as arrays. Everything else in ``tests/test_snapshots.py``'s mixed frame (bool, ints,
floats, datetimes with and without a timezone, timedeltas, categoricals of strings, ``str``,
``string[pyarrow]``, ``Int64``/``Float64``/``boolean``, Arrow ints, periods) round-trips
with its fingerprint, under every index policy.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .artifacts import ArtifactStore, sha256_file
from .errors import ArtifactIntegrityError, InvalidInputError, NotFoundError
from .fingerprinting import (
    SCHEME,
    check_index_policy,
    fingerprint_frame,
    index_is_hashed,
)
from .profiles import DataProfile, profile_frame
from .tagged_values import type_name

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

INPUT_KINDS = ("dataframe", "series", "ndarray", "csv", "parquet")
CSV_SUFFIXES = (".csv", ".tsv")
COMPRESSION_SUFFIXES = (".gz", ".bz2", ".zip", ".xz", ".zst")
PARQUET_SUFFIXES = (".parquet", ".pq")
_SUPPORTED = (
    "a pandas DataFrame or Series, a 1-D or 2-D numpy array, or the path of a CSV or parquet file"
)


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
                fingerprint_scheme=str(data.get("fingerprint_scheme", SCHEME)),
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


@dataclass(frozen=True)
class _Input:
    frame: pd.DataFrame
    kind: str
    source_path: str | None = None
    source: Path | None = None


# --------------------------------------------------------------------------- public


def as_frame(data: Any) -> pd.DataFrame:
    """``data`` as a pandas DataFrame, without copying a frame or an array.

    A Series becomes a one-column frame (its name, or ``0``), an array a frame with
    columns ``0..k-1``, a path is read with pandas (CSV or parquet by its suffix).

        as_frame(np.arange(6).reshape(3, 2)).shape       # (3, 2)
        as_frame("data/train.parquet")                   # pd.read_parquet(...)
    """
    return _resolve(data).frame


def fingerprint(data: Any, *, index: str = "auto") -> str:
    """The hex fingerprint of the full content of ``data`` (any input ``as_frame`` takes).

    Every row and every dtype count; equal data gives an equal fingerprint wherever it
    lives. ``index``: ``"auto"`` (default) leaves out a default RangeIndex and hashes any
    other index, ``"include"`` always hashes it, ``"ignore"`` never does.

        fingerprint(df) == fingerprint(df.copy())                   # True
        fingerprint(df) == fingerprint(df.iloc[[1, 0, 2]])          # False: row order
        fingerprint(df, index="ignore") == fingerprint(df.reset_index(drop=True))  # True
    """
    check_index_policy(index)
    return fingerprint_frame(_resolve(data).frame, index=index)


def take_snapshot(data: Any, *, name: str | None = None, index: str = "auto") -> DataSnapshot:
    """Fingerprint, schema and profile of ``data`` in one frozen :class:`DataSnapshot`.

    ``name`` defaults to the file name without its suffixes for a path, the Series
    name for a named Series, else the input kind (``"dataframe"``...).

        snap = take_snapshot(df, name="train")
        snap.n_rows, snap.fingerprint[:12], snap.profile.column("age").mean
    """
    check_index_policy(index)
    source = _resolve(data)
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


def materialize(
    data: Any, store: ArtifactStore, *, index: str = "auto", verify: bool = True
) -> str:
    """Store ``data`` as a parquet file in ``store``; return the file's sha256.

    Under ``index="ignore"`` the index is not written. With ``verify`` (default) the file
    is read back and its fingerprint compared with the data's, so what was stored is
    exactly what :func:`load_materialized` will return; data that parquet would change
    is refused with the columns named (the file stays in the store, unreferenced).

        sha = materialize(df, ArtifactStore(Path(".mlops/artifacts")))
    """

    check_index_policy(index)
    frame = _resolve(data).frame
    # Without columns, parquet would keep no rows: the index is then written as a column.
    write_index = True if frame.shape[1] == 0 else (False if index == "ignore" else None)

    def write(path: Path) -> None:
        frame.to_parquet(path, engine="pyarrow", index=write_index)

    sha = _write_parquet(store, write)
    if verify:
        expected = fingerprint_frame(frame, index=index)
        stored = _read_materialized(store.verified_path(sha))
        if fingerprint_frame(stored, index=index) != expected:
            raise InvalidInputError(
                "The data would not come back the same from parquet: "
                + _describe_difference(frame, stored, index),
                hint="Convert those columns to a type parquet keeps (see the "
                "jupyter_mlops.snapshots docs), or snapshot the data without materializing it.",
            )
    return sha


def load_materialized(
    sha: str,
    store: ArtifactStore,
    *,
    expected_fingerprint: str | None = None,
    index: str = "auto",
) -> pd.DataFrame:
    """The DataFrame stored by :func:`materialize` under ``sha``.

    The file's bytes are checked against ``sha`` before it is read (a changed file is
    refused with ArtifactIntegrityError). With ``expected_fingerprint`` the loaded frame
    is also fingerprinted (under ``index``) and compared, which catches a pandas or
    pyarrow that reads the same bytes differently.

        df = load_materialized(sha, store, expected_fingerprint=snap.fingerprint)
    """

    check_index_policy(index)
    path = store.verified_path(sha)
    try:
        frame = _read_materialized(path)
    except Exception as exc:  # pyarrow raises many types for a bad file
        raise ArtifactIntegrityError(
            f"Artifact {sha[:12]} is not a readable parquet file: {exc}",
            hint="It was not stored by materialize(); check which snapshot points at it.",
        ) from exc
    if expected_fingerprint is not None:
        actual = fingerprint_frame(frame, index=index)
        if actual != expected_fingerprint:
            raise ArtifactIntegrityError(
                f"Artifact {sha[:12]} loads as data with fingerprint {actual[:12]},"
                f" not the expected {expected_fingerprint[:12]}",
                hint="The data was written or is read by a different pandas/pyarrow version,"
                " or the fingerprint belongs to another snapshot.",
            )
    return frame


# --------------------------------------------------------------------------- inputs


def _read_materialized(path: Path) -> pd.DataFrame:
    """A materialized file as a frame, its strings as ``string[pyarrow]`` whatever the pandas
    (pandas 3 reads them so; pandas 2 would make them ``string[python]``)."""
    import pandas as pd

    with pd.option_context("mode.string_storage", "pyarrow"):
        return pd.read_parquet(path, engine="pyarrow")


def _resolve(data: Any) -> _Input:
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return _Input(data, "dataframe")
    if isinstance(data, pd.Series):
        return _Input(data.to_frame(), "series")
    if isinstance(data, np.ndarray):
        return _Input(_frame_of_array(data), "ndarray")
    if isinstance(data, (str, os.PathLike)):
        return _read_path(data)
    raise InvalidInputError(
        f"Cannot snapshot a {type_name(data)}: supported inputs are {_SUPPORTED}",
        hint="Convert it first, e.g. pd.DataFrame(records), polars_df.to_pandas()"
        " or arrow_table.to_pandas().",
    )


def _frame_of_array(array: np.ndarray) -> pd.DataFrame:
    import pandas as pd

    if array.ndim not in (1, 2):
        raise InvalidInputError(
            f"Cannot snapshot a {array.ndim}-D array of shape {array.shape}: only 1-D and 2-D"
            " arrays are tables",
            hint="Reshape it, e.g. array.reshape(len(array), -1), or snapshot each slice.",
        )
    try:
        return pd.DataFrame(array, copy=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"Cannot make a table of an array of dtype {array.dtype}: {exc}",
            hint="Convert it to a plain numeric or object array first.",
        ) from exc


def _read_path(data: str | os.PathLike[str]) -> _Input:
    import pandas as pd

    given = os.fspath(data)
    path = Path(given).expanduser()
    kind = _kind_of_path(path)
    if not path.exists():
        raise NotFoundError(
            f'No file at "{given}"',
            hint=f"Check the path; a relative path is read from {Path.cwd()}.",
        )
    if path.is_dir() and kind != "parquet":
        raise InvalidInputError(
            f'"{given}" is a directory, not a {kind.upper()} file',
            hint="Give the path of one file; only parquet datasets may be directories.",
        )
    try:
        if kind == "parquet":
            frame = pd.read_parquet(path, engine="pyarrow")
        else:
            separator = "\t" if _suffixes_without_compression(path)[-1:] == [".tsv"] else ","
            # pandas 3 parses floats exactly, pandas 2 only when asked (3 deprecates asking):
            # the same file gives the same values and fingerprint under both
            exact = {"float_precision": "round_trip"} if pd.__version__[:2] == "2." else {}
            frame = pd.read_csv(path, sep=separator, **exact)
    except Exception as exc:  # parsers raise many types: empty, binary, corrupt, unreadable
        raise InvalidInputError(
            f'Could not read "{given}" as {kind.upper()}: {type(exc).__name__}: {exc}',
            hint="Check that the file is complete and really is "
            f"{'parquet' if kind == 'parquet' else 'comma- or tab-separated text'};"
            " or read it yourself with pandas and snapshot the DataFrame.",
        ) from exc
    return _Input(frame, kind, source_path=given, source=path)


def _suffixes_without_compression(path: Path) -> list[str]:
    suffixes = [suffix.lower() for suffix in path.suffixes]
    if suffixes and suffixes[-1] in COMPRESSION_SUFFIXES:
        suffixes = suffixes[:-1]
    return suffixes


def _kind_of_path(path: Path) -> str:
    suffixes = [suffix.lower() for suffix in path.suffixes]
    if suffixes and suffixes[-1] in PARQUET_SUFFIXES:
        return "parquet"
    plain = _suffixes_without_compression(path)
    if plain and plain[-1] in CSV_SUFFIXES:
        return "csv"
    raise InvalidInputError(
        f'Cannot tell the format of "{path}" from its name',
        hint="Supported: "
        + ", ".join(CSV_SUFFIXES + PARQUET_SUFFIXES)
        + " (CSV may be compressed: "
        + ", ".join(COMPRESSION_SUFFIXES)
        + "). Or read the file with pandas and snapshot the DataFrame.",
    )


def _snapshot_name(name: str | None, data: Any, source: _Input) -> str:
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


# --------------------------------------------------------------------------- schema


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


# --------------------------------------------------------------------------- parquet


def _write_parquet(store: ArtifactStore, write: Callable[[Path], None]) -> str:
    import pyarrow as pa

    try:
        return store.put_path_writer(write)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"The data cannot be written as parquet: {exc}",
            hint="Parquet needs unique column names and one type per column; it cannot"
            " store complex numbers or sparse columns. Convert those columns"
            " (e.g. df[col].astype(str)) or snapshot the data without materializing it.",
        ) from exc


def _describe_difference(original: pd.DataFrame, stored: pd.DataFrame, index: str) -> str:
    """Which columns (or the index, or the names) parquet changed, in words."""
    import pandas as pd

    problems: list[str] = []
    if len(original) != len(stored):
        problems.append(f"{len(stored)} rows come back instead of {len(original)}")
    elif list(original.columns) != list(stored.columns):
        problems.append(f"the column names come back as {list(stored.columns)[:10]}")
    else:
        for position, label in enumerate(original.columns):
            before, after = original.iloc[:, position], stored.iloc[:, position]
            if before.dtype != after.dtype:
                problems.append(f'column "{label}" ({before.dtype}) comes back as {after.dtype}')
            elif fingerprint_frame(before.to_frame(), index="ignore") != fingerprint_frame(
                after.to_frame(), index="ignore"
            ):
                problems.append(f'column "{label}" ({before.dtype}) comes back with other values')
    if index != "ignore" and not problems:
        before_index = pd.DataFrame(index=original.index)
        after_index = pd.DataFrame(index=stored.index)
        if fingerprint_frame(before_index, index=index) != fingerprint_frame(
            after_index, index=index
        ):
            problems.append(
                f"the index ({_index_dtypes(original.index)}) comes back as"
                f" {_index_dtypes(stored.index)}"
            )
    if not problems:
        problems.append("the column-axis names or labels changed")
    return "; ".join(problems[:5]) + ("; ..." if len(problems) > 5 else "")


def _index_dtypes(index: pd.Index) -> str:
    return ", ".join(str(index.get_level_values(level).dtype) for level in range(index.nlevels))
