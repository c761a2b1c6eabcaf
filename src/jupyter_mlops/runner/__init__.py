"""Run exported pipelines: the core side of notebook -> pipeline (no Jupyter imports).

    from jupyter_mlops.runner import run_pipeline
    run_pipeline("churn-pipeline", params=["lr=0.5"])

``python -m jupyter_mlops.runner DIR [-p name=value ...] [--from STEP]`` does the same
from a shell (and is what the generated Dockerfile runs).
"""

from __future__ import annotations

from .pipeline import PipelineRunResult, StepResult, locate_registry_dir, run_pipeline
from .spec import PipelineSpec

__all__ = [
    "PipelineRunResult",
    "PipelineSpec",
    "StepResult",
    "locate_registry_dir",
    "run_pipeline",
]
