"""The registry: one SQLite file plus a directory of content-addressed artifacts.

Where it is, the way git finds ``.git`` (:mod:`.location`):

1. the ``MLOPS_REGISTRY`` environment variable (a ``.db`` file, or a directory that
   holds ``registry.db``), created on first use;
2. else the nearest ``.mlops/registry.db`` from the working directory upwards;
3. else nothing, until ``%mlops init`` / ``jupyter mlops init`` creates
   ``.mlops/registry.db`` in the working directory.

Several kernels and pipeline processes write at once. Every write is one
``BEGIN IMMEDIATE`` transaction (a writer waits for the lock instead of failing when
it upgrades a read), the journal is WAL (readers never wait for writers), and the
busy timeout is long; a write still locked out after it is reported as a
:class:`~jupyter_mlops.errors.RecordingError` naming what was not recorded. A file that
is not an SQLite database, or not a jupyter-mlops registry, is refused and never
overwritten.

    registry = Registry.open()                 # found from the working directory
    registry = Registry.init(Path("project"))  # project/.mlops/registry.db

Modules: :mod:`.connection` (the open registry, its transactions), :mod:`.location`,
:mod:`.schema` (the tables, as named migrations, whose SQL is in :mod:`.tables`) and
:mod:`.migrations` (applying them),
:mod:`.liveness` (crashed runs), :mod:`.artifacts` (the content-addressed files),
:mod:`.contents` (what it holds, counted) and :mod:`.sqlite_errors` (SQLite's errors in
the project's words).
"""
