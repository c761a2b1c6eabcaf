"""The SQL of the registry's migrations, a module per group; :mod:`..schema` orders them.

Each module defines the :class:`Migration` values of one concept (runs, models, drift,
pipelines, search, the indexes of lists), so a new table or index is added where its
readers and writers would look for it, and :data:`..schema.MIGRATIONS` stays the one
ordered list. :mod:`.migration` defines what a migration is.
"""
