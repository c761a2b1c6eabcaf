"""The MLServer side: :class:`RegistryRuntime`, an inference runtime that serves a version
from the registry, and :func:`run_server`, MLServer started with it in this process.

This is the one module that imports ``mlserver`` (the ``serve`` extra), so the rest of the
core imports without it. MLServer runs with ``parallel_workers: 0``: inference happens in
the server's own process and event loop. (MLServer 1.7.1's parallel workers fail to start
with current uvloop releases, "There is no current event loop".)

A request is the Open Inference Protocol's (V2): one input per column, named as the
model's signature names them (or one 2-D input with the columns in the signature's
order). The answer has one output, ``predict``, and says which version gave it: in
``model_version``, in ``parameters.served_version`` (``churn@3``) and in the HTTP header
``X-Model-Version``. A request whose columns do not fit the signature gets a 400 naming
the column.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from mlserver import MLModel, MLServer
from mlserver.codecs import NumpyCodec
from mlserver.errors import MLServerError
from mlserver.handlers import custom_handler
from mlserver.settings import ModelParameters, ModelSettings, Settings
from mlserver.types import InferenceRequest, InferenceResponse, Parameters

from ..errors import InvalidInputError, MlopsError, NotFoundError, RegistryError
from ..models.refs import parse_ref
from ..models.signatures import ModelSignature
from ..registry.connection import Registry
from ..registry.liveness import process_alive
from .log_process import PredictionLogProcess
from .plan import ServePlan
from .scoring import RequestScorer, ScoredRequest
from .served_version import ServedModel

logger = logging.getLogger(__name__)

VERSION_HEADER = "X-Model-Version"
FEEDBACK_PATH = "/v2/feedback"
# How long the prediction log's writer waits for another process's write lock before it
# keeps the batch and tries again later (requests never wait for it).
LOG_BUSY_TIMEOUT = 0.5


class LiveRuntimes:
    """The runtimes this process loaded (MLServer does not unload them when it stops: the
    server closes them, so their logs write what is pending) and the error of a load that
    failed. One object, so tests can look and reset."""

    def __init__(self) -> None:
        self.runtimes: list[RegistryRuntime] = []
        self.load_error: BaseException | None = None

    async def close_all(self) -> None:
        while self.runtimes:
            await self.runtimes.pop().unload()


LIVE = LiveRuntimes()


class RegistryRuntime(MLModel):
    """Serves the version its plan's reference names, follows the alias, logs predictions.

    The plan comes in the model settings' ``parameters.extra["plan"]`` (a
    :meth:`ServePlan.to_dict`).
    """

    async def load(self) -> bool:
        try:
            return await self._load()
        except BaseException as exc:
            LIVE.load_error = exc
            raise

    async def _load(self) -> bool:
        parameters = self.settings.parameters
        extra = (parameters.extra if parameters is not None else None) or {}
        self.plan = ServePlan.from_dict(dict(extra["plan"]))
        self._registry = Registry.open(self.plan.registry_path)
        served = ServedModel(self._registry.another_connection(), parse_ref(self.plan.ref))
        shadow = None
        if self.plan.shadow is not None:
            shadow = ServedModel(self._registry.another_connection(), parse_ref(self.plan.shadow))
        log = None
        if self.plan.log_predictions:
            log = PredictionLogProcess(
                self.plan.registry_path, busy_timeout=LOG_BUSY_TIMEOUT
            ).start()
        self.scorer = RequestScorer(
            served, log=log, shadow=shadow, sample_rate=self.plan.sample_rate
        )
        self._follower = asyncio.get_running_loop().create_task(self._follow_aliases())
        LIVE.runtimes.append(self)
        logger.info(
            "Serving %s as %s%s",
            served.current.ref,
            self.plan.ref,
            f", {shadow.current.ref} in its shadow" if shadow is not None else "",
        )
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        started = time.perf_counter()
        served = self.scorer.served.current
        try:
            columns = request_columns(payload, served.version.signature)
            scored = self.scorer.score(columns, served)  # the version that read the request
        except MlopsError as exc:
            raise MLServerError(exc.describe(), status_code=400) from exc
        response = self._response(payload, scored)
        self.scorer.record(
            payload.id or "", columns, scored, (time.perf_counter() - started) * 1000
        )
        return response

    @custom_handler(rest_path=FEEDBACK_PATH, rest_method="POST")
    async def feedback(self, request: Request) -> JSONResponse:
        """``POST /v2/feedback`` with ``{"request_ids": [...], "labels": [...]}``: the true
        labels of answered requests, as ``mlops.feedback`` takes them. The log is written
        first, so a request just answered can be labelled at once."""
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or set(body) != {"request_ids", "labels"}:
            return _refused(
                400,
                InvalidInputError(
                    "The feedback must be a JSON object with request_ids and labels",
                    hint='Send {"request_ids": ["r1", "r2"], "labels": [1, 0]}.',
                ),
            )
        try:
            recorded = await asyncio.to_thread(self._record_feedback, body)
        except NotFoundError as exc:
            return _refused(404, exc)
        except MlopsError as exc:
            return _refused(400, exc)
        return JSONResponse({"recorded": recorded})

    def _record_feedback(self, body: dict[str, Any]) -> int:
        from .feedback import record_feedback

        if self.scorer.log is not None:
            self.scorer.log.flush()
        with Registry.open(self.plan.registry_path) as registry:
            return record_feedback(registry, body["request_ids"], body["labels"])

    def _response(self, payload: InferenceRequest, scored: ScoredRequest) -> InferenceResponse:
        version = scored.loaded.version
        return InferenceResponse(
            id=payload.id,
            model_name=self.name,
            model_version=str(version.version),
            outputs=[NumpyCodec.encode_output("predict", scored.outputs)],
            parameters=Parameters(
                served_version=version.ref, headers={VERSION_HEADER: version.ref}
            ),
        )

    async def unload(self) -> bool:
        follower = getattr(self, "_follower", None)
        if follower is not None:
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follower
        scorer = getattr(self, "scorer", None)
        if scorer is not None:
            await asyncio.to_thread(self._close_scorer, scorer)
        registry = getattr(self, "_registry", None)
        if registry is not None:
            registry.close()
        with contextlib.suppress(ValueError):
            LIVE.runtimes.remove(self)
        return True

    @staticmethod
    def _close_scorer(scorer: RequestScorer) -> None:
        scorer.close()
        for served in (scorer.served, scorer.shadow):
            if served is not None:
                served.registry.close()
        if scorer.log is not None:
            scorer.log.close()

    async def _follow_aliases(self) -> None:
        """Look every ``follow_seconds`` whether the references moved; load and swap."""
        while True:
            await asyncio.sleep(self.plan.follow_seconds)
            if self.plan.stop_with_pid is not None and not process_alive(
                self.plan.stop_with_pid, None
            ):
                logger.info("Process %d is gone: stopping", self.plan.stop_with_pid)
                os.kill(os.getpid(), signal.SIGTERM)  # MLServer's own graceful stop
                return
            for served in (self.scorer.served, self.scorer.shadow):
                if served is None:
                    continue
                try:
                    await asyncio.to_thread(served.refresh)
                except Exception:  # never let the follower die: the server goes on as it is
                    logger.exception("Could not look whether %s moved", served.ref.text)


def _refused(status: int, error: MlopsError) -> JSONResponse:
    return JSONResponse({"error": error.message, "hint": error.hint}, status_code=status)


_DTYPES = {
    "BOOL": "bool", "UINT8": "uint8", "UINT16": "uint16", "UINT32": "uint32",
    "UINT64": "uint64", "INT8": "int8", "INT16": "int16", "INT32": "int32", "INT64": "int64",
    "FP16": "float16", "FP32": "float32", "FP64": "float64",
}  # fmt: skip


def request_columns(payload: InferenceRequest, signature: ModelSignature | None) -> Any:
    """The request's rows as columns: one per input (shape ``[rows]`` or ``[rows, 1]``), or
    those of one 2-D input, named as the signature names them, in its order.

    Read here rather than with MLServer's PandasCodec, which builds a DataFrame column by
    column (6 ms for 30 columns, against 0.1 ms for these arrays).
    """
    import numpy as np

    from ..errors import InvalidInputError

    inputs = payload.inputs
    try:
        if len(inputs) == 1 and len(inputs[0].shape) == 2 and inputs[0].shape[1] > 1:
            matrix = NumpyCodec.decode_input(inputs[0])
            names = list(signature.names) if signature is not None else []
            if names and len(names) != matrix.shape[1]:
                raise InvalidInputError(
                    f'The input "{inputs[0].name}" has {matrix.shape[1]} columns, the model'
                    f" takes {len(names)}",
                    hint=f"Send one input per column: {', '.join(names)}.",
                )
            return {name: matrix[:, i] for i, name in enumerate(names or range(matrix.shape[1]))}
        columns: dict[str, Any] = {}
        rows = None
        for item in inputs:
            data = item.data.root
            if item.datatype == "BYTES":
                values = np.asarray(
                    [v.decode("utf-8") if isinstance(v, bytes) else v for v in data], dtype=object
                )
            else:
                values = np.asarray(data, dtype=_DTYPES.get(item.datatype))
            values = values.reshape(-1)
            if rows is None:
                rows = len(values)
            if len(values) != rows or (item.shape and item.shape[0] != rows):
                raise InvalidInputError(
                    f'The input "{item.name}" has {len(values)} values, the others {rows}',
                    hint="Send one value per row in every input (shape [rows]).",
                )
            columns[item.name] = values
        return columns
    except MlopsError:
        raise
    except Exception as exc:  # data of another type than declared, nested lists
        raise InvalidInputError(
            f"The request's inputs cannot be read as rows: {exc}"[:500],
            hint="Send one input per column, each with one value per row (shape [rows]).",
        ) from exc


def run_server(plan: ServePlan) -> None:
    """Run MLServer with ``plan``'s model until it is stopped (SIGINT or SIGTERM).

    Raises the error that kept the model from loading, if one did.
    """
    LIVE.load_error = None
    with _our_log_shown(), tempfile.TemporaryDirectory(prefix="mlops-serve-") as scratch:
        asyncio.run(_serve(plan, scratch))
    if LIVE.load_error is not None:
        error = LIVE.load_error
        if isinstance(error, MlopsError):
            raise error
        raise RegistryError(
            f"{plan.ref} could not be loaded: {error}",
            hint="See the server's log above.",
        ) from error


async def _serve(plan: ServePlan, scratch: str) -> None:
    http, grpc, metrics = plan.ports
    settings = Settings(
        host=plan.host,
        http_port=http,
        grpc_port=grpc,
        metrics_port=metrics,
        parallel_workers=0,
        debug=False,
        model_repository_root=scratch,
        load_models_at_startup=False,
        metrics_dir=scratch,
    )
    model = ModelSettings(
        name=plan.model_name,
        implementation="jupyter_mlops.serving.runtime.RegistryRuntime",
        parameters=ModelParameters(extra={"plan": plan.to_dict()}),
    )
    server = MLServer(settings)
    try:
        await server.start([model])
    finally:
        await LIVE.close_all()


@contextlib.contextmanager
def _our_log_shown() -> Iterator[None]:
    """This package's log lines (alias moves, refused versions) on stderr, beside MLServer's,
    while the server runs."""
    ours = logging.getLogger("jupyter_mlops")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s [jupyter-mlops] %(levelname)s %(message)s"))
    level = ours.level
    ours.addHandler(handler)
    ours.setLevel(logging.INFO)
    try:
        yield
    finally:
        ours.removeHandler(handler)
        ours.setLevel(level)
