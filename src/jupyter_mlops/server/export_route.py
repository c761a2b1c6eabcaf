"""``POST export``: turn a notebook of the server's root into a pipeline next to it.

The request names the notebook the way JupyterLab does, relative to the server's root
with ``/`` (``{"path": "analysis/train.ipynb"}``, optionally ``"targets": ["local"]``).
Before anything is written the path must pass three checks:

1. its text: relative, no ``..``, no backslash or NUL, ending in ``.ipynb`` (else 400);
2. Jupyter's ContentsManager: it exists, is a notebook and is not hidden (its 404/400);
3. on disk: the file, symlinks followed, is inside the root (else 404), and the output
   folder ``<stem>-pipeline`` beside it is not a symlink out of it.

The reply says what was written: ``{"notebook", "output_dir", "steps", "files",
"targets", "warnings", "command"}``, paths relative to the root. A notebook that
cannot become a pipeline answers 400 with the exporter's message and hint.
"""

from __future__ import annotations

import shlex
import threading
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import tornado.web
from jupyter_core.utils import ensure_async

from jupyter_mlops.errors import InvalidInputError, NotFoundError
from jupyter_mlops.server.handlers import MlopsAPIHandler

PIPELINE_SUFFIX = "-pipeline"
_EXPORT_LOCK = threading.Lock()  # one export at a time: two could write the same folder


@dataclass(frozen=True)
class ExportRequest:
    """The checked body of ``POST export``."""

    path: str
    targets: tuple[str, ...] | None = None

    @classmethod
    def parse(cls, body: Any) -> ExportRequest:
        """Read ``{"path": ..., "targets": [...]}``; InvalidInputError when it is not that."""
        if not isinstance(body, dict):
            raise InvalidInputError(
                "The export request must be a JSON object",
                hint='Send {"path": "folder/notebook.ipynb"}.',
            )
        path = body.get("path")
        if not isinstance(path, str):
            raise InvalidInputError(
                "The export request names no notebook",
                hint='Send {"path": "folder/notebook.ipynb"}, relative to the server root.',
            )
        targets = body.get("targets")
        if targets is None:
            return cls(check_api_path(path))
        if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
            raise InvalidInputError(
                f"targets must be a list of names, got {targets!r}",
                hint='For example "targets": ["local", "docker"].',
            )
        return cls(check_api_path(path), tuple(targets))


def check_api_path(path: str) -> str:
    """``path`` if it can name a notebook under the server's root, else InvalidInputError.

    Example::

        check_api_path("analysis/train.ipynb")     # 'analysis/train.ipynb'
        check_api_path("../../etc/passwd")         # InvalidInputError
    """
    shown = repr(path[:200])
    if not path.strip():
        raise InvalidInputError(
            "The export request names no notebook",
            hint="Give the notebook's path relative to the server root.",
        )
    if "\x00" in path or "\\" in path:
        raise InvalidInputError(
            f"{shown} is not a notebook path",
            hint="Use the path JupyterLab shows, with / between folders.",
        )
    if path.startswith(("/", "~")) or PureWindowsPath(path).drive:
        raise InvalidInputError(
            f"{shown} is an absolute path; only notebooks under the server root can be exported",
            hint="Give the path relative to the server root, as JupyterLab shows it.",
        )
    if ".." in PurePosixPath(path).parts:
        raise InvalidInputError(
            f"{shown} leaves its folder (..); only notebooks under the server root can be exported",
            hint="Give the path relative to the server root, as JupyterLab shows it.",
        )
    if not path.endswith(".ipynb"):
        raise InvalidInputError(
            f"{shown} is not a notebook; only .ipynb files can be exported",
            hint="Open the notebook in JupyterLab and export it from there.",
        )
    return path


def confined_file(root_dir: Path, api_path: str) -> Path:
    """The file ``api_path`` names, symlinks followed, if it lies inside ``root_dir``.

    Raises NotFoundError for a file that does not exist or resolves outside the root.
    """
    root = root_dir.resolve()
    target = (root / check_api_path(api_path)).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise NotFoundError(
            f"No notebook {api_path!r} under the server root",
            hint="Only notebooks inside the folder JupyterLab was started in can be exported.",
        )
    return target


def output_dir_for(root_dir: Path, notebook: Path) -> Path:
    """The folder a notebook's pipeline goes to, ``<stem>-pipeline`` beside it, checked to
    stay inside the root (InvalidInputError when a symlink there points elsewhere)."""
    out = notebook.parent / f"{notebook.stem}{PIPELINE_SUFFIX}"
    if out.is_symlink() or (out.exists() and not out.resolve().is_relative_to(root_dir.resolve())):
        raise InvalidInputError(
            f"{out.name} beside the notebook is a link; the pipeline is not written through it",
            hint="Remove or rename it, then export again.",
        )
    return out


def export_beside(
    root_dir: Path, notebook: Path, targets: tuple[str, ...] | None
) -> dict[str, Any]:
    """Export ``notebook`` into its ``<stem>-pipeline`` folder; the reply's JSON."""
    from jupyter_mlops.export import export_notebook

    with _EXPORT_LOCK:
        out = output_dir_for(root_dir, notebook)
        if targets is None:
            result = export_notebook(notebook, out)
        else:
            result = export_notebook(notebook, out, targets=targets)
    relative_out = result.output_dir.resolve().relative_to(root_dir.resolve()).as_posix()
    return {
        "notebook": notebook.relative_to(root_dir.resolve()).as_posix(),
        "output_dir": relative_out,
        "steps": list(result.steps),
        "files": list(result.files),
        "targets": list(result.targets),
        "warnings": list(result.warnings),
        "command": f"jupyter mlops pipeline run {shlex.quote(relative_out)}",
    }


class ExportHandler(MlopsAPIHandler):
    """``POST export`` with ``{"path": "folder/notebook.ipynb", "targets": [...]}``."""

    @tornado.web.authenticated
    async def post(self) -> None:
        try:
            body = self.get_json_body()
        except tornado.web.HTTPError as exc:
            raise InvalidInputError(
                "The export request is not JSON", hint='Send {"path": "folder/notebook.ipynb"}.'
            ) from exc
        request = ExportRequest.parse(body)
        contents = self.contents_manager
        # Jupyter's own rules first: the file exists, is a notebook, is not hidden.
        model = await ensure_async(contents.get(request.path, content=False))
        if model.get("type") != "notebook":
            raise InvalidInputError(
                f"{request.path!r} is not a notebook", hint="Only notebooks can be exported."
            )
        root_dir = getattr(contents, "root_dir", None)
        if not root_dir:
            raise InvalidInputError(
                "This Jupyter server does not keep notebooks on its disk, so it cannot export them",
                hint="Export from a terminal: jupyter mlops export NOTEBOOK -o DIR.",
            )
        root = Path(root_dir).expanduser().resolve()
        notebook = confined_file(root, request.path)
        self.reply(await self.in_thread(export_beside, root, notebook, request.targets))
