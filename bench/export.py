"""Benchmark notebook -> pipeline export and the runner's per-step overhead.

    PYTHONPATH=src python bench/export.py [--write]

Measured side by side in one run:

- export of a generated 200-cell notebook (40 steps) with ``export_notebook``
  (targets local and local+docker), against nbconvert's own ``PythonExporter``
  (``--to script``) on the same notebook: the peer an ML engineer would otherwise use;
- the runner's overhead per step: a pipeline of trivial steps (each passes one JSON
  value on), the wall time per step, against the floor of any process-per-step
  runner, starting a bare ``python -c pass``. A step that reads a DataFrame is shown
  too (it pays for importing pandas and pyarrow). Every step is recorded in the
  registry as it would be in use: a tracked run per step, the pipeline run, the
  step's row, its outputs linked, its metrics copied.

Targets (DESIGN.md / the issue): export < 1 s, runner overhead < 300 ms per step.
``--write`` replaces the "## Export" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
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


def children_cpu() -> float:
    """CPU seconds used by finished child processes (user + system)."""
    times = os.times()
    return times.children_user + times.children_system


def bench_runner(folder: Path, steps: int, repeat: int) -> dict[str, float]:
    import compileall

    import jupyter_mlops
    from jupyter_mlops.export import export_notebook
    from jupyter_mlops.runner.pipeline import run_pipeline

    # As installed: pip compiles bytecode, which PYTHONDONTWRITEBYTECODE (set on the CI
    # machines) would otherwise keep every step process compiling the package again.
    compileall.compile_dir(Path(jupyter_mlops.__file__).parent, quiet=1)
    results: dict[str, float] = {}
    for label, frame in (("json", False), ("dataframe", True)):
        nbformat.write(chain_notebook(steps, frame=frame), folder / f"{label}.ipynb")
        pipeline = export_notebook(folder / f"{label}.ipynb", targets="local").output_dir
        samples: dict[str, list[float]] = {label: [], f"{label}-cpu": [], f"{label}-runner-cpu": []}
        for attempt in range(repeat):  # a fresh registry each time: every step runs
            registry = folder / f"registry-{label}-{attempt}"
            start, cpu, own = time.perf_counter(), children_cpu(), time.process_time()
            run = run_pipeline(pipeline, workdir=folder, registry=registry)
            samples[label].append((time.perf_counter() - start) / steps)
            samples[f"{label}-cpu"].append((children_cpu() - cpu) / steps)
            samples[f"{label}-runner-cpu"].append((time.process_time() - own) / steps)
            assert run.ok
        results.update({key: statistics.median(values) for key, values in samples.items()})
        start = time.perf_counter()
        cached = run_pipeline(pipeline, workdir=folder, registry=registry)
        results[f"{label}-cached"] = (time.perf_counter() - start) / steps
        assert {s.status for s in cached.steps} == {"cached"}
    for label, code in (("bare", "pass"), ("bare-pandas", "import pandas, pyarrow.parquet")):
        start, cpu = time.perf_counter(), children_cpu()
        for _ in range(steps):
            subprocess.run([sys.executable, "-c", code], check=True)
        results[label] = (time.perf_counter() - start) / steps
        results[f"{label}-cpu"] = (children_cpu() - cpu) / steps
    return results


def render(
    export: list[tuple[str, float]], runner: dict[str, float], steps: int, repeat: int
) -> str:
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
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())

    def ms(key: str) -> str:
        return f"{runner[key] * 1000:.0f} ms"

    lines += [
        "",
        f"Runner, a chain of {steps} steps, per step, median of {repeat} chains (each step is a",
        "process that records a tracked run in the registry; the runner records the pipeline",
        "run, each step, the outputs and the metrics); peer: starting a bare `python -c pass`,",
        "the floor of any process-per-step runner. Wall time depends on what else the machine",
        f"runs (load average {load} here); the CPU time of the step processes is the steadier",
        "figure. Bytecode is compiled, as after `pip install`.",
        "",
        "| what | wall per step | CPU per step | wall ratio to bare python | target |",
        "| --- | --- | --- | --- | --- |",
        f"| bare `python -c pass` | {ms('bare')} | {ms('bare-cpu')} | 1.0x | (peer) |",
        f"| step passing a JSON value | {ms('json')} | {ms('json-cpu')} (+ {ms('json-runner-cpu')}"
        f" in the runner) | {runner['json'] / bare:.1f}x | < 300 ms overhead |",
        f"| bare `python -c 'import pandas, pyarrow.parquet'` | {ms('bare-pandas')} |"
        f" {ms('bare-pandas-cpu')} | {runner['bare-pandas'] / bare:.1f}x | (peer for"
        " DataFrame steps) |",
        f"| step passing a DataFrame (parquet) | {ms('dataframe')} | {ms('dataframe-cpu')} |"
        f" {runner['dataframe'] / bare:.1f}x | |",
        f"| cached step (skipped, content hashes checked) | {runner['json-cached'] * 1000:.1f} ms"
        f" | | {runner['json-cached'] / bare:.2f}x | |",
        "",
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
    parser.add_argument("--runner-repeat", type=int, default=3, help="chains run, median taken")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        export = bench_export(folder, args.repeat)
        runner = bench_runner(folder, args.steps, args.runner_repeat)
    section = render(export, runner, args.steps, args.runner_repeat)
    print(section)
    if args.write:
        write_section(section)


if __name__ == "__main__":
    main()
