"""Cells written ahead of the registry: kept when the kernel dies, recovered once, never
in the way of a full disk."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import jupyter_mlops as mlops
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.registry.pending_cells import (
    DIRECTORY,
    RESERVE_BYTES,
    PendingCells,
    cell_line,
    read_pending,
)
from jupyter_mlops.tracking.session import SESSION, use_registry

from .conftest import run_cell
from .filesystems import disk_full, needs_mount, small_tmpfs

KERNEL = """
import os, signal, sys
from IPython.core.interactiveshell import InteractiveShell
os.chdir(sys.argv[1])
shell = InteractiveShell.instance()
for source in ("%load_ext jupyter_mlops", "%mlops init", "%mlops start doomed",
               "a = 1", "b = a + 1", "c = b * 2"):
    assert shell.run_cell(source, store_history=True).success, source
os.kill(os.getpid(), signal.SIGKILL)   # at once: the cell writer has written nothing yet
"""


def test_the_cells_of_a_kernel_that_dies_are_recovered_when_the_registry_opens(
    tmp_path: Path, python_env: dict[str, str]
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", KERNEL, str(tmp_path)], env=python_env, timeout=120
    )
    assert done.returncode == -9
    assert list((tmp_path / ".mlops" / DIRECTORY).iterdir())  # what the kernel left
    with Registry.init(tmp_path) as registry:
        use_registry(registry)
        detail = mlops.get_run("doomed")
        assert detail.run.status == "crashed"
        sources = [row[0] for row in registry.query_tuples("SELECT source FROM code_cells")]
        assert sources[-3:] == ["a = 1", "b = a + 1", "c = b * 2"]
    assert not list((tmp_path / ".mlops" / DIRECTORY).iterdir())


def test_a_pending_file_grows_past_its_reserve_and_reads_back_in_order(tmp_path: Path) -> None:
    pending = PendingCells(tmp_path, "run1")
    cells = [(i, i + 1, None, f"x = {'9' * 300} + {i}", 1.5 + i) for i in range(500)]
    for cell in cells:
        pending.append(cell)
    assert pending.path.stat().st_size > RESERVE_BYTES
    assert read_pending(pending.path) == cells
    with open(pending.path, "r+b") as handle:  # a crash in the middle of the last line
        data = handle.read().rstrip(b"\0")
        handle.seek(len(data) - 20)
        handle.write(b"\0" * 20)
    assert read_pending(pending.path) == cells[:-1]
    pending.remove()
    assert not pending.path.exists()


@pytest.mark.parametrize(
    "cell",
    [
        (0, 1, None, "y = x + 1", 1764730000.123456),
        (7, None, "c-3f9a", "s = 'caf\u00e9 \u2603 \\ \" \\n'\n\tprint(s)\x00\x1f", 1e-7),
        (2**70, 2**65, "\U0001f600", "# \U0001f600 \ud800", 0.0),
        (1, -3, "", "", 1764730000.0),
        (3, 4, None, "x = 1", float("nan")),  # the encoder's own spelling
        (True, 4.0, None, "x = 1", 1),  # not the usual types: the encoder writes them
    ],
)
def test_a_cell_line_is_what_the_json_encoder_writes(cell: Any) -> None:
    encoder = json.JSONEncoder(separators=(",", ":"))
    line = cell_line(cell)
    assert line == (encoder.encode(cell) + "\n").encode()
    assert line.endswith(b"\n") and b"\n" not in line[:-1]


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    with small_tmpfs(tmp_path / "disk", size_kib=16 * 1024) as mounted:
        yield mounted


@needs_mount
def test_a_full_disk_makes_cells_go_straight_to_the_registry(disk: Path, shell: Any) -> None:
    registry = Registry.init(disk)
    use_registry(registry)
    big = "s = '" + "x" * (RESERVE_BYTES // 2) + "'"
    try:
        run_cell(shell, "%mlops start full")
        with disk_full(disk):  # the pending file cannot grow for these
            for _ in range(3):
                assert run_cell(shell, big).error_in_exec is None
        run_cell(shell, "b = 2")  # what the registry could not take is written now
        run_cell(shell, "%mlops end")
        sources = [row[0] for row in registry.query_tuples("SELECT source FROM code_cells")]
        assert sources.count(big) == 3 and "b = 2" in sources
        assert mlops.get_run("full").run.status == "finished"
    finally:
        SESSION.reset()
        registry.close()
