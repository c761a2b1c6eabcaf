"""From cell tags to the shape of a pipeline: parameters, setup code and steps.

The tags (cell metadata ``tags``), compatible with papermill and Kale:

=================  =======================================  ========================
tag                meaning                                  also accepted
=================  =======================================  ========================
``parameters``     typed pipeline parameters with defaults  ``pipeline-parameters``
``setup``          code every step needs                    ``imports``, ``functions``
``step:NAME``      starts a step; untagged cells after it   ``block:NAME``
                   belong to it
``after:NAME``     explicit dependency                      ``prev:NAME``
``metrics``        metrics the step reports                 ``pipeline-metrics``
``gate``           a cell of conditions; failure stops
                   everything downstream
``drift:VAR``      check VAR against its reference         ``drift:VAR=SNAPSHOT``
                   right after the cell runs
``timeout:N``      the step is stopped and fails after N    ``timeout:90s``,
                   seconds                                  ``timeout:10m``, ``2h``
``skip``           not exported                             ``skip-execution``
``limit:KEY:VAL``  a resource limit of the step, for the
                   Kubeflow target (see :mod:`.kale`)
=================  =======================================  ========================

papermill's ``injected-parameters`` cell (in the notebook papermill wrote) is a
parameters cell whose values are the pipeline's defaults. Any other tag
(``remove-input``, ``hide-cell``...) changes nothing and is reported at export, naming
its cell. Decisions where the tags say nothing:

- A notebook with no ``step:`` tag at all becomes one step, ``main``.
- An untagged cell before the first step is setup code when it only declares
  things: imports, ``def``/``class``, assignments of literal constants, calls that
  configure an imported module (``np.random.seed(0)``, ``warnings.filterwarnings``),
  and ``if``/``try`` blocks made of those. A cell that does work there
  (``df = pd.read_csv(...)``) is an ExportError naming it: tag it ``step:NAME`` or
  ``setup``.
- A ``gate`` cell without a ``step:`` tag starts a step of its own named
  ``<previous step>_gate``; untagged cells after it belong to that step. A gate runs
  after every step above it (its rules read their metrics), and every step below a
  gate in the notebook runs after it, so a failed gate stops all of them.
- ``metrics``, ``after:``, ``drift:`` and ``timeout:`` cells belong to the step they are
  in; two different timeouts in one step are an ExportError naming both cells.
- ``drift:VAR`` compares VAR with the snapshot of VAR recorded by the notebook run the
  pipeline is exported from; ``drift:VAR=SNAPSHOT`` names the reference snapshot (its
  name or id) instead.
- A ``step:NAME`` (or ``block:NAME``) tag naming a step already started adds the cell,
  and the untagged cells after it, to that step, as Kale does.
- As in Kale, an untagged cell after a cell tagged ``imports``, ``functions``,
  ``pipeline-parameters`` or ``pipeline-metrics`` has that cell's role too (``skip``
  cells in between do not interrupt it). The project's own ``setup``, ``parameters``
  and ``metrics`` tags apply to their cell only.
- ``limit:`` tags of one step add up; two different values for one resource are an
  ExportError naming both cells.
- Markdown and raw cells are ignored; empty code cells too.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

from ..errors import ExportError, InvalidInputError
from ..runner.spec import SETUP_MODULE, STEP_NAME, parse_duration
from .declarative import require_declarative
from .ipython_syntax import translate_cell
from .kale import POD_TAG_PREFIXES, KaleSettings, kale_settings, limit_tag
from .magic_calls import defined_names
from .names import parse_cell

SINGLE_STEP_NAME = "main"

_PARAMETERS = {"parameters", "pipeline-parameters", "injected-parameters"}
INJECTED_PARAMETERS = "injected-parameters"
_SETUP = {"setup", "imports", "functions"}
_SKIP = {"skip", "skip-execution"}
_METRICS = {"metrics", "pipeline-metrics"}
_STEP_PREFIXES = ("step:", "block:")
_AFTER_PREFIXES = ("after:", "prev:")
_TIMEOUT_PREFIX = "timeout:"
_LIMIT_PREFIX = "limit:"
# Kale's cell roles that the untagged cells after them take on
_KALE_CONTINUED = {"imports", "functions", "pipeline-parameters", "pipeline-metrics"}


@dataclass(frozen=True)
class CodeCell:
    """A code cell with its tags, its source translated to plain Python, and its AST."""

    index: int
    source: str
    tags: tuple[str, ...]
    tree: ast.Module
    execution_count: int | None = None


@dataclass(frozen=True)
class DriftTag:
    """``drift:VAR`` or ``drift:VAR=SNAPSHOT`` on the cell ``cell_index``."""

    variable: str
    cell_index: int
    reference: str | None = None


@dataclass(frozen=True)
class CellRoles:
    """What a cell's tags say about it."""

    parameters: bool = False
    setup: bool = False
    skip: bool = False
    metrics: bool = False
    gate: bool = False
    step: str | None = None
    after: tuple[str, ...] = ()
    drift: tuple[DriftTag, ...] = ()
    timeout: float | None = None  # seconds, from timeout:N
    limits: tuple[tuple[str, str], ...] = ()  # (resource, quantity) from limit:KEY:VALUE
    continued: bool = False  # a Kale role that the untagged cells after it take on
    unknown: tuple[str, ...] = ()  # tags that mean nothing to the export
    pod_tags: tuple[str, ...] = ()  # Kale's annotation:/label: tags, not applied

    @property
    def tagged(self) -> bool:
        """Whether a tag gives the cell a role (tags unknown here do not)."""
        return bool(
            self.parameters or self.setup or self.skip or self.metrics or self.gate
            or self.step or self.after or self.drift or self.timeout is not None
            or self.limits
        )  # fmt: skip


@dataclass(frozen=True)
class StepDraft:
    """A step as the tags lay it out, before any name analysis."""

    name: str
    cells: tuple[CodeCell, ...]
    after: tuple[tuple[str, int], ...] = ()  # (step name, cell index of the tag)
    gate_cells: tuple[int, ...] = ()
    metrics_cells: tuple[int, ...] = ()
    drift: tuple[DriftTag, ...] = ()
    timeout: float | None = None  # seconds the step may run (timeout:N)
    limits: tuple[tuple[str, str], ...] = ()  # (resource, quantity) from limit: tags
    # parameters code that is not a literal (papermill's cells may hold any code), run
    # before the step's cells when the step reads what it computes (see plan.py)
    computed: tuple[CodeCell, ...] = ()

    @property
    def gate(self) -> bool:
        return bool(self.gate_cells)

    @property
    def module(self) -> str:
        return self.name.replace("-", "_")

    @property
    def first_cell(self) -> int:
        return self.cells[0].index if self.cells else 0


@dataclass(frozen=True)
class NotebookLayout:
    """Parameters cells, setup cells and steps, in notebook order."""

    parameter_cells: tuple[CodeCell, ...]
    setup_cells: tuple[CodeCell, ...]
    steps: tuple[StepDraft, ...]
    skipped_cells: tuple[int, ...] = ()
    kale: KaleSettings = KaleSettings()
    # what the export reports: tags unknown or not applied, magic lines left out
    notes: tuple[str, ...] = ()


def cell_roles(tags: tuple[str, ...], *, cell_index: int) -> CellRoles:
    """Read a cell's tags; tags that mean nothing here are listed in ``unknown``."""
    found: dict[str, Any] = {"after": [], "drift": [], "limits": [], "unknown": [], "pod": []}
    steps: list[str] = []
    for raw in tags:
        tag = str(raw).strip()
        lowered = tag.lower()
        if lowered in _KALE_CONTINUED:
            found["continued"] = True
        if lowered in _PARAMETERS:
            found["parameters"] = True
        elif lowered in _SETUP:
            found["setup"] = True
        elif lowered in _SKIP:
            found["skip"] = True
        elif lowered in _METRICS:
            found["metrics"] = True
        elif lowered == "gate":
            found["gate"] = True
        elif lowered.startswith(_STEP_PREFIXES):
            if tag.split(":", 1)[1].strip():
                steps.append(_name_after_colon(tag, cell_index))
            else:  # Kale's panel can leave "block:" behind: no step named, as in Kale
                found["unknown"].append(tag)
        elif lowered.startswith(_AFTER_PREFIXES):
            found["after"].extend(
                _checked_name(n.strip(), tag, cell_index)
                for n in tag.split(":", 1)[1].split(",")
                if n.strip()
            )
        elif lowered.startswith("drift:"):
            variable, equals, reference = tag.split(":", 1)[1].partition("=")
            variable, reference = variable.strip(), reference.strip()
            if not variable.isidentifier() or (equals and not reference):
                raise ExportError(
                    f'Cell {cell_index + 1}: tag "{tag}" must name a variable, as in drift:df'
                    " (or drift:df=SNAPSHOT to name the reference snapshot)",
                    cell_index=cell_index,
                    tag=tag,
                )
            found["drift"].append(DriftTag(variable, cell_index, reference or None))
        elif lowered.startswith(_TIMEOUT_PREFIX):
            found["timeout"] = _timeout(tag, cell_index)
        elif lowered.startswith(_LIMIT_PREFIX):
            found["limits"].append(limit_tag(tag, cell_index))
        elif lowered.startswith(POD_TAG_PREFIXES):
            found["pod"].append(tag)
        elif tag:
            found["unknown"].append(tag)
    if len(set(steps)) > 1:
        raise ExportError(
            f"Cell {cell_index + 1} has two step tags ({', '.join(steps)}); a cell starts one step",
            cell_index=cell_index,
            tag=steps[1],
            hint="Keep one step:NAME tag on the cell.",
        )
    roles = CellRoles(
        parameters=found.get("parameters", False),
        setup=found.get("setup", False),
        skip=found.get("skip", False),
        metrics=found.get("metrics", False),
        gate=found.get("gate", False),
        step=steps[0] if steps else None,
        after=tuple(found["after"]),
        drift=tuple(found["drift"]),
        timeout=found.get("timeout"),
        limits=tuple(found["limits"]),
        continued=found.get("continued", False),
        unknown=tuple(found["unknown"]),
        pod_tags=tuple(found["pod"]),
    )
    exclusive = [
        label
        for label, on in (
            ("parameters", roles.parameters), ("setup", roles.setup), ("step", roles.step)
        )
        if on
    ]  # fmt: skip
    if len(exclusive) > 1 and not roles.skip:
        raise ExportError(
            f"Cell {cell_index + 1} is tagged both {exclusive[0]} and {exclusive[1]}",
            cell_index=cell_index,
            tag=exclusive[1],
            hint="A cell is parameters, setup code, or part of a step: keep one of the tags.",
        )
    return roles


def lay_out(notebook: Any) -> NotebookLayout:
    """Group a notebook's code cells into parameters, setup and steps by their tags.

    ``notebook`` is an nbformat node or the plain JSON data of a notebook file.
    """
    parameter_cells: list[CodeCell] = []
    setup_cells: list[CodeCell] = []
    skipped: list[int] = []
    drafts: dict[str, dict[str, Any]] = {}
    current: dict[str, Any] | None = None
    pending_setup: list[tuple[CodeCell, CellRoles]] = []
    notes: list[str] = []
    continued: CellRoles | None = None  # the Kale role untagged cells take on
    cells = list(enumerate(notebook["cells"]))
    any_step = any(
        cell_roles(_tags(cell), cell_index=i).step is not None
        for i, cell in cells
        if cell.get("cell_type") == "code"
    )
    if not any_step:
        current = drafts[SINGLE_STEP_NAME] = _new_draft(SINGLE_STEP_NAME, None)
    defined = defined_names(
        [
            _source(cell)
            for i, cell in cells
            if cell.get("cell_type") == "code" and not cell_roles(_tags(cell), cell_index=i).skip
        ]
    )
    for index, cell in cells:
        if cell.get("cell_type") != "code":
            continue
        tags = _tags(cell)
        roles = cell_roles(tags, cell_index=index)
        _note_tags(roles, index, notes)
        if roles.skip:
            skipped.append(index)
            continue
        if roles.tagged:
            continued = roles if roles.continued else None
        elif continued is not None:
            roles = CellRoles(
                parameters=continued.parameters, setup=continued.setup, metrics=continued.metrics
            )
        source = _source(cell)
        translated = translate_cell(source, cell_index=index, defined=defined)
        notes.extend(translated.left_out)
        code = CodeCell(
            index=index,
            source=translated.source,
            tags=tags,
            tree=parse_cell(translated.source, cell_index=index),
            execution_count=cell.get("execution_count"),
        )
        for label, on in (("timeout:", roles.timeout is not None), ("limit:", roles.limits)):
            if on and (roles.parameters or roles.setup):
                raise ExportError(
                    f"Cell {index + 1} is tagged {label} but is"
                    f" {'parameters' if roles.parameters else 'setup code'}, not part of a step",
                    cell_index=index,
                    tag=label,
                    hint=f"Put the {label} tag on a cell of the step it applies to.",
                )
        if roles.parameters:
            parameter_cells.append(code)
            continue
        if roles.setup:
            setup_cells.append(code)
            continue
        if roles.step is not None:
            if roles.step in drafts:  # Kale: a block name used again adds to that step
                current = drafts[roles.step]
            else:
                current = drafts[roles.step] = _new_draft(roles.step, index)
        elif roles.gate and any_step:
            previous = current["name"] if current else None
            name = _gate_name(previous, drafts)
            current = drafts[name] = _new_draft(name, index)
        if current is None:
            if not code.tree.body:
                continue
            if (roles.metrics or roles.after or roles.drift or roles.gate or roles.timeout
                    or roles.limits):  # fmt: skip
                which = (
                    "metrics" if roles.metrics
                    else "after:" if roles.after
                    else "drift:" if roles.drift
                    else "timeout:" if roles.timeout
                    else "limit:" if roles.limits
                    else "gate"
                )  # fmt: skip
                raise ExportError(
                    f"Cell {index + 1} is tagged {which} but comes before the first"
                    " step:NAME cell, so it belongs to no step",
                    cell_index=index,
                    tag=which,
                    hint="Tag the cell (or one above it) step:NAME.",
                )
            pending_setup.append((code, roles))
            continue
        draft = current
        if draft["start"] is None:
            draft["start"] = index
        draft["cells"].append(code)
        draft["after"].extend((name, index) for name in roles.after)
        draft["drift"].extend(roles.drift)
        if roles.gate:
            draft["gate"].append(index)
        if roles.metrics:
            draft["metrics"].append(index)
        if roles.timeout is not None:
            _set_timeout(draft, roles.timeout, index)
        for resource, quantity in roles.limits:
            _set_limit(draft, resource, quantity, index)
    for code, _roles in pending_setup:
        require_declarative(code)
        setup_cells.append(code)
    setup_cells.sort(key=lambda c: c.index)
    kale = kale_settings(notebook.get("metadata") if hasattr(notebook, "get") else None)
    steps = [
        StepDraft(
            name=d["name"],
            cells=tuple(d["cells"]),
            after=tuple(d["after"]),
            gate_cells=tuple(d["gate"]),
            metrics_cells=tuple(d["metrics"]),
            drift=tuple(d["drift"]),
            timeout=d["timeout"][0] if d["timeout"] else None,
            limits=tuple(
                sorted(
                    {
                        **dict(kale.default_limits),
                        **{k: v for k, (v, _) in d["limits"].items()},
                    }.items()
                )
            ),  # fmt: skip
        )
        for d in drafts.values()
        if d["cells"] or d["name"] != SINGLE_STEP_NAME
    ]
    _check_names(steps, list(drafts.values()))
    return NotebookLayout(
        tuple(parameter_cells),
        tuple(setup_cells),
        tuple(steps),
        tuple(skipped),
        kale=kale,
        notes=tuple(notes),
    )


def _note_tags(roles: CellRoles, index: int, notes: list[str]) -> None:
    """Report the tags of a cell that change nothing in the pipeline."""
    if roles.unknown:
        shown = ", ".join(f'"{t}"' for t in roles.unknown)
        notes.append(
            f"cell {index + 1}: tag{'s' if len(roles.unknown) > 1 else ''} {shown} mean"
            f"{'' if len(roles.unknown) > 1 else 's'} nothing to the export; the cell is"
            " exported as if untagged"
        )
    for tag in roles.pod_tags:
        notes.append(
            f'cell {index + 1}: tag "{tag}" is not applied: the steps get no pod annotations'
            " or labels"
        )


def _new_draft(name: str, start: int | None) -> dict[str, Any]:
    return {"name": name, "start": start, "cells": [], "after": [], "drift": [], "gate": [],
            "metrics": [], "timeout": None, "limits": {}}  # fmt: skip


def _set_limit(draft: dict[str, Any], resource: str, quantity: str, index: int) -> None:
    """Record a step's limit of ``resource``; a second, different one is an error."""
    known = draft["limits"].get(resource)
    if known is not None and known[0] != quantity:
        raise ExportError(
            f'Cell {index + 1} (step "{draft["name"]}") is tagged limit:{resource}:{quantity},'
            f" but cell {known[1] + 1} of the same step already gave it"
            f" limit:{resource}:{known[0]}",
            cell_index=index,
            step=draft["name"],
            tag=f"limit:{resource}:{quantity}",
            hint="Keep one limit tag per resource and step.",
        )
    if known is None:
        draft["limits"][resource] = (quantity, index)


def _set_timeout(draft: dict[str, Any], seconds: float, index: int) -> None:
    """Record a step's timeout (seconds, cell); a second, different one is an error."""
    if draft["timeout"] is not None and draft["timeout"][0] != seconds:
        first, cell = draft["timeout"]
        raise ExportError(
            f'Cell {index + 1} (step "{draft["name"]}") is tagged timeout:{seconds:g}, but'
            f" cell {cell + 1} of the same step already gave it timeout:{first:g}",
            cell_index=index,
            step=draft["name"],
            tag=f"timeout:{seconds:g}",
            hint="Keep one timeout:SECONDS tag per step.",
        )
    draft["timeout"] = (seconds, index)


def _timeout(tag: str, cell_index: int) -> float:
    try:
        return parse_duration(tag.split(":", 1)[1], what=tag)
    except InvalidInputError as exc:
        raise ExportError(
            f'Cell {cell_index + 1}: tag "{tag}" must give the seconds the step may run,'
            " as in timeout:600 (or 90s, 10m, 2h)",
            cell_index=cell_index,
            tag=tag,
        ) from exc


def _gate_name(previous: str | None, drafts: dict[str, dict[str, Any]]) -> str:
    base = f"{previous}_gate" if previous else "gate"
    taken = set(drafts)
    name, number = base, 2
    while name in taken:
        name, number = f"{base}_{number}", number + 1
    return name


def _check_names(steps: list[StepDraft], drafts: list[dict[str, Any]]) -> None:
    seen: dict[str, int] = {}
    modules: dict[str, str] = {}
    for draft in drafts:
        name, start = draft["name"], draft["start"] or 0
        seen[name] = start
        module = name.replace("-", "_")
        if module == SETUP_MODULE or module in modules:
            other = modules.get(module, SETUP_MODULE)
            raise ExportError(
                f'Cell {start + 1}: step "{name}" would be written to steps/{module}.py,'
                f' which "{other}" already uses',
                cell_index=start,
                step=name,
                hint="Rename the step.",
            )
        modules[module] = name
    known = set(seen)
    for step in steps:
        for target, cell in step.after:
            if target not in known:
                raise ExportError(
                    f'Cell {cell + 1} (step "{step.name}"): tag after:{target} names a step'
                    " that does not exist",
                    cell_index=cell,
                    step=step.name,
                    tag=f"after:{target}",
                    hint="Steps: " + ", ".join(sorted(known)),
                )
            if target == step.name:
                raise ExportError(
                    f'Cell {cell + 1}: step "{step.name}" cannot run after itself',
                    cell_index=cell,
                    step=step.name,
                    tag=f"after:{target}",
                )


def _checked_name(name: str, tag: str, cell_index: int) -> str:
    if not STEP_NAME.match(name):
        raise ExportError(
            f'Cell {cell_index + 1}: "{name}" in tag "{tag}" is not a valid step name',
            cell_index=cell_index,
            tag=tag,
            hint="Step names start with a letter or _ and use letters, digits, _ and -.",
        )
    return name


def _name_after_colon(tag: str, cell_index: int) -> str:
    return _checked_name(tag.split(":", 1)[1].strip(), tag, cell_index)


def _tags(cell: Any) -> tuple[str, ...]:
    tags = cell.get("metadata", {}).get("tags", []) or []
    return tuple(str(t) for t in tags)


def _source(cell: Any) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)
