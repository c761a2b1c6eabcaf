"""What the names in a gate rule stand for.

In this order: a key of the ``values`` given; a metric of the subject run (its last
value; ``metrics.x`` to say so); a parameter of that run (``params.x``, or the bare name
when no metric has it); or ``ALIAS.metric``, the metric recorded by the run of the
version the alias points at (``champion.f1``; ``champion.params.x`` for its parameters).

An alias belongs to a model: the one being promoted, the one named with ``model=``, or
the one the subject run's registered versions belong to. An alias that is not set yet
gives a *waived* operand ("no champion yet", see :mod:`jupyter_mlops.gates.rules`); an alias
name very close to one that is set (``champoin``) is taken for a typo and refused. A name
found nowhere is an :class:`ExpressionError` listing the names there are.

    names = RuleNames(registry, values={}, run_id=run.id, model="churn")
    evaluate(parse("f1 > champion.f1"), names.lookup)
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ExpressionError
from ..models.versions import alias_target, aliases_of
from ..registry.connection import Registry
from ..tracking import expressions as ex
from ..tracking.values import decode_param
from .rules import Operand


@dataclass
class RuleNames:
    """Looks up the names of rules: given values, the subject run, the model's aliases."""

    registry: Registry
    values: Mapping[str, Any]
    run_id: str | None
    model: str | None
    find_run: Callable[[], str | None] | None = None  # asked once, when a name needs a run
    source: str = ""  # the rule being evaluated, for messages
    used_aliases: dict[str, Any] = field(default_factory=dict, init=False)
    _metrics: dict[str, dict[str, float | None]] = field(
        default_factory=dict, init=False, repr=False
    )
    _params: dict[str, dict[str, Any]] = field(default_factory=dict, init=False, repr=False)

    def lookup(self, name: ex.Name) -> Operand:
        dotted, parts = name.dotted, name.parts
        if dotted in self.values:
            return Operand(self.values[dotted])
        if len(parts) == 2 and parts[0] in ("metrics", "metric", "params", "param"):
            kind = "metrics" if parts[0].startswith("metric") else "params"
            return self._own(self._subject(dotted), kind, parts[1], dotted)
        run_id = self._subject(dotted, required=len(parts) == 1)
        if run_id is not None:
            if dotted in self.metrics_of(run_id):
                return Operand(self.metrics_of(run_id)[dotted])
            if dotted in self.params_of(run_id):
                return Operand(self.params_of(run_id)[dotted])
        if run_id is not None and (
            parts[0] in self.metrics_of(run_id) or parts[0] in self.params_of(run_id)
        ):
            raise self._unknown(dotted, run_id)  # accuracy.x: not an alias, a metric
        if len(parts) >= 2 and parts[0].isidentifier():
            return self._aliased(parts[0], parts[1:], dotted)
        raise self._unknown(dotted, run_id)

    def _subject(self, dotted: str, *, required: bool = True) -> str | None:
        if self.run_id is None and self.find_run is not None:
            self.run_id, self.find_run = self.find_run(), None
        if self.run_id is None and required:
            raise ExpressionError(
                f'"{dotted}" in {self.source!r} needs a run to read it from, and there is none',
                expression=self.source,
                hint="Give run=..., or the value itself with values={...} (--value in magics).",
            )
        return self.run_id

    def metrics_of(self, run_id: str) -> dict[str, float | None]:
        if run_id not in self._metrics:
            rows = self.registry.query(
                "SELECT key, last FROM metric_summaries WHERE run_id = ?", (run_id,)
            )
            self._metrics[run_id] = {r[0]: (math.nan if r[1] is None else r[1]) for r in rows}
        return self._metrics[run_id]

    def params_of(self, run_id: str) -> dict[str, Any]:
        if run_id not in self._params:
            rows = self.registry.query(
                "SELECT key, value, type FROM params WHERE run_id = ?", (run_id,)
            )
            self._params[run_id] = {r[0]: decode_param(r[1], r[2]) for r in rows}
        return self._params[run_id]

    def _own(self, run_id: str | None, kind: str, key: str, dotted: str) -> Operand:
        """``metrics.key`` or ``params.key`` of the subject run."""
        assert run_id is not None
        found = self.metrics_of(run_id) if kind == "metrics" else self.params_of(run_id)
        if key not in found:
            raise self._unknown(dotted, run_id)
        return Operand(found[key])

    def _aliased(self, alias: str, rest: tuple[str, ...], dotted: str) -> Operand:
        model = self._model_name(dotted)
        target = alias_target(self.registry, model, alias)
        if target is None:
            known = aliases_of(self.registry, model)
            close = difflib.get_close_matches(alias, list(known), n=1, cutoff=0.8)
            if close:
                raise ExpressionError(
                    f'Model "{model}" has no alias "{alias}" in {self.source!r}',
                    expression=self.source,
                    hint=f"Did you mean {close[0]}.{'.'.join(rest)}?",
                )
            self.used_aliases[alias] = None
            return Operand(waived=f"no {alias} yet")
        label = f"{alias} is {target.ref}" + (
            f" (run {target.run_name or target.run_id})" if target.run_id else ""
        )
        self.used_aliases[alias] = {"version": target.version, "run_id": target.run_id}
        if target.run_id is None:
            raise ExpressionError(
                f"{dotted!r}: {target.ref} was registered without a run, so it has no metrics",
                expression=self.source,
                hint=f"Give the value with values={{'{dotted}': ...}}, or register {model} from a run.",
            )
        if len(rest) == 2 and rest[0] in ("params", "param"):
            found = self.params_of(target.run_id)
            key = rest[1]
        else:
            found = dict(self.metrics_of(target.run_id))
            key = ".".join(rest[1:] if rest[0] in ("metrics", "metric") and len(rest) > 1 else rest)
        if key not in found:
            listed = ", ".join(sorted(found)[:12]) or "none"
            raise ExpressionError(
                f'{label}, whose run has no "{key}" (for {dotted!r} in {self.source!r})',
                expression=self.source,
                hint=f"Its run has: {listed}.",
            )
        return Operand(found[key], note=label)

    def _model_name(self, dotted: str) -> str:
        if self.model is not None:
            return self.model
        run_id = self.run_id
        if run_id is not None:
            rows = self.registry.query(
                "SELECT DISTINCT models.name FROM model_versions JOIN models"
                " ON models.id = model_versions.model_id WHERE model_versions.run_id = ?",
                (run_id,),
            )
            if len(rows) == 1:
                self.model = str(rows[0][0])
                return self.model
        raise ExpressionError(
            f"{dotted!r} in {self.source!r} refers to an alias, but no model is named",
            expression=self.source,
            hint="Say which model: check(..., model='churn') or %mlops gate ... --model churn.",
        )

    def _unknown(self, dotted: str, run_id: str | None) -> ExpressionError:
        candidates = list(self.values)
        if run_id is not None:
            metrics, params = self.metrics_of(run_id), self.params_of(run_id)
            candidates += list(metrics) + [f"params.{k}" for k in params]
        close = difflib.get_close_matches(dotted, candidates, n=3)
        where = f" of run {run_id}" if run_id else ""
        if close:
            hint = f"Did you mean {', '.join(close)}?"
        elif run_id is not None:
            listed = ", ".join(sorted(self.metrics_of(run_id))[:12]) or "none"
            hint = f"Metrics{where}: {listed}. Parameters are params.NAME."
        else:
            hint = "Give its value with values={...}."
        return ExpressionError(
            f'Unknown metric or parameter "{dotted}"{where} in {self.source!r}',
            expression=self.source,
            hint=hint,
        )
