"""Drift: is the current data still distributed like the reference data?

Each column is compared with a significance test and an effect size and decided
monitor / review / retrain; the report's decision is the worst of its columns'.

Modules: :mod:`.statistics` (the tests on plain arrays), :mod:`.columns` (one column of
a check), :mod:`.deciding` (comparing every column and deciding, no I/O), :mod:`.report`
(the report as a value), :mod:`.checks` (a check from end to end: find both sides,
compare, store), :mod:`.store` (reports in the registry), :mod:`.drawing` (what views
draw of stored reports) and :mod:`.gate` (drift checks as gate lines).
"""
