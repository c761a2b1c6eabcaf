"""A request's rows checked against the input signature of the version that scores them.

    frame = rows_for_signature(version.signature, frame, model_ref="churn@3")

A column the signature names and the request lacks, or a column of text where the model
was trained on numbers, is refused with an :class:`InvalidInputError` naming the column,
so the client gets a 4xx that says what to send. Columns the model does not take are
dropped; the rest are put in the order the model was fitted with.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import InvalidInputError
from ..models.signatures import ModelSignature

if TYPE_CHECKING:
    import pandas as pd

_NUMERIC_KINDS = frozenset("iufb")


def rows_for_signature(
    signature: ModelSignature | None, frame: pd.DataFrame, *, model_ref: str
) -> pd.DataFrame:
    """``frame`` with the signature's columns, in its order, of the kinds it expects.

    Without a signature the frame goes to the model as it came. With only a number of
    features (a model fitted on an array), the frame must have that many columns.
    """
    if signature is None:
        return frame
    if not signature.columns:
        if signature.n_features is not None and frame.shape[1] != signature.n_features:
            raise InvalidInputError(
                f"{model_ref} takes {signature.n_features} input columns, the request has"
                f" {frame.shape[1]}",
                hint=f"Send {signature.n_features} values per row.",
            )
        return frame
    names = [str(c) for c in frame.columns]
    missing = [column.name for column in signature.columns if column.name not in names]
    if missing:
        listed = ", ".join(f'"{name}"' for name in missing[:10])
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        raise InvalidInputError(
            f"The request to {model_ref} lacks the input column"
            f"{'s' if len(missing) > 1 else ''} {listed}{more}",
            hint=f"Send one input per column the model takes: {', '.join(signature.names)}.",
        )
    frame = frame.set_axis(names, axis=1)
    picked = frame[list(signature.names)]
    for column in signature.columns:
        picked = _with_expected_kind(picked, column.name, column.dtype, model_ref)
    return picked


def _with_expected_kind(
    frame: pd.DataFrame, name: str, dtype: str | None, model_ref: str
) -> pd.DataFrame:
    """The column ``name`` as numbers when the model was fitted on numbers; text that is
    not a number is refused, naming the column."""
    import numpy as np

    if dtype is None:
        return frame
    try:
        expected = np.dtype(dtype)
    except TypeError:  # category, string[pyarrow] ...: pandas' own dtypes, left as they come
        return frame
    if expected.kind not in _NUMERIC_KINDS:
        return frame
    values = frame[name]
    if values.dtype.kind in _NUMERIC_KINDS:
        return frame
    import pandas as pd

    converted = pd.to_numeric(values, errors="coerce")
    bad = converted.isna() & values.notna()
    if bad.any():
        example = values[bad].iloc[0]
        raise InvalidInputError(
            f'The input column "{name}" of the request to {model_ref} holds {example!r},'
            f" not a number ({dtype} expected)",
            hint=f'Send numbers in "{name}", e.g. as FP64 or INT64 data.',
        )
    return frame.assign(**{name: converted})
