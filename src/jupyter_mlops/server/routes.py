"""The routes of the jupyter-mlops server extension, under ``/jupyter-mlops/api/``.

=====================  =========================================================
``GET status``         version, server root, where the registry is
``GET changes``        ``{marker}``: changes when the registry is written or replaced
``GET experiments``    experiments with their number of runs
``GET runs``           a page of runs: ``experiment``, ``where``, ``code``, ``sort``,
                       ``page``, ``page_size``, ``after``/``before`` (a cursor),
                       ``parent`` (a run's children), ``top_level``; child counts
``GET runs/ID``        one run in full, with its artifacts
``GET runs/ID/sweep``  the run's children against a metric (``metric``, ``maximize``)
``GET artifacts/SHA``  an artifact's bytes by sha256, checked, with its media type
``GET snapshots``      data snapshots (``limit``, ``offset``)
``GET models``         models, versions, aliases, each version's latest gate verdict
``GET|POST models/NAME/monitoring``  a served model's monitor windows; POST runs the
                       monitor now (see monitoring_route.py)
``GET gates``          gate evaluations (``run``, ``model``, ``limit``)
``GET drift``          drift reports, each with its columns' verdicts
``GET pipelines``      pipeline runs, each with its steps
``POST export``        export a notebook of the server's root to a pipeline
``POST runs/ID/reproduce``  reproduce a run in the background (see reproduce_route.py);
                       ``GET`` gives its last job
``GET reproductions/jobs/JOB``  a reproduction's progress lines, state and verdict
``PATCH runs/ID``      change a run: note, name, tags, experiment, archived
``DELETE runs/ID``     purge a run for good (``confirm=true``)
``GET runs/ID/purge``  what purging the run would delete and keep
``GET compare``        runs side by side: ``runs=ID,ID,...`` (see compare_route.py)
``GET|PATCH experiments/NAME``  an experiment's note
``GET|PUT experiments/NAME/columns``  the columns chosen for its runs tables
=====================  =========================================================

``GET runs`` leaves archived runs out; ``archived=true`` lists only them,
``archived=all`` every run. The write routes are in
:mod:`jupyter_mlops.server.housekeeping_routes` and :mod:`jupyter_mlops.server.column_routes`.

The JSON of each is built in :mod:`jupyter_mlops.server.payloads`; the handlers here
parse arguments, call it on the server's registry and reply.
"""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import Any

import tornado.web
from jupyter_server.utils import url_path_join

from jupyter_mlops.server import drift_payloads, payloads
from jupyter_mlops.server.column_routes import ColumnsHandler
from jupyter_mlops.server.compare_route import CompareHandler
from jupyter_mlops.server.export_route import ExportHandler
from jupyter_mlops.server.handlers import API_PREFIX, SOURCE_SETTING, MlopsAPIHandler
from jupyter_mlops.server.housekeeping_routes import (
    ExperimentHandler,
    PurgePlanHandler,
    RunWritesHandler,
)
from jupyter_mlops.server.monitoring_route import MonitoringHandler
from jupyter_mlops.server.registry_source import RegistrySource
from jupyter_mlops.server.reproduce_route import (
    JOBS_SETTING,
    ReproduceHandler,
    ReproductionJobHandler,
)
from jupyter_mlops.server.reproduction_jobs import ReproductionJobs

from .._version import __version__

MAX_LIST_LIMIT = 1000


class StatusHandler(MlopsAPIHandler):
    """``GET status``: version, server root and where the registry is (if anywhere)."""

    @tornado.web.authenticated
    async def get(self) -> None:
        location = await self.in_thread(self.source.location)
        self.reply(
            {
                "version": __version__,
                "root_dir": str(self.root_dir),
                "registry": {
                    "path": None if location.path is None else str(location.path),
                    "exists": location.exists,
                },
            }
        )


class ChangesHandler(MlopsAPIHandler):
    """``GET changes``: a marker that moves whenever the registry is written or replaced."""

    @tornado.web.authenticated
    async def get(self) -> None:
        self.reply({"marker": await self.in_thread(self.source.change_marker)})


class ExperimentsHandler(MlopsAPIHandler):
    """``GET experiments``."""

    @tornado.web.authenticated
    async def get(self) -> None:
        self.reply(await self.read(payloads.experiments_payload))


class RunsHandler(MlopsAPIHandler):
    """``GET runs?experiment=E&where=EXPR&code=TEXT&sort=KEY|-KEY&page=N&page_size=M``,
    and ``&after=CURSOR`` (or ``before``) for the page next to one already read;
    ``&parent=RUN`` for the children of a run, ``&top_level=true`` for runs without one."""

    @tornado.web.authenticated
    async def get(self) -> None:
        request = payloads.RunsRequest.parse(self.argument)
        self.reply(await self.read(payloads.runs_payload, request, root_dir=self.root_dir))


class RunHandler(RunWritesHandler):
    """``GET runs/ID``; ``PATCH`` and ``DELETE`` change and purge it (see
    :mod:`~jupyter_mlops.server.housekeeping_routes`)."""

    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        self.reply(await self.read(payloads.run_payload, run_id, root_dir=self.root_dir))


class ArtifactHandler(MlopsAPIHandler):
    """``GET artifacts/SHA256``: the artifact's bytes, checked against the hash, served with
    the media type it was logged with. The answer is sandboxed (no script of an HTML or
    SVG artifact runs with the server's origin) and never sniffed as another type."""

    @tornado.web.authenticated
    async def get(self, sha: str) -> None:
        media_type, data = await self.read(payloads.artifact_download, sha)
        self.set_header("Content-Security-Policy", "sandbox")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Cache-Control", "private, max-age=31536000, immutable")
        self.finish(data, set_content_type=media_type)


class SweepHandler(MlopsAPIHandler):
    """``GET runs/ID/sweep?metric=M&maximize=true|false``."""

    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        raw = self.argument("maximize")
        maximize = None if raw is None or not raw.strip() else payloads.flag(raw, "maximize")
        metric = payloads.text_argument(self.argument("metric"))
        self.reply(
            await self.read(
                payloads.sweep_payload,
                run_id,
                root_dir=self.root_dir,
                metric=metric,
                maximize=maximize,
            )
        )


class SnapshotsHandler(MlopsAPIHandler):
    """``GET snapshots?limit=N&offset=M``."""

    @tornado.web.authenticated
    async def get(self) -> None:
        limit = payloads.whole_number(
            self.argument("limit"),
            "limit",
            default=payloads.DEFAULT_LIST_LIMIT,
            low=1,
            high=MAX_LIST_LIMIT,
        )
        offset = payloads.whole_number(self.argument("offset"), "offset", default=0, low=0,
                                       high=10**9)  # fmt: skip
        self.reply(await self.read(payloads.snapshots_payload, limit=limit, offset=offset))


class ModelsHandler(MlopsAPIHandler):
    """``GET models``."""

    @tornado.web.authenticated
    async def get(self) -> None:
        self.reply(await self.read(payloads.models_payload))


class GatesHandler(MlopsAPIHandler):
    """``GET gates?run=ID&model=NAME&limit=N``."""

    @tornado.web.authenticated
    async def get(self) -> None:
        limit = payloads.whole_number(
            self.argument("limit"), "limit", default=50, low=1, high=MAX_LIST_LIMIT
        )
        self.reply(
            await self.read(
                payloads.gates_payload,
                run=self.argument("run") or None,
                model=self.argument("model") or None,
                limit=limit,
            )
        )


class DriftHandler(MlopsAPIHandler):
    """``GET drift``."""

    @tornado.web.authenticated
    async def get(self) -> None:
        self.reply(await self.read(drift_payloads.drift_payload))


class PipelinesHandler(MlopsAPIHandler):
    """``GET pipelines``."""

    @tornado.web.authenticated
    async def get(self) -> None:
        self.reply(await self.read(payloads.pipelines_payload))


class UnknownRouteHandler(MlopsAPIHandler):
    """Anything else under the prefix: 404 JSON that names the route and the known ones."""

    def _reject(self, *args: Any) -> None:
        raise tornado.web.HTTPError(
            404,
            "No route %s in the jupyter-mlops API (routes: %s).",
            self.request.path,
            ", ".join(ROUTE_NAMES),
        )

    get = post = put = patch = delete = tornado.web.authenticated(_reject)


# (how the route is named in messages, its URL pattern under the prefix, its handler)
ROUTES: tuple[tuple[str, str, type[MlopsAPIHandler]], ...] = (
    ("artifacts/SHA256", r"artifacts/([^/]+)", ArtifactHandler),
    ("changes", "changes", ChangesHandler),
    ("compare", "compare", CompareHandler),
    ("drift", "drift", DriftHandler),
    ("experiments", "experiments", ExperimentsHandler),
    ("experiments/NAME", r"experiments/([^/]+)", ExperimentHandler),
    ("experiments/NAME/columns", r"experiments/([^/]+)/columns", ColumnsHandler),
    ("export", "export", ExportHandler),
    ("gates", "gates", GatesHandler),
    ("models", "models", ModelsHandler),
    ("models/NAME/monitoring", r"models/([^/]+)/monitoring", MonitoringHandler),
    ("pipelines", "pipelines", PipelinesHandler),
    ("reproductions/jobs/JOB", r"reproductions/jobs/([^/]+)", ReproductionJobHandler),
    ("runs", "runs", RunsHandler),
    ("runs/ID", r"runs/([^/]+)", RunHandler),
    ("runs/ID/purge", r"runs/([^/]+)/purge", PurgePlanHandler),
    ("runs/ID/reproduce", r"runs/([^/]+)/reproduce", ReproduceHandler),
    ("runs/ID/sweep", r"runs/([^/]+)/sweep", SweepHandler),
    ("snapshots", "snapshots", SnapshotsHandler),
    ("status", "status", StatusHandler),
)
ROUTE_NAMES: tuple[str, ...] = tuple(name for name, _, _ in ROUTES)


def setup_handlers(web_app: tornado.web.Application) -> RegistrySource:
    """Add every route, under the server's base URL, to ``web_app``; the registry they
    read is found from the server's root folder. Returns where they read it from."""
    root_dir = Path(web_app.settings["server_root_dir"]).expanduser().resolve()
    source = RegistrySource(root_dir)
    # jupyter_server gives a module extension no stop hook: the registry is closed when the
    # application is discarded, or else when the process ends.
    weakref.finalize(web_app, source.close)
    web_app.settings[SOURCE_SETTING] = source
    web_app.settings[JOBS_SETTING] = ReproductionJobs(root_dir)
    prefix = url_path_join(web_app.settings["base_url"], API_PREFIX)
    handlers: list[tuple[str, type[MlopsAPIHandler]]] = [
        (url_path_join(prefix, pattern), handler) for _, pattern, handler in ROUTES
    ]
    handlers.append((prefix + r"(?:/.*)?", UnknownRouteHandler))
    web_app.add_handlers(".*$", handlers)
    return source
