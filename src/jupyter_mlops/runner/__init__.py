"""Run exported pipelines: the core side of notebook -> pipeline (no Jupyter imports).

    from jupyter_mlops.runner import run_pipeline
    result = run_pipeline("churn-pipeline", params=["lr=0.5"])
    result.run_id, result.parity.summary()

``python -m jupyter_mlops.runner DIR [-p name=value ...] [--from STEP]`` does the same
from a shell (and is what the generated Dockerfile runs). Pipeline runs and their steps
are recorded in the registry (:mod:`.records`) and read back with :mod:`.history`.
Names are imported on first use so that a step process
(``python -m jupyter_mlops.runner.step``) starts fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .parity import ParityReport
    from .pipeline import PipelineRunResult, StepResult, open_pipeline_registry, run_pipeline
    from .spec import PipelineSpec

__all__ = [
    "ParityReport",
    "PipelineRunResult",
    "PipelineSpec",
    "StepResult",
    "open_pipeline_registry",
    "run_pipeline",
]


def __getattr__(name: str) -> Any:
    if name == "PipelineSpec":
        from .spec import PipelineSpec

        return PipelineSpec
    if name == "ParityReport":
        from .parity import ParityReport

        return ParityReport
    if name in __all__:
        from . import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
