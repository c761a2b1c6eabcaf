"""jupyter-mlops: track, guard and ship machine-learning work from Jupyter.

    %load_ext jupyter_mlops
    %%mlops run baseline --experiment churn
    ...
"""

from __future__ import annotations

__version__ = "0.1.0"
