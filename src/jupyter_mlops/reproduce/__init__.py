"""Reproduce: any past run, from the registry alone.

:mod:`.checkout` writes a run's notebook: the earlier cells it depended on (its closure,
recorded when it ended; see :mod:`jupyter_mlops.tracking.closure`), its parameters in a
``parameters`` cell and its own cells, ready to read, run again or export.
:mod:`.reproduction` runs that notebook in a fresh kernel (:mod:`.execution`), checking
between the closure and the run's cells that the data is the data the run read
(:mod:`.data_check`), and gives the verdict (:mod:`.verdict`): the same metrics, or which
differ and the likely causes.
"""
