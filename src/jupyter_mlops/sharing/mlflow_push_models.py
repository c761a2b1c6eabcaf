"""Model versions and aliases on an MLflow server: a version of a registered model of the
same name whose source is the model file pushed with its run (``models/NAME/vN/``), and
MLflow aliases on the versions that were pushed.

MLflow numbers a model's versions its own way (a server that already had versions of the
name goes on from there), so each version carries the tag ``mlops.version`` with ours and
the record maps one to the other; ``mlops.run_id`` names its run here and
``mlops.created_at`` its exact registration time (seconds, as Python writes the float),
so that an import gives the version back as it is here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ..errors import TrackingServerError
from ..registry.connection import Registry
from .mlflow_api import MlflowServer
from .mlflow_push_content import model_file_path
from .mlflow_push_limits import Unmappable, model_name_problem
from .mlflow_push_record import PushedObject, PushRecord
from .mlflow_push_runs import Tally

_ALIAS = re.compile(r"^[\w\-]+$")


class ModelSender:
    """Pushes versions and aliases, counting in ``tally`` and telling ``report`` how far."""

    def __init__(
        self,
        registry: Registry,
        server: MlflowServer,
        record: PushRecord,
        tally: Tally,
        report: Callable[[str, int, int, str], None],
    ) -> None:
        self.registry = registry
        self.server = server
        self.record = record
        self.tally = tally
        self._report = report
        self._remote: dict[str, dict[tuple[str, str], str]] = {}

    def push_versions(self, run_ids: list[str]) -> tuple[dict[int, PushedObject], list[str]]:
        """Versions made from pushed runs, as versions of MLflow registered models; the
        versions pushed so far (this time or before) by our version id, and the models
        this push was about."""
        pushed_runs = self.record.all("run")
        rows = self.registry.query(
            "SELECT model_versions.id, models.name AS model, model_versions.version,"
            " model_versions.run_id, model_versions.description, model_versions.created_at,"
            " artifacts.format,"
            " runs.name AS run_name"
            " FROM model_versions JOIN models ON models.id = model_versions.model_id"
            " JOIN artifacts ON artifacts.sha256 = model_versions.artifact_sha256"
            " LEFT JOIN runs ON runs.id = model_versions.run_id"
            " ORDER BY models.name, model_versions.version"
        )
        wanted = set(run_ids)
        versions = self.record.all("model_version")
        todo = [row for row in rows if row["run_id"] in wanted or row["run_id"] is None]
        models_made: set[str] = set()
        for i, row in enumerate(todo, 1):
            label = f"model {row['model']} version {row['version']}"
            key = str(row["id"])
            if key in versions:
                versions[key] = self._with_time(versions[key], row)
                self.tally.count("unchanged", "model versions")
            elif row["run_id"] is None:
                self.tally.unmappable.append(
                    Unmappable(
                        label,
                        "the version",
                        "it was registered outside any run, and an MLflow model version's"
                        " file lives in a run",
                    )
                )
            elif (problem := model_name_problem(row["model"])) is not None:
                self.tally.unmappable.append(Unmappable(label, "the model's name", problem))
            elif row["run_id"] in pushed_runs:
                run = self.record.get("run", row["run_id"])
                assert run is not None
                path = model_file_path(row["model"], row["version"], row["format"])
                there = self._remote_versions(row["model"]).get(
                    (str(row["version"]), row["run_id"])
                )
                if path not in run.sent.get("files", {}):
                    self.tally.unmappable.append(
                        Unmappable(label, "its file", "the file is missing from the registry")
                    )
                elif there is not None:  # pushed before, and the record of it was lost
                    versions[key] = self.record.put(
                        PushedObject(
                            "model_version",
                            key,
                            f"{row['model']}/{there}",
                            {"model": row["model"], "version": there},
                        )
                    )
                    versions[key] = self._with_time(versions[key], row)
                    self.tally.count("unchanged", "model versions")
                else:
                    if row["model"] not in models_made:
                        self._ensure_model(row["model"])
                        models_made.add(row["model"])
                    versions[key] = self._create_version(row, run, path)
            self._report("model versions", i, len(todo), label)
        models = sorted({row["model"] for row in todo})
        return {int(k): v for k, v in versions.items()}, models

    def _remote_versions(self, model: str) -> dict[tuple[str, str], str]:
        """The server's versions of ``model`` pushed from here: (our version, our run id)
        -> MLflow's version; read once per push and model."""
        if model not in self._remote:
            found: dict[tuple[str, str], str] = {}
            if "'" not in model:
                request = {"filter": f"name = '{model}'", "max_results": 200}
                for version in self.server.pages(
                    "GET", "model-versions/search", request, "model_versions"
                ):
                    tags = {t["key"]: t["value"] for t in version.get("tags", [])}
                    if "mlops.version" in tags and "mlops.run_id" in tags:
                        found[(tags["mlops.version"], tags["mlops.run_id"])] = version["version"]
            self._remote[model] = found
        return self._remote[model]

    def _create_version(self, row: Any, run: PushedObject, path: str) -> PushedObject:
        made = self.server.post(
            "model-versions/create",
            {
                "name": row["model"],
                "source": f"{run.sent['artifact_uri']}/{path.rsplit('/', 1)[0]}",
                "run_id": run.remote_id,
                "description": row["description"] or "",
                "tags": [
                    {"key": "mlops.version", "value": str(row["version"])},
                    {"key": "mlops.run_id", "value": row["run_id"]},
                    {"key": "mlops.created_at", "value": _created_at(row)},
                ],
            },
        )["model_version"]
        self.tally.count("created", "model versions")
        self.tally.add_sent("model versions", 1)
        key = str(row["id"])
        return self.record.put(
            PushedObject(
                "model_version",
                key,
                f"{row['model']}/{made['version']}",
                {
                    "model": row["model"],
                    "version": str(made["version"]),
                    "created_at": _created_at(row),
                },
            )
        )

    def _with_time(self, pushed: PushedObject, row: Any) -> PushedObject:
        """A version pushed before versions carried their registration time gets its tag
        ``mlops.created_at`` (once)."""
        if pushed.sent.get("created_at") == _created_at(row):
            return pushed
        self.server.post(
            "model-versions/set-tag",
            {
                "name": pushed.sent["model"],
                "version": pushed.sent["version"],
                "key": "mlops.created_at",
                "value": _created_at(row),
            },
        )
        self.tally.add_sent("version tags", 1)
        return self.record.put(pushed.with_sent(created_at=_created_at(row)))

    def _ensure_model(self, name: str) -> None:
        if self.record.get("model", name) is not None:
            return
        try:
            self.server.post("registered-models/create", {"name": name})
        except TrackingServerError as exc:
            if exc.status != 400 or "RESOURCE_ALREADY_EXISTS" not in exc.message:
                raise
        self.record.put(PushedObject("model", name, name, {}))

    def push_aliases(self, versions: dict[int, PushedObject], models: list[str]) -> None:
        """Each model of the push gets the aliases whose version was pushed; an alias on
        a version that was not is reported."""
        aliases = self.registry.query(
            "SELECT models.name AS model, model_aliases.alias, model_aliases.version_id,"
            " model_versions.version FROM model_aliases"
            " JOIN models ON models.id = model_aliases.model_id"
            " JOIN model_versions ON model_versions.id = model_aliases.version_id"
            " ORDER BY models.name, model_aliases.alias"
        )
        for i, model in enumerate(models, 1):
            wanted: dict[str, str] = {}
            for row in (row for row in aliases if row["model"] == model):
                label = f"alias {model}@{row['alias']}"
                version = versions.get(row["version_id"])
                if version is None:
                    self.tally.unmappable.append(
                        Unmappable(
                            label, f"version {row['version']}", "that version was not pushed"
                        )
                    )
                elif not _ALIAS.match(row["alias"]) or row["alias"].lower() == "latest":
                    self.tally.unmappable.append(
                        Unmappable(
                            label,
                            "the alias",
                            "MLflow takes aliases of letters, digits, _ and -, other than 'latest'",
                        )
                    )
                else:
                    wanted[row["alias"]] = version.sent["version"]
            pushed = self.record.get("model_aliases", model) or PushedObject(
                "model_aliases", model, model, {"aliases": {}}
            )
            held: dict[str, str] = dict(pushed.sent.get("aliases", {}))
            for alias, number in wanted.items():
                if held.get(alias) == number:
                    self.tally.count("unchanged", "aliases")
                    continue
                self.server.post(
                    "registered-models/alias",
                    {"name": model, "alias": alias, "version": number},
                )
                self.tally.count("created" if alias not in held else "updated", "aliases")
                held[alias] = number
                pushed = self.record.put(pushed.with_sent(aliases=held))
                self.tally.add_sent("aliases", 1)
            for alias in sorted(set(held) - set(wanted)):
                self.server.delete("registered-models/alias", name=model, alias=alias)
                held.pop(alias)
                pushed = self.record.put(pushed.with_sent(aliases=held))
                self.tally.add_sent("aliases removed", 1)
            self._report("aliases", i, len(models), model)


def _created_at(row: Any) -> str:
    """A version's registration time as its tag ``mlops.created_at`` holds it (exact)."""
    return repr(float(row["created_at"]))
