"""What may be recorded: metric values, names, parameters as stored and read back."""

from __future__ import annotations

import json
import math
import numbers
import os
from typing import Any

from ..errors import InvalidInputError
from .secrets import REDACTED_TYPE, Withheld, redact_code

STATUSES = ("running", "finished", "failed", "killed", "crashed")


_MAX_KEY_LENGTH = 250

# The part of an object's repr checked for secrets before the first 2,000 characters are kept.
_MAX_REPR_SCANNED = 8000

# SQLite stores integers in 64 bits: steps must fit.
STEP_MIN = -(2**63)
STEP_MAX = 2**63 - 1


ID_BITS = 128
"""Random bits of a fresh id (runs, snapshots, gate evaluations, drift reports).

Registries merge by id, so ids must not collide across a team. By the birthday bound
the chance that ``n`` ids share a value is about ``n * (n - 1) / 2 / 2**bits``: for 50
people recording 100,000 runs each (n = 5,000,000) it stays below 1e-12 from 84 bits on
(:func:`bits_needed`); 128 bits give about 4e-26, and the 48 bits of the ids made before
gave about 4%. Ids made before stay valid: an id is any text, found whole or by a prefix.
See docs/teams.md.
"""


def new_id() -> str:
    """A fresh id: 32 hex digits, :data:`ID_BITS` (128) random bits from the OS."""
    return os.urandom(ID_BITS // 8).hex()


def collision_probability(n: int, bits: int = ID_BITS) -> float:
    """The chance that ``n`` random ids of ``bits`` bits are not all distinct (birthday
    bound, ``1 - exp(-n(n-1)/2 / 2**bits)``, exact enough for any n that matters)."""
    return -math.expm1(-n * (n - 1) / 2 / 2.0**bits)


def bits_needed(n: int, probability: float) -> int:
    """The fewest random bits for which ``n`` ids collide with less than ``probability``."""
    bits = 1
    while collision_probability(n, bits) >= probability:
        bits += 1
    return bits


def metric_value(key: str, value: object) -> float:
    """``value`` as a float, or :class:`InvalidInputError` naming the metric.

    Numbers of any kind (int, float, bool, numpy scalars, 0-d arrays, tensors with one
    element) are accepted; NaN and infinities are kept as they are.
    """
    kind = type(value)
    if kind is float:
        return value  # type: ignore[return-value]
    try:
        return _as_float(key, value, kind)
    except OverflowError:
        raise InvalidInputError(
            f'Metric "{key}" is too large for a float: {str(value)[:30]}...',
            hint="Log a number below 1.8e308, e.g. its logarithm (math.log10).",
        ) from None


def _as_float(key: str, value: object, kind: type) -> float:
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


def check_step(step: object) -> int:
    """``step`` as an int that SQLite can store, or :class:`InvalidInputError`."""
    if type(step) is not int and (isinstance(step, bool) or not isinstance(step, numbers.Integral)):
        raise InvalidInputError(
            f"step must be an integer, got {step!r}", hint="Pass the epoch or batch number."
        )
    at = int(step)
    if not STEP_MIN <= at < STEP_MAX:
        raise InvalidInputError(
            f"step {at} is out of range: steps are stored as 64-bit integers",
            hint=f"Use a step between {STEP_MIN} and {STEP_MAX - 1}.",
        )
    return at


def check_text(kind: str, key: str, text: str) -> str:
    """``text`` when SQLite can store it (valid UTF-8), else :class:`InvalidInputError`."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInputError(
            f"The {kind} {key[:40]!r} holds a character that is not valid text"
            f" ({text[exc.start : exc.end]!r} at position {exc.start})",
            hint="Decode bytes properly, or drop the lone surrogate characters.",
        ) from None
    return text


def valid_text(text: str) -> str:
    """``text`` with what SQLite cannot store as UTF-8 (lone surrogates) replaced by ``?``."""
    if text.isascii():  # no surrogate, and a check that does not copy the text
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def check_key(kind: str, key: object) -> str:
    if not isinstance(key, str) or not key.strip():
        raise InvalidInputError(
            f"A {kind} name must be a non-empty string, got {key!r}",
            hint=f"Name the {kind}, e.g. accuracy=0.9.",
        )
    if len(key) > _MAX_KEY_LENGTH:
        raise InvalidInputError(
            f"The {kind} name {key[:40]!r}... is longer than {_MAX_KEY_LENGTH}",
            hint=f"Shorten the {kind} name.",
        )
    return check_text(f"{kind} name", key, key)


def encode_param(value: Any) -> tuple[Any, str]:
    """(value as stored in SQLite, its type name); see :func:`decode_param`.

    A :class:`~.secrets.Withheld` value is stored as its reason with the type
    ``redacted``; the ``repr`` of other objects is stored with its secrets redacted.
    """
    if isinstance(value, Withheld):
        return value.text, REDACTED_TYPE
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
        return valid_text(value), "str"
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
    return valid_text(redact_code(repr(value)[:_MAX_REPR_SCANNED])[:2000]), "other"


def decode_param(stored: Any, type_name: str) -> Any:
    """The Python value of a stored parameter (a ``redacted`` one is its reason, as text)."""
    if type_name == "bool":
        return bool(stored)
    if type_name == "int" and isinstance(stored, str):
        return int(stored)
    if type_name == "float" and isinstance(stored, str):
        return float(stored)
    if type_name in ("list", "dict"):
        return json.loads(stored)
    return stored
