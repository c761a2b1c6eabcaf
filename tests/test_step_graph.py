"""The step graph: columns by depth, a box per step coloured by how it ended, escaped text."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from jupyter_mlops.errors import InvalidInputError
from jupyter_mlops.widgets.step_graph import StepBox, step_columns, step_graph_svg

SVG = "{http://www.w3.org/2000/svg}"


def boxes(svg: str) -> dict[str, tuple[float, float, str]]:
    """Each step's rectangle (x, y) and state, read back from the drawing."""
    root = ET.fromstring(svg)
    found = {}
    for group in root.iter(f"{SVG}g"):
        rect = group.find(f"{SVG}rect")
        found[group.get("data-step")] = (
            float(rect.get("x")), float(rect.get("y")), group.get("data-state")
        )  # fmt: skip
    return found


def test_columns_follow_the_deepest_parent():
    names = ["load", "features", "train", "report", "gate"]
    edges = [("load", "features"), ("features", "train"), ("load", "report"), ("train", "gate"),
             ("report", "gate")]  # fmt: skip

    assert step_columns(names, edges) == {
        "load": 0, "features": 1, "report": 1, "train": 2, "gate": 3
    }  # fmt: skip


def test_every_edge_points_right_and_steps_of_a_column_stack():
    steps = [StepBox("load", "ok", "0.4 s"), StepBox("a", "cached"), StepBox("b", "failed"),
             StepBox("join", "not_run")]  # fmt: skip
    edges = [("load", "a"), ("load", "b"), ("a", "join"), ("b", "join")]

    svg = step_graph_svg(steps, edges, title="churn")
    drawn = boxes(svg)

    for source, target in edges:
        assert drawn[source][0] < drawn[target][0]
    assert drawn["a"][0] == drawn["b"][0] and drawn["a"][1] < drawn["b"][1]
    assert {name: state for name, (_, _, state) in drawn.items()} == {
        "load": "ok", "a": "cached", "b": "failed", "join": "not_run"
    }  # fmt: skip
    assert svg.count('class="mlops-edge"') == 4
    assert "0.4 s" in svg and "not run" in svg and ">churn<" in svg


def test_names_and_notes_are_escaped_text():
    name = "<img src=x onerror=alert(1)>"
    svg = step_graph_svg([StepBox(name, None, "drift: <b>")], [])

    assert "<img" not in svg and "<b>" not in svg
    assert boxes(svg) == {name: (8.0, 8.0, "")}  # parses back to the same name


def test_a_long_name_is_shortened_on_the_box_and_whole_in_its_tooltip():
    name = "a_step_with_a_very_long_descriptive_name_indeed"
    svg = step_graph_svg([StepBox(name, "ok")], [])

    root = ET.fromstring(svg)
    shown = [t.text for t in root.iter(f"{SVG}text")]
    assert name not in shown and any(t and t.endswith("…") for t in shown)
    assert root.find(f"{SVG}g/{SVG}title").text == f"{name}: ok"


def test_no_steps_is_said_in_words():
    assert "No steps" in step_graph_svg([], [])


@pytest.mark.parametrize(
    "steps, edges, words",
    [
        ([StepBox("a")], [("a", "ghost")], 'no step "ghost"'),
        ([StepBox("a"), StepBox("b")], [("a", "b"), ("b", "a")], "cycle"),
        ([StepBox("a"), StepBox("a")], [], "same name"),
        ([StepBox("a", "exploded")], [], 'unknown state "exploded"'),
    ],
)
def test_a_graph_that_cannot_be_drawn_is_a_clear_error(steps, edges, words):
    with pytest.raises(InvalidInputError, match=words):
        step_graph_svg(steps, edges)
