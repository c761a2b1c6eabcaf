"""Validation gates: rules on a run's metrics, expectations on data and drift checks,
evaluated and stored.

    evaluation = check(registry, ["accuracy >= 0.85", "latency_ms < 50"], run="baseline")
    evaluation.passed, [r.verdict for r in evaluation.results]

    promote(registry, "churn@4", "champion", gates=["f1 >= champion.f1 - 0.01"])

Rules name metrics and parameters of a run, values given, and ``champion.f1`` (the metric
of the run of the version an alias points at); :mod:`jupyter_mlops.gates.rule_names` says how.
A name found nowhere is an :class:`ExpressionError`: a misspelt metric never counts as a
failed, or passed, rule. With no champion yet, comparisons with it are waived and the
rule passes with the detail "no champion yet". Drift checks (``drift=``) become lines of
their own: see :mod:`jupyter_mlops.drift.gate`. Fairness functions in rules
(``demographic_parity_difference(sex) <= 0.05``) are computed on ``data``, whose columns
``prediction`` and ``label`` name: see :mod:`jupyter_mlops.gates.fairness_rules`.

Every evaluation is stored (``gate_evaluations`` and ``gate_results``, see
:mod:`jupyter_mlops.gates.records`) with its inputs and verdict, passed or failed. :func:`check` raises :class:`GateFailedError` on failure unless
asked not to; :func:`promote` moves the alias only when every rule and expectation
passes, in the same transaction that stores the evaluation, and records the move.
"""

from __future__ import annotations

import logging
import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from ..errors import GateFailedError, InvalidInputError, RecordingError
from ..models.aliases import record_alias_move
from ..models.refs import check_alias, check_model_name
from ..models.versions import ModelVersion, alias_target, resolve_version
from ..models.versions import model_id as model_id_
from ..registry.connection import Registry
from ..tracking import expressions as ex
from ..tracking.session import unrecorded_run
from .expectations import Expectation, parse_expectations
from .fairness_functions import FUNCTIONS
from .fairness_rules import RuleCalls, rule_calls
from .frame_checks import ExpectationOutcome, check_frame
from .records import (
    DataChecked,
    GateEvaluation,
    GateResult,
    evaluations,
    get_evaluation,
    store_evaluation,
)
from .rule_names import RuleNames
from .rules import Operand, RuleOutcome, evaluate
from .snapshot_checks import check_snapshot, load_snapshot_facts

logger = logging.getLogger(__name__)

__all__ = [
    "DataChecked",
    "GateEvaluation",
    "GateResult",
    "Promotion",
    "check",
    "evaluations",
    "gate_failure",
    "get_evaluation",
    "latest_run",
    "promote",
]


@dataclass(frozen=True)
class Promotion:
    """What :func:`promote` did: the alias, the version it points at now and before."""

    model: str
    alias: str
    version: int
    previous_version: int | None
    moved: bool
    evaluation: GateEvaluation | None

    @property
    def ref(self) -> str:
        return f"{self.model}@{self.alias}"


# -- evaluating -------------------------------------------------------------------------------------


def _parse_rules(rules: str | Iterable[str]) -> list[tuple[str, ex.Expression]]:
    items = [rules] if isinstance(rules, str) else list(rules or ())
    parsed = []
    for rule in items:
        if not isinstance(rule, str):
            raise InvalidInputError(
                f"A rule must be text, got {type(rule).__name__} {rule!r:.60}",
                hint='Write rules as text: "accuracy >= 0.85". Values go in values={...}.',
            )
        parsed.append((rule.strip(), ex.parse(rule, functions=FUNCTIONS)))
    return parsed


def _plain_values(values: Mapping[str, Any] | None) -> dict[str, Any]:
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise InvalidInputError(
            f"values must be a dict of names to numbers, got {type(values).__name__}",
            hint='For example values={"latency_ms": 42.0}.',
        )
    plain = {}
    for key, value in values.items():
        if not isinstance(key, str) or not key:
            raise InvalidInputError(f"values: {key!r} is not a name")
        if value is None or isinstance(value, (str, bool, int, float)):
            plain[key] = value
        elif isinstance(value, numbers.Real):
            plain[key] = float(value)
        else:
            raise InvalidInputError(
                f'values: "{key}" must be a number, text, a boolean or None, got {type(value).__name__}',
                hint="Give plain values, e.g. float(latency).",
            )
    return plain


def _rule_results(
    parsed: list[tuple[str, ex.Expression]],
    scope: RuleNames,
    calls: RuleCalls | None = None,
) -> tuple[list[GateResult], dict[str, Any]]:
    results = []
    resolved: dict[str, Any] = {}
    for text, tree in parsed:
        scope.source = text
        call = None if calls is None else partial(_call_in, calls, text)
        outcome: RuleOutcome = evaluate(tree, scope.lookup, source=text, call=call)
        resolved.update(outcome.values)
        results.append(
            GateResult(
                text,
                "rule",
                outcome.passed,
                outcome.actual,
                outcome.expected,
                outcome.detail,
                groups=outcome.groups,
            )
        )
    return results, resolved


def _call_in(calls: RuleCalls, rule: str, node: ex.Call) -> Operand:
    return calls(node, rule)


def _expectation_results(
    registry: Registry,
    expectations: tuple[Expectation, ...],
    data: Any,
    data_name: str | None,
    *,
    rules_use_data: bool = False,
) -> tuple[list[GateResult], DataChecked | None]:
    if not expectations:
        if data is not None and rules_use_data:
            return [], _described(registry, data, data_name)
        if data is not None:
            raise InvalidInputError(
                "Data was given but no expectation to check it with",
                hint='Add expect=[expect.not_null("age")] (--expect in magics), or a fairness'
                " rule such as demographic_parity_difference(sex) <= 0.05.",
            )
        return [], None
    if data is None:
        raise InvalidInputError(
            "Expectations need data to check",
            hint="Give data=DataFrame or the name of a stored snapshot (--data in magics).",
        )
    outcomes, described = _check_data(registry, expectations, data, data_name)
    return [_expectation_result(e, o) for e, o in zip(expectations, outcomes)], described


def _check_data(
    registry: Registry, expectations: tuple[Expectation, ...], data: Any, name: str | None
) -> tuple[tuple[ExpectationOutcome, ...], DataChecked]:
    """Check on a DataFrame (exact) or on a stored snapshot given by record, id or name."""
    import pandas as pd

    if isinstance(data, pd.Series):
        data = data.to_frame()
    if isinstance(data, pd.DataFrame):
        outcomes = tuple(check_frame(e, data) for e in expectations)
        return outcomes, DataChecked("dataframe", name, len(data), data.shape[1])
    if isinstance(data, str) or hasattr(data, "fingerprint"):
        facts = load_snapshot_facts(registry, data)
        outcomes = tuple(check_snapshot(e, facts) for e in expectations)
        return outcomes, DataChecked(
            "snapshot", facts.name, facts.n_rows, len(facts.columns), facts.id
        )
    raise InvalidInputError(
        f"Cannot check expectations on {type(data).__name__}",
        hint="Give a pandas DataFrame (checked exactly) or the name or id of a stored snapshot.",
    )


def _described(registry: Registry, data: Any, name: str | None) -> DataChecked | None:
    """Which data fairness rules were computed on, for the record."""
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return DataChecked("dataframe", name, len(data), data.shape[1])
    if isinstance(data, str) or hasattr(data, "fingerprint"):
        facts = load_snapshot_facts(registry, data)
        return DataChecked("snapshot", facts.name, facts.n_rows, len(facts.columns), facts.id)
    return None  # the rules say what is wrong with it


def _expectation_result(expectation: Expectation, outcome: ExpectationOutcome) -> GateResult:
    return GateResult(
        expectation.text,
        "expectation",
        outcome.passed,
        outcome.actual,
        outcome.expected,
        outcome.detail,
        outcome.exact,
    )


def check(
    registry: Registry,
    rules: str | Iterable[str] = (),
    *,
    run: str | None = None,
    model: str | None = None,
    values: Mapping[str, Any] | None = None,
    data: Any = None,
    data_name: str | None = None,
    expect: Iterable[str | Expectation] = (),
    drift: Any = None,
    prediction: str | None = None,
    label: str | None = None,
    positive: Any = None,
    raise_on_failure: bool = True,
    notebook_path: str | None = None,
    find_run: Callable[[], str | None] | None = None,
) -> GateEvaluation:
    """Evaluate rules, data expectations and drift checks, store the evaluation, return it.

    ``run`` is the run whose metrics and parameters the rules read (an id, name or
    ``last``); without it ``find_run()`` is asked, once, when a rule needs a run.
    ``model`` names the model whose aliases ``champion.x`` refers to. ``drift`` adds drift
    lines (see :mod:`jupyter_mlops.drift.gate`); their reports are stored and linked to
    ``run``. With ``raise_on_failure`` a failed evaluation raises :class:`GateFailedError`
    after it is stored; its ``results`` hold every line. Fairness functions in rules are
    computed on ``data``: its column ``prediction`` holds the model's predictions,
    ``label`` the true labels, ``positive`` the positive class (default ``True``/``1``).

        check(registry, ["accuracy >= 0.85", "f1 > champion.f1 - 0.01"], run="tuned", model="churn")
        check(registry, drift=("train", todays_df))
        check(registry, "demographic_parity_difference(sex) <= 0.05", data=scored,
              prediction="predicted")
    """
    from ..drift.gate import drift_gates
    from ..tracking.queries.refs import resolve_run

    parsed = _parse_rules(rules)
    expectations = parse_expectations(expect)
    drift_lines = drift_gates(drift)
    if not parsed and not expectations and data is None and not drift_lines:
        raise InvalidInputError(
            "Nothing to check: give at least one rule, expectation or drift check",
            hint='For example check(["accuracy >= 0.85"]) or %mlops gate "accuracy >= 0.85".',
        )
    if model is not None:
        model_id_(registry, check_model_name(model))  # NotFoundError if unknown
    plain = _plain_values(values)
    run_id = resolve_run(registry, run) if run is not None else None
    calls = rule_calls(
        registry,
        parsed,
        data,
        prediction=prediction,
        label=label,
        positive=positive,
        data_name=data_name,
    )
    data_results, described = _expectation_results(
        registry, expectations, data, data_name, rules_use_data=calls is not None
    )
    scope = RuleNames(registry, plain, run_id, model, find_run=find_run if run_id is None else None)
    rule_results, resolved = _rule_results(parsed, scope, calls)
    drift_results = _drift_results(registry, drift_lines, run_id, None, notebook_path)
    evaluation = store_evaluation(
        registry,
        purpose="check",
        results=(*rule_results, *data_results, *drift_results),
        run_id=scope.run_id,
        model=scope.model,
        version_id=None,
        alias=None,
        data=described,
        inputs=_inputs(
            plain,
            resolved,
            scope,
            described,
            drift=drift_results,
            columns=None if calls is None else calls.columns,
        ),
        notebook_path=notebook_path,
    )
    if not evaluation.passed and raise_on_failure:
        raise gate_failure(evaluation)
    return evaluation


def latest_run(registry: Registry) -> str | None:
    """The most recent run's id (what rules read when no run is named), or ``None``.

    While the active run could not be recorded, its metrics are nowhere and another
    run's must not stand in for them: a :class:`RecordingError` says so instead.
    """
    unrecorded = unrecorded_run()
    if unrecorded is not None:
        raise RecordingError(
            "The gate reads the metrics of the active run, but"
            f' run "{unrecorded.name}" is not recorded ({unrecorded.reason})',
            hint="Name a recorded run with run=... (--run), or give the values with"
            " values={...} (--value); once the registry can be written, run it again.",
        )
    row = registry.query_one("SELECT id FROM runs ORDER BY started_at DESC LIMIT 1")
    return None if row is None else str(row[0])


def gate_failure(evaluation: GateEvaluation, *, promotion: str | None = None) -> GateFailedError:
    """The :class:`GateFailedError` for a failed evaluation, naming each failed line."""
    failed = evaluation.failed
    named = "; ".join(r.describe() for r in failed[:5]) + ("; ..." if len(failed) > 5 else "")
    lead = promotion or "Gate failed"
    return GateFailedError(
        f"{lead}: {len(failed)} of {len(evaluation.results)} checks failed: {named}",
        results=evaluation.results,
        hint=f"Evaluation {evaluation.id} is stored with its inputs. Improve the model or data, "
        "or revisit the thresholds; downstream steps should not use this result.",
    )


def promote(
    registry: Registry,
    ref: str,
    alias: str,
    *,
    gates: str | Iterable[str] = (),
    values: Mapping[str, Any] | None = None,
    data: Any = None,
    data_name: str | None = None,
    expect: Iterable[str | Expectation] = (),
    drift: Any = None,
    prediction: str | None = None,
    label: str | None = None,
    positive: Any = None,
    notebook_path: str | None = None,
) -> Promotion:
    """Point ``alias`` at the version ``ref`` names, if every gate passes.

    The rules read the metrics of the version's own run; ``champion.f1`` reads the
    metrics of the run of the version the alias ``champion`` points at before the move.
    Drift checks (``drift``, see :mod:`jupyter_mlops.drift.gate`) run first, outside the
    lock, and their reports are linked to the version. The evaluation and the move are one
    transaction: another process promoting at the same time cannot slip in between. A
    failed gate raises :class:`GateFailedError` naming each failed rule; the alias stays
    where it was. Without gates the alias is simply moved; every move is kept in the alias
    history. Fairness functions in rules are computed on ``data`` as in :func:`check`,
    before the lock is taken.

        promote(registry, "churn@4", "champion", gates=["f1 >= champion.f1 - 0.01"])
        promote(registry, "churn@4", "champion", drift=("churn@4", todays_df))
        promote(registry, "churn@4", "champion", gates=["equalized_odds_difference(sex) <= 0.1"],
                data=scored, prediction="predicted", label="churned")
    """
    from ..drift.gate import drift_gates

    check_alias(alias)
    version = resolve_version(registry, ref)
    parsed = _parse_rules(gates)
    expectations = parse_expectations(expect)
    drift_lines = drift_gates(drift)
    plain = _plain_values(values)
    calls = rule_calls(
        registry,
        parsed,
        data,
        prediction=prediction,
        label=label,
        positive=positive,
        data_name=data_name,
    )
    data_results, described = _expectation_results(
        registry, expectations, data, data_name, rules_use_data=calls is not None
    )
    if calls is not None:
        calls.compute_all(parsed)
    drift_results = _drift_results(registry, drift_lines, None, version.ref, notebook_path)
    checked = bool(parsed or expectations or drift_results)
    evaluation = None
    with registry.transaction(f'the promotion of {version.ref} to "{alias}"') as conn:
        current = alias_target(registry, version.model, alias)
        previous = None if current is None else current.version
        if checked:
            scope = RuleNames(registry, plain, version.run_id, version.model)
            rule_results, resolved = _rule_results(parsed, scope, calls)
            evaluation = store_evaluation(
                registry,
                purpose="promote",
                results=(*rule_results, *data_results, *drift_results),
                run_id=version.run_id,
                model=version.model,
                version_id=version.id,
                alias=alias,
                data=described,
                inputs=_inputs(
                    plain,
                    resolved,
                    scope,
                    described,
                    current=current,
                    alias=alias,
                    drift=drift_results,
                    columns=None if calls is None else calls.columns,
                ),
                notebook_path=notebook_path,
            )
        moved = (evaluation is None or evaluation.passed) and previous != version.version
        if moved:
            model_id = conn.execute(
                "SELECT model_id FROM model_versions WHERE id = ?", (version.id,)
            ).fetchone()[0]
            record_alias_move(
                conn,
                model_id,
                alias,
                version.id,
                reason="promote",
                evaluation_id=None if evaluation is None else evaluation.id,
            )
    if evaluation is not None and not evaluation.passed:
        where = (
            f"{alias} still points at version {previous}"
            if previous
            else f"{alias} is still not set"
        )
        raise gate_failure(
            evaluation, promotion=f"{version.ref} was not promoted to {alias} ({where})"
        )
    if moved:
        logger.info("%s@%s: %s -> %s", version.model, alias, previous, version.version)
    return Promotion(version.model, alias, version.version, previous, moved, evaluation)


def _inputs(
    values: dict[str, Any],
    resolved: dict[str, Any],
    scope: RuleNames,
    data: DataChecked | None,
    *,
    current: ModelVersion | None = None,
    alias: str | None = None,
    drift: Sequence[GateResult] = (),
    columns: dict[str, Any] | None = None,
) -> dict[str, Any]:
    inputs: dict[str, Any] = {"values": values, "resolved": resolved}
    if columns:
        inputs["columns"] = columns
    if scope.run_id is not None:
        inputs["run_id"] = scope.run_id
    if scope.model is not None:
        inputs["model"] = scope.model
    if scope.used_aliases:
        inputs["aliases"] = scope.used_aliases
    if alias is not None:
        inputs["alias_before"] = (
            None if current is None else {"version": current.version, "run_id": current.run_id}
        )
    if data is not None:
        inputs["data"] = data.to_dict()
    if drift:
        inputs["drift"] = [
            {"report_id": r.drift_report_id, "rule": r.rule, "decision": r.actual} for r in drift
        ]
    return inputs


def _drift_results(
    registry: Registry,
    lines: Sequence[Any],
    run_id: str | None,
    model: str | None,
    notebook_path: str | None,
) -> list[GateResult]:
    """The drift lines, their reports made and stored (imported only when there are some)."""
    if not lines:
        return []
    from ..drift.gate import drift_results

    return drift_results(registry, lines, run_id=run_id, model=model, notebook_path=notebook_path)
