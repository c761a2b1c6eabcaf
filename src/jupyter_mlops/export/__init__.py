"""Notebook -> pipeline: read a tagged notebook, write a runnable pipeline directory.

    from jupyter_mlops.export import export_notebook
    export_notebook("churn.ipynb", "churn-pipeline", targets=("local", "docker"))

or ``jupyter nbconvert --to mlops-pipeline churn.ipynb`` (the exporter class is
:class:`jupyter_mlops.export.exporter.PipelineExporter`, imported only by nbconvert).
"""

from __future__ import annotations

from .api import TARGETS, ExportResult, export_notebook

__all__ = ["TARGETS", "ExportResult", "export_notebook"]
