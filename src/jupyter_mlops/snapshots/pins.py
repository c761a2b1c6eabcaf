"""Pins: knowing in microseconds that data a run read has not changed since, without
hashing it again, and holding what was read so that it can be hashed later.

A run reads the same frame in cell after cell. Fingerprinting it each time costs time in
proportion to its size (about 100 ms for 160 MB) and finds the same content every time.
What is needed on the cell's path is a cheap, *sound* answer to "is this still the
content the run read?", and the exact content read, to be fingerprinted off that path.

pandas objects under Copy-on-Write (always on from pandas 3; ``pd.options.mode.
copy_on_write = True`` in pandas 2). The pin is a shallow copy of the frame or
series, plus the identity of the frame's own buffers (its blocks' arrays) and axes, and
its axis names. Copy-on-Write guarantees two things:

- no change made to the frame through pandas reaches the shallow copy: a write to a buffer
  that another object shares copies it first. The pin therefore *is* the content read,
  whatever the user's next cells do, and may be fingerprinted on another thread;
- because the pin shares the frame's buffers, any in-place edit (``df.loc[9, "a"] = -1``,
  ``df["a"] += 1``, ``fillna(inplace=True)``...) gives the frame a new buffer. The same
  buffer objects, axes and names therefore mean the same content: comparing a few
  identities (about 10 µs) replaces hashing every byte. A false alarm (pandas
  consolidating blocks) costs a fingerprint that finds the known content; a change is
  never missed.

The price: while a run holds a pin, the first in-place edit of that frame copies the
edited block (as it would if the user had kept a copy), and the old content stays in
memory until the run reads the frame again or ends. Buffers written behind pandas' back
(a numpy array a frame was built on with ``copy=False``, then written through numpy) are
not seen; with pandas 2 without Copy-on-Write no pin can be trusted, and such data is
fingerprinted at every reading, as before.

numpy arrays have no Copy-on-Write, and making them read-only would break the user's
code. Their pin holds the array weakly with its data address, shape, strides and dtype,
and a digest of a strided sample of its rows (:data:`SAMPLE_ROWS`). A change of identity,
layout or sample means new content, fingerprinted at once. An edit the sample misses is
caught when the run ends, by hashing the array in full (see
:mod:`jupyter_mlops.tracking.data_reads`).

    pin = pin_data(df)
    pin.holds(df)            # True: nothing changed
    df.loc[9, "a"] = -1
    pin.holds(df)            # False: the frame has a new buffer; pin.content is the old data
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

# Rows of an array hashed on each reading to notice an edit (the full hash is at run end).
SAMPLE_ROWS = 256


def copy_on_write() -> bool:
    """Whether pandas copies a shared buffer before writing to it (always from pandas 3)."""
    import pandas as pd

    if int(pd.__version__.split(".", 1)[0]) >= 3:
        return True
    return pd.options.mode.copy_on_write is True


@dataclass(frozen=True, eq=False)
class Pin:
    """What a run read, as it was read.

    ``content`` is the data to fingerprint: a shallow copy no edit reaches when
    ``protected`` (pandas under Copy-on-Write), else the value itself, to be fingerprinted
    at once. :meth:`holds` says whether a value is still that content.
    """

    content: Any
    protected: bool
    _parts: tuple[Any, ...] = ()  # objects compared by identity
    _labels: tuple[Any, ...] = ()  # compared by equality
    _array: Callable[[], Any] | None = None  # a weak reference to a pinned array
    _sample: bytes = b""

    def holds(self, value: object) -> bool:
        """Whether ``value`` is still the content this pin was taken of (see the module)."""
        try:
            if self.protected:
                parts, labels = _pandas_parts(value)
                return (
                    len(parts) == len(self._parts)
                    and all(a is b for a, b in zip(parts, self._parts))
                    and labels == self._labels
                )
            if self._array is not None and self._array() is value:
                assert isinstance(value, np.ndarray)
                return _layout(value) == self._labels and _sample_digest(value) == self._sample
        except Exception:  # a pandas whose internals differ: never trust, hash instead
            return False
        return False

    def array(self) -> np.ndarray | None:
        """The pinned array, if this pin is of a numpy array that still exists."""
        return None if self._array is None else self._array()


def pin_data(value: object) -> Pin:
    """A pin of ``value`` (a DataFrame, a Series, a numpy array, or anything else)."""
    import pandas as pd

    if isinstance(value, (pd.DataFrame, pd.Series)) and copy_on_write():
        try:
            parts, labels = _pandas_parts(value)
            return Pin(_shallow_copy(value), True, parts, labels)
        except Exception:
            return Pin(value, False)
    if isinstance(value, np.ndarray):
        try:
            return Pin(value, False, (), _layout(value), weakref.ref(value), _sample_digest(value))
        except Exception:
            return Pin(value, False)
    return Pin(value, False)


def _shallow_copy(value: Any) -> Any:
    """A copy of a pandas object sharing its buffers but not its axis objects: a name set
    in place on the original's index (``df.index.name = "key"``) must not reach the copy,
    and pandas 2 shares the axis objects themselves in a shallow copy."""
    content = value.copy(deep=False)
    content.index = value.index.copy()
    if value.ndim == 2:
        content.columns = value.columns.copy()
    return content


def _pandas_parts(value: Any) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """The objects that hold a pandas object's content, and its axis names.

    The blocks' arrays and placements and the axes are compared by identity: under
    Copy-on-Write an edit replaces them rather than writing into them. Names can be set
    in place (``df.index.name = "key"``), so they are compared by value.
    """
    manager = value._mgr
    blocks = manager.blocks
    parts = (*(block.values for block in blocks), *(block.mgr_locs for block in blocks))
    parts += tuple(manager.axes)
    if value.ndim == 1:
        return parts, (value.name, _names(value.index))
    return parts, (_names(value.columns), _names(value.index))


def _names(index: Any) -> Any:
    return tuple(index.names) if index.nlevels > 1 else index.name


def _layout(array: np.ndarray) -> tuple[Any, ...]:
    return (array.__array_interface__["data"][0], array.shape, array.strides, array.dtype.str)


def _sample_digest(array: np.ndarray) -> bytes:
    if array.ndim == 0 or len(array) == 0:
        return hashlib.blake2b(array.tobytes(), digest_size=16).digest()
    step = max(1, len(array) // SAMPLE_ROWS)
    digest = hashlib.blake2b(digest_size=16)
    digest.update(np.ascontiguousarray(array[::step]).tobytes())
    digest.update(np.ascontiguousarray(array[-1:]).tobytes())
    return digest.digest()
