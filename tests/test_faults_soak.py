"""The fault soak of ``bench/faults.py`` in its short form, end to end: writer and reader
processes on one registry through SIGKILLs, a full disk and a read-only remount, then
every acknowledged run and model version checked. The soak itself fails (exit 1) when
anything acknowledged is lost, an exception escapes the library, a read fails or an
episode cannot be made; this test runs it so that such a regression shows here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .filesystems import needs_mount

SOAK = Path(__file__).resolve().parents[1] / "bench" / "faults.py"


@pytest.mark.slow
@needs_mount
def test_the_fault_soak_survives_every_fault_and_loses_nothing(
    tmp_path: Path, python_env: dict[str, str]
) -> None:
    out = tmp_path / "soak.json"
    done = subprocess.run(
        [
            sys.executable,
            str(SOAK),
            "--smoke",
            "--no-write-results",
            "--json",
            str(out),
            "--workdir",
            str(tmp_path / "work"),
        ],
        env=python_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    facts = json.loads(out.read_text())
    rows = {row["class"].split(" (")[0]: row for row in facts["rows"]}
    assert rows["SIGKILL of a writer"]["attempts"] >= 3
    for fault in ("full disk", "read-only", "reads while read-only"):
        assert rows[fault]["attempts"] > 0 and rows[fault]["survived"] == rows[fault]["attempts"]
    assert all(row["lost"] in (0, None) for row in rows.values())
    assert facts["verified"]["integrity"] == "ok" and facts["failures"] == []
    checked = facts["verified"]["checked"]
    assert checked["runs"] == facts["totals"]["acknowledged"] > 0
    assert checked["models"] == facts["totals"]["models"]
