"""How long a reproduction takes against the run it reproduces: the example notebooks
01-03 are executed in a temporary folder (nbclient, a real kernel), then each of their
top-level runs is reproduced from the registry alone (``jupyter mlops reproduce``, a
fresh kernel each) in a fresh folder.

    python bench/reproduce.py            # about a minute; writes the Reproduce section
    python bench/reproduce.py --smoke    # notebook 01 only; writes nothing

A run's own time is its recorded duration (the run's cells, from its start to its end);
a reproduction's is the whole command: rebuilding the notebook, starting the kernel,
running the closure, checking the data, running the run's cells, the verdict. No peer
does this (MLflow and W&B keep code as an artifact and leave re-running it to the user),
so the figures stand alone.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import (  # noqa: E402
    RESULTS_FILE,
    format_seconds,
    git_commit,
    load_average,
    log,
    machine_info,
    markdown_table,
    update_results_section,
)

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = ("01-tracking.ipynb", "02-models-gates-drift.ipynb", "03-pipeline.ipynb")


def execute(notebook: str, workdir: Path) -> float:
    import nbformat
    from nbclient import NotebookClient

    copy = workdir / notebook
    shutil.copy(REPO / "notebooks" / notebook, copy)
    node = nbformat.read(copy, as_version=4)
    env = {k: v for k, v in os.environ.items() if k != "MLOPS_REGISTRY"}
    started = time.perf_counter()
    NotebookClient(
        node, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    ).execute(env={**env, "JPY_SESSION_NAME": str(copy)})
    copy.unlink()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="notebook 01 only; write nothing")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO / "src"))
    from jupyter_mlops.registry.connection import Registry

    started = time.time()
    load_before = load_average()
    info = machine_info(Path(tempfile.gettempdir()))
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-reproduce-") as temp:
        for notebook in NOTEBOOKS[:1] if args.smoke else NOTEBOOKS:
            workdir, fresh = Path(temp) / notebook / "work", Path(temp) / notebook / "fresh"
            workdir.mkdir(parents=True)
            fresh.mkdir()
            log(f"executing {notebook}")
            whole = execute(notebook, workdir)
            registry_path = workdir / ".mlops" / "registry.db"
            with Registry.open(registry_path) as registry:
                runs = registry.query(
                    "SELECT id, name, ended_at - started_at FROM runs"
                    " WHERE parent_run_id IS NULL AND kind = 'notebook' ORDER BY started_at"
                )
            for run_id, name, duration in runs:
                log(f"reproducing {notebook} {name}")
                begun = time.perf_counter()
                done = subprocess.run(
                    [str(Path(sys.executable).with_name("jupyter-mlops")), "reproduce", run_id,
                     "--registry", str(registry_path), "--workdir", str(fresh)],
                    capture_output=True, text=True, check=False,
                )  # fmt: skip
                took = time.perf_counter() - begun
                verdict = next(
                    (
                        line
                        for line in done.stdout.splitlines()
                        if line.startswith(("parity", "reproduction"))
                    ),
                    done.stdout.strip().splitlines()[-1:] or ["?"],
                )
                rows.append(
                    [
                        notebook,
                        name,
                        format_seconds(whole),
                        format_seconds(duration),
                        format_seconds(took),
                        f"{took / duration:.1f}x" if duration else "-",
                        "parity ok" if done.returncode == 0 else f"exit {done.returncode}",
                    ]
                )
                print(verdict if isinstance(verdict, str) else verdict[0])
    table = markdown_table(
        [
            "notebook",
            "run",
            "notebook executed",
            "run's own time",
            "reproduction",
            "ratio",
            "verdict",
        ],
        rows,
    )
    print(table)
    if args.smoke:
        return
    body = (
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))} by"
        f" `python bench/reproduce.py`, on {info.get('cpu', '?')} ({info.get('cores', '?')}"
        f" cores), Python {info.get('python', '?')}; load average {load_before} before the run,"
        f" {load_average()} after it; jupyter-mlops at commit {git_commit(REPO)}.\n\n"
        f"{table}\n\n"
        '"notebook executed" is the whole example notebook run by nbclient, every run in it;'
        ' "run\'s own time" is the run\'s recorded duration (its cells); "reproduction" is'
        " the whole `jupyter mlops reproduce RUN` process in a fresh folder, the notebook"
        " deleted: Python and the CLI starting, the notebook rebuilt from the registry, a"
        " fresh kernel started, the closure (imports, data loading) and the run's cells run,"
        " the data checked against its snapshots, the verdict. The ratio is dominated by"
        " what a fresh process pays once (the kernel, imports of pandas and scikit-learn),"
        " which a run inside a warm notebook kernel does not. No peer reproduces a run from"
        " its tracking store, so there is no side-by-side figure."
    )
    update_results_section(RESULTS_FILE, "Reproduce", body)


if __name__ == "__main__":
    main()
