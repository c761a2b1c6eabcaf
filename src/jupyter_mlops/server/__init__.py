"""The Jupyter server extension behind the jupyter-mlops sidebar panel.

It adds JSON routes under ``/jupyter-mlops/api/`` that the panel renders, each behind
Jupyter's own authentication (see :mod:`jupyter_mlops.server.routes`): reads of the
registry, and one write, exporting a notebook of the server's root to a pipeline.
``pip install jupyter-mlops`` enables it through
``etc/jupyter/jupyter_server_config.d/jupyter_mlops.json``; by hand::

    jupyter server extension enable jupyter_mlops.server

The two ``_jupyter_*`` hooks below are how Jupyter finds the extension and the
prebuilt panel; the package ``__init__`` may re-export them. This module imports
neither tornado nor jupyter_server, so re-exporting it keeps ``import jupyter_mlops``
free of them: the handlers load only when a Jupyter server loads the extension.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .._version import __version__

__all__ = ["__version__"]

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
    from jupyter_mlops.server.handlers import API_PREFIX
    from jupyter_mlops.server.routes import setup_handlers

    setup_handlers(server_app.web_app)
    server_app.log.info("jupyter-mlops %s: API at %s", __version__, API_PREFIX)
