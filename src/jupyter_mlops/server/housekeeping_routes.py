"""The write routes of run housekeeping: a run changed, archived, restored or purged, an
experiment's note written. Each goes through the same core functions as the API, the
magics and the CLI (:mod:`jupyter_mlops.tracking.housekeeping`, :mod:`.purge`).

=============================  ===================================================
``PATCH runs/ID``              ``{"note", "name", "tags", "untag", "experiment",
                               "archived"}``, any of them, applied in that order in
                               one transaction (all or nothing); the reply is
                               ``{"changes": [{"action", "message"}], "run": ...}``
                               with the run as ``GET runs/ID`` gives it
``DELETE runs/ID?confirm=true``  purge the run for good (refused without ``confirm``)
``GET runs/ID/purge``          what a purge would delete, nothing written: ``{"run_id",
                               "name", "runs", "unique_artifacts", "shared_artifacts",
                               "bytes_freed", "message"}`` (a confirmation dialog says it)
``GET experiments/NAME``       ``{"experiment", "note"}``
``PATCH experiments/NAME``     ``{"note": "markdown"}``; ``""`` removes it
=============================  ===================================================

Like every write of a Jupyter server, these need Jupyter's authentication and, from a
browser session, its XSRF token. Every change is a registry transaction, so ``GET
changes`` moves and open panels refresh.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import tornado.web

from jupyter_mlops.errors import InvalidInputError
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.server import payloads
from jupyter_mlops.server.handlers import MlopsAPIHandler
from jupyter_mlops.tracking import housekeeping
from jupyter_mlops.tracking.purge import purge_plan, purge_run
from jupyter_mlops.tracking.queries.refs import resolve_run

# The fields of ``PATCH runs/ID``, in the order they are applied, with the JSON type each takes.
RUN_FIELDS: tuple[tuple[str, type | tuple[type, ...]], ...] = (
    ("note", str),
    ("name", str),
    ("tags", dict),
    ("untag", list),
    ("experiment", str),
    ("archived", bool),
)
_EXAMPLE = '{"name": "baseline-v2", "tags": {"review": "done"}, "archived": true}'


def run_changes(
    registry: Registry, ref: str, body: Mapping[str, Any], *, root_dir: Path
) -> dict[str, Any]:
    """Apply the changes ``body`` asks for to the run ``ref`` names, in one transaction."""
    changes = _checked(body)
    done: list[housekeeping.RunChange] = []
    with registry.transaction(f"the changes of run {ref}"):
        run_id = resolve_run(registry, ref)  # the id: a rename must not lose the run
        for field, value in changes:
            done.append(_apply(registry, run_id, field, value))
    return {
        "changes": [{"action": change.action, "message": change.message} for change in done],
        "run": payloads.run_payload(registry, run_id, root_dir=root_dir)["run"],
    }


def _apply(registry: Registry, run_id: str, field: str, value: Any) -> housekeeping.RunChange:
    if field == "note":
        return housekeeping.note_run(registry, run_id, value)
    if field == "name":
        return housekeeping.rename_run(registry, run_id, value)
    if field == "tags":
        return housekeeping.tag_run(registry, run_id, value)
    if field == "untag":
        return housekeeping.untag_run(registry, run_id, value)
    if field == "experiment":
        return housekeeping.move_run(registry, run_id, value)
    change: Callable[[Registry, str], housekeeping.RunChange] = (
        housekeeping.archive_run if value else housekeeping.restore_run
    )
    return change(registry, run_id)


def _checked(body: Any) -> list[tuple[str, Any]]:
    """The changes of a ``PATCH runs/ID`` body, each of the right type, else a 400."""
    if not isinstance(body, dict) or not body:
        raise InvalidInputError(
            "The request asks for no change of the run", hint=f"Send {_EXAMPLE}."
        )
    known = dict(RUN_FIELDS)
    unknown = sorted(set(body) - set(known))
    if unknown:
        raise InvalidInputError(
            f'A run has no field "{unknown[0]}" to change',
            hint=f"Fields: {', '.join(name for name, _ in RUN_FIELDS)}.",
        )
    found: list[tuple[str, Any]] = []
    for field, kind in RUN_FIELDS:
        if field not in body:
            continue
        value: Any = body[field]
        mistyped = not isinstance(value, kind) or (
            isinstance(value, list) and not all(isinstance(key, str) for key in value)
        )
        if mistyped:
            raise InvalidInputError(
                f'"{field}" must be {_kind_name(field)}, got {type(value).__name__}',
                hint=f"For example {_EXAMPLE}.",
            )
        found.append((field, value))
    return found


def _kind_name(field: str) -> str:
    return {
        "tags": "an object of tags",
        "untag": "a list of tag names",
        "archived": "true or false",
    }.get(field, "text")


def purge_payload(registry: Registry, ref: str, *, confirm: bool) -> dict[str, Any]:
    """``DELETE runs/ID``: the purge's result, or a 400 that says how to confirm."""
    if not confirm:
        plan = purge_plan(registry, ref)
        raise InvalidInputError(
            f"Purging deletes {plan.describe()} for good; it was not confirmed",
            hint="Send DELETE runs/ID?confirm=true to purge it, or PATCH"
            ' {"archived": true} to hide it instead (it can be restored).',
        )
    result = purge_run(registry, ref, confirm=True)
    return {
        "purged": list(result.run_ids),
        "removed_artifacts": list(result.removed_artifacts),
        "kept_artifacts": list(result.kept_artifacts),
        "bytes_freed": result.bytes_freed,
        "message": result.message,
    }


def purge_plan_payload(registry: Registry, ref: str) -> dict[str, Any]:
    """``GET runs/ID/purge``: what purging the run would delete and keep; nothing is written."""
    plan = purge_plan(registry, ref)
    return {
        "run_id": plan.run_id,
        "name": plan.name,
        "runs": list(plan.run_ids),
        "unique_artifacts": len(plan.unique_artifacts),
        "shared_artifacts": len(plan.shared_artifacts),
        "bytes_freed": plan.bytes_freed,
        "message": f"Purging deletes {plan.describe()} for good"
        + (
            f"; {len(plan.shared_artifacts)} artifact(s) other records use stay."
            if plan.shared_artifacts
            else "."
        ),
    }


def experiment_payload(registry: Registry, name: str) -> dict[str, Any]:
    """``GET experiments/NAME``: the experiment's note."""
    return {"experiment": name, "note": housekeeping.experiment_note(registry, name)}


def experiment_changes(registry: Registry, name: str, body: Any) -> dict[str, Any]:
    """``PATCH experiments/NAME`` with ``{"note": "..."}``."""
    if not isinstance(body, dict) or set(body) != {"note"} or not isinstance(body["note"], str):
        raise InvalidInputError(
            "An experiment's note is the one thing this route changes",
            hint='Send {"note": "markdown text"} ("" removes it).',
        )
    written = housekeeping.note_experiment(registry, name, body["note"])
    return {"experiment": name, "note": written.note, "message": written.message}


class RunWritesHandler(MlopsAPIHandler):
    """``PATCH runs/ID`` and ``DELETE runs/ID?confirm=true`` (``GET`` is in the routes)."""

    @tornado.web.authenticated
    async def patch(self, run_id: str) -> None:
        body = self.json_body()
        self.reply(await self.read(run_changes, run_id, body, root_dir=self.root_dir))

    @tornado.web.authenticated
    async def delete(self, run_id: str) -> None:
        confirm = payloads.flag(self.argument("confirm"), "confirm")
        self.reply(await self.read(purge_payload, run_id, confirm=confirm))

    def json_body(self) -> Any:
        try:
            return self.get_json_body()
        except tornado.web.HTTPError as exc:
            raise InvalidInputError("The request is not JSON", hint=f"Send {_EXAMPLE}.") from exc


class PurgePlanHandler(MlopsAPIHandler):
    """``GET runs/ID/purge``: what ``DELETE runs/ID?confirm=true`` would delete."""

    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        self.reply(await self.read(purge_plan_payload, run_id))


class ExperimentHandler(MlopsAPIHandler):
    """``GET experiments/NAME`` and ``PATCH experiments/NAME``: its note."""

    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        self.reply(await self.read(experiment_payload, name))

    @tornado.web.authenticated
    async def patch(self, name: str) -> None:
        try:
            body = self.get_json_body()
        except tornado.web.HTTPError as exc:
            raise InvalidInputError(
                "The request is not JSON", hint='Send {"note": "markdown text"}.'
            ) from exc
        self.reply(await self.read(experiment_changes, name, body))
