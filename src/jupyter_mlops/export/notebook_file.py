"""Reading a notebook file for export, checked, without importing nbformat.

Importing nbformat imports jsonschema, whose format checker compiles the RFC 3987 (IRI)
grammars of ``rfc3987_syntax`` at import: more than a second of CPU, most of what
``jupyter mlops export`` would cost. A notebook in the current format (nbformat 4, what
JupyterLab and Notebook write) is read here as JSON instead, and checked against what
the format requires of every part the export reads or passes on: the top level, each
cell's type, source, metadata, tags and id, and a code cell's outputs and execution
count. Anything else is refused with the cell and the problem named, before anything is
written. Older notebooks (nbformat 1 to 3) are converted by nbformat, which pays its
import only then. Export is a Jupyter face all the same: without nbformat installed (a
core install: a pipeline image, a script), reading a notebook says to install it.

    notebook = read_notebook(Path("churn.ipynb"))
    notebook["cells"][0]["cell_type"]          # 'code'
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from typing import Any, TypeGuard

from ..errors import ExportError

FORMAT = 4  # the major version of the notebook format read here
CELL_TYPES = ("code", "markdown", "raw")
OUTPUT_TYPES = ("execute_result", "display_data", "stream", "error")
CELL_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")  # nbformat 4.5's pattern for cell ids

_HINT = "Fix that part of the file, or open the notebook in Jupyter and save it again."


def read_notebook(path: Path) -> dict[str, Any]:
    """The notebook at ``path`` as plain JSON data (sources may be lists of lines).

    Raises :class:`ExportError` naming the file, and the cell when one is at fault, for
    a file that is not a notebook: not JSON, not an object, a version this cannot read,
    or a part that breaks the format.
    """
    if importlib.util.find_spec("nbformat") is None:
        raise nbformat_missing()
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise ExportError(
            f"{path} cannot be read ({exc.strerror or exc})",
            hint="Check that the file exists and that you may read it.",
        ) from exc
    try:
        data = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ExportError(
            f"{path} is not a readable notebook: it is not JSON ({exc})",
            hint="Open it in Jupyter to check it, or pass an .ipynb file.",
        ) from exc
    except RecursionError as exc:  # lists or objects nested thousands deep
        raise ExportError(
            f"{path} is not a readable notebook: its JSON is nested too deeply to read",
            hint="Pass an .ipynb file written by Jupyter.",
        ) from exc
    if not isinstance(data, dict):
        raise ExportError(
            f"{path} is not a notebook: its JSON is {_kind(data)}, not an object",
            hint="Pass an .ipynb file written by Jupyter.",
        )
    version = data.get("nbformat")
    if version is None:
        raise ExportError(
            f"{path} is not a notebook: its JSON has no nbformat version",
            hint="Pass an .ipynb file written by Jupyter.",
        )
    if _is_int(version) and 1 <= version < FORMAT:
        return _converted(path)
    if version != FORMAT or not _is_int(version):
        newer = _is_int(version) and version > FORMAT
        raise ExportError(
            f"{path} is not a notebook this version of jupyter-mlops can read: its nbformat"
            f" is {version!r}, not {FORMAT}",
            hint="Upgrade jupyter-mlops, or save the notebook as nbformat 4."
            if newer
            else "Pass an .ipynb file written by Jupyter.",
        )
    problem = _top_level_problem(data)
    if problem:
        raise ExportError(f"{path} is not a valid notebook: {problem}", hint=_HINT)
    for index, cell in enumerate(data["cells"]):
        problem = _cell_problem(cell)
        if problem:
            raise ExportError(
                f"{path} is not a valid notebook: cell {index + 1} {problem}",
                cell_index=index,
                hint=_HINT,
            )
    return data


def _top_level_problem(data: dict[str, Any]) -> str | None:
    minor = data.get("nbformat_minor")
    if not _is_int(minor) or minor < 0:
        return f"its nbformat_minor is {minor!r}, not a version number"
    if not isinstance(data.get("metadata"), dict):
        return f"its metadata is {_kind(data.get('metadata'))}, not an object"
    if not isinstance(data.get("cells"), list):
        return f"its cells are {_kind(data.get('cells'))}, not a list"
    return None


def _cell_problem(cell: Any) -> str | None:
    """What breaks the format in one cell, in words that follow "cell N", or None."""
    if not isinstance(cell, dict):
        return f"is {_kind(cell)}, not an object"
    cell_type = cell.get("cell_type")
    if cell_type not in CELL_TYPES:
        named = "no cell_type" if cell_type is None else f"the cell_type {cell_type!r}"
        return f"has {named}; a cell is code, markdown or raw"
    source = cell.get("source")
    if not isinstance(source, str) and not (
        isinstance(source, list) and all(isinstance(line, str) for line in source)
    ):
        return f"has a source that is {_kind(source)}, not text or a list of lines"
    metadata = cell.get("metadata")
    if not isinstance(metadata, dict):
        return f"has metadata that is {_kind(metadata)}, not an object"
    tags = metadata.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
        return f"has tags that are {_kind(tags)}, not a list of words"
    bad_tag = next((t for t in tags if "," in t), None)
    if bad_tag is not None:
        return f'has the tag "{bad_tag}", which holds a comma; tags are separate words'
    if "id" in cell and not (isinstance(cell["id"], str) and CELL_ID.fullmatch(cell["id"])):
        return f"has the id {cell['id']!r}; an id is 1 to 64 letters, digits, - or _"
    if cell_type == "code":
        count = cell.get("execution_count")
        if count is not None and not (_is_int(count) and count >= 0):
            return f"has the execution_count {count!r}, not a count or null"
        outputs = cell.get("outputs")
        if not isinstance(outputs, list):
            return f"is a code cell whose outputs are {_kind(outputs)}, not a list"
        for number, output in enumerate(outputs, 1):
            kind = output.get("output_type") if isinstance(output, dict) else None
            if kind not in OUTPUT_TYPES:
                return f"has an output (number {number}) that is not a notebook output"
    return None


def nbformat_missing() -> ExportError:
    """The error for an installation without nbformat: the core only, no Jupyter faces."""
    return ExportError(
        "Exporting a notebook needs nbformat, which this installation of jupyter-mlops"
        " does not have (it is the core only)",
        hint="Install the Jupyter faces with it: pip install 'jupyter-mlops[jupyter]'.",
    )


def _converted(path: Path) -> dict[str, Any]:
    """An nbformat 1-3 notebook converted to nbformat 4 by nbformat itself."""
    import nbformat

    try:
        node: dict[str, Any] = nbformat.read(path, as_version=FORMAT)
    except Exception as exc:  # noqa: BLE001 - nbformat raises many kinds
        raise ExportError(
            f"{path} is not a readable notebook ({exc})",
            hint="Open it in Jupyter to check it, or pass an .ipynb file.",
        ) from exc
    return node


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _kind(value: Any) -> str:
    if value is None:
        return "missing or null"
    if isinstance(value, bool):
        return "true or false"
    return _KINDS.get(type(value), "a number")


_KINDS: dict[type, str] = {dict: "an object", list: "a list", str: "text"}
