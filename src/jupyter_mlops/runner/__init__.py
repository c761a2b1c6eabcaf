"""Run exported pipelines: the core side of notebook -> pipeline (no Jupyter imports).

    from jupyter_mlops.runner.pipeline import run_pipeline
    result = run_pipeline("churn-pipeline", params=["lr=0.5"])
    result.run_id, result.parity.summary()

``python -m jupyter_mlops.runner DIR [-p name=value ...] [--from STEP]`` does the same
from a shell (and is what the generated Dockerfile runs). Pipeline runs and their steps
are recorded in the registry (:mod:`.records`) and read back with :mod:`.history`; a
run returns the records of :mod:`.results`.
``spec.py`` is the contract with :mod:`jupyter_mlops.export`, which writes what it reads.
This file imports nothing, so that a step process (``python -m
jupyter_mlops.runner.step``) starts fast.
"""
