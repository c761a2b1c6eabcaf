"""What may be recorded: metric values, names, parameters as stored and read back."""

from __future__ import annotations

import json
import math
import numbers
import os
from typing import Any

from ..errors import InvalidInputError

STATUSES = ("running", "finished", "failed", "killed", "crashed")


_MAX_KEY_LENGTH = 250


def new_id() -> str:
    """A fresh 12-hex-digit run id (48 random bits)."""
    return os.urandom(6).hex()


def metric_value(key: str, value: object) -> float:
    """``value`` as a float, or :class:`InvalidInputError` naming the metric.

    Numbers of any kind (int, float, bool, numpy scalars, 0-d arrays, tensors with one
    element) are accepted; NaN and infinities are kept as they are.
    """
    kind = type(value)
    if kind is float:
        return value  # type: ignore[return-value]
    if kind is int:
        return float(value)  # type: ignore[arg-type]
    if isinstance(value, (str, bytes)) or value is None:
        raise InvalidInputError(
            f'Metric "{key}" must be a number, got {kind.__name__} {value!r:.60}',
            hint="Log numbers only; record text with tags (%mlops tag) or params.",
        )
    if isinstance(value, numbers.Real):
        return float(value)
    to_float = getattr(value, "__float__", None)
    if to_float is not None:
        try:
            return float(to_float())
        except (TypeError, ValueError):
            pass
    raise InvalidInputError(
        f'Metric "{key}" must be a number, got {kind.__name__}',
        hint="Log a single number per key, e.g. mlops.log(accuracy=float(acc)).",
    )


def check_key(kind: str, key: object) -> str:
    if not isinstance(key, str) or not key.strip():
        raise InvalidInputError(
            f"A {kind} name must be a non-empty string, got {key!r}",
            hint=f"Name the {kind}, e.g. accuracy=0.9.",
        )
    if len(key) > _MAX_KEY_LENGTH:
        raise InvalidInputError(f"The {kind} name {key[:40]!r}... is longer than {_MAX_KEY_LENGTH}")
    return key


def encode_param(value: Any) -> tuple[Any, str]:
    """(value as stored in SQLite, its type name); see :func:`decode_param`."""
    if (
        hasattr(value, "item")
        and type(value).__module__ == "numpy"
        and getattr(value, "ndim", 1) == 0
    ):
        value = value.item()
    if value is None:
        return None, "none"
    if isinstance(value, bool):
        return int(value), "bool"
    if isinstance(value, int):
        return (value, "int") if -(2**63) <= value < 2**63 else (str(value), "int")
    if isinstance(value, float):
        return (value, "float") if not math.isnan(value) else ("nan", "float")
    if isinstance(value, str):
        return value, "str"
    if isinstance(value, (list, tuple)):
        try:
            return json.dumps(list(value)), "list"
        except (TypeError, ValueError):
            pass
    if isinstance(value, dict):
        try:
            return json.dumps(value), "dict"
        except (TypeError, ValueError):
            pass
    return repr(value)[:2000], "other"


def decode_param(stored: Any, type_name: str) -> Any:
    """The Python value of a stored parameter."""
    if type_name == "bool":
        return bool(stored)
    if type_name == "int" and isinstance(stored, str):
        return int(stored)
    if type_name == "float" and isinstance(stored, str):
        return float(stored)
    if type_name in ("list", "dict"):
        return json.loads(stored)
    return stored
