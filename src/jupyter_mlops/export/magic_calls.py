"""``%mlops`` lines of an exported cell as the Python calls a pipeline step makes.

The words are read by the magics' own parsers (:mod:`jupyter_mlops.tracking.line_commands`),
so a line means in the step what it meant in the notebook:

===========================================  ====================================================
in the notebook                              in the step (``mlops`` is the step's API)
===========================================  ====================================================
``%mlops log acc=acc loss=0.3 --step 2``     ``mlops.log(acc=acc, loss=0.3, step=2)``
``%mlops param optimizer=adam``              ``mlops.log_params(optimizer='adam')``
``%mlops tag team=growth``                   ``mlops.set_tags(team='growth')`` (the step's run)
``%mlops snapshot df --name train``          ``mlops.snapshot(df, name='train', role='train')``
``%mlops register model --name churn``       ``mlops.register_model(model, 'churn')``
``%mlops drift train todays_df``             ``mlops.check_drift('train', todays_df, ...)``
``%mlops gate "accuracy >= 0.85"``           ``mlops.check(['accuracy >= 0.85'])``: a failure
                                             stops the step and everything downstream
``%mlops promote churn@2 --alias champion``  ``mlops.promote('churn@2', alias='champion')``
===========================================  ====================================================

A word is a variable when the notebook defines that name (``defined``), as the magic
takes it when the kernel has it; otherwise it is text (a snapshot's name, a file, a
parameter value). Commands that only show things (``runs``, ``show``, ``compare``...)
or shape the interactive session (``init``, ``start``, ``end``) are dropped, and the
export names each one with its cell; commands that change other runs or the registry
outside the step (``rename``, ``purge``, ``export``...) are refused, naming the cell.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Collection
from keyword import iskeyword
from pathlib import Path

from ..errors import ExportError, InvalidInputError
from ..tracking.capture.code_names import plain_python
from ..tracking.line_commands import (
    RECORDING_COMMANDS,
    guess_role,
    parse_line,
    read_value,
    rules_from_words,
    split_pairs,
)

# Dropped with a note: what they show or set up has no meaning in a step.
DROPPED = {
    "init": "the runner opens the pipeline's registry itself",
    "start": "each step is tracked as a run of its own",
    "end": "each step is tracked as a run of its own",
    "status": "it only displays",
    "runs": "it only displays",
    "show": "it only displays",
    "compare": "it only displays",
    "models": "it only displays",
    "best": "it only displays",
    "sweep": "it only displays",
    "help": "it only displays",
}


def mlops_line_call(
    words: list[str], *, where: str, cell_index: int, defined: Collection[str] | None
) -> tuple[str, str | None]:
    """The Python call for ``%mlops WORDS`` and a note when the line is dropped.

    Returns ``(code, note)``: ``code`` is one line of Python (a comment when dropped).
    ``defined`` is every name the notebook defines (None: take every name as a variable).
    """
    sub, rest = words[0], words[1:]
    line = " ".join(["%mlops", *words])
    if sub in DROPPED:
        note = f"{where}: `{line}` is left out of the pipeline: {DROPPED[sub]}"
        return f"# {line}  (dropped: {DROPPED[sub]})", note
    if sub not in RECORDING_COMMANDS:
        raise ExportError(
            f"{where}: `{line}` cannot run in a pipeline step: it acts on the registry"
            " outside the step's run, or has no meaning there",
            cell_index=cell_index,
            hint="Move the line to a cell tagged `skip`, or call the Python API"
            " (import jupyter_mlops as mlops) if the step really must do it.",
        )
    try:
        args = parse_line(sub, rest)
        return _WRITERS[sub](_Words(args, defined, where, cell_index)), None
    except InvalidInputError as exc:
        raise ExportError(f"{where}: {exc.message}", cell_index=cell_index, hint=exc.hint) from None


class _Words:
    """A parsed line with what turning its words into Python needs."""

    def __init__(
        self,
        args: argparse.Namespace,
        defined: Collection[str] | None,
        where: str,
        cell_index: int,
    ) -> None:
        self.args = args
        self.defined = defined
        self.where = where
        self.cell_index = cell_index

    def is_variable(self, text: str) -> bool:
        word = read_value(text)
        if word is None or not word.is_name:
            return False
        return self.defined is None or word.path[0] in self.defined

    def value(self, key: str, text: str, *, text_allowed: bool) -> str:
        """A value as the magic reads it: a literal, a variable or (``text_allowed``) text."""
        word = read_value(text)
        if word is not None and not word.is_name:
            return repr(word.literal)
        if word is not None and (self.is_variable(text) or not text_allowed):
            return text
        if text_allowed:
            return repr(text)
        raise InvalidInputError(
            f'"{key}": "{text}" is neither a number nor a defined variable',
            hint="Metrics are numbers: write name=0.9 or name=variable.",
        )

    def side(self, text: str) -> tuple[str, str | None]:
        """A variable (and its name), or else text the core reads as a snapshot or file."""
        if self.is_variable(text):
            return text, text
        return repr(text), None


def _keywords(pairs: list[tuple[str, str]]) -> str:
    """``a=1, b=x`` when every key can be a keyword, else one dict argument."""
    if all(k.isidentifier() and not iskeyword(k) and k != "step" for k, _ in pairs):
        return ", ".join(f"{k}={v}" for k, v in pairs)
    return "{" + ", ".join(f"{k!r}: {v}" for k, v in pairs) + "}"


def _options(**options: object) -> str:
    return "".join(f", {k}={v!r}" for k, v in options.items() if v is not None)


def _log(w: _Words) -> str:
    pairs = split_pairs(w.args.values, example="%mlops log accuracy=0.93 loss=0.2")
    values = [(k, w.value(k, t, text_allowed=False)) for k, t in pairs]
    step = f", step={w.args.step}" if w.args.step is not None else ""
    return f"mlops.log({_keywords(values)}{step})"


def _param(w: _Words) -> str:
    pairs = split_pairs(w.args.values, example="%mlops param lr=0.1 layers=3")
    return (
        f"mlops.log_params({_keywords([(k, w.value(k, t, text_allowed=True)) for k, t in pairs])})"
    )


def _tag(w: _Words) -> str:
    pairs = split_pairs(w.args.values, example="%mlops tag team=growth", word="key")
    tags = "{" + ", ".join(f"{k!r}: {v!r}" for k, v in pairs) + "}"
    if w.args.run is None:
        return f"mlops.set_tags({tags})"
    return f"mlops.tag({w.args.run!r}, {tags})"


def _snapshot(w: _Words) -> str:
    target = w.args.data
    if w.is_variable(target):
        data, variable = target, target
    elif Path(target).suffix.lower() in (".csv", ".parquet", ".pq") or "/" in target:
        data, variable = repr(target), None
    else:
        raise InvalidInputError(
            f'"{target}" is neither a variable the notebook defines nor a CSV/parquet file',
            hint="Give a DataFrame, Series or array variable, or a file path.",
        )
    role = w.args.role or guess_role(w.args.name or target)
    name = w.args.name or variable
    extra = _options(materialize=True if w.args.materialize else None)
    if w.args.index != "auto":
        extra += f", index={w.args.index!r}"
    return f"mlops.snapshot({data}{_options(name=name, role=role)}{extra})"


def _register(w: _Words) -> str:
    if not w.is_variable(w.args.variable):
        raise InvalidInputError(
            f'"{w.args.variable}" is not a defined variable',
            hint="Give the name of the fitted model, e.g. model.",
        )
    options = _options(
        run=w.args.run,
        snapshot=w.args.snapshot,
        description=w.args.description,
        alias=w.args.alias,
    )
    return f"mlops.register_model({w.args.variable}, {w.args.name!r}{options})"


def _drift(w: _Words) -> str:
    reference, reference_name = w.side(w.args.reference)
    current, current_name = w.side(w.args.current)
    options = _options(
        columns=w.args.columns,
        alpha=w.args.alpha if w.args.alpha != 0.05 else None,
        critical=w.args.critical,
        name=w.args.name,
        model=w.args.model,
        reference_name=reference_name,
        current_name=current_name,
    )
    return f"mlops.check_drift({reference}, {current}{options})"


def _check_options(w: _Words) -> str:
    """``values``, ``data``, ``expect`` and ``drift`` as gate and promote both take them."""
    from ..drift.gate import split_sides

    parts = []
    if w.args.value:
        pairs = split_pairs(w.args.value, example="--value min_accuracy=0.8")
        values = [(k, w.value(k, t, text_allowed=True)) for k, t in pairs]
        parts.append("values={" + ", ".join(f"{k!r}: {v}" for k, v in values) + "}")
    if w.args.data is not None:
        parts.append(f"data={w.side(w.args.data)[0]}")
    if w.args.expect:
        parts.append(f"expect={list(w.args.expect)!r}")
    for column in ("prediction", "label"):
        if getattr(w.args, column) is not None:
            parts.append(f"{column}={getattr(w.args, column)!r}")
    if w.args.positive is not None:
        parts.append(f"positive={w.value('positive', w.args.positive, text_allowed=True)}")
    if not w.args.drift and (w.args.critical is not None or w.args.fail_on is not None):
        raise InvalidInputError(
            "--critical and --fail-on belong to a drift check, and none was given",
            hint="Add --drift REF:CUR, e.g. --drift train:todays_df.",
        )
    gates = []
    for text in w.args.drift:
        reference_text, current_text = split_sides(text)
        reference, reference_name = w.side(reference_text)
        current, current_name = w.side(current_text)
        critical = tuple(c.strip() for c in (w.args.critical or "").split(",") if c.strip())
        options = _options(
            critical=critical or None,
            fail_on=w.args.fail_on,
            reference_name=reference_name,
            current_name=current_name,
        )
        gates.append(f"mlops.DriftGate({reference}, {current}{options})")
    if gates:
        parts.append(f"drift=[{', '.join(gates)}]")
    return "".join(f", {p}" for p in parts)


def _gate(w: _Words) -> str:
    rules = rules_from_words(w.args.rules)
    options = _options(run=w.args.run, model=w.args.model) + _check_options(w)
    return f"mlops.check({rules!r}{options})"


def _promote(w: _Words) -> str:
    gates = f", gates={list(w.args.gate)!r}" if w.args.gate else ""
    return f"mlops.promote({w.args.ref!r}, alias={w.args.alias!r}{gates}{_check_options(w)})"


_WRITERS: dict[str, Callable[[_Words], str]] = {
    "log": _log,
    "param": _param,
    "tag": _tag,
    "snapshot": _snapshot,
    "register": _register,
    "drift": _drift,
    "gate": _gate,
    "promote": _promote,
}


_BODY_KEPT = frozenset({"mlops", "time", "timeit", "capture", "prun"})


def defined_names(sources: list[str]) -> frozenset[str]:
    """Every name the cells ``sources`` bind (assignments, imports, defs, loops...), magic
    and shell lines read as what they bind (``files = !ls`` binds ``files``) so that they do
    not hide the rest. IPython is not imported: an export from a terminal never loads it."""
    import ast

    names: set[str] = set()
    for source in sources:
        lines = source.lstrip().splitlines()
        # a cell magic whose body the export keeps (%%mlops run, %%time...): its body binds
        while lines and lines[0].startswith("%%") and lines[0][2:].split(" ")[0] in _BODY_KEPT:
            lines = lines[1:]
        try:
            tree = ast.parse(plain_python("\n".join(lines)) + "\n")
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return frozenset(names)
