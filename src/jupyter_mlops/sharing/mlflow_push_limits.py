"""What an MLflow tracking server accepts: names, lengths and the size of one request.

MLflow refuses a whole ``runs/log-batch`` when one item breaks a rule, so a push checks
each key and value here first and reports what cannot go (:class:`Unmappable`) instead
of losing the batch around it. The rules are MLflow's own (``mlflow.utils.validation``):
keys of letters, digits, ``_ . - / : `` and spaces, at most 250 characters, no path that
normalises to another (``a//b``, ``./a``, ``/a``); a param's value at most 6000
characters, a tag's 8000; a batch of at most 1000 metrics, 100 params and 100 tags, 1000
items in all, and a request body of at most 1,000,000 bytes of JSON.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_PER_BATCH = 100
MAX_TAGS_PER_BATCH = 100
MAX_ITEMS_PER_BATCH = 1000
MAX_BATCH_BYTES = 1_000_000
MAX_MODEL_NAME_LENGTH = 256

_KEY = re.compile(r"^[/\w.\- :]*$")


@dataclass(frozen=True)
class Unmappable:
    """Something of the registry that MLflow's model cannot hold, and was not sent.

    ``owner`` names the object it belongs to (``run baseline (0af3...)``, ``model churn``),
    ``item`` the piece (``param "lr"``), ``reason`` why, in a sentence.
    """

    owner: str
    item: str
    reason: str

    def describe(self) -> str:
        return f"{self.owner}: {self.item}: {self.reason}"


def key_problem(key: str) -> str | None:
    """Why MLflow would refuse ``key`` as a param, metric or tag name; None when it takes it."""
    if not key:
        return "MLflow refuses an empty name"
    if len(key) > MAX_KEY_LENGTH:
        return f"the name has {len(key)} characters, MLflow takes at most {MAX_KEY_LENGTH}"
    if not _KEY.match(key):
        refused = sorted({c for c in key if not re.match(r"[/\w.\- :]", c)})
        return (
            f"MLflow refuses the characters {' '.join(refused)!s} in a name (it takes letters,"
            " digits, _ . - / : and spaces)"
        )
    if key.startswith("/") or posixpath.normpath(key) != key:
        return "MLflow refuses a name that reads as another path (a leading /, // or ..)"
    return None


def value_problem(value: str, *, limit: int) -> str | None:
    """Why MLflow would refuse ``value`` (a param's or tag's) for its length."""
    if len(value) > limit:
        return f"the value has {len(value)} characters, MLflow keeps at most {limit}"
    return None


def model_name_problem(name: str) -> str | None:
    """Why MLflow would refuse ``name`` as a registered model's name."""
    if not name or len(name) > MAX_MODEL_NAME_LENGTH:
        return f"MLflow takes a model name of 1 to {MAX_MODEL_NAME_LENGTH} characters"
    if "/" in name or ":" in name or "%" in name:
        return "MLflow refuses / : and % in a registered model's name"
    return None
