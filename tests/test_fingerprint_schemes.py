"""Fingerprints recorded under the SHA-256 scheme stay verifiable and comparable.

A registry written before the BLAKE3 scheme holds SHA-256 fingerprints. Such a row is made
here the way that version made it: the same canonical data, hashed under the SHA-256
scheme, recorded with that scheme's name. Every place that compares a stored fingerprint
with data must then compute the stored one's own scheme.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from jupyter_mlops.drift.checks import current_side, reference_side, run_drift_check
from jupyter_mlops.errors import ArtifactIntegrityError, InvalidInputError
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.runner.drift_check import reference_document
from jupyter_mlops.snapshots.fingerprint import SCHEME, SHA256_SCHEME
from jupyter_mlops.snapshots.materialized import load_materialized
from jupyter_mlops.snapshots.snapshot import DataSnapshot, fingerprint
from jupyter_mlops.snapshots.store import SnapshotRecord, load_snapshot, record_snapshot


def _frame(seed: int = 4, rows: int = 500) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows)
    x[::7] = np.nan
    return pd.DataFrame(
        {
            "x": x,
            "n": rng.integers(0, 9, rows),
            "s": pd.array([f"v{k % 13}" for k in range(rows)], dtype="string[pyarrow]"),
        }
    )


def _as_recorded_before_blake3(registry: Registry, record: SnapshotRecord, data: object) -> str:
    """Turn a stored snapshot into what the SHA-256 version recorded for ``data``."""
    old = fingerprint(data, scheme=SHA256_SCHEME)
    with registry.transaction("an older version's snapshot") as conn:
        conn.execute(
            "UPDATE snapshots SET fingerprint = ?, fingerprint_scheme = ? WHERE id = ?",
            (old, SHA256_SCHEME, record.id),
        )
    return old


def test_new_snapshots_record_the_blake3_scheme(registry: Registry) -> None:
    data = _frame()
    record = record_snapshot(registry, data, name="train")
    stored = registry.query_one("SELECT fingerprint, fingerprint_scheme FROM snapshots")
    assert tuple(stored) == (record.fingerprint, SCHEME)
    assert record.fingerprint_scheme == SCHEME == "jupyter-mlops/fingerprint/2"
    assert record.fingerprint == fingerprint(data) != fingerprint(data, scheme=SHA256_SCHEME)
    assert load_snapshot(registry, "train").fingerprint_scheme == SCHEME


def test_the_same_data_again_reuses_a_sha256_snapshot(registry: Registry) -> None:
    data = _frame()
    first = record_snapshot(registry, data, name="train")
    old = _as_recorded_before_blake3(registry, first, data)
    again = record_snapshot(registry, data.copy(), name="train")
    assert (again.id, again.reused) == (first.id, True)
    assert (again.fingerprint, again.fingerprint_scheme) == (old, SHA256_SCHEME)
    assert registry.query_one("SELECT COUNT(*) FROM snapshots")[0] == 1


@pytest.mark.parametrize(
    "change",
    ["one value", "one more row"],
)
def test_other_data_under_the_name_of_a_sha256_snapshot_is_new(
    registry: Registry, change: str
) -> None:
    data = _frame()
    first = record_snapshot(registry, data, name="train")
    _as_recorded_before_blake3(registry, first, data)
    other = data.copy()
    if change == "one value":
        other.iat[250, 1] += 1
    else:
        other = _frame(rows=501)
    again = record_snapshot(registry, other, name="train")
    assert again.id != first.id and not again.reused
    assert again.fingerprint_scheme == SCHEME
    schemes = [r[0] for r in registry.query("SELECT fingerprint_scheme FROM snapshots")]
    assert sorted(schemes) == sorted([SHA256_SCHEME, SCHEME])


def test_a_default_name_seen_with_a_sha256_snapshot_is_reused(registry: Registry) -> None:
    data = _frame()
    first = record_snapshot(registry, data)
    assert first.name == "dataframe"
    _as_recorded_before_blake3(registry, first, data)
    assert record_snapshot(registry, data).id == first.id


def test_a_snapshot_of_an_unknown_scheme_matches_nothing(registry: Registry) -> None:
    data = _frame()
    first = record_snapshot(registry, data, name="train")
    with registry.transaction("a newer version's snapshot") as conn:
        conn.execute(
            "UPDATE snapshots SET fingerprint = ?, fingerprint_scheme = ?",
            ("9" * 64, "jupyter-mlops/fingerprint/9"),
        )
    again = record_snapshot(registry, data, name="train")
    assert again.id != first.id and again.fingerprint_scheme == SCHEME


def test_load_materialized_checks_a_fingerprint_under_its_own_scheme(registry: Registry) -> None:
    data = _frame()
    record = record_snapshot(registry, data, name="train", materialize=True)
    sha = record.artifact_sha256
    assert sha is not None
    old = fingerprint(data, scheme=SHA256_SCHEME)
    loaded = load_materialized(
        sha, registry.artifacts, expected_fingerprint=old, scheme=SHA256_SCHEME
    )
    assert fingerprint(loaded, scheme=SHA256_SCHEME) == old
    with pytest.raises(ArtifactIntegrityError, match="not the expected"):
        load_materialized(sha, registry.artifacts, expected_fingerprint=old)
    with pytest.raises(InvalidInputError, match='Unknown fingerprint scheme "md5"') as raised:
        load_materialized(sha, registry.artifacts, expected_fingerprint=old, scheme="md5")
    assert "jupyter-mlops/fingerprint/1" in (raised.value.hint or "")


def test_a_materialized_sha256_snapshot_is_current_data_for_a_drift_check(
    registry: Registry,
) -> None:
    reference, batch = _frame(seed=1, rows=2_000), _frame(seed=2, rows=2_000)
    batch["x"] += 3.0
    record_snapshot(registry, reference, name="train")
    kept = record_snapshot(registry, batch, name="batch", materialize=True)
    _as_recorded_before_blake3(registry, kept, batch)
    stored = run_drift_check(registry, "train", "batch")
    assert (stored.record.current_kind, stored.record.current_snapshot_id) == ("snapshot", kept.id)
    assert "x" in stored.report.drifted_columns
    # a stored fingerprint that the data no longer has is still caught, under its own scheme
    with registry.transaction("a fingerprint of other data") as conn:
        conn.execute(
            "UPDATE snapshots SET fingerprint = ? WHERE id = ?",
            (fingerprint(reference, scheme=SHA256_SCHEME), kept.id),
        )
    with pytest.raises(ArtifactIntegrityError, match="not the expected"):
        current_side(registry, "batch")


def test_a_sha256_snapshot_as_a_value_is_found_as_the_stored_snapshot(registry: Registry) -> None:
    data = _frame()
    record = record_snapshot(registry, data, name="train")
    _as_recorded_before_blake3(registry, record, data)
    snapshot = load_snapshot(registry, record.id)
    assert snapshot.fingerprint_scheme == SHA256_SCHEME
    side = reference_side(registry, snapshot)
    assert (side.kind, side.snapshot_id) == ("snapshot", record.id)
    # the same digest said to be of another scheme is not that snapshot's fingerprint
    claimed = dataclasses.replace(snapshot, fingerprint_scheme=SCHEME)
    assert reference_side(registry, claimed).kind == "profile"


def test_an_exported_drift_reference_names_its_fingerprint_scheme(registry: Registry) -> None:
    data = _frame()
    record = record_snapshot(registry, data, name="train")
    old = _as_recorded_before_blake3(registry, record, data)
    document = reference_document(load_snapshot(registry, record.id), record.id)
    assert (document["fingerprint"], document["fingerprint_scheme"]) == (old, SHA256_SCHEME)


def test_a_snapshot_dict_without_a_scheme_reads_as_sha256(registry: Registry) -> None:
    # references exported before the scheme was written out hold SHA-256 fingerprints
    data = _frame()
    record = record_snapshot(registry, data, name="train")
    old = _as_recorded_before_blake3(registry, record, data)
    stored = load_snapshot(registry, record.id).to_dict()
    del stored["fingerprint_scheme"]
    snapshot = DataSnapshot.from_dict(stored)
    assert (snapshot.fingerprint, snapshot.fingerprint_scheme) == (old, SHA256_SCHEME)
    assert fingerprint(data, scheme=snapshot.fingerprint_scheme) == snapshot.fingerprint
