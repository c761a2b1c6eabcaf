"""A run's page says what it depended on and whether it was reproduced, with the verdict:
in the notebook's run view (and its static form) and in the server's run payload."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.server.payloads import run_payload
from jupyter_mlops.tracking.queries.detail import run_detail
from jupyter_mlops.tracking.reproductions import record_reproduction
from jupyter_mlops.widgets.runs import run_sections

from .conftest import run_cell


@pytest.fixture
def reproduced(shell: object, registry: Registry, tmp_path: Path, monkeypatch) -> str:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "measures.csv").write_text("a\n1\n2\n")
    run_cell(shell, "import pandas as pd")
    run_cell(shell, 'raw = pd.read_csv("measures.csv")')
    run_cell(shell, "%%mlops run viewed\ntotal = float(raw.a.sum())\nmlops.log(total=total)")
    row = registry.query_one("SELECT id FROM runs WHERE name = 'viewed'")
    assert row is not None
    record_reproduction(
        registry,
        original_run_id=row[0],
        run_id=row[0],  # any run: the record is what the page shows
        environment="current",
        status="mismatch",
        summary="parity MISMATCH with run x: 1 of 1 metric(s) differ: total: 3 then, 4 now",
        report={"status": "mismatch"},
        started_at=time.time(),
        ended_at=time.time(),
    )
    return str(row[0])


def test_the_run_view_shows_the_closure_and_the_reproduction_verdict(
    registry: Registry, reproduced: str
) -> None:
    sections = dict(run_sections(run_detail(registry, reproduced)))

    overview = sections["Overview"]
    assert "2 earlier cells, 1 file (measures.csv)" in overview
    assert 'class="mlops-status-failed">mismatch</span>' in overview
    assert "1 of 1 metric(s) differ" in overview
    code = sections["Code"]
    assert code.index("The earlier cells it depended on") < code.index("read_csv")
    assert code.index("read_csv") < code.index("Its own cells") < code.index("raw.a.sum()")


def test_the_run_payload_carries_the_closure_and_the_reproductions(
    registry: Registry, reproduced: str, tmp_path: Path
) -> None:
    payload = run_payload(registry, reproduced, root_dir=tmp_path)

    closure = payload["closure"]
    assert [cell["source"] for cell in closure["cells"]] == [
        "import pandas as pd",
        'raw = pd.read_csv("measures.csv")',
    ]
    assert [file["path"] for file in closure["files"]] == ["measures.csv"]
    assert closure["unresolved"] == [] and closure["directory"] == str(tmp_path)
    (record,) = payload["reproductions"]
    assert record["status"] == "mismatch" and record["original_run_id"] == reproduced


def test_a_run_without_a_closure_has_none_in_its_payload(registry: Registry, tmp_path) -> None:
    import jupyter_mlops as mlops

    with mlops.start_run("plain") as run:
        run.log(value=1.0)

    payload = run_payload(registry, "plain", root_dir=tmp_path)

    assert payload["closure"] is None and payload["reproductions"] == []
    assert "earlier cell" not in dict(run_sections(run_detail(registry, "plain")))["Overview"]
