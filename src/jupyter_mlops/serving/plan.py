"""What a server serves and where: a :class:`ServePlan`, checked before anything starts.

    plan = ServePlan(registry_path, "churn@champion", shadow="churn@challenger", port=8080)
    check_plan(registry, plan)     # versions found, their files' hashes checked, ports free

MLServer listens on three ports: HTTP (the Open Inference Protocol's REST routes), gRPC
(the same protocol), and Prometheus metrics (``/metrics``). By default they are ``port``,
``port + 1`` and ``port + 2``, on 127.0.0.1: a server is reachable from other machines only
when ``host`` says so.
"""

from __future__ import annotations

import socket
from dataclasses import asdict, dataclass
from typing import Any

from ..errors import InvalidInputError
from ..models.refs import parse_ref
from ..models.versions import ModelVersion, resolve_version
from ..registry.connection import Registry
from .served_version import load_version, verify_version_file

DEFAULT_PORT = 8080


@dataclass(frozen=True)
class ServePlan:
    """A server of ``ref`` (and ``shadow``) from the registry at ``registry_path``.

    ``sample_rate`` is the share of requests whose inputs are logged (outputs, version and
    latency are logged for every request); ``follow_seconds`` how often the server looks
    whether the alias moved. With ``stop_with_pid`` the server stops once that process is
    gone (a notebook's kernel that started it).
    """

    registry_path: str
    ref: str
    shadow: str | None = None
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    grpc_port: int | None = None
    metrics_port: int | None = None
    sample_rate: float = 1.0
    follow_seconds: float = 0.5
    log_predictions: bool = True
    stop_with_pid: int | None = None

    @property
    def model_name(self) -> str:
        """The name requests use: ``/v2/models/<name>/infer``."""
        return parse_ref(self.ref).name

    @property
    def ports(self) -> tuple[int, int, int]:
        """HTTP, gRPC and metrics ports."""
        grpc = self.port + 1 if self.grpc_port is None else self.grpc_port
        metrics = self.port + 2 if self.metrics_port is None else self.metrics_port
        return self.port, grpc, metrics

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    @property
    def infer_url(self) -> str:
        return f"{self.url}/v2/models/{self.model_name}/infer"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ServePlan:
        return cls(**data)


def check_plan(
    registry: Registry, plan: ServePlan, *, load: bool = True
) -> tuple[ModelVersion, ModelVersion | None]:
    """The versions ``plan`` serves now, each loaded once to prove it can be (its file's
    hash checked first; only the hash without ``load``: a notebook checks before it starts
    the server, which loads); the ports must be free. Raises what a user must fix, by name."""
    parsed = parse_ref(plan.ref)
    served = resolve_version(registry, parsed)
    shadow = None
    if plan.shadow is not None:
        shadow_ref = parse_ref(plan.shadow)
        if shadow_ref.name != parsed.name:
            raise InvalidInputError(
                f'The shadow {plan.shadow} is not a version of "{parsed.name}"',
                hint=f"A shadow scores the same requests: name a version of {parsed.name},"
                f" e.g. {parsed.name}@challenger.",
            )
        shadow = resolve_version(registry, shadow_ref)
    if not 0.0 <= plan.sample_rate <= 1.0:
        raise InvalidInputError(
            f"The sample rate {plan.sample_rate} is not between 0 and 1",
            hint="Give the share of requests whose inputs are logged, e.g. 0.1.",
        )
    for version in (served, shadow):
        if version is not None:
            load_version(registry, version) if load else verify_version_file(registry, version)
    ports = plan.ports
    if len(set(ports)) < 3:
        raise InvalidInputError(
            f"The HTTP, gRPC and metrics ports must differ (got {', '.join(map(str, ports))})",
            hint="Give --grpc-port and --metrics-port, or leave them out (port + 1, port + 2).",
        )
    for port, what in zip(ports, ("HTTP", "gRPC", "metrics")):
        _check_port_free(plan.host, port, what)
    return served, shadow


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _check_port_free(host: str, port: int, what: str) -> None:
    if not 0 < port < 65536:
        raise InvalidInputError(f"{port} is not a port", hint="Give a number from 1 to 65535.")
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise InvalidInputError(
                f"Cannot serve on {host}:{port} ({what}): {exc.strerror or exc}",
                hint="Another server may be using it: choose other ports with --port"
                " (HTTP; gRPC and metrics take the next two) or stop that server.",
            ) from exc
