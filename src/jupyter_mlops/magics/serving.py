"""``%mlops serve``: a registered model answering on MLServer, in the background.

    %mlops serve churn@champion                            # http://127.0.0.1:8080
    %mlops serve churn@champion --shadow churn@challenger --port 9000
    %mlops serve --list
    %mlops serve --stop                                    # every server started here
    %mlops serve --stop --port 9000

The server is a process of its own (``jupyter mlops serve``), started with the kernel's
Python; the magic returns once the model answers. It stops with ``--stop``, when the
kernel exits, and by itself when the kernel's process is gone.
"""

from __future__ import annotations

import argparse

from ..errors import InvalidInputError
from .base import MlopsMagics, arguments, command


def _serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ref", metavar="NAME@ALIAS", nargs="?", default=None)
    parser.add_argument("--shadow", metavar="NAME@ALIAS", default=None,
                        help="another version that scores every request, for the log only")  # fmt: skip
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=None, help="HTTP port (default 8080)")
    parser.add_argument("--sample-rate", type=float, default=1.0,
                        help="share of requests whose inputs are logged")  # fmt: skip
    parser.add_argument("--stop", action="store_true", help="stop the servers started here")
    parser.add_argument("--list", action="store_true", help="the servers started here")


@command(
    "serve",
    "Serve a model version on MLServer in the background: %mlops serve NAME@ALIAS"
    " [--shadow NAME@ALIAS] [--port N] [--host H]; %mlops serve --stop [--port N]",
)
@arguments(_serve_arguments)
def _serve(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> None:
    from ..serving.plan import DEFAULT_PORT, ServePlan, check_plan
    from ..serving.process import SERVERS

    if args.stop:
        stopped = SERVERS.stop(args.port)
        for server in stopped:
            print(f"Stopped the server of {server.plan.ref} at {server.url}")
        if not stopped:
            print("No server was started here.")
        return
    if args.list:
        for _port, server in sorted(SERVERS.servers.items()):
            state = "running" if server.running else f"stopped ({server.popen.returncode})"
            print(f"{server.plan.ref}  {server.plan.infer_url}  {state}  log: {server.log_path}")
        if not SERVERS.servers:
            print("No server was started here.")
        return
    if args.ref is None:
        raise InvalidInputError(
            "%mlops serve needs the model to serve", hint="e.g. %mlops serve churn@champion"
        )
    registry = magics.registry()
    plan = ServePlan(
        str(registry.path),
        args.ref,
        shadow=args.shadow,
        host=args.host,
        port=DEFAULT_PORT if args.port is None else args.port,
        sample_rate=args.sample_rate,
    )
    check_plan(registry, plan, load=False)  # at once, here: the server checks again and loads
    SERVERS.start(plan)
    print(
        f"Serving {args.ref} at {plan.infer_url}"
        + (f" ({args.shadow} in its shadow)" if args.shadow else "")
        + f"; metrics at http://{plan.host}:{plan.ports[2]}/metrics. Stop it with %mlops serve --stop"
    )
