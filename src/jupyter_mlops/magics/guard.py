"""The model and gate subcommands: register, models, unalias, gate, promote.

    %mlops register model --name churn --alias challenger
    %mlops models churn
    %mlops models churn --history
    %mlops unalias churn@challenger
    %mlops gate "accuracy >= 0.85" "f1 > champion.f1 - 0.01" --model churn
    %mlops gate --data train_df --expect 'between("age", 0, 120, mostly=0.99)'
    %mlops gate --drift train:todays_df --critical amount --fail-on review
    %mlops promote churn@4 --alias champion --gate "f1 >= champion.f1 - 0.01"
    %mlops promote churn@4 --alias champion --gate "demographic_parity_difference(sex) <= 0.05" \
        --data scored --prediction predicted --label churned

A failed gate shows its table, then one line naming each failed rule, without a traceback.
The core modules are imported by the subcommands that use them, so %load_ext stays quick.
"""

from __future__ import annotations

import argparse
from typing import Any

from IPython.display import display

from ..errors import GateFailedError, InvalidInputError
from ..tracking import line_commands
from ..tracking.line_commands import rules_from_words
from ..tracking.session import recorded_run
from .base import MlopsMagics, arguments, command


def _size(size: int | None) -> str:
    if size is None:
        return "?"
    for unit in ("bytes", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000  # type: ignore[assignment]
    return f"{size} bytes"


def _object(magics: MlopsMagics, text: str, what: str) -> Any:
    """The object a variable (or attribute path) of the user's namespace holds."""
    head = text.split(".")[0]
    if not head.isidentifier() or head not in magics.user_ns:
        raise InvalidInputError(
            f'"{text}" is not a defined variable', hint=f"Give the name of the {what}, e.g. model."
        )
    return magics.value_of(text)


@command(
    "register",
    "Register a fitted model as a new version: %mlops register VAR --name churn [--alias A]",
)
@arguments(line_commands.register_arguments)
def _register(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> None:
    from ..models.registering import register
    from ..tracking.queries.notebook_runs import run_that_fitted
    from ..tracking.queries.refs import resolve_run

    model = _object(magics, args.variable, "fitted model")
    registry = magics.registry()
    run_id, how = None, ""
    if args.run is not None:
        run_id = resolve_run(registry, args.run)
    elif (active := recorded_run(registry)) is not None:
        active.flush()
        run_id, how = active.id, " (the active run)"
    elif (
        fitted := run_that_fitted(
            registry,
            args.variable,
            type(model).__name__,
            notebook_path=magics.session.notebook_path(),
        )
    ) is not None:
        run_id, how = fitted.id, f", which fitted {args.variable}"
    version = register(
        registry,
        model,
        args.name,
        run_id=run_id,
        snapshot=args.snapshot,
        description=args.description,
        alias=args.alias,
    )
    parts = [
        f"Registered {version.ref} ({version.flavor} {version.class_name}, {_size(version.size)})"
    ]
    if version.run_id:
        parts.append(f"from run {version.run_name} ({version.run_id}){how}")
    else:
        parts.append("linked to no run (give --run to compare its metrics in gates)")
    parts.append(f"training data: {version.snapshot_name or 'none linked'}")
    if version.signature is not None:
        count = version.signature.n_features
        parts.append(f"signature: {count} input(s) from {version.signature.source}")
    if args.alias:
        parts.append(f"{args.alias} -> version {version.version}")
    print("; ".join(parts) + ".")


def _models_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", default=None)
    parser.add_argument(
        "--history",
        action="store_true",
        help="every move of the model's aliases (register, promote, remove), oldest first",
    )


@command(
    "models",
    "List registered models, their versions, aliases and metrics: %mlops models [NAME] [--history]",
)
@arguments(_models_arguments)
def _models(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> None:
    from ..widgets import AliasHistoryView, ModelsView

    registry = magics.registry()
    if args.history:
        from ..models.aliases import alias_history

        if args.name is None:
            raise InvalidInputError(
                "%mlops models --history needs the model's name",
                hint="For example: %mlops models churn --history.",
            )
        display(AliasHistoryView(args.name, alias_history(registry, args.name)))
        return
    from ..models.versions import list_models

    display(ModelsView(list_models(registry, args.name)))


@command("unalias", "Remove an alias from a model: %mlops unalias churn@challenger")
@arguments(lambda p: p.add_argument("ref", metavar="NAME@ALIAS"))
def _unalias(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> None:
    from ..models.aliases import remove_alias
    from ..models.refs import parse_ref

    version = remove_alias(magics.registry(), args.ref)
    parsed = parse_ref(args.ref)
    print(
        f"Removed {parsed.text} (it pointed at version {version});"
        f" %mlops models {parsed.name} --history shows every move."
    )


def _data(magics: MlopsMagics, text: str | None) -> tuple[Any, str | None]:
    """A variable of the notebook, or else the name or id of a stored snapshot."""
    if text is None:
        return None, None
    head = text.split(".")[0]
    if head.isidentifier() and head in magics.user_ns:
        return magics.value_of(text), text
    return text, text


def _fairness_columns(magics: MlopsMagics, args: argparse.Namespace) -> dict[str, Any]:
    """``--prediction``, ``--label`` and ``--positive``, for fairness rules on --data."""
    positive = None
    if args.positive is not None:
        positive = magics.pairs([f"positive={args.positive}"], text_allowed=True)["positive"]
    return {"prediction": args.prediction, "label": args.label, "positive": positive}


def _drift_gates(magics: MlopsMagics, args: argparse.Namespace) -> list[Any]:
    """The --drift checks, each side a variable of the notebook or a name the core reads."""
    from ..drift.checks import split_names
    from ..drift.gate import DriftGate, split_sides
    from .drift import side

    if not args.drift:
        if args.critical is not None or args.fail_on is not None:
            raise InvalidInputError(
                "--critical and --fail-on belong to a drift check, and none was given",
                hint="Add --drift REF:CUR, e.g. --drift train:todays_df.",
            )
        return []
    gates = []
    for text in args.drift:
        reference_text, current_text = split_sides(text)
        reference, reference_name = side(magics, reference_text)
        current, current_name = side(magics, current_text)
        gates.append(
            DriftGate(
                reference,
                current,
                critical=split_names(args.critical) or (),
                fail_on=args.fail_on or "retrain",
                reference_name=reference_name,
                current_name=current_name,
            )
        )
    return gates


def _show_drift(magics: MlopsMagics, results: Any) -> None:
    """The drift view of every drift line, after the gate's table."""
    from ..drift.store import get_drift_report
    from ..widgets import DriftView

    for result in results:
        if result.drift_report_id is not None:
            display(DriftView(get_drift_report(magics.registry(), result.drift_report_id)))


@command(
    "gate",
    'Check rules, data expectations and drift: %mlops gate "accuracy >= 0.85" '
    "[--data VAR --expect ... --prediction COL --label COL] [--drift REF:CUR]",
)
@arguments(line_commands.gate_arguments)
def _gate(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> Any:
    from ..gates import evaluation as gates
    from ..widgets import GateView

    registry = magics.registry()
    run = args.run
    active = recorded_run(registry)
    if run is None and active is not None:
        active.flush()
        run = active.id
    data, data_name = _data(magics, args.data)
    evaluation = gates.check(
        registry,
        rules_from_words(args.rules),
        run=run,
        model=args.model,
        values=magics.pairs(args.value, text_allowed=True),
        data=data,
        data_name=data_name,
        expect=args.expect,
        drift=_drift_gates(magics, args),
        **_fairness_columns(magics, args),
        raise_on_failure=False,
        notebook_path=magics.session.notebook_path(),
        find_run=lambda: gates.latest_run(registry),
    )
    display(GateView(evaluation))
    _show_drift(magics, evaluation.results)
    if not evaluation.passed:
        raise gates.gate_failure(evaluation)
    return None


@command(
    "promote",
    'Move an alias to a version if the gates pass: %mlops promote churn@4 --alias champion --gate "..."',
)
@arguments(line_commands.promote_arguments)
def _promote(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> None:
    from ..gates import evaluation as gates
    from ..widgets import GateView

    data, data_name = _data(magics, args.data)
    try:
        promotion = gates.promote(
            magics.registry(),
            args.ref,
            args.alias,
            gates=args.gate,
            values=magics.pairs(args.value, text_allowed=True),
            data=data,
            data_name=data_name,
            expect=args.expect,
            drift=_drift_gates(magics, args),
            **_fairness_columns(magics, args),
            notebook_path=magics.session.notebook_path(),
        )
    except GateFailedError as failure:
        display(GateView.of_results(failure.results, caption=f"{args.ref} → {args.alias}"))
        _show_drift(magics, failure.results)
        raise
    if promotion.evaluation is not None:
        display(GateView(promotion.evaluation))
        _show_drift(magics, promotion.evaluation.results)
    if promotion.moved:
        was = f" (was version {promotion.previous_version})" if promotion.previous_version else ""
        print(f"{promotion.ref} -> version {promotion.version}{was}.")
    else:
        print(f"{promotion.ref} already points at version {promotion.version}.")
