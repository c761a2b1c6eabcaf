"""Axis ticks a person can read, for any range of values: the one algorithm behind every
chart of the notebook views, their static HTML and (in TypeScript, ``labextension/src/
ticks.ts``, checked against the same cases in ``tests/chart_ticks_cases.json``) the panel.

- Linear axes get "nice" ticks, steps of 1, 2 or 5 times a power of ten, labelled with as
  many decimals as the step needs and no more: values that differ in the fifth digit
  (0.89861 to 0.89867) read ``0.89861``, ``0.89862``..., never six times ``0.8986``.
  Very large or very small values are written ``1.5e-7``.
- Positive values that span more than two decades (a loss from 10 down to 1e-4) get a
  log axis, with a tick at each power of ten (``0.001``, ``0.01``..., ``1e-4``).
- One value (a constant series, a single point) gets one tick that says it exactly, on an
  axis widened around it; no finite value gets no tick.

    axis_ticks(0.89861, 0.89867).labels   # ('0.89860', '0.89862', ..., '0.89868')
    axis_ticks(1e-4, 10.0).labels          # ('1e-4', '0.001', '0.01', '0.1', '1', '10')

Both implementations compute with the same IEEE operations in the same order (powers of
ten are parsed from text, never raised), so they give the same ticks and the same labels.
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Iterable
from dataclasses import dataclass

LOG_RATIO = 100.0
"""Positive values whose largest is more than this many times their smallest get a log axis."""

_MANTISSAS = ((1, 1.5), (2, 3.0), (5, 7.0), (10, math.inf))
_MAX_TICKS = 60


@dataclass(frozen=True)
class Ticks:
    """An axis: the domain to draw (``low`` to ``high``), the tick values and their labels,
    and whether the axis is logarithmic (then positions are shares of ``log10``)."""

    low: float
    high: float
    values: tuple[float, ...]
    labels: tuple[str, ...]
    log: bool = False

    def position(self, value: float) -> float:
        """Where ``value`` sits between ``low`` (0) and ``high`` (1)."""
        if self.log:
            low, high = math.log10(self.low), math.log10(self.high)
            return (math.log10(value) - low) / (high - low) if high > low else 0.5
        return (value - self.low) / (self.high - self.low) if self.high > self.low else 0.5


def finite_range(values: Iterable[float | None]) -> tuple[float, float] | None:
    """The smallest and largest finite value, or None when there is none (NaN, inf and
    None are gaps, not values)."""
    finite = [float(v) for v in values if v is not None and math.isfinite(v)]
    return (min(finite), max(finite)) if finite else None


def _power(exponent: int) -> float:
    """10 ** exponent, parsed from text so it is the correctly rounded double everywhere."""
    return float(f"1e{exponent}")


def _format(value: float, spec: str) -> str:
    """``value`` formatted by ``spec`` (``.5f``, ``.3e``) from its exact binary value, halves
    rounded away from zero: what JavaScript's toFixed and toExponential write."""
    with decimal.localcontext() as context:
        context.rounding = decimal.ROUND_HALF_UP
        return format(decimal.Decimal(value + 0.0), spec)  # + 0.0: never "-0"


def _exponent(value: float) -> int:
    """floor(log10(|value|)) read from the value's scientific notation (no log rounding)."""
    return int(_format(abs(value), ".12e").split("e")[1])


def _scientific(value: float, digits: int) -> str:
    """``value`` as ``1.5e-7`` with ``digits`` after the point, trailing zeros dropped."""
    mantissa, exponent = _format(value, f".{digits}e").split("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    power = int(exponent)
    return f"{mantissa}e{'-' if power < 0 else '+'}{abs(power)}"


def _fixed(value: float, decimals: int) -> str:
    return _format(value, f".{decimals}f")


def _nice_step(span: float, count: int, whole: bool) -> tuple[int, int]:
    """The step as (mantissa, exponent): the 1, 2 or 5 x 10^k nearest ``span / (count - 1)``
    (on a log scale: 1 below 1.5, 2 below 3, 5 below 7); at least 1 when ``whole``."""
    rough = span / max(count - 1, 1)
    exponent = _exponent(rough)
    share = rough / _power(exponent)
    mantissa = next(m for m, below in _MANTISSAS if share < below)
    if mantissa == 10:
        mantissa, exponent = 1, exponent + 1
    if whole and exponent < 0:
        mantissa, exponent = 1, 0
    return mantissa, exponent


def _multiple(k: int, mantissa: int, exponent: int) -> float:
    """k x mantissa x 10^exponent, rounded once (division by an exact power of ten)."""
    if exponent < 0:
        return (k * mantissa) / _power(-exponent)
    return (k * mantissa) * _power(exponent)


def linear_labels(values: Iterable[float], exponent: int) -> tuple[str, ...]:
    """Labels of ticks ``10^exponent`` (times 1, 2 or 5) apart: that many decimals, or
    scientific notation for values from a million up or under a thousandth."""
    values = tuple(values)
    largest = max((abs(v) for v in values), default=0.0)
    if largest >= 1e6 or 0 < largest < 1e-3:
        return tuple(
            "0" if v == 0 else _scientific(v, max(0, _exponent(v) - exponent)) for v in values
        )
    return tuple(_fixed(v, max(0, -exponent)) for v in values)


def exact_label(value: float) -> str:
    """One value said exactly enough (six significant digits), as the label of an axis with
    only that value on it."""
    if value == 0:
        return "0"
    largest = abs(value)
    if largest >= 1e6 or largest < 1e-3:
        return _scientific(value, 5)
    decimals = max(0, 5 - _exponent(value))
    text = _fixed(value, decimals)
    return text.rstrip("0").rstrip(".") if "." in text else text


def _log_label(exponent: int) -> str:
    if -3 <= exponent < 0:
        return _fixed(_power(exponent), -exponent)
    if 0 <= exponent <= 5:
        return str(int(_power(exponent)))
    return f"1e{'-' if exponent < 0 else '+'}{abs(exponent)}"


def _log_ticks(low: float, high: float, count: int, outward: bool) -> Ticks | None:
    first = _exponent(low)
    last = _exponent(high)
    if _power(last) < high:
        last += 1  # high not itself a power of ten: the next one up
    stride = max(1, math.ceil((last - first) / (count + 3)))  # at most count + 3 gaps
    exponents = list(range(first, last + 1, stride))
    if not outward:
        exponents = [e for e in exponents if low <= _power(e) <= high]
    if len(exponents) < 2:
        return None
    return Ticks(
        _power(first) if outward else low,
        _power(exponents[-1]) if outward else high,
        tuple(_power(e) for e in exponents),
        tuple(_log_label(e) for e in exponents),
        log=True,
    )


def axis_ticks(
    low: float,
    high: float,
    count: int = 5,
    *,
    log: bool | None = None,
    whole: bool = False,
    outward: bool = True,
) -> Ticks:
    """Ticks for values from ``low`` to ``high``: about ``count`` of them on a linear axis.

    ``log`` None decides by itself (positive values spanning more than two decades: a log
    axis), True asks for one (when the values are positive), False refuses it. ``whole``
    keeps ticks on whole numbers (steps of a training loop). With ``outward`` the domain
    grows to the ticks around the values; without, ticks stay within ``low``..``high``
    (an axis whose ends are fixed: a histogram's bins, a sweep's range).

        axis_ticks(0, 29, whole=True).values   # (0.0, 10.0, 20.0, 30.0)
    """
    if not (math.isfinite(low) and math.isfinite(high)):
        return Ticks(0.0, 1.0, (), ())
    if low > high:
        low, high = high, low
    if high - low <= abs(high) * 1e-12:  # one value, or a difference lost in rounding
        pad = abs(low) * 0.05 or 1.0
        return Ticks(low - pad, high + pad, (low,), (exact_label(low),))
    wants_log = (low > 0 and high / low > LOG_RATIO) if log is None else (log and low > 0)
    if wants_log and not whole:
        found = _log_ticks(low, high, count, outward)
        if found is not None:
            return found
    mantissa, exponent = _nice_step(high - low, count, whole)
    while True:
        step = _multiple(1, mantissa, exponent)
        if outward:
            first = math.floor(low / step + 1e-9)
            last = math.ceil(high / step - 1e-9)
        else:
            first = math.ceil(low / step - 1e-9)
            last = math.floor(high / step + 1e-9)
        if last > first or outward or (whole and exponent == 0 and mantissa == 1):
            break
        # Fewer than two ticks fit between fixed ends: the next smaller step.
        mantissa, exponent = {5: (2, exponent), 2: (1, exponent)}.get(mantissa, (5, exponent - 1))
    last = min(last, first + _MAX_TICKS)
    values = tuple(_multiple(k, mantissa, exponent) for k in range(first, last + 1))
    if not values:  # whole numbers asked for between two of them
        return Ticks(low, high, (), ())
    return Ticks(
        values[0] if outward else low,
        values[-1] if outward else high,
        values,
        linear_labels(values, exponent),
    )
