"""``POST runs/ID/reproduce``: run a past run again from the panel, in the background,
and follow it.

=====================================  ===================================================
``POST runs/ID/reproduce``             start; 202 with the job (``state: running``)
``GET runs/ID/reproduce``              ``{"environments", "job"}``: the environments it can
                                       run in, and the run's last job on this server or
                                       null (a reopened page picks up a running one)
``GET reproductions/jobs/JOB``         the job: progress lines so far, state, verdict
=====================================  ===================================================

The body of the POST is optional JSON::

    {"env": "current" | "venv" | "container", "data_from_snapshots": false, "params": {"lr": 0.5}}

It is checked before anything starts, as ``jupyter mlops reproduce`` checks its
arguments: an unknown run answers 404, an unknown environment or field, a parameter the
run does not have or a value of the wrong type 400, all with a message and a hint. A run
being reproduced already answers 409 naming the running job. Then the reproduction
(:func:`jupyter_mlops.reproduce.reproduction.reproduce`) runs in a worker thread
(:mod:`~jupyter_mlops.server.reproduction_jobs`) and the job answers::

    {"job", "run_id", "run_name", "environment", "data_from_snapshots", "params",
     "state": "running" | "done" | "failed", "started_at", "ended_at",
     "lines": ["reproducing run ...", "cell 1/6 ...", ...],
     "verdict": null | {"status": "parity" | "mismatch" | "not_checked" | "failed",
                        "summary", "original_run_id", "run_id", "reason", "causes",
                        "notes", "differs_from_here", "reproduction_id", "seconds",
                        "notebook", "notebook_lab_path"},
     "error": null | {"message", "hint"}}

``done`` means the reproduction ran to a verdict (which may say ``failed``: data that
changed, a cell that raised) and is stored with the run; ``failed`` means it stopped
before one (``error`` says why).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import tornado.web
from jupyter_server.utils import url_path_join

from jupyter_mlops.errors import InvalidInputError
from jupyter_mlops.reproduce.reproduction import check_environment, check_request
from jupyter_mlops.server.handlers import API_PREFIX, MlopsAPIHandler
from jupyter_mlops.server.reproduction_jobs import (
    ReproduceOptions,
    ReproductionJob,
    ReproductionJobs,
)

JOBS_SETTING = "jupyter_mlops.reproduction_jobs"
FIELDS = ("env", "data_from_snapshots", "params")
# What each environment of reproduce means, for the panel's choice (ENVIRONMENTS' order).
ENVIRONMENT_TITLES = {
    "current": "The Python of this Jupyter server, with the packages installed here",
    "venv": "A fresh virtual environment with the package versions the run recorded"
    " (made once, then reused; the first time takes minutes)",
    "container": "A container image with the Python and package versions the run recorded"
    " (podman or docker; built once, then reused)",
}
EXAMPLE_BODY = '{"env": "current", "data_from_snapshots": false, "params": {"lr": 0.5}}'


@dataclass(frozen=True)
class ReproduceRequest:
    """The checked body of ``POST runs/ID/reproduce``."""

    options: ReproduceOptions

    @classmethod
    def parse(cls, body: Any) -> ReproduceRequest:
        """Read the optional ``{"env", "data_from_snapshots", "params"}``;
        InvalidInputError when it is not that.

        Example::

            ReproduceRequest.parse({"env": "venv"}).options.env    # 'venv'
            ReproduceRequest.parse({"env": "docker"})              # InvalidInputError
        """
        if body is None:
            return cls(ReproduceOptions())
        if not isinstance(body, dict):
            raise InvalidInputError(
                "The reproduce request must be a JSON object", hint=f"Send {EXAMPLE_BODY}."
            )
        unknown = sorted(set(body) - set(FIELDS))
        if unknown:
            raise InvalidInputError(
                f"The reproduce request has no field {', '.join(repr(k[:40]) for k in unknown)}",
                hint=f"Its fields: {', '.join(FIELDS)}; for example {EXAMPLE_BODY}.",
            )
        env = body.get("env", "current")
        if not isinstance(env, str):
            raise InvalidInputError(
                f"env must be a name, got {env!r:.60}", hint='Use "current", "venv" or "container".'
            )
        check_environment(env)
        snapshots = body.get("data_from_snapshots", False)
        if not isinstance(snapshots, bool):
            raise InvalidInputError(
                f"data_from_snapshots must be true or false, got {snapshots!r:.60}",
                hint="true puts the stored snapshots in place of data that changed since the run.",
            )
        params = body.get("params") or {}
        if not isinstance(params, dict):
            raise InvalidInputError(
                f"params must be an object of parameter names and values, got {params!r:.60}",
                hint='For example "params": {"lr": 0.5}; the run\'s parameters are on its page.',
            )
        try:
            json.dumps(params, allow_nan=False)
        except ValueError as exc:
            raise InvalidInputError(
                "params holds NaN or an infinity, which no parameter can take over JSON",
                hint="Give finite numbers; jupyter mlops reproduce RUN -p name=nan passes NaN.",
            ) from exc
        return cls(ReproduceOptions(env, snapshots, MappingProxyType(dict(params))))


def job_url(base_url: str, job: ReproductionJob) -> str:
    """Where a job is followed: ``GET reproductions/jobs/JOB`` under the server's base URL."""
    return url_path_join(base_url, API_PREFIX, "reproductions", "jobs", job.id)


class _JobsHandler(MlopsAPIHandler):
    @property
    def jobs(self) -> ReproductionJobs:
        """The server's one :class:`ReproductionJobs` (made with the routes)."""
        jobs: ReproductionJobs = self.settings[JOBS_SETTING]
        return jobs


class ReproduceHandler(_JobsHandler):
    """``POST runs/ID/reproduce`` starts a reproduction; ``GET`` gives the run's last job."""

    @tornado.web.authenticated
    async def post(self, run_ref: str) -> None:
        try:
            body = self.get_json_body()
        except tornado.web.HTTPError as exc:
            raise InvalidInputError(
                "The reproduce request is not JSON", hint=f"Send {EXAMPLE_BODY}, or no body."
            ) from exc
        request = ReproduceRequest.parse(body)
        job = await self.in_thread(self._start, run_ref, request.options)
        self.set_status(202)
        self.set_header("Location", job_url(self.base_url, job))
        self.reply(job.view())

    @tornado.web.authenticated
    async def get(self, run_ref: str) -> None:
        run_id = await self.read(lambda registry: check_request(registry, run_ref).id)
        job = self.jobs.latest_for(run_id)
        self.reply(
            {
                "environments": [
                    {"name": name, "title": title} for name, title in ENVIRONMENT_TITLES.items()
                ],
                "job": None if job is None else job.view(),
            }
        )

    def _start(self, run_ref: str, options: ReproduceOptions) -> ReproductionJob:
        with self.source.registry() as registry:
            run = check_request(registry, run_ref, env=options.env, params=options.params)
            return self.jobs.start(registry, run.id, run.name, options)


class ReproductionJobHandler(_JobsHandler):
    """``GET reproductions/jobs/JOB``: the job's progress, state and verdict."""

    @tornado.web.authenticated
    async def get(self, job_id: str) -> None:
        self.reply(self.jobs.get(job_id).view())
