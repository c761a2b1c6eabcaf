"""Run a reproduction notebook headless, in a fresh kernel of a chosen Python, recording
into a chosen registry, with a line per cell as it ends.

The kernel is started from a kernel spec written for the occasion (``python -m
ipykernel_launcher`` of that Python, ``MLOPS_REGISTRY`` set to the registry), so the
reproduction neither depends on nor changes the kernels installed for the user.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from ..registry.location import ENV_VAR

KERNEL_NAME = "mlops-reproduce"


@dataclass(frozen=True)
class Execution:
    """How the notebook ran: ``error`` is None when every cell ran; else the exception's
    name and text, and ``failed_cell`` the index of the cell that raised."""

    seconds: float
    error: str | None = None
    error_name: str | None = None
    failed_cell: int | None = None
    outputs: tuple[str, ...] = ()  # the text the cells printed, in order


def execute(
    notebook: nbformat.NotebookNode,
    *,
    python: str,
    registry_path: Path,
    workdir: Path,
    timeout: float = 1800,
    progress: Callable[[str], None] | None = None,
    environment: dict[str, str] | None = None,
) -> Execution:
    """Execute ``notebook`` in place (outputs filled in) in a fresh kernel of ``python``."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import execute as run_notebook
    from nbclient.exceptions import CellExecutionError
    from traitlets import default

    started = time.monotonic()
    total = sum(1 for cell in notebook.cells if cell.cell_type == "code")
    done = 0

    def on_cell_executed(cell: Any, cell_index: int, execute_reply: Any) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            first = next((line for line in cell.source.splitlines() if line.strip()), "")
            progress(
                f"  cell {done}/{total} ran ({time.monotonic() - started:.1f} s): {first[:60]}"
            )

    with tempfile.TemporaryDirectory(prefix="mlops-kernel-") as specs:
        spec_dir = Path(specs) / KERNEL_NAME
        spec_dir.mkdir()
        (spec_dir / "kernel.json").write_text(
            json.dumps(
                {
                    "argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                    "display_name": "jupyter-mlops reproduction",
                    "language": "python",
                    "env": {ENV_VAR: str(registry_path), **(environment or {})},
                }
            )
        )
        specs_here = KernelSpecManager(kernel_dirs=[specs])

        class ReproductionKernel(AsyncKernelManager):
            """Finds only the kernel spec written above; nbclient starts and stops it."""

            @default("kernel_spec_manager")
            def _specs(self) -> KernelSpecManager:
                return specs_here

        try:
            run_notebook(
                notebook,
                cwd=str(workdir),
                kernel_name=KERNEL_NAME,
                kernel_manager_class=ReproductionKernel,
                timeout=timeout,
                on_cell_executed=on_cell_executed,
            )
        except CellExecutionError as exc:
            failed = _failed_cell(notebook)
            return Execution(
                time.monotonic() - started,
                error=str(exc.evalue or exc),
                error_name=exc.ename,
                failed_cell=failed,
                outputs=_printed(notebook),
            )
    return Execution(time.monotonic() - started, outputs=_printed(notebook))


def _failed_cell(notebook: nbformat.NotebookNode) -> int | None:
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return index
    return None


def _printed(notebook: nbformat.NotebookNode) -> tuple[str, ...]:
    return tuple(
        output.get("text", "")
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream"
    )
