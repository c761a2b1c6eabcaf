"""Sharing a registry with a team: pushing runs and models to the MLflow tracking server a
team already runs, importing a team's MLflow history, and merging registries by id.

- :mod:`.mlflow_api` an MLflow tracking server, spoken to over its REST API.
- :mod:`.mlflow_push` pushing runs, models and aliases to an MLflow tracking server.
"""
