"""The images a run's cells display are stored as its artifacts with no logging call: in a
real kernel shell (ipykernel's, in process) with matplotlib's inline backend, and in a
plain IPython shell."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import jupyter_mlops as mlops
from jupyter_mlops.registry.connection import Registry

from .conftest import run_cell

pytest.importorskip("matplotlib")
pytest.importorskip("matplotlib_inline")
from PIL import Image  # noqa: E402


@pytest.fixture
def kernel(registry: Registry) -> Iterator[Any]:
    """The shell of a real (in-process) IPython kernel, as a notebook has, with the
    extension loaded and ``%matplotlib inline``."""
    from ipykernel.inprocess.ipkernel import InProcessInteractiveShell
    from ipykernel.inprocess.manager import InProcessKernelManager
    from IPython.core.interactiveshell import InteractiveShell

    InProcessInteractiveShell.clear_instance()  # and InteractiveShell's: one shell at a time
    InteractiveShell.clear_instance()
    manager = InProcessKernelManager()
    manager.start_kernel()
    shell = manager.kernel.shell
    for line in (
        "%load_ext jupyter_mlops",
        "%matplotlib inline",
        "import matplotlib.pyplot as plt",
    ):
        assert run_cell(shell, line).error_in_exec is None
    # matplotlib-inline turns on the PNG formatter for the first shell of a process only;
    # here each test has a kernel of its own, so each gets it as a fresh kernel would
    from IPython.core.pylabtools import select_figure_formats

    select_figure_formats(shell, {"png"})
    yield shell
    run_cell(shell, "plt.close('all')")
    run_cell(shell, "%unload_ext jupyter_mlops")
    manager.shutdown_kernel()
    InProcessInteractiveShell.clear_instance()
    InteractiveShell.clear_instance()


def stored_files(registry: Registry) -> set[str]:
    return {p.name for p in registry.artifacts.root.glob("??/*") if p.is_file()}


def outputs_of(run: str) -> dict[str, Any]:
    return {a.name: a for a in mlops.get_run(run).artifacts}


def test_plt_show_in_a_run_cell_stores_a_png_without_a_logging_call(
    kernel: Any, registry: Registry
) -> None:
    result = run_cell(kernel, "%%mlops run curve\nplt.plot([1, 3, 2])\nplt.show()")
    assert result.error_in_exec is None
    (record,) = outputs_of("curve").values()
    assert record.name == f"outputs/cell-{result.execution_count}-1.png"
    assert record.kind == "image" and record.media_type == "image/png"
    assert record.execution_count == result.execution_count
    png = registry.artifacts.read_bytes(record.sha256)
    assert Image.open(io.BytesIO(png)).size[0] > 100


def test_the_same_figure_shown_twice_is_stored_once(kernel: Any, registry: Registry) -> None:
    result = run_cell(
        kernel,
        "%%mlops run twice\nfig, ax = plt.subplots()\nax.plot([3, 2, 1])\n"
        "display(fig)\ndisplay(fig)\nplt.close(fig)",
    )
    assert result.error_in_exec is None
    assert list(outputs_of("twice")) == [f"outputs/cell-{result.execution_count}-1.png"]
    assert len(stored_files(registry)) == 1


def test_a_figure_left_open_and_a_figure_as_the_cells_value_are_stored(kernel: Any) -> None:
    left_open = run_cell(kernel, "%%mlops run open\nplt.plot([5, 2, 1])")
    assert list(outputs_of("open")) == [f"outputs/cell-{left_open.execution_count}-1.png"]
    as_value = run_cell(
        kernel,
        "%%mlops run value\nfig, ax = plt.subplots()\nax.bar([1, 2], [3, 4])\nplt.close(fig)\nfig",
    )
    assert list(outputs_of("value")) == [f"outputs/cell-{as_value.execution_count}-1.png"]


def test_a_run_over_several_cells_stores_each_cells_images_linked_to_it(kernel: Any) -> None:
    run_cell(kernel, "%mlops start spanning")
    first = run_cell(kernel, "plt.plot([1, 1, 2])")
    run_cell(kernel, "x = 1")
    second = run_cell(
        kernel,
        "fig, ax = plt.subplots()\nax.plot([0, 1])\nplt.show()\n"
        "fig2, ax2 = plt.subplots()\nax2.plot([1, 0])\nplt.show()",
    )
    run_cell(kernel, "%mlops end")
    run_cell(kernel, "plt.plot([9, 9, 1])")  # after the run: not stored
    found = outputs_of("spanning")
    assert set(found) == {
        f"outputs/cell-{first.execution_count}-1.png",
        f"outputs/cell-{second.execution_count}-1.png",
        f"outputs/cell-{second.execution_count}-2.png",
    }
    assert found[f"outputs/cell-{first.execution_count}-1.png"].execution_count == (
        first.execution_count
    )


@pytest.mark.parametrize(
    "first_line", ["%%mlops run quiet --no-outputs", "%%mlops run quiet --no-capture"]
)
def test_no_outputs_keeps_the_images_out_of_the_run(
    kernel: Any, registry: Registry, first_line: str
) -> None:
    result = run_cell(kernel, f"{first_line}\nplt.plot([1, 2, 3])\nplt.show()")
    assert result.error_in_exec is None
    assert outputs_of("quiet") == {} and stored_files(registry) == set()


def test_no_outputs_on_start_covers_every_cell_of_the_run(kernel: Any, registry: Registry) -> None:
    run_cell(kernel, "%mlops start quiet --no-outputs")
    run_cell(kernel, "plt.plot([1, 2, 3])\nplt.show()")
    run_cell(kernel, "%mlops end")
    assert outputs_of("quiet") == {} and stored_files(registry) == set()


def test_an_image_displayed_in_a_plain_shell_is_stored(shell: Any, registry: Registry) -> None:
    pixels = (np.arange(4 * 4 * 3) % 256).astype(np.uint8).reshape(4, 4, 3)
    png = io.BytesIO()
    Image.fromarray(pixels).save(png, format="PNG")
    shell.push({"png_bytes": png.getvalue()})
    result = run_cell(
        shell,
        "%%mlops run shown\nfrom IPython.display import Image, display\n"
        "display(Image(data=png_bytes))",
    )
    assert result.error_in_exec is None
    (record,) = outputs_of("shown").values()
    assert registry.artifacts.read_bytes(record.sha256) == png.getvalue()


def test_plotly_output_is_stored_as_its_figure_json(kernel: Any) -> None:
    pytest.importorskip("plotly")
    run_cell(kernel, "import plotly.io as pio\npio.renderers.default = 'plotly_mimetype'")
    result = run_cell(
        kernel,
        "%%mlops run interactive\nimport plotly.graph_objects as go\n"
        "go.Figure(go.Bar(x=['a', 'b'], y=[2, 5])).show()",
    )
    assert result.error_in_exec is None
    (record,) = outputs_of("interactive").values()
    assert record.name.endswith(".plotly.json") and record.kind == "figure"


def test_a_cell_that_displays_nothing_is_unchanged_by_the_capture(kernel: Any) -> None:
    run_cell(kernel, "%mlops start plain")
    result = run_cell(kernel, "y = 41 + 1")
    run_cell(kernel, "%mlops end")
    assert result.error_in_exec is None and kernel.user_ns["y"] == 42
    assert outputs_of("plain") == {}
