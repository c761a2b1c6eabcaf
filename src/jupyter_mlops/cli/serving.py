"""``jupyter mlops serve``: a registered model answering on MLServer; ``feedback``: the true
labels of its requests; ``live``: how each version does on them.

    jupyter mlops serve churn@champion
    jupyter mlops serve churn@champion --shadow churn@challenger --port 9000
    jupyter mlops serve churn@champion --host 0.0.0.0 --sample-rate 0.1
    jupyter mlops feedback labels.csv            # columns request_id, label
    jupyter mlops live churn --since 24h

The server runs until it is stopped (Ctrl-C, SIGTERM). Before it starts, the versions are
found and their files checked against their recorded hashes: a changed file stops here,
with the version named and exit status 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..errors import InvalidInputError
from ..serving.plan import DEFAULT_PORT, ServePlan, check_plan
from .base import format_table, friendly, main, open_registry, registry_option


@main.command("serve")
@registry_option
@click.argument("ref", metavar="NAME@ALIAS")
@click.option(
    "--shadow",
    metavar="NAME@ALIAS",
    default=None,
    help="Another version that scores every request too; its outputs are logged, never returned.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=int, default=DEFAULT_PORT, show_default=True, help="HTTP port (REST, V2)."
)
@click.option("--grpc-port", type=int, default=None, help="gRPC port [default: port + 1].")
@click.option(
    "--metrics-port", type=int, default=None, help="Prometheus metrics port [default: port + 2]."
)
@click.option(
    "--sample-rate",
    type=float,
    default=1.0,
    show_default=True,
    help="Share of requests whose inputs are logged (outputs, version and latency always are).",
)
@click.option("--no-log", is_flag=True, help="Log no predictions to the registry.")
@click.option(
    "--follow-seconds",
    type=float,
    default=0.5,
    show_default=True,
    help="How often the server looks whether the alias moved.",
)
@click.option(
    "--target",
    type=click.Choice(["mlserver", "kserve"]),
    default="mlserver",
    show_default=True,
    help="mlserver: serve here; kserve: write an image's folder and the KServe resources"
    " (ServingRuntime, InferenceService) that serve it on a cluster with the same runtime.",
)
@click.option("--output", "-o", default=None, metavar="DIR",
              help="With --target kserve: the folder to write [default: NAME-kserve].")  # fmt: skip
@click.option("--image", default=None, metavar="IMAGE",
              help="With --target kserve: the image the resources run [default: NAME-serving:VERSION].")  # fmt: skip
@click.option("--base-image", default=None, metavar="IMAGE",
              help="With --target kserve: the image to build on [default: python:X.Y-slim].")  # fmt: skip
@click.option("--wheel", default=None, metavar="FILE",
              help="With --target kserve: a jupyter-mlops wheel for the image to install.")  # fmt: skip
@click.option(
    "--stop-with-pid",
    type=int,
    default=None,
    hidden=True,
    help="Stop when the process with this id is gone (the kernel that started the server).",
)
@friendly
def serve_command(
    registry_path: str | None,
    ref: str,
    shadow: str | None,
    host: str,
    port: int,
    grpc_port: int | None,
    metrics_port: int | None,
    sample_rate: float,
    no_log: bool,
    follow_seconds: float,
    target: str,
    output: str | None,
    image: str | None,
    base_image: str | None,
    wheel: str | None,
    stop_with_pid: int | None,
) -> None:
    """Serve the version NAME@ALIAS points at on MLServer (Open Inference Protocol, V2);
    when the alias moves, the new version answers, without downtime. Every prediction is
    logged to the registry with the version that made it.

    With --target kserve nothing is served here: a folder is written with an image of this
    server (the versions copied into a registry of its own) and the KServe ServingRuntime
    and InferenceService that run it (protocol v2)."""
    if target == "kserve":
        from ..export.kserve import copy_wheel, write_kserve_bundle
        from ..models.refs import parse_ref

        bundle = write_kserve_bundle(
            open_registry(registry_path),
            ref,
            output or f"{parse_ref(ref).name}-kserve",
            shadow=shadow,
            image=image,
            base_image=base_image,
            sample_rate=sample_rate,
        )
        if wheel is not None:
            copy_wheel(wheel, bundle.directory)
        click.echo(bundle.summary())
        return
    try:
        from ..serving.runtime import run_server
    except ModuleNotFoundError as exc:
        raise InvalidInputError(
            f"Serving needs MLServer, which is not installed ({exc.name} is missing)",
            hint="Install it with: pip install 'jupyter-mlops[serve]' (MLServer 1.7 runs on"
            " Python 3.10 to 3.12).",
        ) from exc
    registry = open_registry(registry_path)
    plan = ServePlan(
        str(registry.path),
        ref,
        shadow=shadow,
        host=host,
        port=port,
        grpc_port=grpc_port,
        metrics_port=metrics_port,
        sample_rate=sample_rate,
        follow_seconds=follow_seconds,
        log_predictions=not no_log,
        stop_with_pid=stop_with_pid,
    )
    served, shadowed = check_plan(registry, plan)
    registry.close()
    http, grpc, metrics = plan.ports
    click.echo(
        f"Serving {served.ref} as {ref}"
        + (f", {shadowed.ref} in its shadow" if shadowed is not None else "")
        + f" at {plan.infer_url} (gRPC :{grpc}, metrics http://{host}:{metrics}/metrics)",
        err=True,
    )
    run_server(plan)


@main.command("feedback")
@registry_option
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--id-column", default="request_id", show_default=True, help="Column of request ids.")
@click.option("--label-column", default="label", show_default=True, help="Column of true labels.")
@friendly
def feedback_command(
    registry_path: str | None, file: str, id_column: str, label_column: str
) -> None:
    """Record the true labels of served requests from a CSV or parquet FILE: one line per
    row, with the request id and the label (a request of several rows has several lines,
    in its rows' order). Every id must be a logged request's; a new label replaces an old."""
    frame = _table(file)
    for column in (id_column, label_column):
        if column not in frame.columns:
            raise InvalidInputError(
                f'{file} has no column "{column}"',
                hint=f"Its columns: {', '.join(map(str, frame.columns))}. Name the right ones"
                " with --id-column and --label-column.",
            )
    labels: dict[str, list[object]] = {}
    for request_id, label in zip(frame[id_column].astype(str), frame[label_column].tolist()):
        labels.setdefault(request_id, []).append(label)
    from ..serving.feedback import record_feedback

    registry = open_registry(registry_path)
    recorded = record_feedback(registry, list(labels), list(labels.values()))
    click.echo(f"Recorded the labels of {recorded} requests ({len(frame)} rows).")


@main.command("live")
@registry_option
@click.argument("model", metavar="NAME")
@click.option(
    "--since",
    default=None,
    metavar="DURATION",
    help="Only the requests of the last DURATION: 30m, 6h, 7d (default: all).",
)
@friendly
def live_command(registry_path: str | None, model: str, since: str | None) -> None:
    """Live metrics per version of NAME: requests and rows scored, accuracy (and MAE, RMSE
    for numbers) on the labels given back, latency p50 and p99, served and shadow."""
    import time

    from ..runner.spec import parse_duration
    from ..serving.live_metrics import compare_live, live_metrics

    registry = open_registry(registry_path)
    start = None if since is None else time.time() - parse_duration(since, what="--since")
    frame = live_metrics(registry, model, since=start)
    if frame.empty:
        click.echo(f'No prediction of "{model}" was logged{" then" if since else ""}.')
        return
    rows = [
        [
            f"{model}@{r.version}", r.role, r.requests, r.rows, r.labelled_rows,
            _rounded(r.accuracy), _rounded(r.f1), _rounded(r.auc), _rounded(r.mae),
            _rounded(r.rmse),
            _rounded(r.latency_p50_ms), _rounded(r.latency_p99_ms),
        ]
        for r in frame.itertuples()
    ]  # fmt: skip
    headers = ["version", "role", "requests", "rows", "labelled", "accuracy", "f1", "auc",
               "mae", "rmse", "p50 ms", "p99 ms"]  # fmt: skip
    click.echo(format_table(headers, rows))
    comparison = compare_live(registry, model, since=start)
    if comparison is not None:
        click.echo(f"\nchampion against the shadow: {comparison.summary()}")


def _rounded(value: float) -> object:
    return None if value != value else round(float(value), 4)


def _table(file: str) -> Any:
    import pandas as pd

    path = Path(file)
    if not path.is_file():
        raise InvalidInputError(f"{file} is not a file", hint="Give a CSV or parquet file.")
    suffixes = [s.lower() for s in path.suffixes]
    if ".parquet" in suffixes or ".pq" in suffixes:
        return pd.read_parquet(path)
    return pd.read_csv(path, sep="\t" if ".tsv" in suffixes else ",")
