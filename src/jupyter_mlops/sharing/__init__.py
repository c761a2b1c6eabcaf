"""Sharing a registry with a team: pushing runs and models to the MLflow tracking server a
team already runs, importing a team's MLflow history, and merging registries by id (a
colleague's, a container's, the bundles of a Kubeflow run).

- :mod:`.mlflow_api` an MLflow tracking server, spoken to over its REST API.
- :mod:`.merge` merging another registry into this one (``jupyter mlops merge``); the
  ``merge_*`` modules beside it hold its plan per table, rows, models, conflicts, files
  and report.
- :mod:`.mlflow_import` a team's MLflow history (runs, metrics, models, aliases) imported.
- :mod:`.mlflow_push` pushing runs, models and aliases to an MLflow tracking server.
"""
