"""Materialized snapshots: the data itself stored as parquet, and read back exactly.

    sha = materialize(train_df, store)          # parquet, named by its sha256
    same = load_materialized(
        sha, store, expected_fingerprint=snap.fingerprint, scheme=snap.fingerprint_scheme
    )

Parquet does not keep every dtype. :func:`materialize` checks the round trip by reading
the file back (strings as ``string[pyarrow]``, pandas 3's way, with pandas 2 too) and
refuses, naming the columns, data that would come back different. With pandas 3.1 and
pyarrow 26 as with pandas 2.0 and pyarrow 14: complex numbers, sparse and mixed-type
object columns and duplicate column names cannot be written at all; ``datetime64[s]``
comes back as ``datetime64[ms]``, categoricals of numbers as plain numbers,
``string[python]`` as ``string[pyarrow]``, a nullable ``Int64`` index level as ``int64``,
and lists in object columns as arrays. Everything else in ``tests/test_snapshots.py``'s
mixed frame (bool, ints, floats, datetimes with and without a timezone, timedeltas,
categoricals of strings, ``str``, ``string[pyarrow]``, ``Int64``/``Float64``/``boolean``,
Arrow ints, periods) round-trips with its fingerprint, under every index policy.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ArtifactIntegrityError, InvalidInputError
from ..registry.artifacts import ArtifactStore
from .fingerprint import SCHEME, check_index_policy, fingerprint_frame, scheme_of
from .inputs import resolve_input
from .snapshot import index_dtypes

if TYPE_CHECKING:
    import pandas as pd


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
    frame = resolve_input(data).frame
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
    scheme: str = SCHEME,
) -> pd.DataFrame:
    """The DataFrame stored by :func:`materialize` under ``sha``.

    The file's bytes are checked against ``sha`` before it is read (a changed file is
    refused with ArtifactIntegrityError). With ``expected_fingerprint`` the loaded frame
    is also fingerprinted (under ``index`` and ``scheme``, the scheme the expected
    fingerprint was recorded with) and compared, which catches a pandas or pyarrow that
    reads the same bytes differently.

        df = load_materialized(
            sha, store, expected_fingerprint=snap.fingerprint, scheme=snap.fingerprint_scheme
        )
    """

    check_index_policy(index)
    if expected_fingerprint is not None:
        scheme_of(scheme)  # an unknown scheme is refused before the file is read
    path = store.verified_path(sha)
    try:
        frame = _read_materialized(path)
    except Exception as exc:  # pyarrow raises many types for a bad file
        raise ArtifactIntegrityError(
            f"Artifact {sha[:12]} is not a readable parquet file: {exc}",
            hint="It was not stored by materialize(); check which snapshot points at it.",
        ) from exc
    if expected_fingerprint is not None:
        actual = fingerprint_frame(frame, index=index, scheme=scheme)
        if actual != expected_fingerprint:
            raise ArtifactIntegrityError(
                f"Artifact {sha[:12]} loads as data with fingerprint {actual[:12]},"
                f" not the expected {expected_fingerprint[:12]} ({scheme})",
                hint="The data was written or is read by a different pandas/pyarrow version,"
                " or the fingerprint belongs to another snapshot.",
            )
    return frame


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
                f"the index ({index_dtypes(original.index)}) comes back as"
                f" {index_dtypes(stored.index)}"
            )
    if not problems:
        problems.append("the column-axis names or labels changed")
    return "; ".join(problems[:5]) + ("; ..." if len(problems) > 5 else "")


def _read_materialized(path: Path) -> pd.DataFrame:
    """A materialized file as a frame, its strings as ``string[pyarrow]`` whatever the pandas
    (pandas 3 reads them so; pandas 2 would make them ``string[python]``)."""
    import pandas as pd

    with pd.option_context("mode.string_storage", "pyarrow"):
        return pd.read_parquet(path, engine="pyarrow")
