"""How an exception that ended a run is told: the error a run records, and whether a
``SystemExit`` means a failure."""

from __future__ import annotations


def failing_exit(exc: BaseException | None) -> bool:
    """Whether a ``SystemExit`` reports a failure (a non-zero or non-integer code)."""
    code = getattr(exc, "code", None)
    return code not in (None, 0)


def describe_exception(exc: BaseException | None) -> str | None:
    if exc is None:
        return None
    text = str(exc)
    return f"{type(exc).__name__}: {text}"[:2000] if text else type(exc).__name__
