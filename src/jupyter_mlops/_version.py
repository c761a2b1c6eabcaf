"""The version of jupyter-mlops, in one place."""

__version__ = "0.1.0"
