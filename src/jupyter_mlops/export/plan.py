"""Steps, parameters and the values passed between steps, checked before anything is written.

Given the layout from the tags, this module decides each step's inputs (names read
that an earlier step wrote), outputs (names a later step reads), parameters (names
read from the ``parameters`` cell) and dependencies (inputs plus ``after:`` tags),
and refuses, with an ExportError naming the cell, the step and the variable:

- a name read that no earlier step, setup cell or parameter defines;
- a cycle (through ``after:`` tags);
- a value passed between steps that cannot be saved (open files, connections,
  generators, locks, lambdas, functions or classes defined inside a step...),
  checked against the live value when the kernel's namespace is given.

A name is taken from the *latest* step before the reader that wrote it, as in the
notebook when it is run from top to bottom. Imports written at the top level of a
step cell are shared with every step (they go into the setup module).
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ExportError
from ..runner.spec import ArtifactSpec, EdgeSpec, ParameterSpec, StepInput
from ..tracking.capture.code_names import Binding, CodeNames, analyse_cells
from .ipython_syntax import RUNTIME_NAMES
from .layout import CodeCell, NotebookLayout, StepDraft
from .names import UNSERIALIZABLE_CALLS
from .parameters import split_parameters

BUILTIN_NAMES = frozenset(dir(builtins)) | {"__file__", "__name__", "__builtins__"}


@dataclass(frozen=True)
class StepReads:
    """Where each name a step reads comes from: an earlier step (``inputs``), the
    parameters, the setup code or the runtime. The first pass of the plan; what the step
    saves for later steps is known only once every step has been read."""

    draft: StepDraft
    names: CodeNames
    inputs: tuple[StepInput, ...]
    parameters: tuple[str, ...]
    setup: tuple[str, ...]
    runtime: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.draft.name


@dataclass(frozen=True)
class PlannedStep:
    """A step with everything the code generators need."""

    draft: StepDraft
    names: CodeNames
    inputs: tuple[StepInput, ...]
    parameters: tuple[str, ...]
    outputs: tuple[str, ...]
    depends_on: tuple[str, ...]
    setup_names_used: tuple[str, ...]
    runtime_names_used: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.draft.name


@dataclass(frozen=True)
class PipelinePlan:
    """The checked plan of a pipeline."""

    parameters: tuple[ParameterSpec, ...]
    setup_cells: tuple[CodeCell, ...]
    setup_names: tuple[str, ...]
    hoisted_imports: tuple[str, ...]
    steps: tuple[PlannedStep, ...]
    edges: tuple[EdgeSpec, ...]
    artifacts: tuple[ArtifactSpec, ...]
    imported_modules: tuple[str, ...]
    notes: tuple[str, ...] = ()  # what the export reports about the parameters code


def plan_pipeline(
    layout: NotebookLayout, *, live_namespace: Mapping[str, Any] | None = None
) -> PipelinePlan:
    """Check the layout and work out inputs, outputs and edges (see the module docstring)."""
    parameters, computed = split_parameters(layout.parameter_cells)
    parameter_names = {p.name for p in parameters}
    setup = analyse_cells([(c.index, c.tree) for c in layout.setup_cells])
    layout, notes = _with_computed_parameters(layout, computed)
    analyses = {
        d.name: analyse_cells([(c.index, c.tree) for c in d.computed + d.cells])
        for d in layout.steps
    }
    hoisted: dict[str, None] = {}
    hoisted_names: set[str] = set()
    for draft in layout.steps:
        names = analyses[draft.name]
        hoisted.update(dict.fromkeys(names.import_statements))
        for cell in draft.cells:
            for statement in cell.tree.body:
                if isinstance(statement, (ast.Import, ast.ImportFrom)):
                    hoisted_names.update(
                        a.asname or a.name.split(".")[0] for a in statement.names if a.name != "*"
                    )
    setup_names = set(setup.writes) | hoisted_names
    _check_setup(layout, setup, parameter_names, setup_names)

    producers: dict[str, str] = {}
    deleted_by: dict[str, str] = {}
    planned: list[StepReads] = []
    for draft in layout.steps:
        names = analyses[draft.name]
        inputs: list[StepInput] = []
        used_parameters: list[str] = []
        used_setup: list[str] = []
        used_runtime: list[str] = []
        for name in names.reads:
            if name in producers:
                inputs.append(StepInput(name, producers[name]))
            elif name in parameter_names:
                used_parameters.append(name)
            elif name in setup_names:
                used_setup.append(name)
            elif name in RUNTIME_NAMES:
                used_runtime.append(name)
            elif name in BUILTIN_NAMES:
                continue
            else:
                raise _undefined(draft, names, name, layout, analyses, deleted_by)
        planned.append(
            StepReads(
                draft=draft,
                names=names,
                inputs=tuple(inputs),
                parameters=tuple(used_parameters),
                setup=tuple(used_setup),
                runtime=tuple(used_runtime),
            )
        )
        for name in names.writes:
            if name in hoisted_names and _is_import_binding(names, name):
                continue
            if _configures_shared_object(name, names, setup, hoisted_names):
                continue
            producers[name] = draft.name
            deleted_by.pop(name, None)
        for name in names.deletes:
            producers.pop(name, None)
            deleted_by[name] = draft.name
        for drift_tag in draft.drift:
            check_variable, drift_cell = drift_tag.variable, drift_tag.cell_index
            if check_variable not in names.writes and check_variable not in names.reads:
                raise ExportError(
                    f'Cell {drift_cell + 1} (step "{draft.name}"): tag drift:{check_variable}'
                    " names a variable the step neither reads nor writes",
                    cell_index=drift_cell,
                    step=draft.name,
                    variable=check_variable,
                    tag=f"drift:{check_variable}",
                    hint="Put the drift tag on a cell of the step that has the data.",
                )

    outputs: dict[str, dict[str, None]] = {reads.name: {} for reads in planned}
    for reads in planned:
        for item in reads.inputs:
            outputs[item.from_step][item.name] = None

    _check_serializable(planned, setup_names, live_namespace)
    edges, depends = _edges(planned)
    _check_cycles(layout.steps, depends)

    steps = tuple(
        PlannedStep(
            draft=reads.draft,
            names=reads.names,
            inputs=reads.inputs,
            parameters=reads.parameters,
            outputs=tuple(outputs[reads.name]),
            depends_on=tuple(depends[reads.name]),
            setup_names_used=reads.setup,
            runtime_names_used=reads.runtime,
        )
        for reads in planned
    )
    artifacts = tuple(
        ArtifactSpec(
            name=output,
            producer=step.name,
            consumers=tuple(
                s.name for s in steps if any(
                    i.name == output and i.from_step == step.name for i in s.inputs
                )
            ),
            format=_live_format(live_namespace, output),
        )
        for step in steps
        for output in step.outputs
    )  # fmt: skip
    modules = set(setup.imported_modules)
    for names in analyses.values():
        modules.update(names.imported_modules)
    return PipelinePlan(
        parameters=parameters,
        setup_cells=layout.setup_cells,
        setup_names=tuple(sorted(setup_names)),
        hoisted_imports=tuple(hoisted),
        steps=steps,
        edges=edges,
        artifacts=artifacts,
        imported_modules=tuple(sorted(modules)),
        notes=notes,
    )


def _with_computed_parameters(
    layout: NotebookLayout, computed: tuple[CodeCell, ...]
) -> tuple[NotebookLayout, tuple[str, ...]]:
    """Give the code of the parameters cells that computes values (``d = a == 3``) to each
    step that reads one of them: it runs there, first, with the run's parameter values.
    Notes name what no step reads (that code is not exported)."""
    if not computed:
        return layout, ()
    names = analyse_cells([(c.index, c.tree) for c in computed])
    produced = set(names.writes)
    steps = []
    read: set[str] = set()
    for draft in layout.steps:
        reads = set(analyse_cells([(c.index, c.tree) for c in draft.cells]).reads)
        read |= reads
        if produced & reads:
            draft = dataclasses.replace(draft, computed=computed)
        steps.append(draft)
    unread = sorted(produced - read)
    notes = tuple(
        f'cell {names.binding(name).cell_index + 1} (parameters): "{name}" is computed but'  # type: ignore[union-attr]
        " no step reads it, so its code is not exported"
        for name in unread
        if names.binding(name) is not None
    )
    return dataclasses.replace(layout, steps=tuple(steps)), notes


def _check_setup(
    layout: NotebookLayout, setup: CodeNames, parameter_names: set[str], setup_names: set[str]
) -> None:
    for name in setup.reads:
        if name in BUILTIN_NAMES or name in RUNTIME_NAMES or name in setup_names:
            continue
        cell, line = setup.read_at(name)
        if name in parameter_names:
            raise ExportError(
                f'Cell {cell + 1} (setup) reads the parameter "{name}" on line {line}; setup'
                " code runs before parameter values are known",
                cell_index=cell,
                variable=name,
                tag="setup",
                hint="Move the code that uses the parameter into a step.",
            )
        raise ExportError(
            f'Cell {cell + 1} (setup) reads "{name}" on line {line}, which nothing before it'
            " defines",
            cell_index=cell,
            variable=name,
            tag="setup",
            hint="Define it in a setup cell, or move this code into a step.",
        )


def _undefined(
    draft: StepDraft,
    names: CodeNames,
    name: str,
    layout: NotebookLayout,
    analyses: dict[str, CodeNames],
    deleted_by: dict[str, str],
) -> ExportError:
    cell, line = names.read_at(name)
    where = f'Cell {cell + 1} (step "{draft.name}"), line {line}'
    if name in deleted_by:
        detail = f'reads "{name}", which step "{deleted_by[name]}" deleted with del'
        hint = "Remove the del, or compute the value again in this step."
    else:
        later = next(
            (d for d in layout.steps if d.name != draft.name and name in analyses[d.name].writes),
            None,
        )
        if later is not None and later.first_cell > draft.first_cell:
            detail = (
                f'reads "{name}" before any step defines it (step "{later.name}", cell'
                f" {later.first_cell + 1}, defines it later)"
            )
            hint = "Move the step that defines it above this one in the notebook."
        else:
            detail = f'reads "{name}", which no earlier step, setup cell or parameter defines'
            hint = (
                "Define it in an earlier step or a setup cell, add it to the parameters cell,"
                " or import it."
            )
    return ExportError(
        f"{where} {detail}", cell_index=cell, step=draft.name, variable=name, hint=hint
    )


def _is_import_binding(names: CodeNames, name: str) -> bool:
    binding = names.binding(name)
    return binding is not None and binding.kind == "import"


def _configures_shared_object(
    name: str, names: CodeNames, setup: CodeNames, hoisted_names: set[str]
) -> bool:
    """``np.random.seed(0)`` or ``mlops.log(...)`` in a step calls a method on a module,
    function or class from setup code: it configures the process, it is no value to
    pass on. (A setup *value* changed in place, like a dict, is passed on.)"""
    binding = names.binding(name)
    if binding is not None and binding.kind != "mutated":
        return False
    if name in RUNTIME_NAMES or name in hoisted_names:
        return True
    shared = setup.binding(name)
    return shared is not None and shared.kind in ("import", "def", "class")


def _static_problem(binding: Binding | None) -> str | None:
    if binding is None:
        return None
    leaf = binding.detail.split(".")[-1]
    if binding.kind == "def":
        return "a function defined in that step (functions are saved by reference)"
    if binding.kind == "class":
        return "a class defined in that step"
    if binding.kind == "lambda":
        return "a lambda"
    if binding.kind == "generator":
        return f"a generator ({binding.detail})"
    if binding.kind == "import":
        return "a module"
    if binding.kind in ("call", "with") and leaf in UNSERIALIZABLE_CALLS:
        if binding.kind == "with" and leaf not in ("open", "connect", "urlopen", "Popen"):
            return None
        return f"{UNSERIALIZABLE_CALLS[leaf]} (from {binding.detail}(...))"
    return None


def _check_serializable(
    planned: Sequence[StepReads],
    setup_names: set[str],
    live_namespace: Mapping[str, Any] | None,
) -> None:
    from ..runner.serialization import serialization_problem

    by_name = {reads.name: reads for reads in planned}
    for entry in planned:
        for item in entry.inputs:
            producer = by_name[item.from_step]
            binding = producer.names.binding(item.name)
            problem: str | None
            if live_namespace is not None and item.name in live_namespace:
                value = live_namespace[item.name]
                problem = serialization_problem(value)
                kind = type(value)
                if problem and kind.__module__ == "__main__" and kind.__name__ in setup_names:
                    problem = None  # the class comes from setup code, importable in every step
            else:
                problem = _static_problem(binding)
            if problem:
                cell = binding.cell_index if binding else producer.draft.first_cell
                line = f", line {binding.line}" if binding else ""
                raise ExportError(
                    f'Cell {cell + 1} (step "{item.from_step}"{line}): "{item.name}" is passed to'
                    f' step "{entry.name}", but it is {problem}, which cannot be'
                    " saved between steps",
                    cell_index=cell,
                    step=item.from_step,
                    variable=item.name,
                    hint="Create it inside the step that uses it, or in a setup cell (setup"
                    " code runs in every step); pass plain data between steps.",
                )


def _edges(
    planned: Sequence[StepReads],
) -> tuple[tuple[EdgeSpec, ...], dict[str, list[str]]]:
    order = {e.name: i for i, e in enumerate(planned)}
    variables: dict[tuple[str, str], list[str]] = {}
    depends: dict[str, list[str]] = {e.name: [] for e in planned}
    for entry in planned:
        target = entry.name
        for item in entry.inputs:
            variables.setdefault((item.from_step, target), []).append(item.name)
        for source, _cell in entry.draft.after:
            variables.setdefault((source, target), [])
    # A gate checks everything above it in the notebook (its rules read the metrics those
    # steps log, not only the values it names), so it runs after all of them...
    for index, entry in enumerate(planned):
        if entry.draft.gate:
            earlier = [e.name for e in planned[:index]]
            covered = set().union(*(_ancestors(variables, name) for name in earlier))
            for source in earlier:
                if source not in covered:
                    variables.setdefault((source, entry.name), [])
    # ...and guards everything below it, not only the steps that read its values: a
    # later step never runs when a gate above it failed.
    for index, entry in enumerate(planned):
        if entry.draft.gate:
            for later in planned[index + 1 :]:
                variables.setdefault((entry.name, later.name), [])
    for source, target in variables:
        if source not in depends[target]:
            depends[target].append(source)
    for target in depends:
        depends[target].sort(key=lambda name: order[name])
    edges = tuple(
        EdgeSpec(source, target, tuple(names))
        for (source, target), names in sorted(
            variables.items(), key=lambda kv: (order[kv[0][1]], order[kv[0][0]])
        )
    )
    return edges, depends


def _ancestors(variables: dict[tuple[str, str], list[str]], name: str) -> set[str]:
    """Every step ``name`` runs after, through the edges found so far."""
    parents: dict[str, set[str]] = {}
    for source, target in variables:
        parents.setdefault(target, set()).add(source)
    seen: set[str] = set()
    stack = [name]
    while stack:
        for parent in parents.get(stack.pop(), ()):
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return seen


def _check_cycles(drafts: tuple[StepDraft, ...], depends: dict[str, list[str]]) -> None:
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        path.append(name)
        for parent in depends[name]:
            if state.get(parent) == 1:
                return path[path.index(parent) :] + [parent]
            if parent not in state:
                found = visit(parent)
                if found:
                    return found
        state[name] = 2
        path.pop()
        return None

    for draft in drafts:
        if draft.name not in state:
            cycle = visit(draft.name)
            if cycle:
                by_name = {d.name: d for d in drafts}
                tagged = next(
                    ((d, t, c) for d in (by_name[n] for n in cycle) for t, c in d.after
                     if t in cycle),
                    None,
                )  # fmt: skip
                cell = tagged[2] if tagged else by_name[cycle[0]].first_cell
                shown = " -> ".join(reversed(cycle))
                raise ExportError(
                    f"Cell {cell + 1}: the steps form a cycle ({shown}); each needs the other"
                    " to run first",
                    cell_index=cell,
                    step=tagged[0].name if tagged else cycle[0],
                    tag=f"after:{tagged[1]}" if tagged else None,
                    hint="Remove the after: tag that points forward, or reorder the steps.",
                )


def _live_format(live_namespace: Mapping[str, Any] | None, name: str) -> str:
    if live_namespace is None or name not in live_namespace:
        return "auto"
    from ..runner.serialization import choose_format

    return choose_format(live_namespace[name])
