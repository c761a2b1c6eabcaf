"""Capture: what a run records without being asked: parameters, inputs, estimators,
environment, git.

Everything here reads code and objects; nothing evaluates user code. Cell source is
parsed with :mod:`ast` (after IPython has turned its magics into Python), so
``lr = 0.1`` becomes a parameter because it *is* a literal, not because it was run.

Modules: :mod:`.cells` (what a cell's code tells), :mod:`.environment` (Python, platform
and the versions of imported packages), :mod:`.git` (commit, branch, dirty) and
:mod:`.notebook` (which notebook a kernel runs, headless too, and what papermill injected).
"""
