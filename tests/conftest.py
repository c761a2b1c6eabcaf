"""Shared fixtures: a fresh registry in a temporary directory, a real IPython shell,
seeded data frames and an artifact store."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from jupyter_core.utils import ensure_event_loop

from jupyter_mlops.registry.artifacts import ArtifactStore
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.registry.location import ENV_VAR
from jupyter_mlops.tracking.session import SESSION, use_registry

from .sharding import longest_first, parse_shard, split

# pytest-jupyter's fixtures (a Jupyter server in this process) for the modules that ask
# for them; registered here, at the root, because a plugin applies to the whole run
pytest_plugins = ("pytest_jupyter.jupyter_server",)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--shard",
        metavar="K/N",
        help="run the K-th of N parts of the suite, and every test marked every_python",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    shard = config.getoption("--shard")
    if shard:
        kept, left = split(items, *parse_shard(shard))
        config.hook.pytest_deselected(items=left)
        items[:] = kept
    longest_first(items)


def _is_browser_test(request: pytest.FixtureRequest) -> bool:
    return request.node.get_closest_marker("browser") is not None


@pytest.fixture(autouse=True)
def jp_asyncio_loop(request: pytest.FixtureRequest) -> Iterator[asyncio.AbstractEventLoop | None]:
    """pytest-jupyter's event loop, as its own fixture gives it, except in browser tests:
    Playwright keeps its loop running on this thread while Chromium is open, and the
    loop pytest-jupyter would find there is not its own to close."""
    if _is_browser_test(request):
        yield None
        return
    loop = ensure_event_loop(prefer_selector_loop=True)
    yield loop
    loop.close()


@pytest.fixture(autouse=True)
def jp_server_cleanup(
    request: pytest.FixtureRequest, jp_asyncio_loop: asyncio.AbstractEventLoop | None
) -> Iterator[None]:
    """pytest-jupyter's cleanup of its in-process server, after the tests that start one
    only (its own runs after every test, creating a server object to clean up)."""
    yield
    if jp_asyncio_loop is None or "jp_serverapp" not in request.fixturenames:
        return
    from jupyter_server.serverapp import ServerApp

    app = ServerApp.instance()
    jp_asyncio_loop.run_until_complete(app._cleanup())
    if hasattr(app, "kernel_manager"):
        app.kernel_manager.context.destroy()
    ServerApp.clear_instance()


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test runs in its own directory, with no registry configured and no run active."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.delenv("MLOPS_EXPERIMENT", raising=False)
    SESSION.reset()
    yield
    SESSION.reset()


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    """A new registry at tmp_path/.mlops/registry.db, the one runs record into."""
    opened = Registry.init(tmp_path)
    use_registry(opened)
    yield opened
    opened.close()


@pytest.fixture
def closing_registries(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Registries a test makes with ``Registry.init`` are closed when it ends (Python 3.13
    warns of every SQLite connection left open, and filterwarnings makes that an error)."""
    made: list[Registry] = []
    make = Registry.init.__func__  # type: ignore[attr-defined]

    def init(cls: type[Registry], *args: object, **kwargs: object) -> Registry:
        registry = make(cls, *args, **kwargs)
        made.append(registry)
        return registry

    monkeypatch.setattr(Registry, "init", classmethod(init))
    yield
    for registry in made:
        registry.close()


@pytest.fixture
def shell(registry: Registry) -> Iterator[object]:
    """A real IPython InteractiveShell with the extension loaded."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    InteractiveShell.clear_instance()
    config = Config()
    # IPython's history of inputs in memory, not in ~/.ipython: the shells of parallel test
    # processes would otherwise share one file, and write to it at exit
    config.HistoryManager.hist_file = ":memory:"
    ipython = InteractiveShell.instance(config=config)
    ipython.run_cell("%load_ext jupyter_mlops", store_history=True)
    yield ipython
    ipython.run_cell("%unload_ext jupyter_mlops")
    InteractiveShell.clear_instance()


def run_cell(shell: object, source: str) -> object:
    """Run a cell like a notebook does (history stored, hooks fired)."""
    return shell.run_cell(source, store_history=True)  # type: ignore[attr-defined]


REPO = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def panel_build_lock() -> Iterator[None]:
    """Held while a test builds or checks the panel in labextension/ of the checkout.

    The build deletes and writes node_modules/, lib/ and src/jupyter_mlops/labextension/,
    so suites that run at once on one checkout (several Pythons in CI, pytest-xdist
    workers) take turns there instead of reading each other's half-written files.
    """
    import fcntl

    lock = REPO / ".ci-cache" / "labextension.lock"
    lock.parent.mkdir(exist_ok=True)
    with lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def cli_runner() -> CliRunner:
    """click's test runner with stdout and stderr kept apart: click 8.2 always keeps them
    apart (and dropped the switch), click 8.1 does so with mix_stderr=False."""
    if "mix_stderr" in inspect.signature(CliRunner).parameters:
        return CliRunner(mix_stderr=False)
    return CliRunner()


@pytest.fixture
def python_env() -> dict[str, str]:
    """Environment for subprocesses: this checkout's package importable."""
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.fixture
def headless_env(python_env: dict[str, str]) -> dict[str, str]:
    """For kernels and tools run headless: this checkout importable, this environment's
    scripts (jupyter, papermill) first on PATH, and nothing that names a notebook or a
    registry."""
    env = dict(python_env)
    for key in ("JPY_SESSION_NAME", ENV_VAR):
        env.pop(key, None)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


# The dtypes pandas gives a column of strings and parsed dates: "str" and "datetime64[us]"
# from pandas 3 on, "object" and "datetime64[ns]" before. Tests that name them ask pandas.
STRINGS = str(pd.Series(["a"]).dtype)
PARSED_DATES = str(pd.to_datetime(pd.Series(["2020-01-01"])).dtype)

MIXED_ROWS = 200_000
MIXED_SEED = 20240917


def build_mixed_frame(n: int = MIXED_ROWS, seed: int = MIXED_SEED) -> pd.DataFrame:
    """A frame with one column per dtype family the fingerprint handles, missing values included.

    Every column has values that differ from row to row (so a swap of two rows is a change)
    and, where the dtype allows it, a few missing values.
    """
    rng = np.random.default_rng(seed)
    missing = rng.random(n) < 0.05
    floats = rng.normal(0.0, 1.0, n)
    floats[missing] = np.nan
    integers = rng.integers(-(10**12), 10**12, n)
    words = np.array([f"w{number}" for number in rng.integers(0, 50_000, n)], dtype=object)
    words_with_missing = words.copy()
    words_with_missing[missing] = None
    mixed = np.empty(n, dtype=object)
    choice = rng.integers(0, 4, n)
    mixed[choice == 0] = words[choice == 0]
    mixed[choice == 1] = integers[choice == 1].tolist()
    mixed[choice == 2] = floats[choice == 2].tolist()
    mixed[choice == 3] = None
    stamps = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 10**15, n), unit="ns")
    frame = pd.DataFrame(
        {
            "bool": rng.random(n) < 0.5,
            "int8": rng.integers(-128, 128, n).astype(np.int8),
            "int64": integers,
            "uint32": rng.integers(0, 2**32, n).astype(np.uint32),
            "float32": rng.normal(0.0, 1.0, n).astype(np.float32),
            "float64": floats,
            "complex": rng.normal(size=n) + 1j * rng.normal(size=n),
            "datetime": np.asarray(stamps, dtype="datetime64[ns]"),
            "datetime_tz": pd.DatetimeIndex(stamps).as_unit("us").tz_localize("Europe/Paris"),
            "timedelta": pd.to_timedelta(rng.integers(0, 10**12, n), unit="ns"),
            "category": pd.Categorical(rng.choice(["low", "mid", "high", "top"], n)),
            "ordered": pd.Categorical(
                rng.choice(["s", "m", "l"], n), categories=["s", "m", "l"], ordered=True
            ),
            "str": pd.array(words_with_missing, dtype=STRINGS),
            "string_python": pd.array(words_with_missing, dtype="string[python]"),
            "string_pyarrow": pd.array(words_with_missing, dtype="string[pyarrow]"),
            "object_mixed": mixed,
            "Int64": pd.array(np.where(missing, None, integers), dtype="Int64"),
            "Float64": pd.array(np.where(missing, None, floats), dtype="Float64"),
            "boolean": pd.array(np.where(missing, None, rng.random(n) < 0.5), dtype="boolean"),
            "int64_pyarrow": pd.array(np.where(missing, None, integers), dtype="int64[pyarrow]"),
            # from 1700 so that they end before 2262, as nanosecond timestamps must (pandas 2)
            "period": pd.period_range("1700-01-01", periods=n, freq="D")[rng.permutation(n)],
        }
    )
    return frame


@pytest.fixture(scope="session")
def mixed_frame() -> pd.DataFrame:
    """The 200,000-row mixed frame; shared, so copy it before changing anything."""
    return build_mixed_frame()


@pytest.fixture
def artifact_store(tmp_path: Path) -> ArtifactStore:
    """An empty artifact store in a fresh directory."""
    return ArtifactStore(tmp_path / "artifacts")


EXAMPLE_PIPELINE_NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "03-pipeline.ipynb"


@pytest.fixture(scope="session")
def pipeline_example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder where notebooks/03-pipeline.ipynb was executed in a real kernel (nbclient):
    its registry holds the notebook's run, and the pipeline the notebook exported of itself
    (``cancer-pipeline/``) and ran once. Shared by the tests of the example, locally, in a
    fresh environment and in a container; each of them adds runs of its own."""
    import nbformat
    from nbclient import NotebookClient

    workdir = tmp_path_factory.mktemp("pipeline-example")
    notebook = nbformat.read(EXAMPLE_PIPELINE_NOTEBOOK, as_version=4)
    before = EXAMPLE_PIPELINE_NOTEBOOK.read_bytes()
    client = NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    )
    env = {key: value for key, value in os.environ.items() if key != "MLOPS_REGISTRY"}
    client.execute(env={**env, "JPY_SESSION_NAME": str(EXAMPLE_PIPELINE_NOTEBOOK)})
    assert EXAMPLE_PIPELINE_NOTEBOOK.read_bytes() == before  # executing never writes the example
    nbformat.write(notebook, workdir / "executed.ipynb")
    return workdir


@pytest.fixture(scope="session")
def checkout_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of this checkout, built once per session by the real build backend (as
    ``python -m build --wheel`` makes it for the index): what pipeline images and the
    core-only environment install."""
    from .distributions import REPO, build

    return build("wheel", REPO, tmp_path_factory.mktemp("wheel"))
