"""The nbconvert exporter ``mlops-pipeline``.

    jupyter nbconvert --to mlops-pipeline churn.ipynb
    jupyter nbconvert --to mlops-pipeline churn.ipynb --output-dir build \\
        --PipelineExporter.targets=local,docker,kfp
    jupyter nbconvert --to mlops-pipeline churn.ipynb \\
        --PipelineExporter.wheel=dist/jupyter_mlops-0.1.0-py3-none-any.whl

writes ``churn-pipeline/`` (``<output name>-pipeline/`` under ``--output-dir``): the
main output nbconvert writes is ``pipeline.json`` inside it, every other file goes
through nbconvert's ``resources["outputs"]``, so the usual writers and ``--output-dir``
work unchanged. Registered through the ``nbconvert.exporters`` entry point.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nbconvert.exporters import Exporter
from traitlets import Integer, List, Unicode

from ..runner.spec import SPEC_FILENAME
from .api import TARGETS, build_pipeline_files

PIPELINE_SUFFIX = "-pipeline"


class PipelineExporter(Exporter):
    """Export a tagged notebook to a jupyter-mlops pipeline directory."""

    export_from_notebook = "MLOps pipeline"
    output_mimetype = "application/json"

    targets = List(
        Unicode(),
        default_value=["local", "docker"],
        help=f"What to generate besides the spec and step modules: any of {', '.join(TARGETS)}.",
    ).tag(config=True)
    base_image = Unicode("", help="Base image of the Dockerfile (default python:3.X-slim).").tag(
        config=True
    )
    image = Unicode(
        "",
        help="Image the Kubeflow components run, pushed where the cluster pulls it (required by"
        " the kfp target; local: the local build's tag).",
    ).tag(config=True)
    wheel = Unicode(
        "",
        help="A jupyter-mlops wheel of this version to put in wheels/ (docker target): the image"
        " installs it instead of the package index's.",
    ).tag(config=True)
    seed = Integer(
        None,
        allow_none=True,
        help="Seed every step (random, NumPy, torch, PYTHONHASHSEED) with this before its code"
        " runs.",
    ).tag(config=True)

    def _file_extension_default(self) -> str:
        # nbconvert wants a dotted extension here; the real one is set per conversion.
        return ".json"

    def from_notebook_node(  # type: ignore[override]  # nbconvert's text exporters return str
        self, nb: Any, resources: dict[str, Any] | None = None, **kw: Any
    ) -> tuple[str, dict[str, Any]]:
        nb_copy, resources = super().from_notebook_node(nb, resources, **kw)
        metadata = resources.get("metadata", {})
        name = resources.get("unique_key") or metadata.get("name") or "notebook"
        directory = Path(metadata.get("path") or ".")
        source = directory / f"{metadata.get('name', name)}.ipynb"
        targets: list[str] = []
        for item in self.targets:
            targets.extend(t.strip() for t in str(item).split(",") if t.strip())
        # --output-dir sets FilesWriter.build_directory; paths in the spec are relative to it.
        build = str(self.config.get("FilesWriter", {}).get("build_directory", "") or directory)
        pipeline = build_pipeline_files(
            nb_copy,
            name=name,
            notebook_path=source if source.is_file() else None,
            output_dir=Path(build) / f"{name}{PIPELINE_SUFFIX}",
            targets=tuple(targets),
            base_image=self.base_image or None,
            image=self.image or None,
            wheel=self.wheel or None,
            seed=self.seed,
        )
        outputs = resources.setdefault("outputs", {})
        for relative, data in pipeline.files.items():
            if relative != SPEC_FILENAME:
                outputs[f"{name}{PIPELINE_SUFFIX}/{relative}"] = data
        resources["output_extension"] = f"{PIPELINE_SUFFIX}/{SPEC_FILENAME}"
        for warning in pipeline.warnings:
            self.log.warning("%s", warning)
        return pipeline.files[SPEC_FILENAME].decode(), resources
