"""Curves at any length: a long curve is read as its preview (the lowest and highest point
of each step bucket, and the last point), written by the run with its points, so a run's
page costs the same for a million points as for a thousand and a spike still shows; every
point on request; previews for the curves a registry held before they existed."""

from __future__ import annotations

import math
import random
import re
import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

import jupyter_mlops as mlops
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.registry.migrations import statements_of
from jupyter_mlops.registry.previews import decode_points, encode_points
from jupyter_mlops.registry.schema import MIGRATIONS
from jupyter_mlops.registry.tables.previews import METRIC_PREVIEWS
from jupyter_mlops.tracking.previews import PREVIEW_BUCKETS, SERIES_FULL_UP_TO, computed_preview
from jupyter_mlops.tracking.queries.comparison import compare
from jupyter_mlops.tracking.queries.detail import run_detail
from jupyter_mlops.tracking.values import STEP_MAX, STEP_MIN
from jupyter_mlops.widgets import ComparisonView, RunView

SEED = 1_000_003
MOST_POINTS = 2 * PREVIEW_BUCKETS + 1  # each bucket's two extremes and the last point
Point = tuple[int, float | None]


def noisy_loss(n: int, *, spike_at: int, seed: int = SEED) -> list[tuple[int, float]]:
    """A decreasing loss with noise and one step that jumps 50 above its neighbours."""
    rng = random.Random(seed)
    return [
        (step, 1.0 / (1 + step / 1000) + rng.random() * 0.01 + (50.0 if step == spike_at else 0))
        for step in range(n)
    ]


def logged(name: str, points: list[tuple[int, float]], key: str = "loss") -> str:
    with mlops.start_run(name, experiment="curves") as run:
        for step, value in points:
            run.log({key: value}, step=step)
    return run.id


def stored_preview(registry: Registry, run_id: str, key: str) -> tuple[int, int, tuple[Point, ...]]:
    """(count, bucket_steps, points) of the preview the run wrote."""
    row = registry.query_one(
        "SELECT count, bucket_steps, steps, vals FROM metric_previews WHERE run_id = ? AND key = ?",
        (run_id, key),
    )
    assert row is not None, f"no preview of {key} was written"
    return row[0], row[1], decode_points(row[2], row[3])


def assert_faithful(preview: tuple[Point, ...], points: list[Point], bucket_steps: int) -> None:
    """``preview`` is a preview of ``points``: real points in step order, no more than
    :data:`MOST_POINTS`, with the lowest and highest value of every bucket, and the last point."""

    def same(a: float | None, b: float | None) -> bool:
        return a == b or (a is not None and b is not None and math.isnan(a) and math.isnan(b))

    assert 0 < len(preview) <= MOST_POINTS
    steps = [step for step, _ in preview]
    assert steps == sorted(steps)
    real = {(step, value) for step, value in points}
    assert all((step, value) in real for step, value in preview), "a point nobody logged"
    buckets: dict[int, list[float | None]] = {}
    for step, value in points:
        buckets.setdefault(step // bucket_steps, []).append(value)
    drawn: dict[int, list[float | None]] = {}
    for step, value in preview:
        drawn.setdefault(step // bucket_steps, []).append(value)
    assert drawn.keys() == buckets.keys(), "a bucket with points is missing"
    for index, values in buckets.items():
        numbers = [v for v in values if v is not None and not math.isnan(v)]
        if numbers:
            assert min(numbers) in drawn[index] and max(numbers) in drawn[index], index
        else:
            assert drawn[index] == [None] * len(drawn[index]), index  # only NaN: a gap
    last_step = max(steps)
    last = [value for step, value in points if step == last_step][-1]
    assert preview[-1][0] == last_step and same(preview[-1][1], last)


# -- what a page reads ----------------------------------------------------------------------------


def test_a_long_curve_is_read_as_a_preview_that_keeps_its_one_step_spike(
    registry: Registry,
) -> None:
    points = noisy_loss(100_000, spike_at=61_803)
    run_id = logged("spiky", points)

    detail = mlops.get_run("spiky")

    loss = detail.series["loss"]
    assert detail.downsampled == {"loss"} and detail.points_logged("loss") == 100_000
    assert len(loss) <= MOST_POINTS
    assert (61_803, points[61_803][1]) in loss  # the spike, exactly
    assert max(value for _, value in loss if value is not None) == points[61_803][1]
    assert min(loss, key=lambda point: point[1]) == min(points, key=lambda point: point[1])
    assert loss[-1] == points[-1]  # where it ended
    count, bucket_steps, stored = stored_preview(registry, run_id, "loss")
    assert (count, stored) == (100_000, loss)
    assert_faithful(loss, list(points), bucket_steps)


def test_every_point_on_request(registry: Registry) -> None:
    points = noisy_loss(SERIES_FULL_UP_TO * 3, spike_at=5)
    logged("whole", points)

    full = mlops.get_run("whole", full_series=True)

    assert full.series["loss"] == tuple(points) and full.downsampled == frozenset()
    frame = mlops.metrics("whole", "loss")
    assert list(zip(frame["step"], frame["value"])) == points


@pytest.mark.parametrize(
    ("n", "downsampled"), [(SERIES_FULL_UP_TO, False), (SERIES_FULL_UP_TO + 1, True)]
)
def test_a_curve_is_whole_up_to_the_length_of_a_preview(
    registry: Registry, n: int, downsampled: bool
) -> None:
    points = noisy_loss(n, spike_at=7)
    logged("edge", points)

    detail = mlops.get_run("edge")

    assert ("loss" in detail.downsampled) is downsampled
    assert (detail.series["loss"] == tuple(points)) is not downsampled
    assert len(detail.series["loss"]) <= (MOST_POINTS if downsampled else n)


def _shuffled(n: int) -> list[tuple[int, float]]:
    rng = random.Random(SEED)
    steps = list(range(n))
    rng.shuffle(steps)
    return [(step, math.sin(step / 50) + rng.gauss(0, 0.1)) for step in steps]


def _with_nan(n: int) -> list[tuple[int, float]]:
    points = noisy_loss(n, spike_at=n // 3)
    return [(s, math.nan if 1000 <= s < 9000 or s % 97 == 0 else v) for s, v in points]


CURVE_SHAPES = {
    "in order": lambda: noisy_loss(50_000, spike_at=12_345),
    "steps in any order": lambda: _shuffled(30_000),
    "sparse steps": lambda: [(s * 1_000_003, math.cos(s)) for s in range(5_000)],
    "negative steps": lambda: [(s - 20_000, abs(s - 3_000) / 1e3) for s in range(25_000)],
    "runs of NaN": lambda: _with_nan(30_000),
    "a step logged twice": lambda: [(s // 2, float(s % 7)) for s in range(10_000)],
    "steps at the ends of the range": lambda: [
        *[(STEP_MIN + s, float(s)) for s in range(3_000)],
        *[(STEP_MAX - 3_000 + s, -float(s)) for s in range(3_000)],
    ],
}


@pytest.mark.parametrize("shape", CURVE_SHAPES)
def test_previews_written_and_computed_keep_every_buckets_extremes(
    registry: Registry, shape: str
) -> None:
    points = CURVE_SHAPES[shape]()
    run_id = logged("shaped", points)
    as_stored: list[Point] = [(s, None if v != v else v) for s, v in points]

    count, bucket_steps, stored = stored_preview(registry, run_id, "loss")
    computed_steps, computed = computed_preview(registry.conn, run_id, "loss")

    assert count == len(points)
    assert_faithful(stored, as_stored, bucket_steps)
    assert_faithful(computed, as_stored, computed_steps)
    assert mlops.get_run("shaped").series["loss"] == stored


def test_a_preview_that_does_not_stand_for_every_point_is_computed_again(
    registry: Registry,
) -> None:
    points = noisy_loss(20_000, spike_at=4_321)
    run_id = logged("stale", points)
    _, _, written = stored_preview(registry, run_id, "loss")
    fake_steps, fake_values = encode_points([(0, 0.0), (19_999, 1.0)])

    with registry.transaction() as conn:  # a preview as stored: the page draws it as it is
        conn.execute(
            "UPDATE metric_previews SET steps = ?, vals = ? WHERE run_id = ?",
            (fake_steps, fake_values, run_id),
        )
    assert mlops.get_run("stale").series["loss"] == ((0, 0.0), (19_999, 1.0))

    with registry.transaction() as conn:  # one that misses points is not used
        conn.execute("UPDATE metric_previews SET count = count - 1 WHERE run_id = ?", (run_id,))
    assert mlops.get_run("stale").series["loss"] == written

    with registry.transaction() as conn:  # nor one that is gone
        conn.execute("DELETE FROM metric_previews")
    assert mlops.get_run("stale").series["loss"] == written


def test_a_live_runs_preview_follows_each_flush(registry: Registry) -> None:
    run = mlops.start_run("live", experiment="curves")
    seen = []
    for flush, spike in enumerate((9_000, 28_000, 41_000)):
        for step in range(flush * 15_000, (flush + 1) * 15_000):
            run.log(loss=1.0 + (20.0 + flush if step == spike else 0.0), step=step)
        run.flush()
        seen.append(mlops.get_run("live"))
    run.end()

    for flush, detail in enumerate(seen):
        assert detail.points_logged("loss") == 15_000 * (flush + 1)
        assert detail.series["loss"][-1][0] == 15_000 * (flush + 1) - 1
        assert max(v for _, v in detail.series["loss"] if v is not None) == 21.0 + flush
    assert (9_000, 21.0) in seen[-1].series["loss"] and (28_000, 22.0) in seen[-1].series["loss"]


def test_short_curves_write_no_preview(registry: Registry) -> None:
    run_id = logged("short", noisy_loss(SERIES_FULL_UP_TO, spike_at=3))

    assert registry.query_one("SELECT count(*) FROM metric_previews")[0] == 0
    assert mlops.get_run(run_id).downsampled == frozenset()


def test_previews_go_with_their_run(registry: Registry) -> None:
    run_id = logged("gone", noisy_loss(5_000, spike_at=3))

    with registry.transaction() as conn:
        conn.execute("DELETE FROM runs WHERE id = ?", (run_id,))

    assert registry.query_one("SELECT count(*) FROM metric_previews")[0] == 0


# -- a registry recorded before previews ----------------------------------------------------------


def test_a_registry_made_before_previews_gains_them_for_its_long_curves(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    points = noisy_loss(30_000, spike_at=17_171)
    before = MIGRATIONS[: MIGRATIONS.index(METRIC_PREVIEWS)]
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    conn.execute("CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
    for migration in before:
        for statement in statements_of(migration.sql):
            conn.execute(statement)
        if migration.step is not None:
            migration.step(sqlite_utils.Database(conn))
        conn.execute("INSERT INTO schema_migrations VALUES (?, 0)", (migration.name,))
    conn.execute(f"PRAGMA user_version = {len(before)}")
    conn.execute("INSERT INTO experiments VALUES (1, 'old', 0)")
    for run_id, n in (("long", len(points)), ("short", 10)):
        conn.execute(
            "INSERT INTO runs (id, experiment_id, name, status, started_at)"
            " VALUES (?, 1, ?, 'finished', 0)",
            (run_id, run_id),
        )
        conn.executemany(
            "INSERT INTO metrics (run_id, key, step, value, timestamp) VALUES (?, 'loss', ?, ?, 0)",
            [(run_id, step, value) for step, value in points[:n]],
        )
        conn.execute(
            "INSERT INTO metric_summaries (run_id, key, last, last_step, min, min_step, max,"
            " max_step, count) VALUES (?, 'loss', ?, ?, 0, 0, 0, 0, ?)",
            (run_id, points[n - 1][1], n - 1, n),
        )
    conn.execute("COMMIT")
    conn.close()

    with Registry.open(path) as registry:
        rows = registry.query_tuples("SELECT run_id, count FROM metric_previews")
        long = run_detail(registry, "long")
        short = run_detail(registry, "short")

    assert rows == [("long", 30_000)]
    assert long.downsampled == {"loss"} and (17_171, points[17_171][1]) in long.series["loss"]
    assert short.series["loss"] == tuple(points[:10]) and short.downsampled == frozenset()


# -- the faces ------------------------------------------------------------------------------------


def test_the_run_view_says_its_curve_is_downsampled_and_draws_the_spike(
    registry: Registry,
) -> None:
    logged("viewed", noisy_loss(40_000, spike_at=22_222))
    logged("plain", noisy_loss(300, spike_at=-1))  # no spike
    detail = mlops.get_run("viewed")

    page = RunView(detail).static_html()
    plain = RunView(mlops.get_run("plain")).static_html()

    shown = len(detail.series["loss"])
    assert f"downsampled: {shown:,} of 40,000 points" in page
    assert "lowest and highest value" in page  # the note's tooltip says how
    assert "downsampled" not in plain
    assert max(y_ticks(page)) >= 20 > max(y_ticks(plain))  # the y axis reaches the spike (~51)


def y_ticks(svg: str) -> list[float]:
    """The values labelled on the y axis of the first chart in ``svg``."""
    chart = svg[svg.index("<svg") : svg.index("</svg>")]
    return [float(t) for t in re.findall(r'text-anchor="end" fill="[^"]*">([^<]+)</text>', chart)]


def test_the_comparison_says_which_overlaid_curves_are_downsampled(registry: Registry) -> None:
    logged("long", noisy_loss(10_000, spike_at=22))
    logged("short", noisy_loss(100, spike_at=22))

    view = ComparisonView(compare(registry, ["long", "short"])).static_html()

    assert "downsampled: 1 of 2 curves" in view
    assert "of 10,000 points" in view
