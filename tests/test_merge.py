"""Merging registries (jupyter_mlops.sharing.merge): two real registries that each
recorded runs, metrics, artifacts, snapshots, models and alias moves, merged table by
table, again (nothing changes), with conflicts reported and tampered files refused."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import jupyter_mlops as mlops
from jupyter_mlops.errors import ArtifactIntegrityError, InvalidInputError
from jupyter_mlops.models.aliases import alias_history
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.sharing.merge import merge_registries
from jupyter_mlops.sharing.merge_plan import decision_for
from jupyter_mlops.sharing.merge_report import MergeProgress
from jupyter_mlops.tracking.session import SESSION, start_run, use_registry

# measured on 2 busy cores (the bundles of a Kubeflow run, two registries recorded once)
EXPECTED_SECONDS = 25

# Columns whose values are local to a registry file (integer ids), compared through
# what they stand for instead; see merge_plan.
LOCAL_ID_TABLES = {"experiments", "environments", "models", "model_versions", "pipelines",
                   "reproductions", "monitor_retrains", "predictions", "model_alias_history",
                   "code_cells"}  # fmt: skip


def record(folder: Path, who: str, seed: int, *, promote: bool) -> Path:
    """A registry in ``folder`` with two runs of ``who`` (params, a metric curve, a note,
    a file, a materialized snapshot, a gate), model versions and alias moves."""
    SESSION.reset()
    registry = Registry.init(folder)
    use_registry(registry)
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x": rng.normal(size=50), "y": rng.integers(0, 2, size=50)})
    for attempt in range(2):
        tags = {"team": who}
        with start_run(f"{who}-{attempt}", experiment="churn", registry=registry, tags=tags) as run:
            run.log_params(lr=0.1 * (attempt + 1), who=who)
            for step in range(5):
                run.log(loss=float(rng.random()), step=step)
            with start_run(f"{who}-{attempt}-fold", parent=run, registry=registry) as child:
                child.log(fold_auc=0.7)
            run.log(accuracy=0.8 + attempt / 100)
            run.log_text(f"report of {who} {attempt}", "report.txt")
            mlops.snapshot(frame, name=f"train-{who}", role="train", materialize=True)
            run.note(f"{who} tried attempt {attempt}")
            mlops.check(["accuracy >= 0.5"])
            mlops.register_model(
                {"w": seed + attempt}, "churn", alias="champion" if attempt == 0 else None
            )
    if promote:
        mlops.promote("churn@2", alias="champion")
        with start_run(f"{who}-long", experiment="churn", registry=registry) as run:
            for step in range(3000):  # long enough for a preview of its curve
                run.log(loss=1.0 / (step + 1), step=step)
            mlops.check_drift(f"train-{who}", frame.assign(x=frame["x"] + 3), name="shifted")
        mlops.note_experiment("churn", f"{who}'s notes")
        add_operational_records(registry)
    registry.close()
    SESSION.reset()
    return folder / ".mlops" / "registry.db"


def add_operational_records(registry: Registry) -> None:
    """Rows the notebook, the pipeline runner, reproductions and the server write, put in
    by SQL (no kernel, runner or server here), naming this registry's runs and versions."""
    (run_id,) = registry.query_one("SELECT id FROM runs WHERE name LIKE '%-long'")
    (version_id,) = registry.query_one("SELECT MAX(id) FROM model_versions")
    (report_id,) = registry.query_one("SELECT id FROM drift_reports")
    (experiment_id,) = registry.query_one("SELECT id FROM experiments")
    now = time.time()
    with registry.transaction() as conn:
        conn.execute(
            "INSERT INTO code_cells (run_id, seq, execution_count, source, executed_at)"
            " VALUES (?, 0, 3, 'fit(model)', ?)",
            (run_id, now),
        )
        conn.execute("INSERT INTO closures VALUES (?, '[]', '/work', ?)", (run_id, now))
        conn.execute("INSERT INTO closure_cells VALUES (?, 0, 1, 'x = 1', '[\"x\"]')", (run_id,))
        conn.execute(
            "INSERT INTO closure_files VALUES (?, 'data.csv', '/work/data.csv', NULL, NULL, 1)",
            (run_id,),
        )
        conn.execute(
            "INSERT INTO pipelines (name, spec_sha256, n_steps, spec, created_at)"
            " VALUES ('churn', 'abc', 1, '{}', ?)",
            (now,),
        )
        conn.execute(
            "INSERT INTO pipeline_runs (run_id, pipeline_id, status, parameters, started_at)"
            " VALUES (?, (SELECT id FROM pipelines), 'ok', '{}', ?)",
            (run_id, now),
        )
        conn.execute(
            "INSERT INTO step_runs (pipeline_run_id, step, seq, status, run_id)"
            " VALUES (?, 'train', 0, 'ok', ?)",
            (run_id, run_id),
        )
        conn.execute(
            "INSERT INTO step_cache VALUES ('key', 'churn', 'train', ?, '{}', '[]', '{}', '{}', ?)",
            (run_id, now),
        )
        conn.execute(
            "INSERT INTO column_choices VALUES (?, '[\"metrics.loss\"]', ?)",
            (experiment_id, now),
        )
        conn.execute(
            "INSERT INTO reproductions (original_run_id, run_id, environment, status, summary,"
            " report, started_at, ended_at) VALUES (?, NULL, 'current', 'parity', 'ok', '{}',"
            " ?, ?)",
            (run_id, now, now),
        )
        conn.execute(
            "INSERT INTO predictions (request_id, model_version_id, role, served_as, n_rows,"
            " outputs, latency_ms, served_at) VALUES ('r1', ?, 'served', 'churn@champion', 1,"
            " '[1]', 2.5, ?)",
            (version_id, now),
        )
        conn.execute("INSERT INTO prediction_labels VALUES ('r1', '[1]', ?)", (now,))
        conn.execute(
            "INSERT INTO monitor_windows (model, window_seconds, start, end, version,"
            " n_predictions, n_labelled, decision, retrain_columns, review_columns,"
            " input_report_id, metrics, fairness, note, computed_at) VALUES ('churn', 3600,"
            " 0, 3600, 'churn 2', 1, 1, 'monitor', '[]', '[]', ?, '{}', '{}', '', ?)",
            (report_id, now),
        )
        conn.execute(
            "INSERT INTO monitor_retrains (model, window_seconds, window_start, pipeline_dir,"
            " status, started_at, ended_at) VALUES ('churn', 3600, 0, 'retrain', 'ok', ?, ?)",
            (now, now),
        )


@contextlib.contextmanager
def connected(path: Path) -> Iterator[sqlite3.Connection]:
    """A connection to ``path`` that commits at the end of the block and is then closed
    (sqlite3's own context manager commits but leaves the connection open)."""
    conn = sqlite3.connect(path)
    try:
        with conn:
            yield conn
    finally:
        conn.close()


def user_tables(path: Path) -> list[str]:
    with connected(path) as conn:
        return [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                " ORDER BY name"
            )
        ]


# Tables matched by a natural key: the target keeps its row (its own creation time).
NATURAL_KEYS = {"artifacts": ("sha256",), "experiments": ("name",), "environments": ("hash",),
                "models": ("name",)}  # fmt: skip


def rows_of(path: Path, table: str) -> set[tuple[object, ...]]:
    """A table's rows as a set, integer ids replaced by what they stand for."""
    conn = sqlite3.connect(path)
    try:
        columns = [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
        columns = [c for c in columns if c in NATURAL_KEYS.get(table, columns)]
        named = {
            "experiment_id": "(SELECT name FROM experiments WHERE id = t.experiment_id)",
            "environment_id": "(SELECT hash FROM environments WHERE id = t.environment_id)",
            "model_id": "(SELECT name FROM models WHERE id = t.model_id)",
            "pipeline_id": "(SELECT name FROM pipelines WHERE id = t.pipeline_id)",
        }
        version = (
            "(SELECT m.name || ' ' || v.artifact_sha256 || ' ' || v.created_at FROM model_versions v"
            " JOIN models m ON m.id = v.model_id WHERE v.id = t.{})"
        )
        picked = []
        for column in columns:
            if column == "id" and table in LOCAL_ID_TABLES:
                continue
            if column == "version" and table == "model_versions":
                continue  # numbers may change on the way in (renumbered)
            if column.endswith("version_id"):
                picked.append(version.format(column))
            else:
                picked.append(named.get(column, f"t.{column}"))
        return set(conn.execute(f"SELECT {', '.join(picked)} FROM {table} t").fetchall())
    finally:
        conn.close()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two project folders, ``ours`` (ana's) and ``theirs`` (ben's), recorded once."""
    folder = tmp_path_factory.mktemp("team")
    record(folder / "ours", "ana", seed=1, promote=False)
    record(folder / "theirs", "ben", seed=2, promote=True)
    return folder


@pytest.fixture
def two_registries(recorded: Path, tmp_path: Path) -> tuple[Path, Path]:
    """Fresh copies of both registries (files and artifacts) for one test."""
    for name in ("ours", "theirs"):
        shutil.copytree(recorded / name, tmp_path / name)
    return tmp_path / "ours/.mlops/registry.db", tmp_path / "theirs/.mlops/registry.db"


def test_merge_gives_every_row_of_both_and_merging_again_changes_nothing(two_registries):
    ours, theirs = two_registries
    before = {t: rows_of(ours, t) for t in user_tables(ours)}
    source = {t: rows_of(theirs, t) for t in user_tables(theirs)}
    seen: list[MergeProgress] = []
    with Registry.open(ours) as registry:
        report = merge_registries(registry, theirs.parent.parent, progress=seen.append)
    assert report.added["runs"] == 5 and report.added["metrics"] == 12 + 2 + 3000
    assert report.added["model_versions"] == 2 and report.artifacts_copied >= 4
    assert sorted(report.model_versions_added) == ["churn 3", "churn 4"]  # 1 and 2 taken here
    assert seen and seen[-1].done == seen[-1].total and "runs" in [p.stage for p in seen]

    after = {t: rows_of(ours, t) for t in user_tables(ours)}
    for table, rows in after.items():
        how = decision_for(table)
        assert how is not None, table
        if how.how == "local-only" and table != "schema_migrations":
            assert rows == before[table], f"{table} is local, it must not be merged"
        if how.how in ("local-only", "derived"):
            continue
        assert rows, f"{table} has no row: the test does not show it is merged"
        if table in ("model_aliases",):
            continue  # checked below: the conflicting alias keeps the target's
        assert before[table] <= rows, table
        assert source[table] <= rows, f"{table}: {source[table] - rows}"
        assert rows == before[table] | source[table], table

    with Registry.open(ours) as registry:
        again = merge_registries(registry, theirs)
        assert again.total_added == 0 and again.artifacts_copied == 0
        assert {t: rows_of(ours, t) for t in user_tables(ours)} == after
        for sha in registry.query("SELECT sha256 FROM artifacts"):
            registry.artifacts.verified_path(sha[0])  # every file came, intact


def test_a_conflicting_alias_is_reported_with_both_sides_and_kept(two_registries):
    ours, theirs = two_registries
    with Registry.open(ours) as registry:
        report = merge_registries(registry, theirs)
        (alias,) = [c for c in report.conflicts if c.kind == "alias"]
        assert alias.key == "churn@champion"
        assert alias.target == "churn 1" and alias.source == "churn 2 (churn 4 here)"
        assert any(line.startswith("target history: none -> churn 1") for line in alias.details)
        assert any("churn 1 -> churn 2 (promote" in line for line in alias.details)
        champion = registry.query_one(
            "SELECT v.version FROM model_aliases a JOIN model_versions v ON v.id = a.version_id"
            " WHERE a.alias = 'champion'"
        )
        assert champion[0] == 1
        moves = [(m.from_version, m.to_version, m.reason) for m in alias_history(registry, "churn")]
        assert (3, 4, "promote") in moves and (None, 1, "register") in moves
        renumbered = [c for c in report.conflicts if c.kind == "model version"]
        assert {c.key for c in renumbered} == {"churn 1", "churn 2"}
        again = merge_registries(registry, theirs)
        assert [c.key for c in again.conflicts if c.kind == "alias"] == ["churn@champion"]


def test_a_run_recorded_differently_on_each_side_is_reported_and_the_target_kept(
    two_registries,
):
    ours, theirs = two_registries
    with Registry.open(ours) as registry:
        merge_registries(registry, theirs)
    with connected(theirs) as conn:
        (run_id,) = conn.execute("SELECT id FROM runs ORDER BY started_at LIMIT 1").fetchone()
        conn.execute("UPDATE runs SET status = 'failed' WHERE id = ?", (run_id,))
        conn.execute("UPDATE params SET value = 0.5 WHERE run_id = ? AND key = 'lr'", (run_id,))
    with Registry.open(ours) as registry:
        report = merge_registries(registry, theirs)
        (conflict,) = [c for c in report.conflicts if c.kind == "run"]
        assert conflict.key == run_id and report.total_added == 0
        assert "status: target 'finished', source 'failed'" in conflict.details
        assert "params: the two sides differ" in conflict.details
        status = registry.query_one("SELECT status FROM runs WHERE id = ?", (run_id,))
        assert status[0] == "finished"


def test_a_tampered_artifact_is_refused_naming_the_file_and_nothing_is_merged(two_registries):
    ours, theirs = two_registries
    with connected(theirs) as conn:
        (sha,) = conn.execute(
            "SELECT sha256 FROM run_artifacts WHERE name = 'report.txt' LIMIT 1"
        ).fetchone()
    tampered = theirs.parent / "artifacts" / sha[:2] / sha
    tampered.write_bytes(b"not the report")
    before = {t: rows_of(ours, t) for t in user_tables(ours)}
    with Registry.open(ours) as registry:
        with pytest.raises(ArtifactIntegrityError, match=str(tampered)) as caught:
            merge_registries(registry, theirs)
        assert "nothing was merged" in caught.value.message
        assert not registry.artifacts.exists(sha)
    assert {t: rows_of(ours, t) for t in user_tables(ours)} == before


def test_a_dry_run_counts_what_would_be_added_and_changes_nothing(two_registries):
    ours, theirs = two_registries
    before = {t: rows_of(ours, t) for t in user_tables(ours)}
    with Registry.open(ours) as registry:
        dry = merge_registries(registry, theirs, dry_run=True)
        assert dry.dry_run and dry.added["runs"] == 5 and "runs: 5;" in dry.summary()
        assert " would add " in dry.summary()
        assert {t: rows_of(ours, t) for t in user_tables(ours)} == before
        done = merge_registries(registry, theirs)
        assert done.added == dry.added


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing", "does not exist"),
        (lambda p: p, "neither a registry nor a folder of pipeline bundles"),
        (lambda p: p / "ours" / ".mlops" / "registry.db", "is the registry being merged into"),
    ],
)
def test_a_source_that_cannot_be_merged_is_named(two_registries, tmp_path, make, message):
    ours, _ = two_registries
    (tmp_path / "empty").mkdir()
    source = make(tmp_path / "empty") if "neither" in message else make(tmp_path)
    with Registry.open(ours) as registry, pytest.raises(InvalidInputError, match=message):
        merge_registries(registry, source)


def test_a_file_that_is_not_a_registry_is_refused(two_registries, tmp_path):
    ours, _ = two_registries
    other = tmp_path / "other.db"
    with connected(other) as conn:
        conn.execute("CREATE TABLE things (x)")
    with (
        Registry.open(ours) as registry,
        pytest.raises(InvalidInputError, match="not a jupyter-mlops registry"),
    ):
        merge_registries(registry, other)


def test_a_merge_interrupted_half_way_leaves_the_target_as_it_was(two_registries):
    ours, theirs = two_registries
    before = {t: rows_of(ours, t) for t in user_tables(ours)}

    def interrupt(progress: MergeProgress) -> None:
        if progress.stage == "models":  # the runs are in, the models not yet
            raise KeyboardInterrupt

    with Registry.open(ours) as registry:
        with pytest.raises(KeyboardInterrupt):
            merge_registries(registry, theirs, progress=interrupt)
        assert {t: rows_of(ours, t) for t in user_tables(ours)} == before
        report = merge_registries(registry, theirs)  # and the next merge does it all
        assert report.added["runs"] == 5 and report.added["model_versions"] == 2


def test_the_source_is_only_read_so_a_writer_holding_its_lock_does_not_stop_a_merge(
    two_registries,
):
    ours, theirs = two_registries
    source_rows = {t: rows_of(theirs, t) for t in user_tables(theirs)}
    writer = sqlite3.connect(theirs, isolation_level=None)
    try:
        writer.execute("PRAGMA journal_mode=WAL")
        writer.execute("BEGIN IMMEDIATE")  # a kernel in the middle of writing to it
        writer.execute("UPDATE registry_info SET value = value")
        started = time.perf_counter()
        with Registry.open(ours, busy_timeout=2.0) as registry:
            report = merge_registries(registry, theirs)
        assert report.added["runs"] == 5 and time.perf_counter() - started < 2.0
        writer.execute("COMMIT")
    finally:
        writer.close()
    assert {t: rows_of(theirs, t) for t in user_tables(theirs)} == source_rows


@pytest.mark.parametrize(
    ("kind", "change", "kept"),
    [
        ("gate evaluation", "UPDATE gate_evaluations SET passed = 0, n_failed = 1",
         "SELECT COUNT(*) FROM gate_evaluations WHERE passed = 0"),
        ("drift report", "UPDATE drift_reports SET decision = 'monitor', summary = 'calm'",
         "SELECT COUNT(*) FROM drift_reports WHERE summary = 'calm'"),
        ("snapshot", "UPDATE snapshots SET fingerprint = 'f' || fingerprint",
         "SELECT COUNT(*) FROM snapshots WHERE fingerprint LIKE 'f%'"),
        ("experiment note", "UPDATE experiment_notes SET note = 'other notes'",
         "SELECT COUNT(*) FROM experiment_notes WHERE note = 'other notes'"),
        ("prediction label", "UPDATE prediction_labels SET labels = '[0]'",
         "SELECT COUNT(*) FROM prediction_labels WHERE labels = '[0]'"),
    ],
)  # fmt: skip
def test_a_record_with_the_same_key_and_other_content_is_a_conflict_and_the_target_kept(
    two_registries, kind, change, kept
):
    ours, theirs = two_registries
    with Registry.open(ours) as registry:
        merge_registries(registry, theirs)
    with connected(theirs) as conn:
        conn.execute(change)
    with Registry.open(ours) as registry:
        report = merge_registries(registry, theirs)
        found = [c for c in report.conflicts if c.kind == kind]
        assert found and all(c.resolution == "the target's is kept" for c in found)
        assert all(": target " in line and ", source " in line for c in found for line in c.details)
        assert registry.query_one(kept)[0] == 0
        assert report.total_added == 0
