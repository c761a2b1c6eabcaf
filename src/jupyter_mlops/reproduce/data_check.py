"""In the reproducing kernel, between the closure and the run's cells: is the data the
closure rebuilt the data the run read?

Each variable the run read as data (a snapshot linked to the run under that variable) and
that the closure bound is fingerprinted with the scheme and index policy of its snapshot
and compared with it. A variable whose content differs stops the reproduction with a
:class:`~jupyter_mlops.errors.ReproductionError` that names it and the files it was loaded
from (those whose bytes changed since the run first) — unless ``substitute`` is set and
the snapshot was stored with its data (``materialize``): the stored data, verified by hash
and fingerprint, then takes the variable's place, and the line returned says so.

    check_inputs(globals(), "3f2a9c1b7e40", substitute=False)
    # ['raw: as the run read it (fingerprint 9d1c0e2a4b7f)']
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from typing import Any

from ..errors import ReproductionError
from ..registry.connection import Registry
from ..snapshots.snapshot import fingerprint
from ..snapshots.store import load_snapshot, load_snapshot_data
from ..tracking.closure import Closure, ClosureFile, file_digest
from ..tracking.closure_rows import read_closure
from ..tracking.queries.detail import run_detail
from ..tracking.queries.records import SnapshotLink


def check_inputs(
    namespace: MutableMapping[str, Any],
    run_id: str,
    *,
    names: Iterable[str] | None = None,
    substitute: bool = False,
    registry: Registry | None = None,
) -> list[str]:
    """Check the data variables of ``namespace`` that run ``run_id`` read (only ``names``
    when given, each once per call); one line per variable checked. See the module
    docstring."""
    if registry is None:
        from ..tracking.session import default_registry

        registry = default_registry()
    detail = run_detail(registry, run_id, series=False)
    closure = read_closure(registry, detail.run.id) or Closure(cells=())
    lines: list[str] = []
    by_variable: dict[str, list[SnapshotLink]] = {}
    for link in detail.snapshots:
        if link.variable and link.variable in namespace:  # else bound by the run's cells
            by_variable.setdefault(link.variable, []).append(link)
    for variable, links in by_variable.items():
        if names is not None and variable not in set(names):
            continue
        value = namespace[variable]
        stored = [load_snapshot(registry, link.id) for link in links]
        now = {
            (s.index_policy, s.fingerprint_scheme): fingerprint(
                value, index=s.index_policy, scheme=s.fingerprint_scheme
            )
            for s in stored
        }
        matched = next(
            (s for s in stored if now[(s.index_policy, s.fingerprint_scheme)] == s.fingerprint),
            None,
        )
        if matched is not None:
            lines.append(f"{variable}: as the run read it (fingerprint {matched.fingerprint[:12]})")
            continue
        first, snapshot = links[0], stored[0]
        current = now[(snapshot.index_policy, snapshot.fingerprint_scheme)]
        files = closure.files_behind(variable)
        kept = next((link for link in links if link.materialized), None)
        if substitute and kept is not None:
            namespace[variable] = _as_recorded(load_snapshot_data(registry, kept.id), kept.kind)
            lines.append(
                f"{variable}: changed{_from_files(files)}; the data stored with snapshot"
                f' "{kept.name}" ({kept.fingerprint[:12]}, verified) takes its place'
            )
            continue
        changed = [f for f in files if _changed(f)]
        named = changed or list(files)
        raise ReproductionError(
            f"{variable} is not the data run {detail.run.id[:12]} read: its fingerprint is"
            f" {current[:12]}, the run's was {first.fingerprint[:12]}"
            + (_from_files(named, changed=bool(changed)) if named else ""),
            variable=variable,
            paths=tuple(f.resolved for f in named),
            hint=(
                "Restore the file as it was, or reproduce with --data-from-snapshots"
                if kept is not None
                else "Restore the file as it was; snapshots stored with their data"
                " (%mlops snapshot VAR --materialize) let --data-from-snapshots stand in"
            ),
        )
    return lines


def _changed(file: ClosureFile) -> bool:
    from pathlib import Path

    if file.sha256 is None:
        return False
    return file_digest(Path(file.resolved))[0] != file.sha256


def _from_files(files: Any, *, changed: bool = True) -> str:
    if not files:
        return ""
    paths = ", ".join(f.path for f in files)
    return f" (loaded from {paths}, {'changed since the run' if changed else 'as named'})"


def _as_recorded(frame: Any, kind: str) -> Any:
    """The stored frame as the kind of value the run read (a Series, an array)."""
    if kind == "series":
        return frame.iloc[:, 0]
    if kind == "ndarray":
        return frame.to_numpy()
    return frame
