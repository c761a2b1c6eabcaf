"""Axis ticks: one algorithm in Python (widgets/ticks.py) and in TypeScript (labextension/
src/ticks.ts), held to the same cases (tests/chart_ticks_cases.json) and to each other.

Every chart's ticks are distinct and readable for any range: values that differ in the
fifth digit, a loss spanning decades (a log axis), one value, negative values, gaps.
"""

from __future__ import annotations

import json
import math
import random
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from jupyter_mlops.widgets.charts import histogram, line_chart
from jupyter_mlops.widgets.ticks import axis_ticks, finite_range

from .conftest import REPO

CASES = json.loads((Path(__file__).parent / "chart_ticks_cases.json").read_text())
TICKS_TS = REPO / "labextension" / "src" / "ticks.ts"
TYPESCRIPT = REPO / "labextension" / "node_modules" / "typescript"

# Transpiles ticks.ts with the panel's own TypeScript and runs it on every request read
# from stdin: [{low, high, options}] -> [{low, high, values, labels, log}].
NODE_RUNNER = r"""
const fs = require('fs');
const ts = require(process.argv[1]);
const source = fs.readFileSync(process.argv[2], 'utf8');
const js = ts.transpileModule(source, {
  compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 }
}).outputText;
const ticks = new module.constructor();
ticks._compile(js, 'ticks.js');
const requests = JSON.parse(fs.readFileSync(0, 'utf8'));
const answers = requests.map(r => ticks.exports.axisTicks(Number(r.low), Number(r.high), r.options));
process.stdout.write(JSON.stringify(answers));
"""


def _ends(case: dict[str, Any]) -> tuple[float, float]:
    return float(case["low"]), float(case["high"])


def _python(low: float, high: float, options: dict[str, Any]) -> dict[str, Any]:
    ticks = axis_ticks(low, high, **options)
    return {
        "low": ticks.low,
        "high": ticks.high,
        "values": list(ticks.values),
        "labels": list(ticks.labels),
        "log": ticks.log,
    }


def _typescript(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    node = shutil.which("node")
    if node is None or not TYPESCRIPT.is_dir():
        pytest.fail(
            "The TypeScript half of the ticks needs node and labextension/node_modules: "
            "install the panel's build tools (scripts/setup, or jlpm install in labextension/)."
        )
    result = subprocess.run(
        [node, "-e", NODE_RUNNER, str(TYPESCRIPT), str(TICKS_TS)],
        input=json.dumps(requests),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_axis_ticks_python_gives_each_case(case: dict[str, Any]) -> None:
    assert _python(*_ends(case), case["options"]) == case["expected"]


def test_axis_ticks_typescript_gives_each_case() -> None:
    answers = _typescript(CASES)

    wrong = [
        (case["name"], answer) for case, answer in zip(CASES, answers) if answer != case["expected"]
    ]
    assert wrong == []


def _random_requests(count: int, seed: int = 20261203) -> list[dict[str, Any]]:
    """Ranges of every kind: wide and narrow, near zero and far from it, both signs."""
    rng = random.Random(seed)
    requests = []
    for _ in range(count):
        centre = rng.choice([0.0, 1.0, -1.0]) * 10 ** rng.uniform(-9, 9)
        width = abs(centre or 1.0) * 10 ** rng.uniform(-7, 1)
        low = centre - width * rng.random()
        high = low + width if rng.random() > 0.1 else 10 ** rng.uniform(-5, 0) * low * 1e4
        options: dict[str, Any] = {"count": rng.choice([3, 4, 5, 7])}
        if rng.random() < 0.3:
            options["outward"] = False
        if rng.random() < 0.2:
            options["whole"] = True
        requests.append({"low": low, "high": high, "options": options})
    return requests


def test_axis_ticks_typescript_agrees_with_python_on_random_ranges() -> None:
    requests = _random_requests(600)

    answers = _typescript(requests)

    differ = [
        (request, answer)
        for request, answer in zip(requests, answers)
        if answer != _python(float(request["low"]), float(request["high"]), request["options"])
    ]
    assert differ[:3] == []


@pytest.mark.parametrize(
    "request_",
    _random_requests(400, seed=7),
    ids=lambda r: f"{r['low']:.4g}..{r['high']:.4g} {r['options']}",
)
def test_axis_ticks_are_distinct_ordered_and_cover_the_values(request_: dict[str, Any]) -> None:
    low, high = sorted((float(request_["low"]), float(request_["high"])))
    ticks = axis_ticks(low, high, **request_["options"])

    assert len(ticks.labels) == len(ticks.values)
    assert len(set(ticks.labels)) == len(ticks.labels), ticks.labels
    assert list(ticks.values) == sorted(ticks.values)
    assert all(re.fullmatch(r"-?\d+(\.\d+)?(e[+-]\d+)?", label) for label in ticks.labels)
    outward = request_["options"].get("outward", True)
    if ticks.values and outward:
        assert ticks.low <= low and ticks.high >= high  # every value on the drawing
    if ticks.values and not outward:
        assert all(low <= value <= high for value in ticks.values)
    if not request_["options"].get("whole") and high > low * (1 + 1e-9):
        assert 2 <= len(ticks.values) <= 2 * request_["options"]["count"] + 2


def test_axis_ticks_on_a_log_axis_are_powers_of_ten() -> None:
    ticks = axis_ticks(3e-5, 12.0)

    assert ticks.log
    assert [math.log10(v) for v in ticks.values] == pytest.approx([-5, -4, -3, -2, -1, 0, 1, 2])
    assert ticks.position(1.0) == pytest.approx(5 / 7)


def test_finite_range_skips_gaps() -> None:
    assert finite_range([None, float("nan"), 2.0, float("inf"), -1.0]) == (-1.0, 2.0)
    assert finite_range([None, float("nan")]) is None


def _y_labels(svg: str) -> list[str]:
    return re.findall(r'text-anchor="end" fill="[^"]+">([^<]+)</text>', svg)


def test_a_curve_that_moves_in_the_fifth_digit_has_distinct_ticks() -> None:
    values = [0.89861, 0.89863, 0.89862, 0.89867, 0.89864, 0.89866]
    svg = line_chart({"run": list(enumerate(values))}, title="accuracy")

    labels = _y_labels(svg)
    assert len(labels) >= 4 and len(set(labels)) == len(labels)
    assert "0.89861" in labels and "0.89867" in labels


def test_a_loss_over_decades_is_drawn_on_a_log_axis() -> None:
    loss = [(step, 10.0 * 0.5**step) for step in range(18)]  # 10 down to 7.6e-5
    svg = line_chart({"run": loss}, title="loss")

    assert _y_labels(svg) == ["1e-5", "1e-4", "0.001", "0.01", "0.1", "1", "10"]
    assert "(log)" in svg
    ys = [float(point.split(",")[1]) for point in re.findall(r'points="([^"]+)"', svg)[0].split()]
    steps = [b - a for a, b in zip(ys, ys[1:])]
    assert max(steps) == pytest.approx(min(steps), abs=0.15)  # halving: even steps on a log axis


@pytest.mark.parametrize(
    "points",
    [
        [(0, 0.5), (1, 0.5), (2, 0.5)],  # constant
        [(3, 0.25)],  # a single point
        [(0, -2.5), (1, -0.1), (2, -7.25)],  # negative
        [(0, 1.0), (1, float("nan")), (2, float("inf")), (3, 0.5), (4, None)],  # gaps
    ],
    ids=["constant", "single", "negative", "gaps"],
)
def test_line_chart_ticks_never_repeat(points: list[tuple[int, float | None]]) -> None:
    svg = line_chart({"run": points})

    labels = _y_labels(svg)
    assert labels and len(set(labels)) == len(labels)
    x_labels = re.findall(r'text-anchor="middle" fill="[^"]+">([^<]+)</text>', svg)[:-1]
    assert len(set(x_labels)) == len(x_labels)


def test_a_constant_series_says_its_value() -> None:
    assert _y_labels(line_chart({"run": [(0, 0.898613), (1, 0.898613)]})) == ["0.898613"]


def test_histogram_x_ticks_stay_within_the_bins() -> None:
    edges = [0.89861 + i * 0.00001 for i in range(7)]
    svg = histogram(edges, {"reference": [1, 2, 3, 3, 2, 1]})

    labels = re.findall(r'text-anchor="middle"\s+fill="[^"]+">([^<]+)</text>', svg)
    assert labels and len(set(labels)) == len(labels)
    assert all(0.89861 <= float(label) <= 0.89867 for label in labels)
