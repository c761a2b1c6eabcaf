"""Did the same results come back? A reproduction's metrics against the original run's,
and, when they differ, what the registry and the code can show about why.

The likely causes, most likely first:

- calls that draw at random with no seed, in the closure or the run's cells (the same
  reading as the exporter's, :mod:`jupyter_mlops.export.determinism`);
- package versions (and Python's) that differ between the two runs' environments;
- input data whose fingerprints differ, and files the cells read that changed since;
- cells that read the network or the clock (``requests.get``, ``urlopen``,
  ``datetime.now()``, ``time.time()``): what they return is not the code's to decide.
"""

from __future__ import annotations

import ast
import importlib.metadata
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from ..export.determinism import describe, unseeded_in_cells
from ..export.layout import CodeCell
from ..registry.connection import Registry
from ..runner.parity import (
    ABS_TOLERANCE,
    REL_TOLERANCE,
    json_metric,
    metric_text,
    metrics_close,
)
from ..runner.parity_causes import environment_causes, snapshot_causes
from ..tracking.capture.code_names import dotted_name, plain_python
from ..tracking.closure import Closure, file_digest

# Calls whose result is the network's or the clock's: (module, function) and, for a
# method of a client, the method names under that module.
NETWORK = {
    "requests": None,
    "httpx": None,
    "urllib.request": frozenset({"urlopen", "urlretrieve"}),
    "socket": None,
}
CLOCK = {
    "time": frozenset({"time", "time_ns", "localtime", "gmtime", "ctime", "strftime"}),
    "datetime.datetime": frozenset({"now", "utcnow", "today"}),
    "datetime.date": frozenset({"today"}),
    "pandas.Timestamp": frozenset({"now", "today", "utcnow"}),
}


@dataclass(frozen=True)
class MetricComparison:
    """One metric's last value in the original run and in the reproduction."""

    key: str
    original: float | None
    reproduced: float | None
    equal: bool


@dataclass(frozen=True)
class Verdict:
    """``status``: ``parity`` (every shared metric equal within the tolerance),
    ``mismatch`` (``compared`` says which differ, ``causes`` why it may be), ``not_checked``
    (``reason``: other parameters, or no metric in common) or ``failed`` (``reason``)."""

    status: str
    original_run_id: str
    run_id: str | None = None
    reason: str = ""
    compared: tuple[MetricComparison, ...] = ()
    only_in_original: tuple[str, ...] = ()
    only_in_reproduction: tuple[str, ...] = ()
    causes: tuple[str, ...] = ()
    # "name then -> now": the original's versions that differ from where the command ran
    differs_from_here: tuple[str, ...] = ()
    rel_tolerance: float = REL_TOLERANCE
    abs_tolerance: float = ABS_TOLERANCE
    notes: tuple[str, ...] = field(default=())  # what the data check said, and the like

    @property
    def exit_code(self) -> int:
        """``jupyter mlops reproduce``'s exit status: 0 parity (or ran with other parameters,
        nothing to compare), 1 mismatch, 2 could not run."""
        return {"parity": 0, "not_checked": 0, "mismatch": 1}.get(self.status, 2)

    @property
    def mismatches(self) -> tuple[MetricComparison, ...]:
        return tuple(m for m in self.compared if not m.equal)

    def summary(self) -> str:
        """One line for people."""
        original = f"run {self.original_run_id[:12]}"
        if self.status == "failed":
            return f"reproduction of {original} FAILED: {self.reason}"
        if self.status == "not_checked":
            return f"reproduction of {original} ran; parity not checked: {self.reason}"
        tolerance = f"rel {self.rel_tolerance:g}, abs {self.abs_tolerance:g}"
        if self.status == "parity":
            keys = ", ".join(m.key for m in self.compared)
            return (
                f"parity ok: {len(self.compared)} metric(s) of {original} came back"
                f" within {tolerance} ({keys})"
            )
        shown = "; ".join(
            f"{m.key}: {metric_text(m.original)} then, {metric_text(m.reproduced)} now"
            for m in self.mismatches
        )
        return (
            f"parity MISMATCH with {original} ({tolerance}): {len(self.mismatches)} of"
            f" {len(self.compared)} metric(s) differ: {shown}"
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for item in data["compared"]:
            item["original"] = json_metric(item["original"])
            item["reproduced"] = json_metric(item["reproduced"])
        return data


def judge(
    registry: Registry,
    original_run_id: str,
    run_id: str,
    *,
    cells: Sequence[str],
    closure: Closure | None,
    overrides: Mapping[str, Any],
    rel_tolerance: float = REL_TOLERANCE,
    abs_tolerance: float = ABS_TOLERANCE,
    notes: Sequence[str] = (),
) -> Verdict:
    """The verdict on run ``run_id`` reproducing ``original_run_id``; ``cells`` are the
    sources that ran (closure and run cells), ``overrides`` the parameters given."""
    from ..tracking.queries.detail import run_detail

    original = run_detail(registry, original_run_id, series=False)
    again = run_detail(registry, run_id, series=False)
    base = Verdict(
        "not_checked",
        original_run_id,
        run_id,
        rel_tolerance=rel_tolerance,
        abs_tolerance=abs_tolerance,
        differs_from_here=versions_differing_from_here(original.environment),
        notes=tuple(notes),
    )
    if overrides:
        shown = ", ".join(f"{k}={v!r}" for k, v in overrides.items())
        return replace(base, reason=f"run with other parameters ({shown})")
    before = {m.key: m.last for m in original.metrics if not m.key.startswith("system/")}
    after = {m.key: m.last for m in again.metrics if not m.key.startswith("system/")}
    shared = sorted(set(before) & set(after))
    base = replace(
        base,
        only_in_original=tuple(sorted(set(before) - set(after))),
        only_in_reproduction=tuple(sorted(set(after) - set(before))),
    )
    if not shared:
        return replace(base, reason="the two runs logged no metric in common")
    compared = tuple(
        MetricComparison(
            key,
            before[key],
            after[key],
            metrics_close(before[key], after[key], rel_tolerance, abs_tolerance),
        )
        for key in shared
    )
    if all(m.equal for m in compared):
        return replace(base, status="parity", compared=compared)
    causes = likely_causes(registry, original_run_id, run_id, cells=cells, closure=closure)
    return replace(base, status="mismatch", compared=compared, causes=causes)


def likely_causes(
    registry: Registry,
    original_run_id: str,
    run_id: str,
    *,
    cells: Sequence[str],
    closure: Closure | None,
) -> tuple[str, ...]:
    """What may make the reproduction's metrics differ; see the module docstring."""
    parsed = []
    for index, source in enumerate(cells):
        python = plain_python(source)
        try:
            parsed.append(CodeCell(index, python, (), ast.parse(python)))
        except SyntaxError:
            continue
    causes = [f"unseeded: {describe(call)}" for call in unseeded_in_cells(parsed)]
    causes.extend(environment_causes(registry, original_run_id, [run_id]))
    causes.extend(snapshot_causes(registry, original_run_id, [run_id]))
    if closure is not None:
        changed = [
            f.path
            for f in closure.files
            if f.sha256 is not None and file_digest(Path(f.resolved))[0] != f.sha256
        ]
        if changed:
            causes.append(f"files changed since the run: {', '.join(changed)}")
    causes.extend(outside_calls(parsed))
    return tuple(causes)


def outside_calls(cells: Sequence[CodeCell]) -> list[str]:
    """The calls of ``cells`` whose results come from the network or the clock."""
    aliases: dict[str, str] = {}
    for cell in cells:
        for node in ast.walk(cell.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    aliases[alias.asname or alias.name.split(".")[0]] = (
                        alias.name if alias.asname else alias.name.split(".")[0]
                    )
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    found: list[str] = []
    for cell in cells:
        for node in ast.walk(cell.tree):
            if not isinstance(node, ast.Call):
                continue
            name = dotted_name(node.func)
            if not name:
                continue
            head, _, rest = name.partition(".")
            full = aliases.get(head, head) + (f".{rest}" if rest else "")
            what = _outside(full)
            if what:
                text = " ".join((ast.get_source_segment(cell.source, node) or name).split())
                found.append(
                    f"reads {what}: cell {cell.index + 1}, line {node.lineno}: `{text[:80]}`"
                )
    return found


def _outside(full: str) -> str | None:
    module, _, function = full.rpartition(".")
    for prefix, functions in NETWORK.items():
        if (full.startswith(prefix + ".") or module == prefix) and (
            functions is None or function in functions
        ):
            return "the network"
    for prefix, functions in CLOCK.items():
        if module == prefix and function in functions:
            return "the clock"
    return None


def versions_differing_from_here(environment: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The packages of a run's ``environment`` whose installed version here differs, as
    ``name then -> now`` (``not installed`` when it is not)."""
    if not environment:
        return ()
    differing = []
    for name, version in sorted(dict(environment.get("packages", {})).items()):
        try:
            here = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            here = "not installed"
        if here != version:
            differing.append(f"{name} {version} -> {here}")
    return tuple(differing)
