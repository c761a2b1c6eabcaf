"""``jupyter mlops models | unalias | gate | promote``.

A gate that fails exits with status 3 (the status pipeline steps use for a failed gate),
after printing the table; other errors exit with 1.

    jupyter mlops models churn
    jupyter mlops models churn --history
    jupyter mlops unalias churn@challenger
    jupyter mlops gate "accuracy >= 0.85" --run tuned
    jupyter mlops gate --data data/new.csv --expect 'not_null("age")'
    jupyter mlops gate --drift train:data/new.csv --critical age
    jupyter mlops promote churn@4 --alias champion --gate "f1 >= champion.f1 - 0.01"
    jupyter mlops promote churn@4 --alias champion --gate "demographic_parity_difference(sex) <= 0.05" \
        --data scored.csv --prediction predicted --label churned
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from ..errors import GateFailedError, InvalidInputError
from ..gates import evaluation as gates
from ..models.aliases import AliasMove, alias_history, remove_alias
from ..models.refs import parse_ref
from ..models.versions import RegisteredModel, list_models
from ..tracking.formatting import timestamp
from .base import format_table, friendly, main, open_registry, registry_option

EXIT_GATE_FAILED = 3


def _cell(value: Any, exact: bool = True) -> Any:
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    if not exact and value is not None:
        return f"~{value:.6g}" if isinstance(value, float) else f"~{value}"
    return value


def print_results(results: Sequence[gates.GateResult]) -> None:
    """The pass/fail table: rule, actual, expected, verdict, detail; then the value of each
    group behind the fairness rules."""
    click.echo(
        format_table(
            ["verdict", "rule", "actual", "expected", "detail"],
            [
                [r.verdict.upper(), r.rule, _cell(r.actual, r.exact), r.expected, r.detail]
                for r in results
            ],
        )
    )
    for result in results:
        for table in result.groups:
            click.echo("")
            click.echo(table.to_text())


def _values(items: tuple[str, ...]) -> dict[str, Any]:
    """``name=value`` pairs: numbers as numbers, true/false/none, anything else as text."""
    found: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise InvalidInputError(
                f'--value "{item}" is not of the form name=value', hint="--value latency_ms=42"
            )
        lowered = text.strip().lower()
        if lowered in ("true", "false"):
            found[key] = lowered == "true"
        elif lowered in ("none", "null", ""):
            found[key] = None
        else:
            try:
                found[key] = int(text)
            except ValueError:
                try:
                    found[key] = float(text)
                except ValueError:
                    found[key] = text
    return found


def _data(text: str | None) -> Any:
    """A CSV or parquet file (read with pandas), else the name or id of a stored snapshot."""
    if text is None:
        return None
    path = Path(text)
    suffixes = [s.lower() for s in path.suffixes]
    if path.is_file() and any(s in (".csv", ".tsv", ".parquet", ".pq") for s in suffixes):
        import pandas as pd

        if ".parquet" in suffixes or ".pq" in suffixes:
            return pd.read_parquet(path)
        return pd.read_csv(path, sep="\t" if ".tsv" in suffixes else ",")
    return text


def _fail_gate(error: GateFailedError) -> None:
    print_results(error.results)
    click.echo(f"Error: {error.message}", err=True)
    if error.hint:
        click.echo(f"Hint: {error.hint}", err=True)
    sys.exit(EXIT_GATE_FAILED)


@main.command("models")
@registry_option
@click.argument("name", required=False)
@click.option(
    "--history",
    is_flag=True,
    help="Every move of model NAME's aliases (register, promote, remove), oldest first.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Output format.",
)
@friendly
def models_command(registry_path: str | None, name: str | None, history: bool, fmt: str) -> None:
    """List registered models (or model NAME): versions, aliases, runs and their metrics;
    with --history, every move of model NAME's aliases."""
    if history:
        if name is None:
            raise InvalidInputError(
                "models --history needs the model's name",
                hint="For example: jupyter mlops models churn --history.",
            )
        moves = alias_history(open_registry(registry_path), name)
        print_alias_history(name, moves, as_json=fmt == "json")
        return
    found = list_models(open_registry(registry_path), name)
    if fmt == "json":
        click.echo(json.dumps([_model_json(m) for m in found], indent=2, default=str))
        return
    if not found:
        click.echo("No models registered yet. Register one with %mlops register VAR --name NAME.")
        return
    for index, model in enumerate(found):
        aliases = ", ".join(f"{a} -> v{v}" for a, v in model.aliases.items()) or "no aliases"
        if index:
            click.echo()
        click.echo(f"{model.name}: {len(model.versions)} version(s); {aliases}")
        keys = sorted({k for v in model.versions for k in v.metrics})[:8]
        click.echo(
            format_table(
                ["version", "aliases", "flavor", "class", "run", "data", "registered", *keys],
                [
                    [
                        v.version,
                        ",".join(v.aliases),
                        v.flavor,
                        v.class_name,
                        f"{v.run_name} ({v.run_id[:8]})" if v.run_id else "",
                        v.snapshot_name,
                        timestamp(v.created_at),
                        *[v.metrics.get(k) for k in keys],
                    ]
                    for v in model.versions
                ],
            )
        )


def print_alias_history(model: str, moves: Sequence[AliasMove], *, as_json: bool) -> None:
    """Every move of a model's aliases, oldest first, as a table or as JSON."""
    if as_json:
        click.echo(json.dumps([asdict(move) for move in moves], indent=2))
        return
    if not moves:
        click.echo(
            f"No alias of {model} has been set yet; point one at a version with"
            f" jupyter mlops promote {model}@VERSION --alias NAME."
        )
        return
    click.echo(
        format_table(
            ["moved", "alias", "from", "to", "why", "gate evaluation"],
            [
                [
                    timestamp(m.moved_at),
                    m.alias,
                    "-" if m.from_version is None else f"v{m.from_version}",
                    "-" if m.to_version is None else f"v{m.to_version}",
                    m.reason,
                    m.evaluation_id,
                ]
                for m in moves
            ],
        )
    )


@main.command("unalias")
@registry_option
@click.argument("ref", metavar="NAME@ALIAS")
@friendly
def unalias_command(registry_path: str | None, ref: str) -> None:
    """Remove the alias NAME@ALIAS (e.g. churn@challenger); the move is kept in the history."""
    version = remove_alias(open_registry(registry_path), ref)
    parsed = parse_ref(ref)
    click.echo(
        f"Removed {parsed.text} (it pointed at version {version});"
        f" jupyter mlops models {parsed.name} --history shows every move."
    )


def _model_json(model: RegisteredModel) -> dict[str, Any]:
    return {
        "name": model.name,
        "description": model.description,
        "aliases": model.aliases,
        "versions": [
            {
                "version": v.version,
                "aliases": list(v.aliases),
                "flavor": v.flavor,
                "class": v.model_class,
                "run_id": v.run_id,
                "run_name": v.run_name,
                "snapshot": v.snapshot_name,
                "sha256": v.artifact_sha256,
                "created_at": v.created_at,
                "signature": None if v.signature is None else v.signature.to_dict(),
                "metrics": v.metrics,
            }
            for v in model.versions
        ],
    }


_value_option = click.option(
    "--value", "values", multiple=True, metavar="NAME=VALUE", help="A value rules may name."
)
_data_option = click.option(
    "--data",
    default=None,
    metavar="FILE_OR_SNAPSHOT",
    help="A CSV/parquet file or a stored snapshot.",
)
_expect_option = click.option(
    "--expect", "-x", "expect", multiple=True, metavar="EXPECTATION",
    help='A data expectation, e.g. \'between("age", 0, 120)\'.',
)  # fmt: skip
_drift_option = click.option(
    "--drift", "drift", multiple=True, metavar="REF:CUR",
    help="A drift check that must not ask for retraining, e.g. train:data/today.csv.",
)  # fmt: skip
_critical_option = click.option(
    "--critical", default=None, metavar="A,B", help="Drift in these columns fails the gate."
)
_prediction_option = click.option(
    "--prediction", default=None, metavar="COLUMN",
    help="The column of --data holding the model's predictions, for fairness rules.",
)  # fmt: skip
_label_option = click.option(
    "--label", default=None, metavar="COLUMN",
    help="The column of --data holding the true labels, for fairness rules that need them.",
)  # fmt: skip
_positive_option = click.option(
    "--positive", default=None, metavar="VALUE",
    help="The positive class of predictions and labels (default: 1 / true).",
)  # fmt: skip
_fail_on_option = click.option(
    "--fail-on", "fail_on", type=click.Choice(["retrain", "review"]), default=None,
    help="The drift decision that fails the gate (default: retrain).",
)  # fmt: skip


def _positive(text: str | None) -> Any:
    """``--positive``: a number when it reads as one, true/false, else the text."""
    if text is None:
        return None
    return _values((f"positive={text}",))["positive"]


def _drift_gates(drift: tuple[str, ...], critical: str | None, fail_on: str | None) -> list[Any]:
    """``--drift REF:CUR`` checks; each side a CSV/parquet file or a stored snapshot."""
    from ..drift.checks import split_names
    from ..drift.gate import DriftGate, split_sides

    if not drift:
        if critical is not None or fail_on is not None:
            raise InvalidInputError(
                "--critical and --fail-on belong to a drift check, and none was given",
                hint="Add --drift REF:CUR, e.g. --drift train:data/today.csv.",
            )
        return []
    return [
        DriftGate(
            *split_sides(text),
            critical=split_names(critical) or (),
            fail_on=fail_on or "retrain",
        )
        for text in drift
    ]


@main.command("gate")
@registry_option
@click.argument("rules", nargs=-1, metavar="[RULE]...")
@click.option("--run", default=None, help="The run the rules read (default: the latest).")
@click.option("--model", "-m", default=None, help="The model whose aliases champion.x means.")
@_value_option
@_data_option
@_expect_option
@_drift_option
@_critical_option
@_fail_on_option
@_prediction_option
@_label_option
@_positive_option
@friendly
def gate_command(
    registry_path: str | None,
    rules: tuple[str, ...],
    run: str | None,
    model: str | None,
    values: tuple[str, ...],
    data: str | None,
    expect: tuple[str, ...],
    drift: tuple[str, ...],
    critical: str | None,
    fail_on: str | None,
    prediction: str | None,
    label: str | None,
    positive: str | None,
) -> None:
    """Evaluate gate RULEs on a run, data expectations and drift checks; exit 3 when one fails.

    Fairness rules (demographic_parity_difference(sex) <= 0.05) are computed on --data,
    with --prediction and --label naming its columns."""
    registry = open_registry(registry_path)
    try:
        evaluation = gates.check(
            registry,
            list(rules),
            run=run,
            model=model,
            values=_values(values),
            data=_data(data),
            data_name=data,
            expect=expect,
            drift=_drift_gates(drift, critical, fail_on),
            prediction=prediction,
            label=label,
            positive=_positive(positive),
            find_run=lambda: gates.latest_run(registry),
        )
    except GateFailedError as error:
        _fail_gate(error)
        return
    print_results(evaluation.results)
    click.echo(f"Gate {evaluation.summary} (evaluation {evaluation.id}).")


@main.command("promote")
@registry_option
@click.argument("ref", metavar="NAME@VERSION")
@click.option("--alias", "-a", required=True, help="The alias to move, e.g. champion.")
@click.option("--gate", "-g", "rules", multiple=True, metavar="RULE", help="A rule that must pass.")
@_value_option
@_data_option
@_expect_option
@_drift_option
@_critical_option
@_fail_on_option
@_prediction_option
@_label_option
@_positive_option
@friendly
def promote_command(
    registry_path: str | None,
    ref: str,
    alias: str,
    rules: tuple[str, ...],
    values: tuple[str, ...],
    data: str | None,
    expect: tuple[str, ...],
    drift: tuple[str, ...],
    critical: str | None,
    fail_on: str | None,
    prediction: str | None,
    label: str | None,
    positive: str | None,
) -> None:
    """Point ALIAS at the version REF names when every gate passes; exit 3 when one fails."""
    try:
        promotion = gates.promote(
            open_registry(registry_path),
            ref,
            alias,
            gates=rules,
            values=_values(values),
            data=_data(data),
            data_name=data,
            expect=expect,
            drift=_drift_gates(drift, critical, fail_on),
            prediction=prediction,
            label=label,
            positive=_positive(positive),
        )
    except GateFailedError as error:
        _fail_gate(error)
        return
    if promotion.evaluation is not None:
        print_results(promotion.evaluation.results)
    if promotion.moved:
        was = f" (was version {promotion.previous_version})" if promotion.previous_version else ""
        click.echo(f"{promotion.ref} -> version {promotion.version}{was}.")
    else:
        click.echo(f"{promotion.ref} already points at version {promotion.version}.")
