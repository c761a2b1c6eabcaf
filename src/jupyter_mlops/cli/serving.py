"""``jupyter mlops serve``: a registered model answering on MLServer.

    jupyter mlops serve churn@champion
    jupyter mlops serve churn@champion --shadow churn@challenger --port 9000
    jupyter mlops serve churn@champion --host 0.0.0.0 --sample-rate 0.1

The server runs until it is stopped (Ctrl-C, SIGTERM). Before it starts, the versions are
found and their files checked against their recorded hashes: a changed file stops here,
with the version named and exit status 1.
"""

from __future__ import annotations

import click

from ..errors import InvalidInputError
from ..serving.plan import DEFAULT_PORT, ServePlan, check_plan
from .base import friendly, main, open_registry, registry_option


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
    stop_with_pid: int | None,
) -> None:
    """Serve the version NAME@ALIAS points at on MLServer (Open Inference Protocol, V2);
    when the alias moves, the new version answers, without downtime. Every prediction is
    logged to the registry with the version that made it."""
    try:
        from ..serving.runtime import run_server
    except ModuleNotFoundError as exc:
        raise InvalidInputError(
            f"Serving needs MLServer, which is not installed ({exc.name} is missing)",
            hint="Install it with: pip install 'jupyter-mlops[serve]'",
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
