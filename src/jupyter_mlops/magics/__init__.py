"""``%mlops`` and ``%%mlops``: parse the line, call the core, render the result.

    %load_ext jupyter_mlops
    %mlops init
    %%mlops run baseline --experiment churn
    lr = 0.1
    model = RandomForestClassifier(max_depth=6).fit(X_train, y_train)
    mlops.log(accuracy=model.score(X_test, y_test))

Errors from the core are shown as one line and a hint, without a traceback
(``%mlops --debug ...`` shows it). The user's code always runs and its result
always stands: if the registry cannot record something, a warning says what was
not recorded and the buffered values are kept for the next try.
"""

from __future__ import annotations

from typing import Any

from . import drift, guard, pipelines, runs  # noqa: F401 - register the subcommands
from .base import COMMANDS, MlopsMagics, arguments, command, parser_for

__all__ = ["COMMANDS", "MlopsMagics", "arguments", "command", "load", "parser_for", "unload"]


def load(shell: Any) -> MlopsMagics:
    """Register the magics and the cell hooks on ``shell``; put ``mlops`` in its namespace."""
    from .. import capture

    capture.warm_environment()  # read installed versions while the user works
    magics = MlopsMagics(shell)
    shell.register_magics(magics)
    magics.session.register()
    if "mlops" not in shell.user_ns:
        import jupyter_mlops

        shell.push({"mlops": jupyter_mlops}, interactive=False)
    return magics


def unload(shell: Any, magics: MlopsMagics) -> None:
    magics.session.unregister()
