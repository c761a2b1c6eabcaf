"""When a merge takes a model version for one the target has: same model, bytes and
registration time, or, the time differing (an MLflow server timed it), same model, bytes
and run; the same bytes from no run at another time are another version."""

from __future__ import annotations

import shutil
from pathlib import Path

from jupyter_mlops.models.registering import register
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.sharing.merge import merge_registries
from jupyter_mlops.tracking.session import start_run


def copy_with(tmp_path: Path, name: str, change: str) -> Path:
    """A copy of the registry ``mine`` whose versions got ``change`` (SQL SET clause)."""
    shutil.copytree(tmp_path / "mine", tmp_path / name)
    with Registry.open(tmp_path / name) as copy, copy.transaction("a change") as conn:
        conn.execute(f"UPDATE model_versions SET {change}")
    return tmp_path / name


def test_a_version_of_the_same_bytes_and_run_timed_by_another_clock_is_the_same(
    tmp_path: Path,
) -> None:
    with Registry.init(tmp_path / "mine") as mine:
        with start_run("fit", registry=mine) as run:
            run.log(accuracy=0.5)
        register(mine, {"weights": [1]}, "churn", run_id=run.id)
        register(mine, {"weights": [1]}, "churn", run_id=run.id)  # the same bytes again
    retimed = copy_with(tmp_path, "retimed", "created_at = round(created_at, 3) + 0.0004")
    unlinked = copy_with(tmp_path, "unlinked", "created_at = created_at + 1, run_id = NULL")
    with Registry.open(tmp_path / "mine") as mine:
        same = merge_registries(mine, retimed)
        assert same.model_versions_added == () and same.conflicts == ()
        other = merge_registries(mine, unlinked)
        assert other.model_versions_added == ("churn 3", "churn 4")
        assert [c.key for c in other.conflicts] == ["churn 1", "churn 2"]
