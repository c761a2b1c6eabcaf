"""Helpers for the pipeline tests: tagged notebooks built with nbformat, exported, run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from jupyter_mlops.export import export_notebook
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.runner.pipeline import run_pipeline
from jupyter_mlops.tracking.queries.detail import run_detail


def code(source: str, *tags: str) -> Any:
    """A code cell with ``tags``."""
    return new_code_cell(source, metadata={"tags": list(tags)} if tags else {})


def export_cells(folder: Path, name: str, cells: list[Any], **options: Any) -> Path:
    """Write ``name.ipynb`` in ``folder`` from ``cells``, export it locally, return the
    pipeline directory (``folder/name-pipeline``)."""
    nbformat.write(new_notebook(cells=cells), folder / f"{name}.ipynb")
    options.setdefault("targets", "local")
    result = export_notebook(folder / f"{name}.ipynb", folder / f"{name}-pipeline", **options)
    return result.output_dir


def run(pipeline: Path, workdir: Path, **options: Any) -> Any:
    """Run ``pipeline`` in ``workdir`` against ``workdir/.mlops``, without raising."""
    options.setdefault("check", False)
    return run_pipeline(pipeline, workdir=workdir, registry=workdir / ".mlops", **options)


def statuses(result: Any) -> dict[str, str]:
    return {step.name: step.status for step in result.steps}


def open_registry(workdir: Path) -> Registry:
    return Registry.open(workdir / ".mlops" / "registry.db")


def notebook_metrics(workdir: Path) -> dict[str, float]:
    """The model's metrics of the notebook run; its ``system/...`` series (CPU and memory
    sampled while the notebook ran) describe the machine, and pipeline steps sample none."""
    with open_registry(workdir) as registry:
        run = run_detail(registry, "cancer-notebook").run
        assert run.kind == "notebook" and run.status == "finished"
        assert any(key.startswith("system/") for key in run.metrics)
        return {k: v for k, v in run.metrics.items() if not k.startswith("system/")}
