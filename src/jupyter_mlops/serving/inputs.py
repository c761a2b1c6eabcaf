"""A request's rows checked against the input signature of the version that scores them.

    rows = rows_for_signature(version.signature, {"age": ages, "plan": plans}, model_ref="churn@3")

The columns come as a DataFrame or as a mapping of column name to a 1-D array (what a
server reads from a request: the DataFrame is then built once, in the model's order). A
column the signature names and the request lacks, or a column of text where the model was
trained on numbers, is refused with an :class:`InvalidInputError` naming the column, so the
client gets a 4xx that says what to send. Columns the model does not take are dropped; the
rest are put in the order the model was fitted with.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInputError
from ..models.signatures import ModelSignature

if TYPE_CHECKING:
    import pandas as pd

_NUMERIC_KINDS = frozenset("iufb")

Columns = Mapping[str, Any]


def rows_for_signature(
    signature: ModelSignature | None, columns: pd.DataFrame | Columns, *, model_ref: str
) -> pd.DataFrame:
    """The rows as a DataFrame with the signature's columns, in its order, of the kinds it
    expects.

    Without a signature the columns go to the model as they came. With only a number of
    features (a model fitted on an array), there must be that many columns.
    """
    import pandas as pd

    if isinstance(columns, pd.DataFrame):
        given: dict[str, Any] = {
            str(name): columns.iloc[:, i] for i, name in enumerate(columns.columns)
        }
    else:
        given = dict(columns)
    if signature is None or not signature.columns:
        if signature is not None and signature.n_features is not None:
            if len(given) != signature.n_features:
                raise InvalidInputError(
                    f"{model_ref} takes {signature.n_features} input columns, the request has"
                    f" {len(given)}",
                    hint=f"Send {signature.n_features} values per row.",
                )
        return columns if isinstance(columns, pd.DataFrame) else pd.DataFrame(given)
    missing = [column.name for column in signature.columns if column.name not in given]
    if missing:
        listed = ", ".join(f'"{name}"' for name in missing[:10])
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        raise InvalidInputError(
            f"The request to {model_ref} lacks the input column"
            f"{'s' if len(missing) > 1 else ''} {listed}{more}",
            hint=f"Send one input per column the model takes: {', '.join(signature.names)}.",
        )
    picked = {
        column.name: _with_expected_kind(given[column.name], column.name, column.dtype, model_ref)
        for column in signature.columns
    }
    return _frame(picked)


def _frame(columns: dict[str, Any]) -> pd.DataFrame:
    """A DataFrame of ``columns``; arrays of one dtype go in as one block (a tenth of the
    time of a DataFrame built column by column, which a request of 30 columns notices)."""
    import numpy as np
    import pandas as pd

    values = list(columns.values())
    if values and all(isinstance(v, np.ndarray) and v.ndim == 1 for v in values):
        dtypes = {v.dtype for v in values}
        if len(dtypes) == 1 and next(iter(dtypes)).kind in _NUMERIC_KINDS:
            return pd.DataFrame(np.column_stack(values), columns=_column_index(tuple(columns)))
    return pd.DataFrame(columns)


@functools.lru_cache(maxsize=64)
def _column_index(names: tuple[str, ...]) -> pd.Index:
    """One column index per signature, shared by the frames of its requests (an index is
    immutable): building it costs each request less, and the prediction log hands it to
    its writer once per batch rather than once per record."""
    import pandas as pd

    return pd.Index(names)


def _with_expected_kind(values: Any, name: str, dtype: str | None, model_ref: str) -> Any:
    """The column ``name`` as numbers when the model was fitted on numbers; text that is
    not a number is refused, naming the column."""
    import numpy as np

    if dtype is None or getattr(values, "dtype", np.dtype("O")).kind in _NUMERIC_KINDS:
        return values
    try:
        expected = np.dtype(dtype)
    except TypeError:  # category, string[pyarrow] ...: pandas' own dtypes, left as they come
        return values
    if expected.kind not in _NUMERIC_KINDS:
        return values
    import pandas as pd

    series = pd.Series(values)
    converted = pd.to_numeric(series, errors="coerce")
    bad = converted.isna() & series.notna()
    if bad.any():
        example = series[bad].iloc[0]
        raise InvalidInputError(
            f'The input column "{name}" of the request to {model_ref} holds {example!r},'
            f" not a number ({dtype} expected)",
            hint=f'Send numbers in "{name}", e.g. as FP64 or INT64 data.',
        )
    return converted.to_numpy()
