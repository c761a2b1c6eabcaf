"""Serving: the model behind an alias answering requests, and what is learnt from them.

Modules: :mod:`.label_metrics` (how well a version did on the rows whose labels came
back), :mod:`.comparison` (champion against challenger on the same rows, with a paired
test) and :mod:`.windows` (logged predictions cut into windows of time, each judged for
drift, latency and live metrics).
"""
