"""Parameter values for a pipeline run, parsed by each parameter's declared type.

``-p lr=0.5`` on the command line arrives here as the string ``"0.5"`` and becomes
the float 0.5 because the notebook's ``parameters`` cell declared ``lr = 0.1``.

    parse_parameters(spec, ["lr=0.5", "features=['a', 'b']"])
    # {"lr": 0.5, "depth": 6, "features": ["a", "b"], ...}   (defaults for the rest)
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import InvalidInputError
from .spec import ParameterSpec, PipelineSpec

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}
_NONE = {"none", "null", ""}


def parse_parameters(
    spec: PipelineSpec, overrides: Mapping[str, Any] | Iterable[str] | None = None
) -> dict[str, Any]:
    """All parameter values for a run: the defaults, replaced by ``overrides``.

    ``overrides`` is a mapping (values that are strings are parsed, others checked)
    or ``name=value`` strings as given to ``-p``.
    """
    values = {p.name: p.default for p in spec.parameters}
    if overrides is None:
        return values
    pairs: list[tuple[str, Any]]
    if isinstance(overrides, Mapping):
        pairs = list(overrides.items())
    else:
        pairs = [split_pair(item) for item in overrides]
    known = ", ".join(p.name for p in spec.parameters) or "none"
    for name, raw in pairs:
        parameter = spec.parameter(name)
        if parameter is None:
            raise InvalidInputError(
                f'Pipeline "{spec.name}" has no parameter "{name}"',
                hint=f"Its parameters are: {known}.",
            )
        values[name] = coerce(parameter, raw)
    return values


def coerce(parameter: ParameterSpec, raw: Any) -> Any:
    """``raw`` (a string from the command line, or a Python value) as ``parameter``'s type."""
    if isinstance(raw, str):
        return _parse_text(parameter, raw)
    if raw is None and (parameter.nullable or parameter.type == "none"):
        return None
    expected = parameter.type
    ok = {
        "int": isinstance(raw, int) and not isinstance(raw, bool),
        "float": isinstance(raw, (int, float)) and not isinstance(raw, bool),
        "bool": isinstance(raw, bool),
        "list": isinstance(raw, (list, tuple)),
        "dict": isinstance(raw, dict),
        "none": True,
        "str": False,
    }[expected]
    if not ok:
        raise _bad(parameter, repr(raw))
    if expected == "float":
        return float(raw)
    if expected == "list":
        return list(raw)
    return raw


def _parse_text(parameter: ParameterSpec, text: str) -> Any:
    expected = parameter.type
    stripped = text.strip()
    if (parameter.nullable or expected == "none") and stripped.lower() in _NONE - {""}:
        return None
    if expected == "str":
        return text
    try:
        if expected == "int":
            return int(stripped)
        if expected == "float":
            return float(stripped)
        if expected == "bool":
            lowered = stripped.lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
            raise ValueError(text)
        if expected in ("list", "dict"):
            value = _literal(stripped)
            if expected == "list" and isinstance(value, tuple):
                value = list(value)
            if not isinstance(value, list if expected == "list" else dict):
                raise ValueError(text)
            return value
        if expected == "none":  # declared as None: a literal if it is one, else text
            try:
                return _literal(stripped) if stripped else None
            except ValueError:
                return text
    except ValueError:
        raise _bad(parameter, repr(text)) from None
    raise _bad(parameter, repr(text))


def _literal(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        raise ValueError(text) from exc


def split_pair(item: str) -> tuple[str, str]:
    """``"lr=0.5"`` -> ``("lr", "0.5")``; anything without ``=`` is refused."""
    name, eq, value = str(item).partition("=")
    if not eq or not name.strip():
        raise InvalidInputError(
            f"Parameter override {item!r} is not name=value",
            hint="Write it as -p lr=0.5",
        )
    return name.strip(), value


_EXAMPLES = {
    "int": "10",
    "float": "0.5",
    "bool": "true",
    "str": "text",
    "list": "'[1, 2]'",
    "dict": "'{\"a\": 1}'",
    "none": "null",
}


def _bad(parameter: ParameterSpec, shown: str) -> InvalidInputError:
    kind = parameter.type + (" or None" if parameter.nullable else "")
    return InvalidInputError(
        f'Parameter "{parameter.name}" expects {kind}, got {shown}',
        hint=f"For example: -p {parameter.name}={_EXAMPLES[parameter.type]}"
        f" (default {parameter.default!r}).",
    )
