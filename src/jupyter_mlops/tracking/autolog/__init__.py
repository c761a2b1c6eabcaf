"""Autolog: what a run records from the objects a cell made, with no logging call.

Each module reads one kind of object after it has done its work, never changing what
the user's code computes (nothing is patched, no fit is wrapped): attributes are read
once the object is fitted. :mod:`.sklearn_search` turns a finished scikit-learn
hyper-parameter search into one child run per candidate, :mod:`.optuna_study` an Optuna
study into one child run per trial, :mod:`.boosting` a fitted xgboost or LightGBM model
into evaluation curves, its best iteration and a feature-importance table.
:func:`.cells.record_after_cell` is what the notebook calls after each cell of a run.
"""
