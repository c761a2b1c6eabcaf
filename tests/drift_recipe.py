"""The project's drift bench recipe (bench/drift_data.py, a copy of shared/bench/drift_data.py)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]
IN_REPO = REPO / "bench" / "drift_data.py"
SHARED = REPO.parent / "shared" / "bench" / "drift_data.py"


def recipe_path() -> Path:
    """``MLOPS_BENCH_RECIPE`` when set, else the copy in bench/ (always there)."""
    return Path(os.environ.get("MLOPS_BENCH_RECIPE") or IN_REPO)


def load_drift_recipe() -> ModuleType:
    spec = importlib.util.spec_from_file_location("drift_data", recipe_path())
    assert spec is not None and spec.loader is not None
    recipe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recipe)
    return recipe
