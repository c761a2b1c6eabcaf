"""Ids unique across a team, so registries merge by id: 128 random bits (the birthday
bound for 50 people x 100,000 runs asks for 84), and the shorter ids of older
registries still found whole and by prefix, and merged."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.sharing.merge import merge_registries
from jupyter_mlops.tracking.queries.refs import resolve_run
from jupyter_mlops.tracking.session import start_run
from jupyter_mlops.tracking.values import ID_BITS, bits_needed, collision_probability, new_id

TEAM_RUNS = 50 * 100_000


def test_the_birthday_bound_for_a_team_asks_84_bits_and_ids_have_more() -> None:
    assert bits_needed(TEAM_RUNS, 1e-12) == 84
    assert collision_probability(TEAM_RUNS, 84) < 1e-12 < collision_probability(TEAM_RUNS, 83)
    assert collision_probability(TEAM_RUNS) < 1e-25
    assert collision_probability(TEAM_RUNS, 48) > 0.04  # the 12-digit ids made before


def test_a_new_id_is_32_hex_digits_of_uniformly_random_bits() -> None:
    ids = [new_id() for _ in range(20_000)]
    assert all(len(i) == ID_BITS // 4 == 32 for i in ids)
    assert all(int(i, 16) >= 0 and i == i.lower() for i in ids)
    assert len(set(ids)) == len(ids)
    bits = np.array([[int(i, 16) >> k & 1 for k in range(ID_BITS)] for i in ids[:4000]])
    share = bits.mean(axis=0)  # each bit set in half of the ids (5 sigma is 0.04 here)
    assert np.all(np.abs(share - 0.5) < 0.04), share.round(3)
    prefixes = {i[:8] for i in ids}  # no fixed or time-ordered head
    assert len(prefixes) == len(ids)


def test_runs_get_the_new_ids_and_an_older_short_id_is_still_found_and_merged(
    tmp_path: Path,
) -> None:
    with Registry.init(tmp_path / "old") as old:
        with start_run("before", registry=old) as run:
            run.log(accuracy=0.5)
        assert len(run.id) == 32
        with old.transaction() as conn:  # a run recorded by an older version
            conn.execute(
                "INSERT INTO runs (id, experiment_id, name, status, started_at)"
                " SELECT 'abcdef012345', experiment_id, 'legacy', 'finished', ? FROM runs",
                (time.time(),),
            )
        assert resolve_run(old, "abcdef012345") == "abcdef012345"
        assert resolve_run(old, "abcdef") == "abcdef012345"
    with Registry.init(tmp_path / "new") as new:
        report = merge_registries(new, tmp_path / "old")
        assert set(report.runs_added) == {run.id, "abcdef012345"}
        assert resolve_run(new, "abcd") == "abcdef012345"
