"""The columns of an experiment's runs tables, read and chosen from the panel through
the same core function as the notebook's table and ``jupyter mlops columns``
(:mod:`jupyter_mlops.tracking.column_choices`).

=================================  ==================================================
``GET experiments/NAME/columns``   ``{"experiment", "columns"}``: the chosen column
                                   names, or null when the default ones show
``PUT experiments/NAME/columns``   ``{"columns": ["params.lr", "metrics.auc"]}``;
                                   null or ``[]`` goes back to the default columns
=================================  ==================================================

A write needs Jupyter's authentication and, from a browser session, its XSRF token;
it is a registry transaction, so ``GET changes`` moves and open panels refresh.
"""

from __future__ import annotations

from typing import Any

import tornado.web

from jupyter_mlops.errors import InvalidInputError
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.server.handlers import MlopsAPIHandler
from jupyter_mlops.tracking.column_choices import choose_columns, chosen_columns
from jupyter_mlops.tracking.housekeeping import experiment_note

_EXAMPLE = '{"columns": ["params.lr", "metrics.auc"]}'


def columns_payload(registry: Registry, name: str) -> dict[str, Any]:
    """``GET experiments/NAME/columns``."""
    experiment_note(registry, name)  # a 404 naming the experiments when there is none
    chosen = chosen_columns(registry, name)
    return {"experiment": name, "columns": None if chosen is None else list(chosen)}


def columns_change(registry: Registry, name: str, body: Any) -> dict[str, Any]:
    """``PUT experiments/NAME/columns`` with ``{"columns": [...] | null}``."""
    if not isinstance(body, dict) or set(body) != {"columns"}:
        raise InvalidInputError(
            "The columns of a table are the one thing this route changes",
            hint=f"Send {_EXAMPLE} (null for the default columns).",
        )
    choice = choose_columns(registry, name, body["columns"])
    return {
        "experiment": name,
        "columns": list(choice.columns) or None,
        "message": choice.message,
    }


class ColumnsHandler(MlopsAPIHandler):
    """``GET`` and ``PUT experiments/NAME/columns``."""

    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        self.reply(await self.read(columns_payload, name))

    @tornado.web.authenticated
    async def put(self, name: str) -> None:
        try:
            body = self.get_json_body()
        except tornado.web.HTTPError as exc:
            raise InvalidInputError("The request is not JSON", hint=f"Send {_EXAMPLE}.") from exc
        self.reply(await self.read(columns_change, name, body))
