"""Models: named models, numbered versions, and aliases that point at versions.

    version = register(registry, model, "churn", run_id=run.id)   # churn version 1, 2, 3...
    load(registry, "churn@champion")    # the version the alias points at
    load(registry, "churn@3")           # version 3
    load(registry, "churn")             # the latest version

A version stores the fitted object as a joblib file in the content-addressed artifact
store, and records the run that trained it (so its metrics can be compared), the
training data snapshot, its flavor, the class, the versions of the libraries needed to
load it, and its input signature. Loading checks the file's bytes against the recorded
sha256 before unpickling exactly those bytes.

Modules: :mod:`.refs` (naming: ``churn@3``, ``churn@champion``), :mod:`.registering`,
:mod:`.versions` (reading back, loading), :mod:`.aliases` (moves and their history),
:mod:`.signatures` and :mod:`.copying` (versions copied into another registry). Moving an alias behind validation gates is
:func:`jupyter_mlops.gates.evaluation.promote`.
"""
