"""How values travel between pipeline steps: one file per value, in a stated format.

=========  ==========================================  =================================
format     used for                                    written with
=========  ==========================================  =================================
json       None, bool, int, float, str, and lists and   ``json`` (NaN and infinity kept)
           dicts made only of those (string keys)
parquet    pandas DataFrames with string column names   ``DataFrame.to_parquet`` (pyarrow)
joblib     everything else: models, arrays, Series...   ``joblib.dump``
=========  ==========================================  =================================

Files are stored in the registry's content-addressed :class:`ArtifactStore`, so the
same value written twice costs nothing and a changed file is refused on load.

    fmt, sha = save_value(store, {"lr": 0.1})      # ("json", "ab12...")
    load_value(store, sha, fmt)                    # {"lr": 0.1}
"""

from __future__ import annotations

import json
import logging
import pickle
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError
from ..registry.artifacts import ArtifactStore

FORMATS = ("json", "parquet", "joblib")
logger = logging.getLogger(__name__)
_JSON_SCALARS = (type(None), bool, int, float, str)
_EXTENSIONS = {"json": ".json", "parquet": ".parquet", "joblib": ".joblib"}


def choose_format(value: Any) -> str:
    """The format a value is saved in (see the module table)."""
    if _is_plain_json(value):
        return "json"
    if _is_parquet_frame(value):
        return "parquet"
    return "joblib"


def save_value(store: ArtifactStore, value: Any) -> tuple[str, str]:
    """Save ``value`` into ``store``; return ``(format, sha256)``."""
    fmt = choose_format(value)
    if fmt == "json":
        return fmt, store.put_bytes(_json_bytes(value))
    if fmt == "parquet":
        try:
            return fmt, store.put_path_writer(lambda path: _write_parquet(value, path))
        except Exception as exc:  # noqa: BLE001 - pyarrow raises many kinds; joblib always works
            logger.info("Saving a DataFrame as parquet failed (%s); using joblib", exc)
    return "joblib", store.put_path_writer(lambda path: _write_joblib(value, path))


def write_value_file(value: Any, directory: Path) -> Path:
    """Write ``value`` as ``directory/value.<ext>`` (for engines that hand out paths)."""
    directory.mkdir(parents=True, exist_ok=True)
    fmt = choose_format(value)
    target = directory / f"value{_EXTENSIONS[fmt]}"
    if fmt == "json":
        target.write_bytes(_json_bytes(value))
        return target
    if fmt == "parquet":
        try:
            _write_parquet(value, target)
            return target
        except Exception:  # noqa: BLE001 - any parquet failure falls back to joblib
            target.unlink(missing_ok=True)
    target = directory / "value.joblib"
    _write_joblib(value, target)
    return target


def read_value_file(directory: Path) -> Any:
    """Read a value written by :func:`write_value_file`."""
    for fmt, extension in _EXTENSIONS.items():
        candidate = directory / f"value{extension}"
        if candidate.is_file():
            return _read_path(candidate, fmt)
    raise InvalidInputError(
        f"{directory} holds no value file (value.json, value.parquet or value.joblib)",
        hint="The step that should have produced it did not finish.",
    )


def load_value(store: ArtifactStore, sha: str, fmt: str) -> Any:
    """Load a value saved by :func:`save_value`, after checking its hash."""
    if fmt not in FORMATS:
        raise InvalidInputError(
            f'Unknown artifact format "{fmt}"', hint=f"Known formats: {', '.join(FORMATS)}"
        )
    return _read_path(store.verified_path(sha), fmt)


def serialization_problem(value: Any) -> str | None:
    """Why ``value`` cannot be saved between steps, or None when it can.

    Checks the value itself (pickling into a sink that keeps no bytes), so open files,
    connections, locks, generators and objects of classes defined in the notebook's
    ``__main__`` are caught before a pipeline is written.
    """
    fmt = choose_format(value)
    if fmt in ("json", "parquet"):
        return None
    kind = type(value)
    if kind.__module__ == "__main__":
        return f"an object of the class {kind.__qualname__} defined in the notebook itself"
    try:
        pickle.dump(value, _NullSink(), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # noqa: BLE001 - any pickling failure is the answer
        return f"a {kind.__module__}.{kind.__qualname__} that cannot be pickled ({exc})"
    return None


class _NullSink:
    def write(self, data: bytes) -> int:
        return len(data)


def _is_plain_json(value: Any, depth: int = 0) -> bool:
    if depth > 50:
        return False
    if type(value) in _JSON_SCALARS:
        return True
    if type(value) is list:
        return all(_is_plain_json(item, depth + 1) for item in value)
    if type(value) is dict:
        return all(
            type(key) is str and _is_plain_json(item, depth + 1) for key, item in value.items()
        )
    return False


def _is_parquet_frame(value: Any) -> bool:
    kind = type(value)
    if kind.__name__ != "DataFrame" or not kind.__module__.startswith("pandas"):
        return False
    return all(isinstance(column, str) for column in value.columns) and value.columns.is_unique


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True, sort_keys=False).encode("utf-8")


def _write_parquet(frame: Any, path: Path) -> None:
    frame.to_parquet(path, engine="pyarrow", index=True)


def _write_joblib(value: Any, path: Path) -> None:
    import joblib

    joblib.dump(value, path)


def _read_path(path: Path, fmt: str) -> Any:
    if fmt == "json":
        return json.loads(path.read_bytes())
    if fmt == "parquet":
        import pandas as pd

        return pd.read_parquet(path, engine="pyarrow")
    import joblib

    return joblib.load(path)
