"""Artifacts a run logs: files and directories, figures, images, tables and texts, stored
once per content, listed with their kind, media type, size and cell, read back by hash."""

from __future__ import annotations

import io
import json
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlite_utils

import jupyter_mlops as mlops
from jupyter_mlops.errors import (
    ArtifactIntegrityError,
    InvalidInputError,
    NoActiveRunError,
    NotFoundError,
)
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.registry.migrations import statements_of
from jupyter_mlops.registry.schema import MIGRATIONS
from jupyter_mlops.registry.tables.artifact_details import RUN_ARTIFACT_DETAILS
from jupyter_mlops.tracking.queries.artifacts import (
    artifact_bytes,
    artifact_media_type,
    find_artifact,
    previews,
    save_artifact,
)
from jupyter_mlops.tracking.queries.detail import run_detail
from jupyter_mlops.tracking.session import SESSION, use_registry

from .conftest import run_cell
from .filesystems import disk_full, needs_mount, small_tmpfs

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402
from PIL import Image  # noqa: E402


def stored_files(registry: Registry) -> list[Path]:
    return sorted(p for p in registry.artifacts.root.glob("??/*") if p.is_file())


def line_figure(seed: int = 0, n: int = 50) -> Figure:
    rng = np.random.default_rng(seed)
    figure = Figure(figsize=(3, 2))
    axes = figure.add_subplot()
    axes.plot(np.arange(n), rng.normal(size=n).cumsum())
    return figure


def by_name(run: str = "last") -> dict[str, Any]:
    return {a.name: a for a in mlops.get_run(run).artifacts}


# -- figures ----------------------------------------------------------------------------------


def test_log_figure_stores_png_and_svg_and_the_same_figure_twice_is_one_file(
    registry: Registry,
) -> None:
    figure = line_figure()
    with mlops.start_run("plots") as run:
        first = run.log_figure(figure, "curves/loss")
        before = stored_files(registry)
        again = mlops.log_figure(figure, "curves/loss-again")
    assert first is not None and again is not None
    assert first.name == "curves/loss.png" and first.kind == "figure"
    assert again.sha256 == first.sha256
    assert stored_files(registry) == before and len(before) == 2  # PNG and SVG, once each
    found = by_name("plots")
    assert set(found) == {
        "curves/loss.png",
        "curves/loss.svg",
        "curves/loss-again.png",
        "curves/loss-again.svg",
    }
    assert found["curves/loss.svg"].media_type == "image/svg+xml"
    png = registry.artifacts.read_bytes(first.sha256)
    assert Image.open(io.BytesIO(png)).format == "PNG" and found["curves/loss.png"].size == len(png)


def test_a_figure_with_many_points_is_stored_as_png_only(registry: Registry) -> None:
    with mlops.start_run("dense"):
        mlops.log_figure(line_figure(n=30_000), "dense")
    assert set(by_name()) == {"dense.png"}


def test_log_figure_takes_axes_and_names_figures_when_no_name_is_given(registry: Registry) -> None:
    with mlops.start_run("unnamed"):
        mlops.log_figure(line_figure(1).axes[0])
        mlops.log_figure(line_figure(2))
    assert {"figure-1.png", "figure-2.png"} <= set(by_name())


def test_log_figure_of_a_plotly_figure_stores_its_json_and_a_page_without_kaleido(
    registry: Registry,
) -> None:
    go = pytest.importorskip("plotly.graph_objects")
    figure = go.Figure(go.Scatter(x=[1, 2, 3], y=[3, 1, 2]))
    with mlops.start_run("plotly"):
        record = mlops.log_figure(figure, "scatter")
        mlops.log_figure(figure, "scatter-again")
    assert record is not None and record.name == "scatter.plotly.json"
    spec = json.loads(registry.artifacts.read_bytes(record.sha256))
    assert spec["data"][0]["y"] == [3, 1, 2]
    found = by_name()
    page = registry.artifacts.read_bytes(found["scatter.html"].sha256).decode()
    assert found["scatter.html"].media_type == "text/html" and "plotly" in page
    assert found["scatter-again.html"].sha256 == found["scatter.html"].sha256  # stable page


def test_log_figure_refuses_what_is_not_a_figure(registry: Registry) -> None:
    with mlops.start_run("wrong"), pytest.raises(InvalidInputError, match="as a figure"):
        mlops.log_figure([1, 2, 3], "oops")


# -- images -----------------------------------------------------------------------------------


def _gradient(shape: tuple[int, ...]) -> np.ndarray:
    return (np.arange(int(np.prod(shape))) % 256).astype(np.uint8).reshape(shape)


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (_gradient((6, 7)), _gradient((6, 7))),
        (_gradient((6, 7, 3)), _gradient((6, 7, 3))),
        (_gradient((6, 7, 4)), _gradient((6, 7, 4))),
        (_gradient((6, 7, 3)) / 255.0, _gradient((6, 7, 3))),
        (np.eye(4, dtype=bool), np.eye(4, dtype=np.uint8) * 255),
    ],
    ids=["grey", "rgb", "rgba", "float-rgb", "bool"],
)
def test_log_image_stores_the_pixels_as_png(
    registry: Registry, image: np.ndarray, expected: np.ndarray
) -> None:
    with mlops.start_run("pixels"):
        record = mlops.log_image(image, "sample")
    assert record is not None and record.name == "sample.png" and record.kind == "image"
    decoded = np.asarray(Image.open(io.BytesIO(registry.artifacts.read_bytes(record.sha256))))
    assert np.array_equal(decoded, expected)


def test_log_image_takes_a_pil_image(registry: Registry) -> None:
    with mlops.start_run("pil"):
        record = mlops.log_image(Image.fromarray(_gradient((3, 3, 3))), "pil")
    assert record is not None
    assert np.array_equal(
        np.asarray(Image.open(io.BytesIO(registry.artifacts.read_bytes(record.sha256)))),
        _gradient((3, 3, 3)),
    )


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((2, 3, 5)), "shape"),
        (np.zeros(4), "shape"),
        (np.full((2, 2), 1.5), "between 0 and 1"),
        (np.full((2, 2), np.nan), "between 0 and 1"),
        (np.full((2, 2), 300), "between 0 and 255"),
    ],
)
def test_log_image_refuses_what_is_not_an_image(
    registry: Registry, image: np.ndarray, message: str
) -> None:
    with mlops.start_run("bad"), pytest.raises(InvalidInputError, match=message):
        mlops.log_image(image, "bad")


# -- tables, texts, files -----------------------------------------------------------------------


def test_log_table_stores_parquet_with_its_first_rows_as_preview(registry: Registry) -> None:
    frame = pd.DataFrame({"x": np.arange(50), "label": [f"r{i}" for i in range(50)]})
    with mlops.start_run("tables"):
        record = mlops.log_table(frame, "errors")
    assert record is not None and record.name == "errors.parquet" and record.kind == "table"
    read = pd.read_parquet(registry.artifacts.verified_path(record.sha256))
    pd.testing.assert_frame_equal(read, frame)
    preview = previews(registry, (record,))["errors.parquet"].table
    assert preview is not None
    assert preview["columns"] == ["x", "label"] and preview["total_rows"] == 50
    assert len(preview["rows"]) == 20 and preview["rows"][3] == [3, "r3"]


def test_log_table_writes_csv_when_the_name_says_so(registry: Registry) -> None:
    with mlops.start_run("csv"):
        record = mlops.log_table({"a": [1, 2]}, "small.csv")
    assert record is not None and record.media_type == "text/csv"
    assert registry.artifacts.read_bytes(record.sha256).decode().splitlines() == [
        ",a",
        "0,1",
        "1,2",
    ]


def test_log_text_keeps_the_text_and_its_media_type(registry: Registry) -> None:
    with mlops.start_run("texts") as run:
        run.log_text("# Report\nall good", "report.md")
        mlops.log_text("plain", "notes")
    found = by_name()
    assert found["report.md"].media_type == "text/markdown" and found["report.md"].kind == "text"
    assert found["notes"].media_type == "text/plain"
    assert registry.artifacts.read_bytes(found["report.md"].sha256) == b"# Report\nall good"
    with mlops.start_run("texts-2"), pytest.raises(InvalidInputError, match="takes a str"):
        mlops.log_text(b"bytes", "x.txt")  # type: ignore[arg-type]


def test_log_artifact_stores_a_directory_file_by_file(registry: Registry, tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    (folder / "deep").mkdir(parents=True)
    (folder / "a.csv").write_text("a\n1\n")
    (folder / "deep" / "b.txt").write_text("b")
    (tmp_path / "card.md").write_text("card")
    with mlops.start_run("files"):
        records = mlops.log_artifact(folder)
        single = mlops.log_artifact(tmp_path / "card.md", name="docs/card.md")
    assert [r.name for r in records] == ["reports/a.csv", "reports/deep/b.txt"]
    assert [r.name for r in single] == ["docs/card.md"]
    found = by_name()
    assert found["reports/a.csv"].media_type == "text/csv" and found["reports/a.csv"].kind == "file"
    assert registry.artifacts.read_bytes(found["reports/deep/b.txt"].sha256) == b"b"
    with mlops.start_run("files-2"), pytest.raises(NotFoundError, match="no such file"):
        mlops.log_artifact(tmp_path / "missing.txt")


@pytest.mark.parametrize(
    "name", ["../escape.txt", "/etc/passwd", "a/../../b", "a//b", "C:\\x", "a\\b", "", "./x"]
)
def test_artifact_names_that_are_not_plain_relative_paths_are_refused(
    registry: Registry, name: str
) -> None:
    with mlops.start_run("names"), pytest.raises(InvalidInputError, match="name") as caught:
        mlops.log_text("x", name)
    if name:
        assert name in caught.value.message  # the message names the artifact
    assert mlops.get_run("names").artifacts == ()


def test_logging_an_artifact_without_a_run_says_how_to_start_one(registry: Registry) -> None:
    with pytest.raises(NoActiveRunError, match="No run is active"):
        mlops.log_text("x", "x.txt")


def test_an_unrecorded_run_drops_its_artifacts_with_a_warning(
    registry: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    run = SESSION.start_unrecorded("offline", experiment=None, reason="test reason")
    with caplog.at_level(logging.WARNING):
        assert mlops.log_text("x", "x.txt") is None
    assert "not recorded" in caplog.text and stored_files(registry) == []
    run.end()


# -- reading back -------------------------------------------------------------------------------


def test_an_artifact_is_found_by_name_saved_and_checked_by_hash(
    registry: Registry, tmp_path: Path
) -> None:
    with mlops.start_run("read"):
        record = mlops.log_text("hello", "greeting.txt")
    assert record is not None
    assert find_artifact(registry, "read", "greeting.txt") == record
    with pytest.raises(NotFoundError, match='no artifact "nope"') as caught:
        find_artifact(registry, "read", "nope")
    assert "greeting.txt" in (caught.value.hint or "")
    out = save_artifact(registry, record, tmp_path / "out.txt")
    assert out.read_bytes() == b"hello"
    assert artifact_media_type(registry, record.sha256) == "text/plain"
    registry.artifacts.path_of(record.sha256).write_bytes(b"changed")
    with pytest.raises(ArtifactIntegrityError):
        artifact_bytes(registry, record.sha256)
    with pytest.raises(NotFoundError):
        artifact_media_type(registry, "0" * 64)


def test_a_registered_model_is_listed_with_the_runs_artifacts(registry: Registry) -> None:
    with mlops.start_run("trained"):
        mlops.register_model({"weights": [1, 2]}, "churn")
        mlops.log_text("x", "x.txt")
    found = by_name("trained")
    assert found["model:churn@1"].kind == "model" and found["model:churn@1"].size > 0
    assert mlops.load_model("churn@1") == {"weights": [1, 2]}


def test_rows_recorded_before_the_migration_gain_kind_size_and_time(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    before = MIGRATIONS[: MIGRATIONS.index(RUN_ARTIFACT_DETAILS)]
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
    conn.execute(
        "INSERT INTO runs (id, experiment_id, name, status, started_at)"
        " VALUES ('r1', 1, 'old', 'finished', 0)"
    )
    for sha, size, fmt, name in (
        ("a" * 64, 10, "joblib", "model:churn@1"),
        ("b" * 64, 20, "parquet", "train"),
    ):
        conn.execute("INSERT INTO artifacts VALUES (?, ?, ?, 5.0)", (sha, size, fmt))
        conn.execute("INSERT INTO run_artifacts VALUES ('r1', ?, ?)", (name, sha))
    conn.execute("COMMIT")
    conn.close()
    with Registry.open(path) as registry:
        found = {a.name: a for a in run_detail(registry, "r1").artifacts}
    assert (found["model:churn@1"].kind, found["model:churn@1"].size) == ("model", 10)
    assert (found["train"].kind, found["train"].media_type) == (
        "table",
        "application/vnd.apache.parquet",
    )
    assert found["train"].created_at == 5.0


@pytest.fixture
def two_runs(registry: Registry) -> Iterator[Registry]:
    with mlops.start_run("one"):
        mlops.log_text("same", "a.txt")
    with mlops.start_run("two"):
        mlops.log_text("same", "b.txt")
    yield registry


def test_the_same_bytes_in_two_runs_are_one_file(two_runs: Registry) -> None:
    assert len(stored_files(two_runs)) == 1
    assert by_name("one")["a.txt"].sha256 == by_name("two")["b.txt"].sha256


# -- a full disk --------------------------------------------------------------------------------


@needs_mount
def test_a_full_disk_does_not_break_the_cell_that_logs_an_artifact(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from IPython.core.interactiveshell import InteractiveShell

    with small_tmpfs(tmp_path / "disk", size_kib=16 * 1024) as disk:
        registry = Registry.init(disk)
        use_registry(registry)
        InteractiveShell.clear_instance()
        shell = InteractiveShell.instance()
        try:
            run_cell(shell, "%load_ext jupyter_mlops")
            shell.push({"np": np})
            run_cell(shell, "%mlops start spanning")
            with disk_full(disk), caplog.at_level(logging.WARNING):
                result = run_cell(
                    shell,
                    "kept = mlops.log_text('x' * 100_000, 'big.txt')\n"
                    "image = mlops.log_image(np.zeros((64, 64, 3)), 'img')\ndone = 1",
                )
            assert result.error_in_exec is None and shell.user_ns["done"] == 1
            assert shell.user_ns["kept"] is None and shell.user_ns["image"] is None
            assert 'text "big.txt" of run' in caplog.text and "full" in caplog.text
            run_cell(shell, "again = mlops.log_text('x' * 100_000, 'big.txt')")
            assert shell.user_ns["again"] is not None  # space is back: stored
            run_cell(shell, "%mlops end")
            assert set(by_name("spanning")) == {"big.txt"}
            assert registry.integrity_check() == "ok"
        finally:
            run_cell(shell, "%unload_ext jupyter_mlops")
            InteractiveShell.clear_instance()
            SESSION.reset()
            registry.close()
