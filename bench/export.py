"""Benchmark notebook -> pipeline export and the runner's per-step overhead.

    PYTHONPATH=src python bench/export.py [--write]

Measured side by side in one run:

- export of a generated 200-cell notebook (40 steps) with ``export_notebook``
  (targets local and local+docker), against nbconvert's own ``PythonExporter``
  (``--to script``) on the same notebook: the peer an ML engineer would otherwise use;
- the runner's overhead per step: a pipeline of trivial steps (each passes one JSON
  value on), the wall time per step, against the floor of any process-per-step
  runner, starting a bare ``python -c pass``. A step that reads a DataFrame is shown
  too (it pays for importing pandas and pyarrow).

Targets (DESIGN.md / the issue): export < 1 s, runner overhead < 300 ms per step.
``--write`` replaces the "## Export" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"


def notebook_200_cells():
    cells = [
        new_markdown_cell("# Generated benchmark notebook"),
        new_code_cell(
            "import json\nimport math\nimport numpy as np\nimport pandas as pd",
            metadata={"tags": ["setup"]},
        ),  # fmt: skip
        new_code_cell("scale = 1.5\nrows = 100\nname = 'bench'", metadata={"tags": ["parameters"]}),
    ]
    previous = None
    while len(cells) < 200:
        index = len(cells) // 5
        step = f"step_{index:03d}"
        source = f"value_{index} = {'value_' + str(previous) if previous is not None else 'rows'}"
        cells.append(new_code_cell(source + " * scale", metadata={"tags": [f"step:{step}"]}))
        cells.append(new_code_cell(f"items_{index} = [math.sqrt(i) for i in range(int(rows))]"))
        cells.append(new_code_cell(f"frame_{index} = pd.DataFrame({{'x': items_{index}}})\n"
                                   f"frame_{index}['y'] = frame_{index}.x * 2"))  # fmt: skip
        cells.append(new_markdown_cell(f"Step {index} explained."))
        cells.append(new_code_cell(f"total_{index} = float(frame_{index}.y.sum())\n"
                                   f"mlops.log(total_{index}=total_{index})"))  # fmt: skip
        previous = index
    return new_notebook(cells=cells[:200])


def chain_notebook(steps: int, *, frame: bool = False):
    cells = [
        new_code_cell(
            "import pandas as pd" if frame else "import json", metadata={"tags": ["setup"]}
        ),  # fmt: skip
        new_code_cell("seed = 1", metadata={"tags": ["parameters"]}),
    ]
    first = "value = pd.DataFrame({'x': range(1000)})" if frame else "value = seed"
    cells.append(new_code_cell(first, metadata={"tags": ["step:s000"]}))
    for i in range(1, steps):
        body = "value = value + 1"
        cells.append(new_code_cell(body, metadata={"tags": [f"step:s{i:03d}"]}))
    return new_notebook(cells=cells)


def timed(function, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def bench_export(folder: Path, repeat: int) -> list[tuple[str, float]]:
    from nbconvert import PythonExporter

    from jupyter_mlops.export import export_notebook

    path = folder / "bench.ipynb"
    nbformat.write(notebook_200_cells(), path)
    export_notebook(path, folder / "warm", targets="local")  # imports, metadata caches
    local = timed(lambda: export_notebook(path, folder / "local", targets="local"), repeat)
    docker = timed(lambda: export_notebook(path, folder / "docker", targets="docker"), repeat)
    peer = timed(lambda: PythonExporter().from_filename(str(path)), repeat)
    return [("local", local), ("local+docker", docker), ("nbconvert --to script", peer)]


def bench_runner(folder: Path, steps: int) -> dict[str, float]:
    from jupyter_mlops.export import export_notebook
    from jupyter_mlops.runner import run_pipeline

    results: dict[str, float] = {}
    for label, frame in (("json", False), ("dataframe", True)):
        nbformat.write(chain_notebook(steps, frame=frame), folder / f"{label}.ipynb")
        pipeline = export_notebook(folder / f"{label}.ipynb", targets="local").output_dir
        start = time.perf_counter()
        run = run_pipeline(pipeline, workdir=folder, registry=folder / f".mlops-{label}")
        results[label] = (time.perf_counter() - start) / steps
        assert run.ok
        start = time.perf_counter()
        cached = run_pipeline(pipeline, workdir=folder, registry=folder / f".mlops-{label}")
        results[f"{label}-cached"] = (time.perf_counter() - start) / steps
        assert {s.status for s in cached.steps} == {"cached"}
    start = time.perf_counter()
    for _ in range(steps):
        subprocess.run([sys.executable, "-c", "pass"], check=True)
    results["bare"] = (time.perf_counter() - start) / steps
    start = time.perf_counter()
    for _ in range(steps):
        subprocess.run([sys.executable, "-c", "import pandas, pyarrow.parquet"], check=True)
    results["bare-pandas"] = (time.perf_counter() - start) / steps
    return results


def render(export: list[tuple[str, float]], runner: dict[str, float], steps: int) -> str:
    peer = export[-1][1]
    lines = [
        "## Export",
        "",
        f"Measured by `bench/export.py` on {time.strftime('%Y-%m-%d')}, Python"
        f" {sys.version.split()[0]}, 2 cores shared with other work (timings are noisy).",
        "",
        "Export of a generated 200-cell notebook (40 steps), median of runs; peer: nbconvert's",
        "`PythonExporter` (`--to script`) on the same notebook.",
        "",
        "| what | time | ratio to peer | target |",
        "| --- | --- | --- | --- |",
    ]
    for label, seconds in export:
        target = "< 1 s" if label != "nbconvert --to script" else "(peer)"
        lines.append(f"| {label} | {seconds * 1000:.0f} ms | {seconds / peer:.1f}x | {target} |")
    bare = runner["bare"]
    lines += [
        "",
        f"Runner, a chain of {steps} steps, wall time per step (each step is a process);",
        "peer: starting a bare `python -c pass`, the floor of any process-per-step runner.",
        "",
        "| what | per step | ratio to bare python | target |",
        "| --- | --- | --- | --- |",
        f"| bare `python -c pass` | {bare * 1000:.0f} ms | 1.0x | (peer) |",
        f"| step passing a JSON value | {runner['json'] * 1000:.0f} ms |"
        f" {runner['json'] / bare:.1f}x | < 300 ms overhead |",
        f"| bare `python -c 'import pandas, pyarrow.parquet'` | {runner['bare-pandas'] * 1000:.0f}"
        f" ms | {runner['bare-pandas'] / bare:.1f}x | (peer for DataFrame steps) |",
        f"| step passing a DataFrame (parquet) | {runner['dataframe'] * 1000:.0f} ms |"
        f" {runner['dataframe'] / bare:.1f}x | |",
        f"| cached step (skipped, content hashes checked) | {runner['json-cached'] * 1000:.1f} ms"
        f" | {runner['json-cached'] / bare:.2f}x | |",
    ]
    return "\n".join(lines) + "\n"


def write_section(section: str) -> None:
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n"
    start = text.find("## Export")
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end + 1 :] if end != -1 else "")
    RESULTS.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        export = bench_export(folder, args.repeat)
        runner = bench_runner(folder, args.steps)
    section = render(export, runner, args.steps)
    print(section)
    if args.write:
        write_section(section)


if __name__ == "__main__":
    main()
