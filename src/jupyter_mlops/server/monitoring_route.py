"""``GET|POST models/NAME/monitoring``: a served model's monitor windows for the panel's
Monitoring view, and "Run monitor now".

=====================================  ===============================================
``GET models/NAME/monitoring``         the stored windows of every length (``?window=1h``:
                                       of one), the model's aliases, the newest decision
``POST models/NAME/monitoring``        ``{"window": "1h"}``: judge and store the windows
                                       of that length now, answer as GET with ``run``
=====================================  ===============================================

The POST is :func:`~jupyter_mlops.serving.monitoring.monitor_model` without retraining (a
retraining pipeline is started from the terminal or a notebook, where its output is seen):
it reads the prediction log and takes seconds, in a worker thread, on a connection of its
own: the panel's other requests are answered meanwhile. An unknown model is a
404 naming it, a window length that cannot be read a 400, through the handlers' one
translation of core errors. The JSON is built in :mod:`.monitoring_payloads`.
"""

from __future__ import annotations

from typing import Any

import tornado.web

from jupyter_mlops.errors import InvalidInputError
from jupyter_mlops.server import payloads
from jupyter_mlops.server.handlers import MlopsAPIHandler
from jupyter_mlops.server.monitoring_payloads import monitoring_payload, run_monitor_payload


class MonitoringHandler(MlopsAPIHandler):
    """``GET models/NAME/monitoring[?window=1h]`` and ``POST`` with ``{"window": "1h"}``."""

    @tornado.web.authenticated
    async def get(self, model: str) -> None:
        window = payloads.text_argument(self.argument("window"))
        self.reply(await self.read(monitoring_payload, model, window=window))

    @tornado.web.authenticated
    async def post(self, model: str) -> None:
        body = self.json_body()
        self.reply(await self.long_work(run_monitor_payload, model, body))

    def json_body(self) -> Any:
        if not self.request.body:
            return None  # no body: the default length
        try:
            return self.get_json_body()
        except tornado.web.HTTPError as exc:
            raise InvalidInputError(
                "The request is not JSON", hint='Send {"window": "1h"}.'
            ) from exc
