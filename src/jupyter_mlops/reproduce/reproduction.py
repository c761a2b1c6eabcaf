"""``%mlops reproduce RUN``: run a past run again from the registry alone, in a fresh
kernel, and say whether the same results came back.

1. The run's notebook is rebuilt as :mod:`.checkout` writes it (its closure, its
   parameters, its cells), with ``-p name=value`` given to its parameters cell.
2. Between the closure and the run's cells, each variable the run read as data is
   fingerprinted and compared with its snapshot (:mod:`.data_check`): data that changed
   stops the reproduction there, naming the variable and the file, unless
   ``data_from_snapshots`` puts the stored data in its place.
3. The notebook runs headless in a fresh kernel, of this Python (``env="current"``), of
   a virtual environment with the versions the run recorded (``env="venv"``, see
   :mod:`.environments`) or of a container image with them (``env="container"``, see
   :mod:`.images`; ``base_image`` replaces ``python:X.Y-slim``), in the working directory the run had (its relative paths mean
   the same files) unless told another, recording into the same registry; a line per
   cell shows the progress.
4. The run it records is compared with the original (:mod:`.verdict`), the reproduction
   is stored with its verdict (``reproductions``), and the executed notebook is kept
   under ``.mlops/reproductions/`` for reading.

    result = reproduce(registry, "baseline")
    result.verdict.summary()      # 'parity ok: 2 metric(s) of run 3f2a9c1b7e40 came back ...'
    result.verdict.exit_code      # 0 parity, 1 mismatch, 2 could not run
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from ..errors import InvalidInputError, ReproductionError
from ..registry.connection import Registry
from ..runner.params import coerce, split_pair
from ..runner.spec import ParameterSpec
from ..tracking.capture.code_names import plain_python
from ..tracking.closure import Closure, names_of
from ..tracking.closure_rows import read_closure
from ..tracking.queries.detail import run_detail
from ..tracking.queries.records import RunRow
from ..tracking.reproductions import record_reproduction, runs_named_since
from .checkout import CHECKOUT_METADATA, checkout_notebook
from .environments import venv_python
from .execution import Execution, execute
from .images import CONTAINER_FAILED, ReproductionImage, execute_in_image, reproduction_image
from .verdict import Verdict, judge, versions_differing_from_here

ENVIRONMENTS = ("current", "venv", "container")


@dataclass(frozen=True)
class Reproduction:
    """What :func:`reproduce` did: the verdict, where the executed notebook is kept, the
    time it took and the id of the stored reproduction."""

    verdict: Verdict
    environment: str
    notebook_path: Path | None
    seconds: float
    reproduction_id: int


def reproduce(
    registry: Registry,
    ref: str,
    *,
    env: str = "current",
    params: Mapping[str, Any] | Iterable[str] | None = None,
    data_from_snapshots: bool = False,
    workdir: str | Path | None = None,
    base_image: str | None = None,
    rel_tolerance: float | None = None,
    abs_tolerance: float | None = None,
    timeout: float = 1800,
    progress: Callable[[str], None] | None = None,
) -> Reproduction:
    """Reproduce run ``ref`` (id, id prefix, name or ``last``); see the module docstring.

    A run that cannot be reproduced at all (no closure, data that changed, a cell that
    raised) gives a ``failed`` verdict, stored like the others; bad arguments raise
    :class:`~jupyter_mlops.errors.InvalidInputError`."""
    check_environment(env)
    say = progress or (lambda line: None)
    started_at = time.time()
    detail = run_detail(registry, ref, series=False)
    original_id = detail.run.id
    closure = read_closure(registry, original_id)
    tolerances = {
        key: value
        for key, value in (("rel_tolerance", rel_tolerance), ("abs_tolerance", abs_tolerance))
        if value is not None
    }

    def finish(verdict: Verdict, kept: Path | None) -> Reproduction:
        ended = time.time()
        stored = record_reproduction(
            registry,
            original_run_id=original_id,
            run_id=verdict.run_id,
            environment=env,
            status=verdict.status,
            summary=verdict.summary(),
            report={**verdict.to_dict(), "notebook": None if kept is None else str(kept)},
            started_at=started_at,
            ended_at=ended,
        )
        return Reproduction(verdict, env, kept, ended - started_at, stored)

    def failed(reason: str, run_id: str | None = None, notes: tuple[str, ...] = ()) -> Verdict:
        return Verdict(
            "failed",
            original_id,
            run_id,
            reason=reason,
            differs_from_here=versions_differing_from_here(detail.environment),
            notes=notes,
            **tolerances,  # type: ignore[arg-type]
        )

    if closure is None:
        return finish(
            failed(
                "no closure was recorded for this run (it ran before closures were kept, or"
                " outside a notebook kernel); check it out with %mlops checkout and add the"
                " cells it depended on by hand"
            ),
            None,
        )
    notebook, parameters = checkout_notebook(detail, closure)
    overrides = parse_overrides(original_id, parameters, params)
    data_variables = [link.variable for link in detail.snapshots if link.variable]
    _prepare(notebook, original_id, overrides, data_from_snapshots, data_variables)
    directory = _workdir(workdir, closure)
    python = Path(sys.executable)
    image: ReproductionImage | None = None
    try:
        if env == "venv":
            python = venv_python(
                detail.environment, cache=registry.directory / "venvs", progress=say
            )
        elif env == "container":
            image = reproduction_image(
                detail.environment,
                cache=registry.directory / "images",
                base_image=base_image,
                progress=say,
            )
    except ReproductionError as exc:
        return finish(failed(exc.message), None)
    where = f"an image of the run's versions ({image.tag})" if image else str(python)
    say(
        f'reproducing run "{detail.run.name}" ({original_id[:12]}): {len(closure.cells)}'
        f" earlier cell(s) and {len(detail.code)} of its own, in a fresh kernel of"
        f" {where}, in {directory}"
    )
    begun = time.time()
    execution: Execution
    if image is not None:
        execution = execute_in_image(
            image,
            notebook,
            registry_path=registry.path,
            workdir=directory,
            timeout=timeout,
            progress=say,
        )
    else:
        execution = execute(
            notebook,
            python=str(python),
            registry_path=registry.path.resolve(),  # the kernel runs in another directory
            workdir=directory,
            timeout=timeout,
            progress=say,
        )
    kept = _keep(registry, notebook, original_id)
    notes = tuple(
        line.strip()
        for text in execution.outputs
        for line in text.splitlines()
        if line.startswith("data check: ")
    )
    run_id = _new_run(registry, detail.run.name, begun)
    if execution.error is not None:
        where = _cell_role(notebook, execution.failed_cell)
        if execution.error_name in ("ReproductionError", CONTAINER_FAILED):
            reason = execution.error
        else:
            reason = f"{where} raised {execution.error_name}: {execution.error}"
        return finish(failed(reason, run_id, notes), kept)
    if run_id is None:
        return finish(
            failed(f'the notebook ran but recorded no run named "{detail.run.name}"', None, notes),
            kept,
        )
    cells = [cell.source for cell in closure.cells] + [cell.source for cell in detail.code]
    verdict = judge(
        registry,
        original_id,
        run_id,
        cells=cells,
        closure=closure,
        overrides=overrides,
        notes=notes,
        **tolerances,
    )
    return finish(verdict, kept)


def check_environment(env: str) -> None:
    """InvalidInputError unless :func:`reproduce` can run in ``env``."""
    if env not in ENVIRONMENTS:
        raise InvalidInputError(
            f'"{env}" is not an environment reproduce can run in',
            hint=f"Use one of: {', '.join(ENVIRONMENTS)}.",
        )


def check_request(
    registry: Registry,
    ref: str,
    *,
    env: str = "current",
    params: Mapping[str, Any] | Iterable[str] | None = None,
) -> RunRow:
    """Run ``ref`` when :func:`reproduce` would start on these arguments; the
    errors it would raise before running anything otherwise, for a caller that runs it
    later (in another thread) and must refuse bad input at once.

    Raises :class:`~jupyter_mlops.errors.NotFoundError` for an unknown run and
    :class:`~jupyter_mlops.errors.InvalidInputError` for an unknown environment or a
    parameter the run does not have (or a value of the wrong type).

        check_request(registry, "baseline", params={"lr": 0.5}).id   # '3f2a9c1b7e40...'
    """
    check_environment(env)
    detail = run_detail(registry, ref, series=False)
    if params:
        closure = read_closure(registry, detail.run.id)
        _, parameters = checkout_notebook(detail, closure)
        parse_overrides(detail.run.id, parameters, params)
    return detail.run


def parse_overrides(
    run_id: str,
    parameters: Mapping[str, Any],
    given: Mapping[str, Any] | Iterable[str] | None,
) -> dict[str, Any]:
    """``-p name=value`` (or a mapping) as values of the run's parameters, each parsed as
    the type of the value the run had (``-p lr=0.5`` is the float 0.5)."""
    if not given:
        return {}
    pairs = list(given.items()) if isinstance(given, Mapping) else [split_pair(g) for g in given]
    values: dict[str, Any] = {}
    for name, raw in pairs:
        if name not in parameters:
            raise InvalidInputError(
                f'run {run_id[:12]} has no parameter "{name}" to set',
                hint=f"Its parameters: {', '.join(parameters) or 'none'} (the literal"
                " assignments of its cells).",
            )
        recorded = parameters[name]
        kind = "none" if recorded is None else type(recorded).__name__
        values[name] = coerce(ParameterSpec(name, kind, recorded, nullable=True), raw)
    return values


def _prepare(
    notebook: nbformat.NotebookNode,
    original_id: str,
    overrides: Mapping[str, Any],
    data_from_snapshots: bool,
    data_variables: Iterable[str],
) -> None:
    """The checkout notebook made ready to run: after the last closure cell that binds a
    variable the run read as data, a cell that checks it (so data put in its place feeds
    the cells after); the variables no closure cell visibly binds (a star import, a magic)
    are checked after the closure. Each variable is checked once. The parameters given."""
    cells = notebook.cells
    closure_at = [
        i for i, cell in enumerate(cells) if cell.metadata.get(CHECKOUT_METADATA, {}).get("closure")
    ]
    end = closure_at[-1] if closure_at else 1
    last_binding: dict[int, list[str]] = {end: []}
    for name in sorted(set(data_variables)):
        binding = [i for i in closure_at if _binds(cells[i].source, name)]
        last_binding.setdefault(binding[-1] if binding else end, []).append(name)
    for index in sorted(last_binding, reverse=True):
        if last_binding[index]:
            cells.insert(
                index + 1, _check_cell(original_id, last_binding[index], data_from_snapshots)
            )
    # A run begun with %mlops start ended in a cell that was not its own: end it here.
    cells.append(
        nbformat.v4.new_code_cell(
            "if mlops.active_run() is not None:\n    mlops.end_run()",
            metadata={CHECKOUT_METADATA: {"end": True}},
        )
    )
    for cell in cells:
        if "parameters" in cell.metadata.get("tags", []) and overrides:
            lines = []
            for line in cell.source.splitlines():
                name = line.split("=", 1)[0].strip()
                lines.append(f"{name} = {overrides[name]!r}" if name in overrides else line)
            cell.source = "\n".join(lines)


def _binds(source: str, name: str) -> bool:
    names = names_of(source, plain_python)
    return names is not None and name in names.writes


def _check_cell(original_id: str, names: list[str], substitute: bool) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(
        "from jupyter_mlops.reproduce.data_check import check_inputs\n"
        f"for _line in check_inputs(globals(), {original_id!r}, names={names!r},"
        f" substitute={substitute!r}):\n"
        '    print("data check: " + _line)',
        metadata={CHECKOUT_METADATA: {"data_check": True}},
    )


def _workdir(given: str | Path | None, closure: Closure) -> Path:
    if given is not None:
        path = Path(given)
        if not path.is_dir():
            raise InvalidInputError(
                f"--workdir {path} is not a directory",
                hint="Give an existing directory, or none to use the run's own.",
            )
        return path
    if closure.directory and Path(closure.directory).is_dir():
        return Path(closure.directory)
    return Path(tempfile.mkdtemp(prefix="mlops-reproduce-"))


def _keep(registry: Registry, notebook: nbformat.NotebookNode, original_id: str) -> Path:
    folder = registry.directory / "reproductions"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{original_id[:12]}-{time.strftime('%Y%m%d-%H%M%S')}.ipynb"
    nbformat.write(notebook, str(path))
    return path


def _new_run(registry: Registry, name: str, since: float) -> str | None:
    found = runs_named_since(registry, name, since)
    return found[0] if found else None


def _cell_role(notebook: nbformat.NotebookNode, index: int | None) -> str:
    if index is None:
        return "a cell"
    meta = notebook.cells[index].metadata.get(CHECKOUT_METADATA, {})
    if meta.get("closure"):
        return f"the earlier cell In[{meta.get('ran_as')}]"
    if meta.get("run"):
        return f"the run's cell In[{meta.get('ran_as')}]"
    return f"cell {index + 1}"
