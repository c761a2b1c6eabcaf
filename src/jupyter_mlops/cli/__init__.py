"""``jupyter mlops ...``: a thin shell over the core.

Each command opens the registry, calls one function of the core and prints the
result; an error of ours becomes a message and a hint on stderr and a non-zero exit.

    jupyter mlops init
    jupyter mlops runs --where "accuracy > 0.9" --sort -accuracy
    jupyter mlops show baseline
    jupyter mlops drift train data/today.csv     # exits 0 / 1 / 2: monitor / review / retrain
    jupyter mlops export churn.ipynb -o churn-pipeline
    jupyter mlops pipeline run churn-pipeline -p lr=0.5
"""

from __future__ import annotations

# The modules that define the commands are imported by ``main`` when a command runs
# (base.COMMAND_MODULES): importing them all here would make every command pay for all.
from .base import main

__all__ = ["main"]
