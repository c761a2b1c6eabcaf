"""The pipeline views, on pipelines exported and run for real into a real registry."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from jupyter_mlops.export import export_notebook
from jupyter_mlops.runner.history import (
    PipelineRunRecord,
    StepRunRecord,
    pipeline_run,
    pipeline_runs,
)
from jupyter_mlops.widgets.pipelines import PipelineRunsView, PipelineRunView, PipelineView

from .pipelines import code, export_cells, open_registry, run

pytestmark = pytest.mark.slow

SVG = "{http://www.w3.org/2000/svg}"

CELLS = [
    code("threshold = 1.0", "parameters"),
    code("count = 3\nmlops.log(count=count)", "step:count"),
    code("side = 'left'", "step:side"),
    code("count > threshold", "gate"),
    code("report = {'count': count, 'side': side}", "step:report"),
]


def drawn_states(html: str) -> dict[str, str]:
    """Each box of the graph in ``html``: step name -> data-state."""
    svg = html[html.index("<svg") : html.index("</svg>") + len("</svg>")]
    return {g.get("data-step"): g.get("data-state") for g in ET.fromstring(svg).iter(f"{SVG}g")}


def test_a_passing_run_draws_every_step_ok_and_cached_steps_dashed(tmp_path: Path):
    pipeline = export_cells(tmp_path, "counts", CELLS)
    run(pipeline, tmp_path)
    run(pipeline, tmp_path)  # nothing changed: count, side and report are reused

    with open_registry(tmp_path) as registry:
        first, second = pipeline_runs(registry)[::-1]
        assert ("count", "side_gate") in second.edges and ("side", "report") in second.edges
        html = PipelineRunView(second).static_html()

    assert drawn_states(PipelineRunView(first).static_html()) == {
        "count": "ok", "side": "ok", "side_gate": "ok", "report": "ok"
    }  # fmt: skip
    assert drawn_states(html) == {
        "count": "cached",
        "side": "cached",
        "side_gate": "cached",
        "report": "cached",
    }  # fmt: skip  (an unchanged gate is reused, its verdict recorded again)
    assert "passed" in html and second.id in html


def test_a_failed_gate_is_red_and_what_it_stopped_is_not_run(tmp_path: Path):
    pipeline = export_cells(tmp_path, "counts", CELLS)
    run(pipeline, tmp_path, params=["threshold=100"])

    with open_registry(tmp_path) as registry:
        record = pipeline_run(registry, "counts")
    html = PipelineRunView(record).static_html()

    assert drawn_states(html) == {
        "count": "ok", "side": "ok", "side_gate": "gate_failed", "report": "not_run"
    }  # fmt: skip
    assert "a gate failed" in html and "not run" in html


def test_the_runs_list_shows_each_run_newest_first(tmp_path: Path):
    pipeline = export_cells(tmp_path, "counts", CELLS)
    run(pipeline, tmp_path)
    run(pipeline, tmp_path, params=["threshold=100"])

    with open_registry(tmp_path) as registry:
        records = pipeline_runs(registry)
    html = PipelineRunsView(records).static_html()

    assert html.index(records[0].id) < html.index(records[1].id)
    assert "a gate failed" in html and "passed" in html
    assert "No pipeline runs recorded yet" in PipelineRunsView(()).static_html()


def test_an_export_draws_its_steps_with_what_each_reads(tmp_path: Path):
    import nbformat
    from nbformat.v4 import new_notebook

    nbformat.write(new_notebook(cells=CELLS), tmp_path / "counts.ipynb")
    result = export_notebook(tmp_path / "counts.ipynb", tmp_path / "out", targets="local",
                             run_id=None)  # fmt: skip
    html = PipelineView(result).static_html()

    assert drawn_states(html) == {"count": "", "side": "", "side_gate": "", "report": ""}
    assert ">gate<" in html and "4 steps written to" in html
    row = html[html.index("<b>report</b>") :].split("</tr>")[0]
    assert "count, side" in row  # report reads both


def test_names_and_messages_from_the_registry_are_shown_as_text():
    bad = "<img src=x onerror=alert(1)>"
    step = StepRunRecord(name=bad, seq=0, status="failed", cached=False, run_id=bad,
                         duration=0.1, message=bad, code_sha256=None, outputs={},
                         log_path=None)  # fmt: skip
    record = PipelineRunRecord(
        id=bad, pipeline=bad, status="failed", experiment=bad, started_at=0.0, ended_at=1.0,
        parameters={}, from_step=None, failed_step=bad, message=bad,
        parity={"status": "mismatch", "compared": [{"key": bad, "notebook": 1.0,
                                                    "pipeline": 2.0, "equal": False}]},
        exported_from_run_id=None, notebook=None, directory=None, steps=(step,), edges=(),
    )  # fmt: skip

    for html in (PipelineRunView(record).static_html(), PipelineRunsView([record]).static_html()):
        assert "<img" not in html and "&lt;img" in html
