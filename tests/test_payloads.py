"""The panel's JSON built from the core's records, without a server."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import pytest

from jupyter_mlops.server.payloads import json_safe, record_json


@dataclass(frozen=True)
class Point:
    step: int
    value: float


@dataclass(frozen=True)
class Curve:
    key: str
    points: tuple[Point, ...]
    tags: dict[str, Any] = field(default_factory=dict)
    done: bool = True

    @property
    def last(self) -> float:
        return self.points[-1].value


CURVE = Curve("loss", (Point(0, 0.5), Point(1, 0.25)), {"owner": "ana", "limits": (0, 1)})


def test_json_safe_turns_a_record_into_what_asdict_gives_made_json_ready() -> None:
    assert json_safe(CURVE) == {
        "key": "loss",
        "points": [{"step": 0, "value": 0.5}, {"step": 1, "value": 0.25}],
        "tags": {"owner": "ana", "limits": [0, 1]},
        "done": True,
    }
    assert json_safe(CURVE) == json_safe(asdict(CURVE))


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_json_safe_sends_nan_and_infinities_as_null_wherever_they_are(bad: float) -> None:
    record = Curve("loss", (Point(0, bad),), {"best": bad})
    assert json_safe(record) == {
        "key": "loss",
        "points": [{"step": 0, "value": None}],
        "tags": {"best": None},
        "done": True,
    }


def test_record_json_keeps_the_keys_asked_in_order_with_derived_values() -> None:
    data = record_json(CURVE, ("last", "key", "done"), last=CURVE.last, done=False)
    assert list(data) == ["last", "key", "done"]
    assert data == {"last": 0.25, "key": "loss", "done": False}  # derived values win
    assert record_json(CURVE) == json_safe(CURVE)
    with pytest.raises(KeyError):
        record_json(CURVE, ("key", "missing"))
