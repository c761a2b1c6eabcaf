"""What can be snapshotted: DataFrames, Series, arrays and CSV or parquet files, read as a frame.

Inputs: a pandas DataFrame or Series, a 1-D or 2-D numpy array, or the path (``str`` or
``pathlib.Path``) of a CSV file (``.csv``, ``.tsv``, compressed ``.csv.gz`` and the like)
or a parquet file or directory (``.parquet``, ``.pq``). Files are read with pandas'
defaults (CSV floats exactly, with pandas 2 as with 3); read them yourself and pass the
frame when you need other options.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InvalidInputError, NotFoundError
from .encoding import type_name

if TYPE_CHECKING:
    import pandas as pd


INPUT_KINDS = ("dataframe", "series", "ndarray", "csv", "parquet")


CSV_SUFFIXES = (".csv", ".tsv")


COMPRESSION_SUFFIXES = (".gz", ".bz2", ".zip", ".xz", ".zst")


PARQUET_SUFFIXES = (".parquet", ".pq")


_SUPPORTED = (
    "a pandas DataFrame or Series, a 1-D or 2-D numpy array, or the path of a CSV or parquet file"
)


@dataclass(frozen=True)
class ResolvedInput:
    frame: pd.DataFrame
    kind: str
    source_path: str | None = None
    source: Path | None = None


def as_frame(data: Any) -> pd.DataFrame:
    """``data`` as a pandas DataFrame, without copying a frame or an array.

    A Series becomes a one-column frame (its name, or ``0``), an array a frame with
    columns ``0..k-1``, a path is read with pandas (CSV or parquet by its suffix).

        as_frame(np.arange(6).reshape(3, 2)).shape       # (3, 2)
        as_frame("data/train.parquet")                   # pd.read_parquet(...)
    """
    return resolve_input(data).frame


def resolve_input(data: Any) -> ResolvedInput:
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return ResolvedInput(data, "dataframe")
    if isinstance(data, pd.Series):
        return ResolvedInput(data.to_frame(), "series")
    if isinstance(data, np.ndarray):
        return ResolvedInput(_frame_of_array(data), "ndarray")
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


def _read_path(data: str | os.PathLike[str]) -> ResolvedInput:
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
    return ResolvedInput(frame, kind, source_path=given, source=path)


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
