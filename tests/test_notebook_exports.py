"""The example notebooks, executed in a real kernel and exported with nbconvert's HTML
exporter: every ``%mlops`` view shows its tables and charts in the page, with no
JavaScript and no kernel, although the notebook saved its widget state (nbclient does,
and with it nbconvert would pick the widget)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest
from bs4 import BeautifulSoup, Tag
from nbconvert import HTMLExporter

from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.tracking.formatting import value_text
from jupyter_mlops.tracking.queries.detail import run_detail
from jupyter_mlops.tracking.queries.listing import list_runs

from .test_notebooks import execute

pytestmark = pytest.mark.slow

WIDGET = "application/vnd.jupyter.widget-view+json"


class Exported:
    """An executed notebook, its registry's directory, and its cells as the HTML export
    draws them (one list of output elements per cell)."""

    def __init__(self, notebook: nbformat.NotebookNode, workdir: Path) -> None:
        # consecutive prints merged into one stream, as some nbconvert versions do when
        # exporting: outputs and drawn outputs then match one to one on every version
        for cell in notebook.cells:
            if cell.cell_type == "code":
                cell.outputs = _merged_streams(cell.outputs)
        self.notebook = notebook
        self.workdir = workdir
        page, _ = HTMLExporter().from_notebook_node(notebook)
        self.page = page
        soup = BeautifulSoup(page, "html.parser")
        drawn = soup.select("div.jp-Cell")
        assert len(drawn) == len(notebook.cells)
        self.cells: list[list[Tag]] = [
            [
                child.select_one(".jp-OutputArea-output")
                for child in cell.select(".jp-OutputArea-child")
            ]  # type: ignore[misc]
            for cell in drawn
        ]

    def registry(self) -> Registry:
        return Registry.open(self.workdir / ".mlops" / "registry.db")

    def index(self, start: str) -> int:
        found = [i for i, c in enumerate(self.notebook.cells) if c.source.startswith(start)]
        assert len(found) == 1, start
        return found[0]

    def shown(self, start: str) -> Tag:
        """The visible outputs of the cell whose source starts with ``start``, as one
        element: what a reader without JavaScript sees."""
        outputs = [o for o in self.cells[self.index(start)] if not _widget_placeholder(o)]
        holder = BeautifulSoup("<div></div>", "html.parser").div
        assert holder is not None
        for output in outputs:
            holder.append(BeautifulSoup(str(output), "html.parser"))
        return holder


def _widget_placeholder(output: Tag) -> bool:
    return "jupyter-widgets" in (output.get("class") or [])


def _blank(output: Tag) -> bool:
    return not output.get_text(strip=True) and not output.select("svg, img, table")


def _merged_streams(outputs: list[Any]) -> list[Any]:
    merged: list[Any] = []
    for output in outputs:
        last = merged[-1] if merged else None
        if (
            last is not None
            and output.output_type == last.output_type == "stream"
            and output.name == last.name
        ):
            last.text += output.text
        else:
            merged.append(output)
    return merged


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Exported]:
    """Each example notebook executed and exported once for the whole module."""
    done: dict[str, Exported] = {}

    def get(name: str) -> Exported:
        if name not in done:
            workdir = tmp_path_factory.mktemp(name.split("-")[0])
            done[name] = Exported(execute(name, workdir), workdir)
        return done[name]

    return get


def _tables(shown: Tag) -> list[list[list[str]]]:
    """Every table as rows of cell texts."""
    return [
        [
            [cell.get_text(" ", strip=True) for cell in row.select("th, td")]
            for row in table.select("tr")
        ]
        for table in shown.select("table")
    ]


def _column(table: list[list[str]], header: str) -> list[str]:
    index = table[0].index(header)
    return [row[index] for row in table[1:]]


def _chart(shown: Tag, title: str) -> Tag:
    """The SVG chart titled ``title``."""
    for svg in shown.select("svg"):
        heading = svg.select_one("text[font-weight=bold]")
        if heading is not None and heading.get_text() == title:
            return svg
    raise AssertionError(f"no chart titled {title!r}")


NOTEBOOKS = (
    "01-tracking.ipynb",
    "02-models-gates-drift.ipynb",
    "03-pipeline.ipynb",
    "04-sweeps-and-artifacts.ipynb",
)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_no_output_of_an_exported_notebook_is_blank(
    exported: Callable[[str], Exported], name: str
) -> None:
    notebook = exported(name)
    assert "widgets" in notebook.notebook.metadata  # the state nbconvert would draw from
    views = 0
    for cell, drawn in zip(notebook.notebook.cells, notebook.cells):
        if cell.cell_type != "code":
            continue
        assert len(drawn) == len(cell.outputs)
        statics = {
            o.metadata["jupyter_mlops"]["static"]: index
            for index, o in enumerate(cell.outputs)
            if "static" in o.get("metadata", {}).get("jupyter_mlops", {})
        }
        for index, (output, element) in enumerate(zip(cell.outputs, drawn)):
            if WIDGET in output.get("data", {}):
                # the live widget: drawn only with JavaScript; its static twin comes first
                views += 1
                twin = statics[output.metadata["jupyter_mlops"]["live"]]
                assert twin < index and not _blank(drawn[twin])
                assert _widget_placeholder(element) or not element.get_text(strip=True)
            else:
                assert not _blank(element), (cell.source[:60], output)
    assert views >= 2  # each notebook shows views


def test_tracking_notebook_shows_the_runs_table_and_compared_curves(
    exported: Callable[[str], Exported],
) -> None:
    notebook = exported("01-tracking.ipynb")
    with notebook.registry() as registry:
        runs = list_runs(registry, experiment="cancer").runs
        baseline, tuned = run_detail(registry, "baseline"), run_detail(registry, "tuned")
    (table,) = _tables(notebook.shown("%mlops runs --experiment cancer --sort -accuracy"))
    accuracy = {r.name: value_text(r.metrics["accuracy"]) for r in runs}
    ordered = sorted(accuracy, key=lambda name: -float(accuracy[name]))
    assert _column(table, "name") == ordered  # sorted by -accuracy, as asked
    assert _column(table, "accuracy") == [accuracy[name] for name in ordered]

    compared = notebook.shown("%mlops compare baseline tuned")
    params, metrics = _tables(compared)
    assert params[0][1:] == [f"baseline ({baseline.run.id[:6]})", f"tuned ({tuned.run.id[:6]})"]
    row = next(r for r in metrics if r[0] == "accuracy")
    assert row[1:] == [
        value_text(baseline.run.metrics["accuracy"]),
        value_text(tuned.run.metrics["accuracy"]),
    ]
    chart = _chart(compared, "test_accuracy")
    curves = {line.title.get_text() for line in chart.select("polyline") if line.title}
    assert curves == set(params[0][1:])  # one curve per run, each named


def test_models_notebook_shows_gates_models_and_drift_reports(
    exported: Callable[[str], Exported],
) -> None:
    notebook = exported("02-models-gates-drift.ipynb")
    gate = notebook.shown('%mlops gate "accuracy >= 0.9" "f1 >= 0.9" --run forest')
    (rules,) = _tables(gate)
    assert _column(rules, "rule") == ["accuracy >= 0.9", "f1 >= 0.9"]
    with notebook.registry() as registry:
        forest = run_detail(registry, "forest").run.metrics
    assert _column(rules, "actual") == [value_text(forest["accuracy"]), value_text(forest["f1"])]
    assert set(_column(rules, "verdict")) == {"✓ passed"}

    drift_gate = notebook.shown("%mlops gate --drift cancer@champion:batch_texture")
    words = drift_gate.get_text()
    assert "✓ passed" in words and "Review: some columns changed" in words  # fails on retrain
    assert drift_gate.select("details svg")  # the drift view's histograms below the gate

    (versions,) = _tables(notebook.shown("%mlops models"))
    assert _column(versions, "version") == ["2", "1"]
    assert _column(versions, "aliases") == [
        "challenger staging",
        "champion",
    ]  # production comes later

    for start, decision in (
        ("%mlops drift cancer@champion test", "Monitor"),
        ("%mlops drift cancer@champion batch_texture", "Review"),
        ("radius_report = mlops.check_drift", "Retrain"),  # a report a cell returns
    ):
        shown = notebook.shown(start)
        assert shown.select_one(".mlops-drift-decision").get_text().startswith(decision)  # type: ignore[union-attr]
        columns = _column(_tables(shown)[0], "column")
        assert "mean radius" in " ".join(columns) and len(columns) >= 30
        assert len(shown.select("svg")) == len(columns)  # a chart per column
        assert all(svg.select("rect") for svg in shown.select("svg"))


def test_pipeline_notebook_shows_the_export_and_the_run_as_graphs(
    exported: Callable[[str], Exported],
) -> None:
    notebook = exported("03-pipeline.ipynb")
    export = notebook.shown("%mlops export -o cancer-pipeline")
    (steps,) = _tables(export)
    names = _column(steps, "step")
    assert len(names) >= 3
    assert len(export.select("svg")) == 1
    drawn = [t.get_text() for t in export.select("svg text")]
    assert all(name in drawn for name in names)  # a box per step

    run = notebook.shown("%mlops pipeline run cancer-pipeline")
    (outcomes,) = _tables(run)
    assert _column(outcomes, "step") == names
    assert set(_column(outcomes, "outcome")) == {"ok"}
    assert "parity ok" in run.get_text() and len(run.select("svg")) == 1


def test_sweeps_notebook_shows_the_sweep_charts_and_the_run_page(
    exported: Callable[[str], Exported],
) -> None:
    notebook = exported("04-sweeps-and-artifacts.ipynb")
    (table,) = _tables(notebook.shown("%mlops runs --experiment sweeps"))
    assert set(_column(table, "name")) == {"c-loop", "grid"}  # the runs before that cell
    assert _column(table, "children")[_column(table, "name").index("grid")] == "12 children"

    sweep = notebook.shown("%mlops sweep grid")
    lines = sweep.select("polyline")
    assert len([p for p in lines if "mlops-sweep-run" in p["class"]]) == 11
    assert len([p for p in lines if "mlops-sweep-best" in p["class"]]) == 1
    assert len(sweep.select("circle")) == 12  # the scatter: a point per child

    page = notebook.shown("%mlops show boosted")
    with notebook.registry() as registry:
        boosted = run_detail(registry, "boosted")
    headings = [h.get_text() for h in page.select("h4")]
    assert headings[:3] == ["Overview", "Parameters", "Metrics"]
    metrics = next(t for t in _tables(page) if t[0][0] == "metric")
    last = dict(zip(_column(metrics, "metric"), _column(metrics, "last")))
    assert last["best_iteration"] == value_text(boosted.run.metrics["best_iteration"])
    curve = _chart(page, "valid_0/binary_logloss")
    assert len(curve.select("polyline")) == 1
    points = curve.select_one("polyline")["points"].split()  # type: ignore[index,union-attr]
    assert len(points) == len(boosted.series["valid_0/binary_logloss"])
    artifacts = next(t for t in _tables(page) if t[0][:2] == ["name", "kind"])
    assert "feature_importance.parquet" in _column(artifacts, "name")

    trials = notebook.shown("%mlops sweep tuning --metric value")
    assert len(trials.select("polyline.mlops-sweep-best")) == 1


def _tick_labels(svg: Any) -> list[str]:
    return [t.get_text() for t in svg.select("text") if t.get("text-anchor") == "end"]


def test_chart_ticks_of_the_exported_pages_are_never_repeated(
    exported: Callable[[str], Exported],
) -> None:
    for name in ("01-tracking.ipynb", "04-sweeps-and-artifacts.ipynb"):
        soup = BeautifulSoup(exported(name).page, "html.parser")
        charts = [svg for svg in soup.select(".jp-RenderedHTML svg") if svg.select("polyline")]
        assert charts
        for svg in charts:
            labels = _tick_labels(svg)
            assert len(labels) == len(set(labels)), labels
            assert all(re.fullmatch(r"-?[\d.]+(e[+-]\d+)?", label) for label in labels), labels
