"""What a view leaves outside a live kernel: text tables in terminal IPython, escaped
static HTML, and SVG charts whose ticks read well. (The exported notebooks are in
test_notebook_exports.py.)"""

from __future__ import annotations

import re
from typing import Any

from IPython.utils.capture import capture_output

from jupyter_mlops.widgets.charts import line_chart
from jupyter_mlops.widgets.static import CELL_WIDTH, plain_text

from .conftest import run_cell


def _two_runs(shell: Any) -> None:
    run_cell(
        shell,
        "%%mlops run baseline\nlr = 0.1\n"
        "for i in range(4): mlops.log(loss=1 / (i + 1))\nmlops.log(accuracy=0.875)",
    )
    run_cell(
        shell,
        "%%mlops run tuned\nlr = 0.05\n"
        "for i in range(4): mlops.log(loss=0.5 / (i + 1))\nmlops.log(accuracy=0.9125)",
    )


def test_terminal_ipython_prints_the_runs_table_as_text(shell: Any, capsys: Any) -> None:
    _two_runs(shell)
    capsys.readouterr()
    run_cell(shell, "%mlops runs --sort -accuracy")
    out = capsys.readouterr().out
    assert "Box(" not in out and "View(" not in out  # no widget's repr
    header, rule, first, second = out.strip().splitlines()
    assert header.split() == [
        "status", "name", "id", "experiment", "started", "duration", "lr", "accuracy", "loss",
    ]  # fmt: skip
    assert set(rule.replace(" ", "")) == {"-"}
    assert first.split()[:2] == ["finished", "tuned"] and second.split()[1] == "baseline"
    # the columns line up: each value starts under its header
    assert first.index("0.9125") == header.index("accuracy")
    assert second.index("0.875") == header.index("accuracy")
    assert first.index("0.05") == header.index("lr")


def test_terminal_ipython_prints_a_run_page_as_text(shell: Any, capsys: Any) -> None:
    _two_runs(shell)
    capsys.readouterr()
    run_cell(shell, "%mlops show baseline")
    out = capsys.readouterr().out
    assert "Box(" not in out and "View(" not in out
    lines = out.splitlines()
    for section in ("Overview", "Parameters", "Metrics", "Code", "Environment"):
        assert lines[lines.index(section) + 1] == "-" * len(section)
    assert any(line.split() == ["name", "baseline"] for line in lines)
    assert any(line.split() == ["lr", "0.1", "literal"] for line in lines)
    assert any(line.split() == ["loss", "0.25", "0.25", "1", "4"] for line in lines)
    assert "[chart: loss]" in lines
    assert "for i in range(4): mlops.log(loss=1 / (i + 1))" in lines  # the code as written


def test_without_a_kernel_a_view_is_one_output_of_text_and_html(shell: Any) -> None:
    _two_runs(shell)
    for source in ("%mlops runs", "%mlops show tuned", "%mlops compare baseline tuned"):
        with capture_output() as captured:
            run_cell(shell, source)
        (output,) = captured.outputs
        assert set(output.data) == {"text/plain", "text/html"}
        assert "tuned" in output.data["text/plain"] and "tuned" in output.data["text/html"]


MARKUP = "<i>odd</i> & <script>alert(1)</script>"


def test_markup_in_names_and_params_is_text_in_html_and_in_the_terminal(shell: Any) -> None:
    run_cell(
        shell,
        f"%%mlops run '{MARKUP}'\nnote = {MARKUP!r}\nfor i in range(3): mlops.log(loss=1 / (i + 1))",
    )
    run_cell(shell, "%%mlops run plain\nnote = 'x'\nfor i in range(3): mlops.log(loss=2 / (i + 1))")
    for source in ("%mlops runs", f"%mlops show '{MARKUP}'", f"%mlops compare plain '{MARKUP}'"):
        with capture_output() as captured:
            run_cell(shell, source)
        page = "".join(o.data.get("text/html", "") for o in captured.outputs)
        assert "<i>odd" not in page and "<script>" not in page
        assert "&lt;i&gt;odd&lt;/i&gt; &amp; &lt;script&gt;" in page
        text = "".join(o.data["text/plain"] for o in captured.outputs)
        assert "<i>odd</i> & <script>" in text  # the terminal shows the name as it is


def test_text_form_lays_out_tables_cuts_long_values_and_keeps_code() -> None:
    long = "x" * (CELL_WIDTH + 10)
    page = (
        "<style>.a{}</style><h4>Runs</h4><p>Two   runs.</p>"
        "<table><thead><tr><th>name</th><th>note</th></tr></thead><tbody>"
        f"<tr><td>a&amp;b</td><td>{long}</td></tr><tr><td>c</td><td>short</td></tr>"
        '</tbody></table><div class="mlops-code">def f():\n    return 1</div>'
        '<svg><text font-weight="bold">loss</text><text>0.5</text></svg>'
    )
    assert plain_text(page).splitlines() == [
        "Runs",
        "----",
        "Two runs.",
        "name  note",
        "----  " + "-" * CELL_WIDTH,
        "a&b   " + "x" * (CELL_WIDTH - 1) + "…",
        "c     short",
        "def f():",
        "    return 1",
        "[chart: loss]",
    ]


def _labels(svg: str, anchor: str) -> list[str]:
    return re.findall(rf'text-anchor="{anchor}" fill="[^"]+">([^<]+)</text>', svg)


def test_a_narrow_curve_has_distinct_y_ticks_and_whole_step_ticks() -> None:
    svg = line_chart({"run": [(0, 0.95001), (1, 0.95002), (2, 0.95004)]}, title="accuracy")
    y = _labels(svg, "end")
    assert len(y) >= 3 and len(set(y)) == len(y)
    x = _labels(svg, "middle")[:-1]  # the last is the axis name
    assert x == ["0", "1", "2"]  # steps are whole: no 0.5
    assert _labels(svg, "middle")[-1] == "step"
