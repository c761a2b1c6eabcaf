"""The Jupyter server extension behind the jupyter-mlops sidebar panel.

It adds read-only JSON routes under ``/jupyter-mlops/api/`` that the panel renders,
each behind Jupyter's own authentication. ``pip install jupyter-mlops`` enables it
through ``etc/jupyter/jupyter_server_config.d/jupyter_mlops.json``; by hand::

    jupyter server extension enable jupyter_mlops.server

The two ``_jupyter_*`` hooks below are how Jupyter finds the extension and the
prebuilt panel. They live here so that the server face stays in one folder; the
package ``__init__`` re-exports them for ``jupyter labextension develop``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jupyter_mlops import __version__
from jupyter_mlops.server.handlers import API_PREFIX, setup_handlers

__all__ = ["API_PREFIX", "__version__", "setup_handlers"]

_LABEXTENSION_DIR = Path(__file__).resolve().parent.parent / "labextension"


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where the built panel is, for ``jupyter labextension develop``.

    ``src`` is absolute so the answer is right whichever module re-exports this hook.
    """
    return [{"src": str(_LABEXTENSION_DIR), "dest": "jupyter-mlops"}]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """The module Jupyter server loads the extension from."""
    return [{"module": "jupyter_mlops.server"}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    """Register the routes with the running server (called once by jupyter_server)."""
    setup_handlers(server_app.web_app)
    server_app.log.info("jupyter-mlops: API at %s", API_PREFIX)
