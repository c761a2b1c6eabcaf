"""``python -m jupyter_mlops.cli ...``: the ``jupyter mlops`` command, for a process started
with this Python (a notebook's ``%mlops serve``)."""

from __future__ import annotations

from . import main

if __name__ == "__main__":
    main()
