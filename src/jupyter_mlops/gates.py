"""Validation gates: rules on a run's metrics and expectations on data, evaluated and stored.

    evaluation = check(registry, ["accuracy >= 0.85", "latency_ms < 50"], run="baseline")
    evaluation.passed, [r.verdict for r in evaluation.results]

    promote(registry, "churn@4", "champion", gates=["f1 >= champion.f1 - 0.01"])

Rules name metrics and parameters of a run, values given, and ``champion.f1`` (the metric
of the run of the version an alias points at); :mod:`jupyter_mlops.rule_names` says how.
A name found nowhere is an :class:`ExpressionError`: a misspelt metric never counts as a
failed, or passed, rule. With no champion yet, comparisons with it are waived and the
rule passes with the detail "no champion yet".

Every evaluation is stored (``gate_evaluations`` and ``gate_results``) with its inputs and
verdict, passed or failed. :func:`check` raises :class:`GateFailedError` on failure unless
asked not to; :func:`promote` moves the alias only when every rule and expectation
passes, in the same transaction that stores the evaluation, and records the move.
"""

from __future__ import annotations

import json
import logging
import math
import numbers
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from . import expressions as ex
from . import models
from .errors import GateFailedError, InvalidInputError, NotFoundError
from .expectation_checks import ExpectationOutcome, check_frame
from .expectations import Expectation, parse_expectations
from .registry import Registry
from .rule_names import RuleNames
from .rules import RuleOutcome, evaluate
from .snapshot_checks import check_snapshot, load_snapshot_facts
from .tracking import new_id

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GateResult:
    """One line of a gate: a rule or an expectation, what was found, what was required.

    ``exact`` is false when ``actual`` is an estimate (an expectation checked on a
    snapshot's profile rather than on the data).
    """

    rule: str
    kind: str  # rule | expectation
    passed: bool
    actual: Any
    expected: str
    detail: str = ""
    exact: bool = True

    @property
    def verdict(self) -> str:
        return "passed" if self.passed else "failed"

    def describe(self) -> str:
        """``rule (actual A, expected E)``: how a failure is named in messages."""
        actual = _short(self.actual)
        return f"{self.rule} (actual {actual}, expected {self.expected})"


@dataclass(frozen=True)
class DataChecked:
    """Which data the expectations were checked on, as stored with a gate evaluation."""

    kind: str  # dataframe | snapshot
    name: str | None
    n_rows: int
    n_columns: int
    snapshot_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "n_rows": self.n_rows,
            "n_columns": self.n_columns,
            "snapshot_id": self.snapshot_id,
        }


@dataclass(frozen=True)
class GateEvaluation:
    """A stored evaluation: its verdict, every result, and what it was evaluated on."""

    id: str
    purpose: str  # check | promote
    passed: bool
    results: tuple[GateResult, ...]
    run_id: str | None
    run_name: str | None
    model: str | None
    version: int | None
    alias: str | None
    data: DataChecked | None
    inputs: dict[str, Any]
    evaluated_at: float

    @property
    def failed(self) -> tuple[GateResult, ...]:
        return tuple(r for r in self.results if not r.passed)

    @property
    def summary(self) -> str:
        """``passed: 3 of 3`` / ``failed: 1 of 3 failed``."""
        if self.passed:
            return f"passed: {len(self.results)} of {len(self.results)}"
        return f"failed: {len(self.failed)} of {len(self.results)} failed"

    def __repr__(self) -> str:
        lines = [f"<GateEvaluation {self.id} {self.summary}>"]
        for r in self.results:
            lines.append(
                f"  {r.verdict:6}  {r.describe()}" + (f" - {r.detail}" if r.detail else "")
            )
        return "\n".join(lines)


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


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if value is None:
        return "none"
    return str(value)[:80]


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
        parsed.append((rule.strip(), ex.parse(rule)))
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
    parsed: list[tuple[str, ex.Expression]], scope: RuleNames
) -> tuple[list[GateResult], dict[str, Any]]:
    results = []
    resolved: dict[str, Any] = {}
    for text, tree in parsed:
        scope.source = text
        outcome: RuleOutcome = evaluate(tree, scope.lookup, source=text)
        resolved.update(outcome.values)
        results.append(
            GateResult(
                text, "rule", outcome.passed, outcome.actual, outcome.expected, outcome.detail
            )
        )
    return results, resolved


def _expectation_results(
    registry: Registry,
    expectations: tuple[Expectation, ...],
    data: Any,
    data_name: str | None,
) -> tuple[list[GateResult], DataChecked | None]:
    if not expectations:
        if data is not None:
            raise InvalidInputError(
                "Data was given but no expectation to check it with",
                hint='Add expect=[expect.not_null("age")] (--expect in magics).',
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
    raise_on_failure: bool = True,
    notebook_path: str | None = None,
    find_run: Callable[[], str | None] | None = None,
) -> GateEvaluation:
    """Evaluate rules and data expectations, store the evaluation, return it.

    ``run`` is the run whose metrics and parameters the rules read (an id, name or
    ``last``); without it ``find_run()`` is asked, once, when a rule needs a run.
    ``model`` names the model whose aliases ``champion.x`` refers to. With
    ``raise_on_failure`` a failed evaluation raises :class:`GateFailedError` after it is
    stored; its ``results`` hold every line.

        check(registry, ["accuracy >= 0.85", "f1 > champion.f1 - 0.01"], run="tuned", model="churn")
    """
    from .queries import resolve_run

    parsed = _parse_rules(rules)
    expectations = parse_expectations(expect)
    if not parsed and not expectations and data is None:
        raise InvalidInputError(
            "Nothing to check: give at least one rule or expectation",
            hint='For example check(["accuracy >= 0.85"]) or %mlops gate "accuracy >= 0.85".',
        )
    if model is not None:
        models.model_id(registry, models.check_model_name(model))  # NotFoundError if unknown
    plain = _plain_values(values)
    run_id = resolve_run(registry, run) if run is not None else None
    data_results, described = _expectation_results(registry, expectations, data, data_name)
    scope = RuleNames(registry, plain, run_id, model, find_run=find_run if run_id is None else None)
    rule_results, resolved = _rule_results(parsed, scope)
    evaluation = _store(
        registry,
        purpose="check",
        results=(*rule_results, *data_results),
        run_id=scope.run_id,
        model=scope.model,
        version_id=None,
        alias=None,
        data=described,
        inputs=_inputs(plain, resolved, scope, described),
        notebook_path=notebook_path,
    )
    if not evaluation.passed and raise_on_failure:
        raise gate_failure(evaluation)
    return evaluation


def record(
    registry: Registry,
    results: Iterable[GateResult],
    *,
    run_id: str | None = None,
    inputs: Mapping[str, Any] | None = None,
    notebook_path: str | None = None,
) -> GateEvaluation:
    """Store an evaluation whose verdicts were reached elsewhere, and return it.

    A pipeline's gate cell may hold conditions written as Python (``len(df) > 1000``),
    which the rule language does not read: the step decides them and records them here,
    so every gate verdict is in ``gate_evaluations`` whatever decided it.

        record(registry, [GateResult("len(df) > 1000", "rule", False, 812, "> 1000")])
    """
    return _store(
        registry,
        purpose="check",
        results=tuple(results),
        run_id=run_id,
        model=None,
        version_id=None,
        alias=None,
        data=None,
        inputs=dict(inputs or {}),
        notebook_path=notebook_path,
    )


def latest_run(registry: Registry) -> str | None:
    """The most recent run's id (what rules read when no run is named), or ``None``."""
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
    notebook_path: str | None = None,
) -> Promotion:
    """Point ``alias`` at the version ``ref`` names, if every gate passes.

    The rules read the metrics of the version's own run; ``champion.f1`` reads the
    metrics of the run of the version the alias ``champion`` points at before the move.
    The evaluation and the move are one transaction: another process promoting at the
    same time cannot slip in between. A failed gate raises :class:`GateFailedError`
    naming each failed rule; the alias stays where it was. Without gates the alias is
    simply moved; every move is kept in the alias history.

        promote(registry, "churn@4", "champion", gates=["f1 >= champion.f1 - 0.01"])
    """
    models.check_alias(alias)
    version = models.resolve_version(registry, ref)
    parsed = _parse_rules(gates)
    expectations = parse_expectations(expect)
    plain = _plain_values(values)
    data_results, described = _expectation_results(registry, expectations, data, data_name)
    checked = bool(parsed or expectations)
    evaluation = None
    with registry.transaction(f'the promotion of {version.ref} to "{alias}"') as conn:
        current = models.alias_target(registry, version.model, alias)
        previous = None if current is None else current.version
        if checked:
            scope = RuleNames(registry, plain, version.run_id, version.model)
            rule_results, resolved = _rule_results(parsed, scope)
            evaluation = _store(
                registry,
                purpose="promote",
                results=(*rule_results, *data_results),
                run_id=version.run_id,
                model=version.model,
                version_id=version.id,
                alias=alias,
                data=described,
                inputs=_inputs(plain, resolved, scope, described, current=current, alias=alias),
                notebook_path=notebook_path,
            )
        moved = (evaluation is None or evaluation.passed) and previous != version.version
        if moved:
            model_id = conn.execute(
                "SELECT model_id FROM model_versions WHERE id = ?", (version.id,)
            ).fetchone()[0]
            models.record_alias_move(
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
    current: models.ModelVersion | None = None,
    alias: str | None = None,
) -> dict[str, Any]:
    inputs: dict[str, Any] = {"values": values, "resolved": resolved}
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
    return inputs


# -- storing and reading ---------------------------------------------------------------------------


def _json_safe(value: Any) -> Any:
    """JSON without NaN or infinities (SQLite's JSON functions reject them)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, numbers.Real):
        return _json_safe(float(value))
    return str(value)


def _store(
    registry: Registry,
    *,
    purpose: str,
    results: tuple[GateResult, ...],
    run_id: str | None,
    model: str | None,
    version_id: int | None,
    alias: str | None,
    data: DataChecked | None,
    inputs: dict[str, Any],
    notebook_path: str | None,
) -> GateEvaluation:
    evaluation_id = new_id()
    now = time.time()
    passed = all(r.passed for r in results)
    n_failed = sum(1 for r in results if not r.passed)
    with registry.transaction("the gate evaluation") as conn:
        conn.execute(
            "INSERT INTO gate_evaluations (id, purpose, run_id, model_version_id, alias, snapshot_id,"
            " passed, n_rules, n_failed, inputs, notebook_path, evaluated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                evaluation_id,
                purpose,
                run_id,
                version_id,
                alias,
                None if data is None else data.snapshot_id,
                int(passed),
                len(results),
                n_failed,
                json.dumps(_json_safe(inputs)),
                notebook_path,
                now,
            ),
        )
        conn.executemany(
            "INSERT INTO gate_results (evaluation_id, seq, kind, rule, passed, actual, expected,"
            " detail, exact) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    evaluation_id,
                    seq,
                    r.kind,
                    r.rule,
                    int(r.passed),
                    json.dumps(_json_safe(r.actual)),
                    r.expected,
                    r.detail,
                    int(r.exact),
                )
                for seq, r in enumerate(results)
            ],
        )
    return get_evaluation(registry, evaluation_id)


def get_evaluation(registry: Registry, evaluation_id: str) -> GateEvaluation:
    """One stored evaluation by id."""
    found = _evaluations(registry, "gate_evaluations.id = ?", [evaluation_id], limit=1)
    if not found:
        raise NotFoundError(f'No gate evaluation with id "{evaluation_id}"')
    return found[0]


def evaluations(
    registry: Registry,
    *,
    run: str | None = None,
    model: str | None = None,
    limit: int = 50,
) -> tuple[GateEvaluation, ...]:
    """Stored evaluations, newest first, optionally of one run or one model's versions."""
    from .queries import resolve_run

    conditions: list[str] = ["1"]
    params: list[Any] = []
    if run is not None:
        conditions.append("gate_evaluations.run_id = ?")
        params.append(resolve_run(registry, run))
    if model is not None:
        conditions.append(
            "(models.name = ? OR json_extract(gate_evaluations.inputs, '$.model') = ?)"
        )
        params += [model, model]
    return tuple(_evaluations(registry, " AND ".join(conditions), params, limit=limit))


def _evaluations(
    registry: Registry, condition: str, params: list[Any], *, limit: int
) -> list[GateEvaluation]:
    rows = registry.query(
        "SELECT gate_evaluations.*, runs.name AS run_name, models.name AS model_name,"
        " model_versions.version AS version, snapshots.name AS snapshot_name"
        " FROM gate_evaluations"
        " LEFT JOIN runs ON runs.id = gate_evaluations.run_id"
        " LEFT JOIN model_versions ON model_versions.id = gate_evaluations.model_version_id"
        " LEFT JOIN models ON models.id = model_versions.model_id"
        " LEFT JOIN snapshots ON snapshots.id = gate_evaluations.snapshot_id"
        f" WHERE {condition} ORDER BY gate_evaluations.evaluated_at DESC LIMIT ?",
        [*params, limit],
    )
    if not rows:
        return []
    ids = [r["id"] for r in rows]
    marks = ", ".join("?" for _ in ids)
    lines: dict[str, list[GateResult]] = {}
    for r in registry.query(
        f"SELECT * FROM gate_results WHERE evaluation_id IN ({marks}) ORDER BY evaluation_id, seq",
        ids,
    ):
        lines.setdefault(r["evaluation_id"], []).append(
            GateResult(
                r["rule"],
                r["kind"],
                bool(r["passed"]),
                json.loads(r["actual"]) if r["actual"] else None,
                r["expected"],
                r["detail"],
                bool(r["exact"]),
            )  # fmt: skip
        )
    found = []
    for row in rows:
        inputs = json.loads(row["inputs"])
        data = inputs.get("data")
        found.append(
            GateEvaluation(
                id=row["id"],
                purpose=row["purpose"],
                passed=bool(row["passed"]),
                results=tuple(lines.get(row["id"], ())),
                run_id=row["run_id"],
                run_name=row["run_name"],
                model=row["model_name"] or inputs.get("model"),
                version=row["version"],
                alias=row["alias"],
                data=None if data is None else DataChecked(**data),
                inputs=inputs,
                evaluated_at=row["evaluated_at"],
            )
        )
    return found
