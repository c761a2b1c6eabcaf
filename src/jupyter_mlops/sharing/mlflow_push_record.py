"""The registry's record of what was pushed where (table ``mlflow_pushes``, migration 0017).

A push reads a :class:`PushedObject` before it sends anything about an object and writes
it back after each step the server confirmed (a run created, a batch of params, a chunk
of metric points, one file), each in a transaction of its own: a push that the server
cuts short leaves a record of exactly what arrived, and the next push sends the rest.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from typing import Any

from ..registry.connection import Registry


@dataclass(frozen=True)
class PushedObject:
    """One object on one server: MLflow's id for it and what the server holds of it."""

    kind: str
    local_id: str
    remote_id: str
    sent: dict[str, Any] = field(default_factory=dict)
    digest: str | None = None

    def with_sent(self, **changes: Any) -> PushedObject:
        return replace(self, sent={**self.sent, **changes})


class PushRecord:
    """The pushes to the server ``server`` recorded in ``registry``."""

    def __init__(self, registry: Registry, server: str) -> None:
        self.registry = registry
        self.server = server

    def get(self, kind: str, local_id: str) -> PushedObject | None:
        row = self.registry.query_one(
            "SELECT remote_id, sent, digest FROM mlflow_pushes"
            " WHERE server = ? AND kind = ? AND local_id = ?",
            (self.server, kind, local_id),
        )
        if row is None:
            return None
        return PushedObject(kind, local_id, row[0], json.loads(row[1]), row[2])

    def all(self, kind: str) -> dict[str, PushedObject]:
        return {
            local_id: PushedObject(kind, local_id, remote_id, json.loads(sent), digest)
            for local_id, remote_id, sent, digest in self.registry.query_tuples(
                "SELECT local_id, remote_id, sent, digest FROM mlflow_pushes"
                " WHERE server = ? AND kind = ?",
                (self.server, kind),
            )
        }

    def put(self, pushed: PushedObject) -> PushedObject:
        with self.registry.transaction(f"the record of a push to {self.server}") as conn:
            conn.execute(
                "INSERT INTO mlflow_pushes"
                " (server, kind, local_id, remote_id, sent, digest, pushed_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (server, kind, local_id) DO UPDATE SET"
                " remote_id = excluded.remote_id, sent = excluded.sent,"
                " digest = excluded.digest, pushed_at = excluded.pushed_at",
                (
                    self.server,
                    pushed.kind,
                    pushed.local_id,
                    pushed.remote_id,
                    json.dumps(pushed.sent, sort_keys=True),
                    pushed.digest,
                    time.time(),
                ),
            )
        return pushed
