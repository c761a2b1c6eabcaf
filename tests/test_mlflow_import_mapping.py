"""How MLflow's runs, parameters and files map to the registry's, without a server."""

from __future__ import annotations

import collections
import pickle
from fractions import Fraction

import pytest

from jupyter_mlops.sharing.mlflow_import import parents_first
from jupyter_mlops.sharing.mlflow_import_artifacts import mlmodel_flavors, pickled_class
from jupyter_mlops.sharing.mlflow_import_report import Tally
from jupyter_mlops.sharing.mlflow_import_runs import param_value, run_from_mlflow

EXPECTED_SECONDS = 2


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("6", (6, "int")),
        ("-12", (-12, "int")),
        ("007", ("007", "str")),  # would not read back as written
        ("0.1", (0.1, "float")),
        ("1e-05", (1e-05, "float")),
        ("0.10", ("0.10", "str")),
        ("True", (1, "bool")),
        ("None", (None, "none")),
        ("gini", ("gini", "str")),
        ("[1, 2]", ("[1, 2]", "str")),
        ("", ("", "str")),
        ("1" * 6000, ("1" * 6000, "str")),  # past Python's 4,300 digits for int()
    ],
)
def test_a_parameter_becomes_a_number_only_when_it_reads_back_exactly(
    text: str, stored: tuple[object, str]
) -> None:
    assert param_value(text) == stored


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
@pytest.mark.parametrize(
    ("value", "name"),
    [
        ({"weights": [1, 2]}, "builtins.dict"),
        ([1, 2], "builtins.list"),
        (collections.OrderedDict(a=1), "collections.OrderedDict"),
        (Fraction(1, 3), "fractions.Fraction"),
    ],
)
def test_the_class_of_a_pickle_is_read_without_unpickling_it(
    value: object, name: str, protocol: int
) -> None:
    assert pickled_class(pickle.dumps(value, protocol=protocol)) == name


def test_bytes_that_are_no_pickle_have_no_class() -> None:
    assert pickled_class(b"PK\x03\x04 a zip file") is None
    assert pickled_class(b"") is None


def test_the_flavors_of_an_mlmodel_file_are_its_flavors_keys() -> None:
    text = (
        "artifact_path: model\nflavors:\n  python_function:\n    env:\n      conda: conda.yaml\n"
        "    loader_module: mlflow.sklearn\n  sklearn:\n    pickled_model: model.pkl\n"
        "mlflow_version: 3.1.0\nsignature:\n  inputs: '[]'\n"
    )
    assert mlmodel_flavors(text) == ("python_function", "sklearn")


def _answer(run_id: str, start: int, tags: dict[str, str]) -> dict[str, object]:
    return {
        "info": {
            "run_id": run_id,
            "status": "FINISHED",
            "start_time": start,
            "end_time": start + 5,
        },
        "data": {"tags": [{"key": k, "value": v} for k, v in tags.items()]},
    }


def test_system_tags_become_fields_and_the_others_stay_tags() -> None:
    run = run_from_mlflow(
        _answer(
            "f" * 32,
            1_000,
            {
                "mlflow.runName": "trial",
                "mlflow.parentRunId": "a" * 32,
                "mlflow.note.content": "deeper",
                "mlflow.source.type": "NOTEBOOK",
                "mlflow.source.name": "/Users/ana/churn.ipynb",
                "mlflow.source.git.commit": "0123abcd",
                "mlflow.user": "ana",
                "team": "risk",
                "mlops.run_id": "a1b2c3d4e5f6",
            },
        ),
        "churn",
    )
    assert (run.id, run.mlflow_id, run.pushed) == ("a1b2c3d4e5f6", "f" * 32, True)
    assert (run.name, run.parent_mlflow_id, run.note) == ("trial", "a" * 32, "deeper")
    assert (run.kind, run.notebook_path, run.git_commit) == (
        "notebook",
        "/Users/ana/churn.ipynb",
        "0123abcd",
    )
    assert (run.started_at, run.ended_at, run.status) == (1.0, 1.005, "finished")
    assert run.tags == {"mlflow.user": "ana", "team": "risk", "mlops.mlflow_run_id": "f" * 32}


def test_parents_come_before_their_children_whatever_their_start() -> None:
    child = run_from_mlflow(_answer("c" * 32, 1, {"mlflow.parentRunId": "p" * 32}), "e")
    grandchild = run_from_mlflow(_answer("g" * 32, 0, {"mlflow.parentRunId": "c" * 32}), "e")
    parent = run_from_mlflow(_answer("p" * 32, 9, {}), "e")
    assert [r.mlflow_id[0] for r in parents_first([grandchild, child, parent])] == ["p", "c", "g"]


def test_the_report_names_each_kind_and_what_was_not_imported() -> None:
    tally = Tally("http://mlflow:5000")
    tally.count("runs", "added", 3)
    tally.count("runs", "unchanged")
    tally.skip('experiment "churn": 2 trace(s)')
    tally.skip('experiment "churn": 2 trace(s)')
    report = tally.report()
    assert report.counts["runs"].total == 4 and report.changed
    text = report.summary()
    assert "runs: 3 added, 0 updated, 1 unchanged" in text
    assert "aliases: 0 added, 0 updated, 0 unchanged" in text
    assert text.endswith('Not imported (1):\n  - experiment "churn": 2 trace(s)')


def test_a_long_list_of_what_was_not_imported_is_cut_in_the_summary_only() -> None:
    tally = Tally("http://mlflow:5000")
    for i in range(60):
        tally.skip(f'run "r{i}": dataset input "train"')
    report = tally.report()
    assert len(report.not_imported) == 60
    text = report.summary()
    assert 'run "r49"' in text and 'run "r50"' not in text
    assert text.endswith("... and 10 more (the report's not_imported names them all)")
