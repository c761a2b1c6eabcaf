"""Notebook -> pipeline: read a tagged notebook, write a runnable pipeline directory.

    from jupyter_mlops.export import export_notebook
    export_notebook("churn.ipynb", "churn-pipeline", targets=("local", "docker"))

or ``jupyter nbconvert --to mlops-pipeline churn.ipynb`` (the exporter class is
:class:`jupyter_mlops.export.exporter.PipelineExporter`, imported only by nbconvert).

The same image machinery writes a served model's image and KServe resources
(:mod:`.kserve`, ``jupyter mlops serve NAME@ALIAS --target kserve``).
"""

from __future__ import annotations

from .api import TARGETS, ExportResult, export_notebook

__all__ = ["TARGETS", "ExportResult", "export_notebook"]
