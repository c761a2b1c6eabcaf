"""Parameter values parsed by their declared type, with clear errors."""

from __future__ import annotations

import pytest

from jupyter_mlops.errors import InvalidInputError
from jupyter_mlops.runner.params import parse_parameters
from jupyter_mlops.runner.spec import ParameterSpec, PipelineSpec, SourceSpec

SPEC = PipelineSpec(
    name="churn",
    source=SourceSpec("churn.ipynb", "0" * 64),
    parameters=(
        ParameterSpec("lr", "float", 0.1),
        ParameterSpec("depth", "int", 6),
        ParameterSpec("name", "str", "base"),
        ParameterSpec("scale", "bool", False),
        ParameterSpec("features", "list", ["a"]),
        ParameterSpec("options", "dict", {}),
        ParameterSpec("limit", "int", None, nullable=True),
        ParameterSpec("anything", "none", None, nullable=True),
    ),
    steps=(),
    edges=(),
    artifacts=(),
)


@pytest.mark.parametrize(
    "override, name, value",
    [
        ("lr=0.5", "lr", 0.5),
        ("lr=1", "lr", 1.0),
        ("lr=1e-3", "lr", 0.001),
        ("depth=12", "depth", 12),
        ("name=with = sign", "name", "with = sign"),
        ("name=", "name", ""),
        ("scale=true", "scale", True),
        ("scale=No", "scale", False),
        ("scale=1", "scale", True),
        ("features=['x', 'y']", "features", ["x", "y"]),
        ('features=["x"]', "features", ["x"]),
        ("features=(1, 2)", "features", [1, 2]),
        ('options={"k": 2}', "options", {"k": 2}),
        ("limit=null", "limit", None),
        ("limit=None", "limit", None),
        ("limit=5", "limit", 5),
        ("anything=[1]", "anything", [1]),
        ("anything=text", "anything", "text"),
    ],
)
def test_parse_parameters_parses_by_declared_type(override, name, value):
    values = parse_parameters(SPEC, [override])
    assert values[name] == value
    assert type(values[name]) is type(value)


def test_parse_parameters_keeps_defaults_for_the_rest():
    values = parse_parameters(SPEC, ["lr=0.5"])
    assert values == {"lr": 0.5, "depth": 6, "name": "base", "scale": False, "features": ["a"],
                      "options": {}, "limit": None, "anything": None}  # fmt: skip


def test_parse_parameters_accepts_a_mapping_of_python_values():
    values = parse_parameters(SPEC, {"lr": 2, "depth": "3", "features": ("z",)})
    assert (values["lr"], values["depth"], values["features"]) == (2.0, 3, ["z"])


@pytest.mark.parametrize(
    "override, message, hint",
    [
        ("lr=fast", r'Parameter "lr" expects float, got \'fast\'', "-p lr=0.5"),
        ("depth=1.5", r'"depth" expects int', "-p depth=10"),
        ("scale=maybe", r'"scale" expects bool', "true"),
        ("features={'a': 1}", r'"features" expects list', "[1, 2]"),
        ("options=[1]", r'"options" expects dict', '{"a": 1}'),
        ("limit=many", r'"limit" expects int or None', "default None"),
        ("depth=null", r'"depth" expects int', "default 6"),
        ("speed=3", r'Pipeline "churn" has no parameter "speed"', "lr, depth, name"),
        ("lr", r"'lr' is not name=value", "-p lr=0.5"),
    ],
)
def test_parse_parameters_rejects_bad_values_and_unknown_names(override, message, hint):
    with pytest.raises(InvalidInputError, match=message) as caught:
        parse_parameters(SPEC, [override])
    assert hint in caught.value.hint


def test_parse_parameters_rejects_python_values_of_the_wrong_type():
    with pytest.raises(InvalidInputError, match='"depth" expects int'):
        parse_parameters(SPEC, {"depth": 2.5})
    with pytest.raises(InvalidInputError, match='"scale" expects bool'):
        parse_parameters(SPEC, {"scale": 1})
