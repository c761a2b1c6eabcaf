"""Run exported pipelines: the core side of notebook -> pipeline (no Jupyter imports).

    from jupyter_mlops.runner import run_pipeline
    run_pipeline("churn-pipeline", params=["lr=0.5"])

``python -m jupyter_mlops.runner DIR [-p name=value ...] [--from STEP]`` does the same
from a shell (and is what the generated Dockerfile runs). Names are imported on first
use so that a step process (``python -m jupyter_mlops.runner.step``) starts fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .pipeline import PipelineRunResult, StepResult, locate_registry_dir, run_pipeline
    from .spec import PipelineSpec

__all__ = [
    "PipelineRunResult",
    "PipelineSpec",
    "StepResult",
    "locate_registry_dir",
    "run_pipeline",
]


def __getattr__(name: str) -> Any:
    if name == "PipelineSpec":
        from .spec import PipelineSpec

        return PipelineSpec
    if name in __all__:
        from . import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
