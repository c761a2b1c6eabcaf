"""The data a run reads: pins that tell an unchanged content in microseconds, each content
recorded once, and always the content the run read, edits in place included."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from IPython.utils.capture import capture_output

import jupyter_mlops as mlops
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.snapshots.pins import SAMPLE_ROWS, pin_data
from jupyter_mlops.snapshots.snapshot import fingerprint
from jupyter_mlops.tracking.session import SESSION, use_registry

from .conftest import run_cell

PANDAS_2 = int(pd.__version__.split(".", 1)[0]) < 3


@pytest.fixture(autouse=True)
def _copy_on_write() -> Any:
    """Pins trust pandas only under Copy-on-Write: always so from pandas 3, an option in
    pandas 2 (the lowest version the package allows), turned on here as a user would."""
    if not PANDAS_2:
        yield
        return
    with pd.option_context("mode.copy_on_write", True):
        yield


@pytest.mark.skipif(not PANDAS_2, reason="pandas 3 always copies on write")
def test_pandas_2_without_copy_on_write_is_never_trusted_and_the_content_is_hashed() -> None:
    with pd.option_context("mode.copy_on_write", False):
        df = _frame()
        pin = pin_data(df)
        assert not pin.protected
        assert not pin.holds(df)  # no pin is trusted: the frame is fingerprinted again
        assert pin.content is df


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame(
        {"a": rng.normal(size=50), "b": np.arange(50), "s": [f"v{i}" for i in range(50)]}
    )


def _set_index_name(df: pd.DataFrame) -> None:
    df.index.name = "key"


def _add_one(df: pd.DataFrame) -> None:
    df["a"] += 1


EDITS: list[tuple[str, Callable[[pd.DataFrame], Any]]] = [
    ("one float", lambda df: df.loc.__setitem__((9, "a"), -1.0)),
    ("one int by position", lambda df: df.iloc.__setitem__((0, 1), 7)),
    ("one string", lambda df: df.loc.__setitem__((3, "s"), "z")),
    ("a column in place", _add_one),
    ("a new column", lambda df: df.insert(0, "c", 1.0)),
    ("the column names", lambda df: setattr(df, "columns", ["x", "y", "z"])),
    ("the index name", _set_index_name),
    ("fillna in place", lambda df: df.loc.__setitem__((1, "a"), np.nan) or df.fillna(0.0)),
]


@pytest.mark.parametrize("edit", [e for _, e in EDITS], ids=[n for n, _ in EDITS])
def test_pin_of_a_frame_sees_an_edit_in_place_and_keeps_what_was_read(
    edit: Callable[[pd.DataFrame], Any],
) -> None:
    df = _frame()
    before = fingerprint(df.copy())
    pin = pin_data(df)
    assert pin.protected and pin.holds(df)
    edit(df)
    assert fingerprint(df) != before  # the edit is a change of content
    assert not pin.holds(df)
    assert fingerprint(pin.content) == before  # the pin is still what was read


@pytest.mark.parametrize(
    "read",
    [len, lambda df: df.describe(), lambda df: df["a"].sum(), lambda df: df.iloc[:5].copy()],
)
def test_pin_of_a_frame_holds_it_through_reads(read: Callable[[pd.DataFrame], Any]) -> None:
    df = _frame()
    df.values  # noqa: B018  (pandas consolidates once on some reads: done before the pin)
    pin = pin_data(df)
    read(df)
    assert pin.holds(df)
    assert not pin.holds(df.copy())  # an equal copy is another object: checked by hashing


def test_pin_of_a_series_sees_an_edit_in_place() -> None:
    series = pd.Series(np.arange(100.0))
    pin = pin_data(series)
    series.iloc[42] = -1.0
    assert not pin.holds(series)
    assert pin.content.iloc[42] == 42.0


def test_pin_of_an_array_sees_a_sampled_edit_and_leaves_the_array_writable() -> None:
    array = np.arange(10_000, dtype=np.float64)
    pin = pin_data(array)
    assert not pin.protected and pin.holds(array)
    array[0] = -1.0  # the first row is always in the sample
    assert array.flags.writeable
    assert not pin.holds(array)


def _counts(registry: Registry) -> tuple[int, int]:
    snapshots = registry.query_one("SELECT COUNT(*) FROM snapshots")[0]
    links = registry.query_one("SELECT COUNT(*) FROM run_snapshots")[0]
    return snapshots, links


def test_a_run_records_each_content_it_reads_once_and_an_edit_in_place_anew(
    shell: Any, registry: Registry
) -> None:
    run_cell(shell, "import pandas as pd\ndf = pd.DataFrame({'a': range(1000)})")
    run_cell(shell, "%mlops start reads")
    for _ in range(5):
        assert run_cell(shell, "total = df['a'].sum()").error_in_exec is None
    SESSION.active_run().settle_reads()
    assert _counts(registry) == (1, 1)
    run_cell(shell, "df.loc[500, 'a'] = -1")  # one value, in place
    run_cell(shell, "total = df['a'].sum()")
    run_cell(shell, "%mlops end")
    edited = fingerprint(shell.user_ns["df"])
    assert edited in {s.fingerprint for s in mlops.get_run("reads").snapshots}
    assert _counts(registry) == (2, 2)


def test_the_fingerprint_recorded_is_of_what_the_cell_read_not_of_a_later_edit(
    shell: Any, registry: Registry
) -> None:
    run_cell(shell, "import pandas as pd\ndf = pd.DataFrame({'a': range(200_000)})")
    read = fingerprint(shell.user_ns["df"].copy())
    run_cell(shell, "%mlops start before-edit")
    run_cell(shell, "n = len(df)")  # recorded by the worker, maybe after the next cell
    run_cell(shell, "df.loc[0, 'a'] = -1")  # edits in place without reading first
    run_cell(shell, "%mlops end")
    assert [s.fingerprint for s in mlops.get_run("before-edit").snapshots] == [read]


def test_an_array_edit_the_sample_misses_is_recorded_at_the_run_end(
    shell: Any, registry: Registry
) -> None:
    rows = SAMPLE_ROWS * 40
    run_cell(shell, f"import numpy as np\nX = np.arange({rows}.0)")
    run_cell(shell, "%mlops start array")
    run_cell(shell, "m = X.mean()")
    run_cell(shell, "X[1] = -1.0")  # row 1 is between two sampled rows
    run_cell(shell, "m = X.mean()")
    run_cell(shell, "%mlops end")
    recorded = {s.fingerprint for s in mlops.get_run("array").snapshots}
    assert fingerprint(shell.user_ns["X"]) in recorded
    assert len(recorded) == 2


def test_a_write_the_registry_refuses_in_the_background_is_recorded_at_the_run_end(
    tmp_path: Any,
) -> None:
    registry = Registry.open(tmp_path / "r.db", create=True, busy_timeout=0.2)
    try:
        use_registry(registry)
        run = mlops.start_run("locked")
        df = _frame()
        blocker = sqlite3.connect(registry.path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # another process writes, for longer than we wait
        run.read_data(df, name="df")
        job = run.reads._latest["df"].job
        assert job is not None and job.exception(timeout=30) is not None
        assert run.take_read_problems() == []  # not the user's problem yet: retried at the end
        blocker.execute("ROLLBACK")
        blocker.close()
        run.end()
        assert [s.fingerprint for s in mlops.get_run("locked").snapshots] == [fingerprint(df)]
    finally:
        SESSION.reset()
        registry.close()


def test_data_that_cannot_be_fingerprinted_leaves_the_cell_and_the_run_alone(
    shell: Any, registry: Registry
) -> None:
    run_cell(shell, "import pandas as pd\nodd = pd.DataFrame({'a': [object(), object()]})")
    run_cell(shell, "%mlops start odd")
    with capture_output() as captured:
        result = run_cell(shell, "n = len(odd)")
        SESSION.active_run().settle_reads()
        run_cell(shell, "x = 1")
    assert result.error_in_exec is None
    assert "snapshot of odd not recorded" in captured.stderr
    run_cell(shell, "%mlops end")
    assert mlops.get_run("odd").run.status == "finished"
