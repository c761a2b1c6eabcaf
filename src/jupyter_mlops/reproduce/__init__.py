"""Reproduce: any past run, from the registry alone.

:mod:`.checkout` writes a run's notebook: the earlier cells it depended on (its closure,
recorded when it ended; see :mod:`jupyter_mlops.tracking.closure`), its parameters in a
``parameters`` cell and its own cells, ready to read, run again or export.
"""
