"""Model signatures: the input columns a model expects, with their dtypes.

A signature is learned when a model is registered: from the training snapshot's schema
(the columns and dtypes of the data it was fitted on), else from what a fitted
scikit-learn estimator remembers (``feature_names_in_``, ``n_features_in_``), or given
explicitly. It is stored as JSON with the model version.

    learn_signature(model, "churn-train", {"age": "int64", "plan": "category", "churned": "bool"})
    # ModelSignature(columns=(age int64, plan category), n_features=2, source='snapshot churn-train')
    # when the model was fitted on age and plan only
"""

from __future__ import annotations

import json
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInputError


@dataclass(frozen=True)
class SignatureColumn:
    """One input column a model expects; ``dtype`` is ``None`` when it is not known."""

    name: str
    dtype: str | None = None


@dataclass(frozen=True)
class ModelSignature:
    """What a model takes as input: its columns (names and dtypes) and how many.

    ``source`` says where it was learned: ``snapshot NAME`` (the training data's schema),
    ``feature_names_in_`` or ``n_features_in_`` (the fitted estimator), or ``given``.
    """

    columns: tuple[SignatureColumn, ...]
    n_features: int | None
    source: str

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "n_features": self.n_features,
            "columns": [{"name": c.name, "dtype": c.dtype} for c in self.columns],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelSignature:
        return cls(
            columns=tuple(
                SignatureColumn(str(c["name"]), None if c.get("dtype") is None else str(c["dtype"]))
                for c in data.get("columns", ())
            ),
            n_features=None if data.get("n_features") is None else int(data["n_features"]),
            source=str(data.get("source", "")),
        )


def signature_of(signature: object) -> ModelSignature:
    """A signature given by the user: a DataFrame of inputs, ``{column: dtype}``, or names.

    >>> signature_of({"age": "int64", "plan": "category"}).names
    ('age', 'plan')
    """
    if isinstance(signature, ModelSignature):
        return signature
    columns = getattr(signature, "columns", None)
    dtypes = getattr(signature, "dtypes", None)
    if columns is not None and dtypes is not None:  # a DataFrame
        cols = tuple(SignatureColumn(str(n), str(d)) for n, d in zip(columns, dtypes))
        return ModelSignature(cols, len(cols), "given")
    if isinstance(signature, Mapping):
        cols = tuple(
            SignatureColumn(str(n), None if d is None else str(d)) for n, d in signature.items()
        )
        return ModelSignature(cols, len(cols), "given")
    if isinstance(signature, Sequence) and not isinstance(signature, str):
        cols = tuple(SignatureColumn(str(n)) for n in signature)
        return ModelSignature(cols, len(cols), "given")
    raise InvalidInputError(
        f"A signature cannot be made from {type(signature).__name__}",
        hint="Give a DataFrame of inputs, a {column: dtype} dict, or a list of column names.",
    )


def learn_signature(
    model: object, snapshot_name: str | None, schema: Mapping[str, str]
) -> ModelSignature | None:
    """What a model takes, learned from the training snapshot's schema ``{column: dtype}``
    (limited to the model's own ``feature_names_in_`` when it has them, so a target column
    in the same table is left out), else from the fitted estimator's ``feature_names_in_``
    or ``n_features_in_``; ``None`` when nothing says.
    """
    names = _feature_names(model)
    n_features = getattr(model, "n_features_in_", None)
    n_features = int(n_features) if isinstance(n_features, numbers.Integral) else None
    if schema:
        source = f"snapshot {snapshot_name}"
        if names is not None:
            if all(n in schema for n in names):
                cols = tuple(SignatureColumn(n, schema[n]) for n in names)
                return ModelSignature(cols, len(cols), source)
        elif n_features is None or n_features == len(schema):
            cols = tuple(SignatureColumn(n, d) for n, d in schema.items())
            return ModelSignature(cols, len(cols), source)
    if names is not None:
        cols = tuple(SignatureColumn(n) for n in names)
        return ModelSignature(cols, len(cols), "feature_names_in_")
    if n_features is not None:
        return ModelSignature((), n_features, "n_features_in_")
    return None


def _feature_names(model: object) -> tuple[str, ...] | None:
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        return None
    try:
        return tuple(str(n) for n in names)
    except TypeError:
        return None


def schema_dtypes(stored: str | None) -> dict[str, str]:
    """``{column: dtype}`` from a snapshot's stored schema (a list of column entries)."""
    try:
        schema = json.loads(stored or "null")
    except ValueError:
        return {}
    entries = schema.get("columns", ()) if isinstance(schema, dict) else schema or ()
    found = {}
    for entry in entries:
        if isinstance(entry, dict) and "name" in entry:
            found[str(entry["name"])] = str(entry.get("dtype", ""))
    return found
