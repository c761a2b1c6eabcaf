"""Storing and reading drift reports, and drift checks from end to end, on real registry files."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import jupyter_mlops as mlops
from jupyter_mlops.drift.checks import current_side, reference_side, run_drift_check, split_names
from jupyter_mlops.drift.deciding import drift_report
from jupyter_mlops.drift.report import DriftReport
from jupyter_mlops.drift.store import (
    drift_reports,
    drift_reports_frame,
    get_drift_report,
    record_drift_report,
)
from jupyter_mlops.errors import InvalidInputError, NotFoundError
from jupyter_mlops.models.registering import register
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.registry.schema import MIGRATIONS
from jupyter_mlops.snapshots.store import record_snapshot

SEED = 11


def frames(n: int = 3_000, seed: int = SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A reference and a current frame: ``x`` shifted by 0.6 sd, ``y`` and ``c`` unchanged."""
    rng = np.random.default_rng(seed)

    def frame(shift: float) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "x": rng.normal(shift, 1, n),
                "y": rng.exponential(2, n),
                "c": rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2]),
            }
        )

    return frame(0.0), frame(0.6)


@pytest.fixture(scope="module")
def pair() -> tuple[pd.DataFrame, pd.DataFrame]:
    return frames()


@pytest.fixture(scope="module")
def shifted_report(pair: tuple[pd.DataFrame, pd.DataFrame]) -> DriftReport:
    return drift_report(*pair, critical=["c"])


# -- storing and reading one report --------------------------------------------------------------


def test_record_drift_report_round_trips_the_exact_report(
    registry: Registry, shifted_report: DriftReport
) -> None:
    report_id = record_drift_report(
        registry, shifted_report, reference_name="train", current_name="today"
    )
    stored = get_drift_report(registry, report_id)
    assert stored.report == shifted_report
    assert stored.id == report_id and stored.decision == "retrain"
    record = stored.record
    assert (record.name, record.reference_name, record.current_name) == (
        "train vs today",
        "train",
        "today",
    )
    assert (record.reference_kind, record.current_kind) == ("dataframe", "dataframe")
    assert (record.n_columns, record.n_drifted, record.n_retrain, record.n_review) == (3, 1, 1, 0)
    assert record.flagged_columns == ("x",)
    assert record.critical == ("c",) and record.gate_passed
    assert (record.n_reference, record.n_current, record.subsampled) == (3_000, 3_000, False)
    assert record.origin == "python" and record.run_id is None and record.model is None


def test_column_rows_answer_questions_without_reading_json(
    registry: Registry, shifted_report: DriftReport
) -> None:
    report_id = record_drift_report(registry, shifted_report, reference_name="r", current_name="c")
    rows = registry.query(
        "SELECT column_name, test, decision, verdict, drifted, critical, effect_name"
        " FROM drift_columns WHERE report_id = ? ORDER BY seq",
        (report_id,),
    )
    assert [tuple(r) for r in rows] == [
        (c.column, c.test, c.decision, c.verdict, int(c.drifted), int(c.critical), c.effect_name)
        for c in shifted_report.columns
    ]
    x = registry.query_one(
        "SELECT p_adjusted, effect, psi FROM drift_columns WHERE report_id = ? AND column_name = 'x'",
        (report_id,),
    )
    expected = shifted_report.column("x")
    assert tuple(x) == (expected.p_adjusted, expected.effect, expected.psi)


def test_views_read_like_tables_from_another_process(
    registry: Registry, shifted_report: DriftReport, python_env: dict[str, str]
) -> None:
    record_drift_report(registry, shifted_report, reference_name="train", current_name="today")
    script = (
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]);"
        " print(c.execute('SELECT decision, reference, current, drifted FROM drift_reports_view')"
        ".fetchall());"
        ' print(c.execute("SELECT column_name, decision FROM drift_columns_view'
        " WHERE decision != 'monitor'\").fetchall())"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(registry.path)],
        capture_output=True,
        text=True,
        env=python_env,
    )
    assert done.stdout.splitlines() == [
        "[('retrain', 'train', 'today', '1 of 3')]",
        "[('x', 'retrain')]",
    ], done.stderr


def test_report_is_linked_to_its_run_and_model_version(
    registry: Registry, shifted_report: DriftReport
) -> None:
    with mlops.start_run("scoring") as run:
        pass
    mlops.register_model({"weights": 1}, "churn")
    mlops.register_model({"weights": 2}, "churn", alias="champion")
    by_ref = record_drift_report(
        registry, shifted_report, reference_name="r", current_name="c", run_id=run.id,
        model="churn@champion",
    )  # fmt: skip
    by_parts = record_drift_report(
        registry, shifted_report, reference_name="r", current_name="c", run_id="scoring",
        model="churn", version=1,
    )  # fmt: skip
    latest = record_drift_report(
        registry, shifted_report, reference_name="r", current_name="c", model="churn"
    )
    assert get_drift_report(registry, by_ref).record.model_ref == "churn@2"
    assert get_drift_report(registry, by_ref).record.run_name == "scoring"
    assert get_drift_report(registry, by_parts).record.model_ref == "churn@1"
    assert get_drift_report(registry, by_parts).record.run_id == run.id
    assert get_drift_report(registry, latest).record.model_ref == "churn@2"


@pytest.mark.parametrize(
    ("arguments", "error", "match"),
    [
        ({"run_id": "nope"}, NotFoundError, "nope"),
        ({"model": "fraud"}, NotFoundError, "fraud"),
        ({"model": "churn@9"}, NotFoundError, "no version 9"),
        ({"version": 1}, InvalidInputError, "without the model"),
        ({"model": "churn@1", "version": 1}, InvalidInputError, "one too many"),
        ({"reference_snapshot_id": "0000"}, NotFoundError, "0000"),
        ({"origin": "cron"}, InvalidInputError, "origin 'cron'"),
        ({"reference_name": " "}, InvalidInputError, "reference_name"),
        ({"current_kind": "profile"}, InvalidInputError, "current_kind"),
    ],
)
def test_record_drift_report_refuses_bad_links_and_stores_nothing(
    registry: Registry,
    shifted_report: DriftReport,
    arguments: dict[str, object],
    error: type[Exception],
    match: str,
) -> None:
    mlops.register_model({"weights": 1}, "churn")
    given: dict[str, object] = {"reference_name": "r", "current_name": "c", **arguments}
    with pytest.raises(error, match=match):
        record_drift_report(registry, shifted_report, **given)  # type: ignore[arg-type]
    assert registry.query_one("SELECT COUNT(*) FROM drift_reports")[0] == 0


def test_record_drift_report_needs_a_report(registry: Registry) -> None:
    with pytest.raises(InvalidInputError, match="not dict"):
        record_drift_report(registry, {"decision": "monitor"}, reference_name="r", current_name="c")  # type: ignore[arg-type]


def test_get_drift_report_by_last_and_name_and_unknown(
    registry: Registry, shifted_report: DriftReport
) -> None:
    with pytest.raises(NotFoundError, match="No drift report") as caught:
        get_drift_report(registry)
    assert "%mlops drift" in (caught.value.hint or "")
    first = record_drift_report(
        registry, shifted_report, reference_name="r", current_name="c", name="nightly"
    )
    time.sleep(0.01)
    second = record_drift_report(registry, shifted_report, reference_name="r", current_name="c")
    assert get_drift_report(registry, "last").id == second
    assert get_drift_report(registry, "nightly").id == first
    with pytest.raises(NotFoundError, match='"weekly"') as caught:
        get_drift_report(registry, "weekly")
    assert second in (caught.value.hint or "")


# -- lists ---------------------------------------------------------------------------------------


def test_drift_reports_filter_and_page_newest_first(
    registry: Registry, pair: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    ref, cur = pair
    same = drift_report(ref, ref)
    shifted = drift_report(ref, cur)
    snapshot_id = mlops.snapshot(ref, name="train").id
    with mlops.start_run("scoring") as run:
        pass
    mlops.register_model({"w": 1}, "churn")
    mlops.register_model({"w": 2}, "churn")
    ids = []
    for report, extra in [
        (same, {"reference_snapshot_id": snapshot_id, "reference_name": "train"}),
        (shifted, {"reference_name": "train", "run_id": run.id, "model": "churn@1"}),
        (shifted, {"reference_name": "older", "model": "churn@2"}),
        (same, {"reference_name": "older"}),
    ]:
        ids.append(record_drift_report(registry, report, current_name="c", **extra))  # type: ignore[arg-type]
        time.sleep(0.01)

    def found(**filters: object) -> list[str]:
        return [r.id for r in drift_reports(registry, **filters)]  # type: ignore[arg-type]

    assert found() == ids[::-1]
    assert found(run="scoring") == [ids[1]]
    assert found(model="churn") == [ids[2], ids[1]]
    assert found(model="churn@1") == [ids[1]]
    assert found(reference="train") == [ids[1], ids[0]]
    assert found(reference=snapshot_id) == [ids[0]]
    assert found(decision="retrain") == [ids[2], ids[1]]
    assert found(limit=2, offset=1) == [ids[2], ids[1]]
    with pytest.raises(InvalidInputError, match="decision 'bad'"):
        drift_reports(registry, decision="bad")
    with pytest.raises(InvalidInputError, match="limit"):
        drift_reports(registry, limit=-1)
    with pytest.raises(NotFoundError, match="fraud"):
        drift_reports(registry, model="fraud")


def test_drift_reports_frame_has_one_row_per_report(
    registry: Registry, shifted_report: DriftReport
) -> None:
    report_id = record_drift_report(registry, shifted_report, reference_name="r", current_name="c")
    frame = drift_reports_frame(registry)
    assert frame.index.tolist() == [report_id]
    row = frame.loc[report_id]
    assert (row["decision"], row["flagged"], row["n_drifted"]) == ("retrain", "x", 1)
    assert isinstance(row["created"], pd.Timestamp)
    assert drift_reports_frame(registry, decision="monitor").empty


def test_stored_report_to_dict_is_json(registry: Registry, shifted_report: DriftReport) -> None:
    report_id = record_drift_report(registry, shifted_report, reference_name="r", current_name="c")
    data = json.loads(json.dumps(get_drift_report(registry, report_id).to_dict()))
    assert data["id"] == report_id and data["flagged_columns"] == ["x"]
    assert DriftReport.from_dict(data["report"]) == shifted_report


# -- the migration -------------------------------------------------------------------------------


def test_registry_made_before_drift_reports_gains_them_on_open(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
    for migration in MIGRATIONS[:2]:
        from jupyter_mlops.registry.migrations import statements_of

        for statement in statements_of(migration.sql):
            conn.execute(statement)
        conn.execute("INSERT INTO schema_migrations VALUES (?, 0)", (migration.name,))
    conn.execute("PRAGMA user_version = 2")
    conn.close()
    with Registry.open(path) as registry:
        tables = {
            row[0] for row in registry.query("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        assert {"drift_reports", "drift_columns"} <= tables
        columns = [row[1] for row in registry.query("PRAGMA table_info(gate_results)")]
        assert "drift_report_id" in columns
        assert registry.query_one("PRAGMA user_version")[0] == len(MIGRATIONS)


# -- resolving the two sides and running a check -------------------------------------------------


def test_run_drift_check_against_a_stored_snapshot_uses_its_profile(
    registry: Registry, pair: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    ref, cur = pair
    snapshot = mlops.snapshot(ref, name="train")
    stored = run_drift_check(registry, "train", cur, current_name="today", critical=["x"])
    assert stored.report.reference_source == "profile"
    assert stored.record.reference_kind == "snapshot"
    assert stored.record.reference_snapshot_id == snapshot.id
    assert (stored.record.reference_name, stored.record.current_name) == ("train", "today")
    assert stored.decision == "retrain" and not stored.gate_passed
    assert run_drift_check(registry, snapshot, ref).decision == "monitor"


def test_run_drift_check_against_a_models_training_snapshot_links_the_version(
    registry: Registry, pair: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    ref, cur = pair
    mlops.snapshot(ref, name="train")
    register(registry, {"w": 1}, "churn", snapshot="train", alias="champion")
    stored = run_drift_check(registry, "churn@champion", cur)
    assert stored.record.model_ref == "churn@1"
    assert stored.record.reference_name == "train (churn@champion)"
    assert stored.record.reference_kind == "snapshot"


def test_model_without_training_snapshot_cannot_be_a_reference(
    registry: Registry, pair: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    register(registry, {"w": 1}, "churn")
    with pytest.raises(NotFoundError, match="churn@1 has no training snapshot"):
        run_drift_check(registry, "churn@1", pair[1])


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".csv.gz"])
def test_run_drift_check_reads_files_on_both_sides(
    registry: Registry, pair: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path, suffix: str
) -> None:
    ref, cur = pair
    paths = {}
    for label, frame in (("ref", ref), ("cur", cur)):
        paths[label] = tmp_path / f"{label}{suffix}"
        if suffix == ".parquet":
            frame.to_parquet(paths[label])
        else:
            frame.to_csv(paths[label], index=False)
    stored = run_drift_check(registry, str(paths["ref"]), paths["cur"])
    assert (stored.record.reference_kind, stored.record.current_kind) == ("file", "file")
    assert stored.record.current_name == str(paths["cur"])
    assert stored.report.drifted_columns == ("x",)


def test_current_data_from_a_materialized_snapshot(
    registry: Registry, pair: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    ref, cur = pair
    mlops.snapshot(ref, name="train")
    kept = mlops.snapshot(cur, name="batch", materialize=True)
    stored = run_drift_check(registry, "train", "batch")
    assert (stored.record.current_kind, stored.record.current_snapshot_id) == ("snapshot", kept.id)
    assert stored.report.drifted_columns == ("x",)


def test_current_data_cannot_be_a_profile_only_snapshot(
    registry: Registry, pair: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    mlops.snapshot(pair[0], name="train")
    with pytest.raises(
        InvalidInputError, match='Snapshot "train" keeps only its profile'
    ) as caught:
        run_drift_check(registry, pair[0], "train")
    assert "--materialize" in (caught.value.hint or "")
    with pytest.raises(InvalidInputError, match="must be the data itself"):
        current_side(registry, record_snapshot(registry, pair[0], name="t2"))


@pytest.mark.parametrize(
    ("reference", "current", "error", "match"),
    [
        ("nothing", "cur", NotFoundError, 'No file, snapshot or model version named "nothing"'),
        ("ref", "missing.csv", NotFoundError, 'No file at "missing.csv"'),
        ("ref", "gone", NotFoundError, 'No file or snapshot named "gone"'),
        ("ref", 42, InvalidInputError, "current data of a drift check cannot be of type int"),
        ({"x": [1]}, "cur", InvalidInputError, "reference of a drift check cannot be of type dict"),
        ("", "cur", InvalidInputError, "reference of a drift check is empty"),
    ],
)
def test_bad_sides_are_named_with_what_exists(
    registry: Registry,
    pair: tuple[pd.DataFrame, pd.DataFrame],
    reference: object,
    current: object,
    error: type[Exception],
    match: str,
) -> None:
    mlops.snapshot(pair[0], name="train")
    sides = {"ref": pair[0], "cur": pair[1]}
    with pytest.raises(error, match=match) as caught:
        run_drift_check(
            registry,
            sides.get(reference, reference) if isinstance(reference, str) else reference,
            sides.get(current, current) if isinstance(current, str) else current,
        )
    if "named" in match:
        assert "train" in (caught.value.hint or "")
    assert registry.query_one("SELECT COUNT(*) FROM drift_reports")[0] == 0


def test_sides_without_a_registry_read_files_only(
    pair: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path
) -> None:
    path = tmp_path / "ref.csv"
    pair[0].to_csv(path, index=False)
    assert reference_side(None, path).kind == "file"
    with pytest.raises(NotFoundError, match="no registry to look for a snapshot"):
        reference_side(None, "train")


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("a,b", ("a", "b")),
        (" a , b ,", ("a", "b")),
        (["x", "y,z"], ("x", "y,z")),
        ((), ()),
        (None, None),
    ],
)
def test_split_names_reads_option_lists(text: object, names: tuple[str, ...] | None) -> None:
    assert split_names(text) == names  # type: ignore[arg-type]


def test_split_names_refuses_an_empty_list() -> None:
    with pytest.raises(InvalidInputError, match="names no column"):
        split_names(" , ")


# -- ordering and weight -------------------------------------------------------------------------


def test_by_severity_puts_what_needs_attention_first() -> None:
    rng = np.random.default_rng(SEED)
    n = 4_000
    ref = pd.DataFrame(
        {
            "same": rng.normal(0, 1, n),
            "nulls": rng.normal(0, 1, n),
            "shifted": rng.normal(0, 1, n),
            "gone": rng.normal(0, 1, n),
        }
    )
    cur = ref.drop(columns="gone").assign(
        same=rng.normal(0, 1, n),
        nulls=np.where(rng.random(n) < 0.3, np.nan, rng.normal(0, 1, n)),
        shifted=rng.normal(1, 1, n),
    )
    order = [(c.column, c.decision, c.verdict) for c in drift_report(ref, cur).by_severity()]
    assert order == [
        ("shifted", "retrain", "drift"),
        ("nulls", "review", "null-rate drift"),
        ("gone", "review", "not tested"),
        ("same", "monitor", "no drift"),
    ]


CORE_DRIFT_WITHOUT_JUPYTER = """
import sys, tempfile, importlib.abc
BLOCKED = ("IPython", "ipywidgets", "tornado", "nbconvert", "nbformat", "jupyter_server",
           "jupyterlab", "ipykernel", "traitlets")
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is blocked: the core must not need it")
sys.meta_path.insert(0, Block())
import jupyter_mlops.drift.store, jupyter_mlops.drift.checks, jupyter_mlops.drift.gate
heavy = sorted({"pandas", "scipy"} & set(sys.modules))
import numpy as np, pandas as pd
import jupyter_mlops as mlops
mlops.init(tempfile.mkdtemp())
rng = np.random.default_rng(0)
ref = pd.DataFrame({"x": rng.normal(0, 1, 2000)})
stored = mlops.check_drift(ref, ref.assign(x=ref["x"] + 1))
evaluation = mlops.check(drift=stored, raise_on_failure=False)
print(heavy, stored.decision, evaluation.passed, repr(stored).split()[0])
"""


def test_drift_storage_and_gate_run_without_jupyter_and_import_light(
    python_env: dict[str, str],
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CORE_DRIFT_WITHOUT_JUPYTER],
        capture_output=True,
        text=True,
        env=python_env,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[] retrain False <StoredDriftReport"
