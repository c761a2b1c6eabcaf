"""What runs inside a reproduction image: ``python -m jupyter_mlops.reproduce.in_image JOB``.

``JOB`` is a folder the host mounted at the same path: ``notebook.ipynb`` to execute and
``job.json`` (the registry, the working directory, the timeout). The notebook is executed
in a fresh kernel of this image's Python (:func:`.execution.execute`), a line printed per
cell; the executed notebook replaces ``notebook.ipynb`` and ``execution.json`` says how it
went (the fields of :class:`.execution.Execution`), for the host to read.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

import nbformat

from .execution import execute


def main(job: Path) -> int:
    spec = json.loads((job / "job.json").read_text())
    notebook = nbformat.read(str(job / "notebook.ipynb"), as_version=4)
    execution = execute(
        notebook,
        python=sys.executable,
        registry_path=Path(spec["registry"]),
        workdir=Path(spec["workdir"]),
        timeout=float(spec["timeout"]),
        progress=lambda line: print(line, flush=True),
    )
    nbformat.write(notebook, str(job / "notebook.ipynb"))
    (job / "execution.json").write_text(json.dumps(asdict(execution)))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
