"""Snapshots: the data a run read, identified by a fingerprint of its full content,
profiled, and stored once per name and content.

Modules: :mod:`.inputs` (what can be snapshotted, read as a frame), :mod:`.encoding`,
:mod:`.fingerprint` and :mod:`.hashing` (the full-content fingerprint and its hash
schemes), :mod:`.column_values` and :mod:`.profiles` (the statistical profile that later
serves as a drift reference), :mod:`.snapshot` (a snapshot as a value), :mod:`.materialized`
(the data itself as parquet) and :mod:`.store` (snapshots in the registry, linked to runs,
read back).
"""
