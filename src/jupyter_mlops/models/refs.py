"""How models, versions and aliases are named: ``churn``, ``churn@3``, ``churn@champion``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import InvalidInputError

RESERVED_ALIASES = frozenset({"latest", "params", "param", "metrics", "metric"})


_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


_ALIAS = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


_VERSION = re.compile(r"^v?([0-9]+)$")


@dataclass(frozen=True)
class ModelRef:
    """A parsed ``name[@version|@alias]``: exactly one of ``version`` / ``alias`` or neither."""

    name: str
    version: int | None = None
    alias: str | None = None

    @property
    def text(self) -> str:
        if self.version is not None:
            return f"{self.name}@{self.version}"
        return f"{self.name}@{self.alias}" if self.alias else self.name


def check_model_name(name: object) -> str:
    """``name`` if it can name a model (letters, digits, ``. _ -``), else InvalidInputError."""
    if not isinstance(name, str) or not _MODEL_NAME.match(name):
        raise InvalidInputError(
            f"{name!r} cannot name a model",
            hint="Use letters, digits, '.', '_' and '-' (up to 200), starting with a letter "
            "or digit, e.g. churn or churn-rf.",
        )
    return name


def check_alias(alias: object) -> str:
    """``alias`` if it can name an alias (an identifier usable in gate rules)."""
    if not isinstance(alias, str) or not _ALIAS.match(alias):
        raise InvalidInputError(
            f"{alias!r} cannot name an alias",
            hint="An alias is a name like champion or challenger: letters, digits and '_', "
            "starting with a letter, so that rules can say champion.accuracy.",
        )
    if alias in RESERVED_ALIASES:
        raise InvalidInputError(
            f'"{alias}" is reserved and cannot be an alias',
            hint="Choose another name, e.g. champion, challenger or staging.",
        )
    return alias


def parse_ref(text: object) -> ModelRef:
    """Read ``churn``, ``churn@3`` (or ``churn@v3``), ``churn@champion`` or ``churn@latest``.

    >>> parse_ref("churn@champion")
    ModelRef(name='churn', version=None, alias='champion')
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidInputError(
            f"{text!r} does not name a model",
            hint="Write NAME, NAME@VERSION or NAME@ALIAS, e.g. churn@champion.",
        )
    name, sep, selector = text.strip().partition("@")
    check_model_name(name)
    if not sep or selector == "latest":
        return ModelRef(name)
    number = _VERSION.match(selector)
    if number:
        version = int(number.group(1))
        if version < 1:
            raise InvalidInputError(f'"{text}": versions start at 1', hint=f"Try {name}@1.")
        return ModelRef(name, version=version)
    return ModelRef(name, alias=check_alias(selector))
