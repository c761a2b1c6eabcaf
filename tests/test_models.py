"""The model registry through real registry files, processes, an IPython shell and the CLI."""

from __future__ import annotations

import json
import pickle
import re
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from IPython.utils.capture import capture_output
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import jupyter_mlops as mlops
from jupyter_mlops.cli import main
from jupyter_mlops.errors import (
    ArtifactIntegrityError,
    InvalidInputError,
    NotFoundError,
)
from jupyter_mlops.models.aliases import alias_history, remove_alias
from jupyter_mlops.models.refs import ModelRef, parse_ref
from jupyter_mlops.models.signatures import ModelSignature, SignatureColumn
from jupyter_mlops.models.versions import aliases_of, load, resolve_version
from jupyter_mlops.registry.connection import Registry

from .conftest import cli_runner, run_cell
from .stored_snapshots import store_snapshot


@pytest.fixture(scope="module")
def cancer() -> tuple[pd.DataFrame, pd.Series]:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return X.iloc[:, :6], y


def fitted(cancer: tuple[pd.DataFrame, pd.Series], c: float = 1.0) -> Any:
    X, y = cancer
    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=500)).fit(X, y)


# -- references and names ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("churn", ModelRef("churn")),
        ("churn@latest", ModelRef("churn")),
        ("churn@3", ModelRef("churn", version=3)),
        ("churn@v12", ModelRef("churn", version=12)),
        ("churn@champion", ModelRef("churn", alias="champion")),
        ("churn-rf.v2@challenger_b", ModelRef("churn-rf.v2", alias="challenger_b")),
    ],
)
def test_parse_ref_reads_versions_and_aliases(text: str, ref: ModelRef) -> None:
    assert parse_ref(text) == ref


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "does not name a model"),
        ("churn@0", "versions start at 1"),
        ("churn@params", "reserved"),
        ("churn@9lives", "cannot name an alias"),
        ("chu rn", "cannot name a model"),
        ("../etc@1", "cannot name a model"),
        ("churn@a-b", "cannot name an alias"),
        ("churn@_private", "cannot name an alias"),
    ],
)
def test_parse_ref_refuses_bad_references(text: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        parse_ref(text)


# -- registering ------------------------------------------------------------------------------------


def test_register_numbers_versions_and_links_the_active_run(
    registry: Registry, cancer: Any
) -> None:
    with mlops.start_run("first") as run:
        run.log(accuracy=0.91)
        first = mlops.register_model(fitted(cancer), "churn", description="baseline")
    second = mlops.register_model(fitted(cancer, 0.1), "churn", run="first")
    third = mlops.register_model({"weights": [1, 2]}, "churn")
    assert [first.version, second.version, third.version] == [1, 2, 3]
    assert first.run_id == run.id and first.run_name == "first" and second.run_id == run.id
    assert first.metrics == {"accuracy": pytest.approx(0.91)}
    assert third.run_id is None and third.metrics == {}
    assert (first.flavor, third.flavor) == ("sklearn", "pickle")
    assert first.model_class == "sklearn.pipeline.Pipeline" and first.class_name == "Pipeline"
    assert first.libraries["sklearn"] and first.libraries["joblib"] and first.libraries["python"]
    assert first.size is not None and first.size > 100
    assert registry.artifacts.exists(first.artifact_sha256)
    linked = registry.query(
        "SELECT name FROM run_artifacts WHERE run_id = ? ORDER BY name", (run.id,)
    )
    assert [r[0] for r in linked] == ["model:churn@1", "model:churn@2"]


def test_register_refuses_what_cannot_be_pickled_and_stores_nothing(registry: Registry) -> None:
    class Holder:
        def __init__(self) -> None:
            self.lock = threading.Lock()

    with pytest.raises(
        InvalidInputError, match=r"Cannot register an object of type .*Holder: it cannot be pickled"
    ):
        mlops.register_model(Holder(), "churn")
    with pytest.raises(InvalidInputError, match="cannot name a model"):
        mlops.register_model({}, "churn@2")
    assert registry.query_one("SELECT COUNT(*) FROM model_versions")[0] == 0  # type: ignore[index]
    assert list((registry.artifacts.root / "tmp").iterdir()) == []


def test_register_takes_the_signature_from_the_training_snapshot(
    registry: Registry, cancer: Any
) -> None:
    X, y = cancer
    train = X.assign(target=y)  # the table the model was trained from also holds the target
    with mlops.start_run("train") as run:
        snapshot_id = store_snapshot(registry, train, "cancer-train", run_id=run.id, role="train")
        store_snapshot(registry, X.head(50), "cancer-test", run_id=run.id, role="test")
        version = mlops.register_model(fitted(cancer), "cancer")
    assert version.snapshot_id == snapshot_id and version.snapshot_name == "cancer-train"
    assert version.signature == ModelSignature(
        tuple(SignatureColumn(str(c), str(X[c].dtype)) for c in X.columns),
        X.shape[1],
        "snapshot cancer-train",
    )


@pytest.mark.parametrize(
    ("fit_on", "signature", "expected"),
    [
        ("frame", None, ("feature_names_in_", 6, ("mean radius", "mean texture"))),
        ("array", None, ("n_features_in_", 6, ())),
        ("array", {"a": "float64", "b": None}, ("given", 2, ("a", "b"))),
        ("array", ["a", "b", "c"], ("given", 3, ("a", "b"))),
    ],
)
def test_register_learns_or_takes_a_signature(
    registry: Registry, cancer: Any, fit_on: str, signature: Any, expected: tuple[Any, ...]
) -> None:
    X, y = cancer
    model = LogisticRegression(max_iter=500).fit(X if fit_on == "frame" else X.to_numpy(), y)
    version = mlops.register_model(model, "m", signature=signature)
    assert version.signature is not None
    source, count, first_names = expected
    assert (version.signature.source, version.signature.n_features) == (source, count)
    assert version.signature.names[: len(first_names)] == first_names


def test_register_links_no_snapshot_when_the_run_has_several_for_training(
    registry: Registry, cancer: Any
) -> None:
    X, _ = cancer
    with mlops.start_run("two") as run:
        store_snapshot(registry, X, "a", run_id=run.id, role="train")
        store_snapshot(registry, X.head(10), "b", run_id=run.id, role="train")
        undecided = mlops.register_model(fitted(cancer), "m")
        chosen = mlops.register_model(fitted(cancer), "m", snapshot="b")
    assert undecided.snapshot_id is None and chosen.snapshot_name == "b"
    with pytest.raises(NotFoundError, match='No snapshot with id or name "c"'):
        mlops.register_model(fitted(cancer), "m", snapshot="c")


# -- loading --------------------------------------------------------------------------------------


def test_load_by_alias_version_and_latest(registry: Registry, cancer: Any) -> None:
    X, _ = cancer
    strong, weak = fitted(cancer, 1.0), fitted(cancer, 0.001)
    mlops.register_model(strong, "churn", alias="champion")
    mlops.register_model(weak, "churn", alias="challenger")
    for ref, expected in (("churn@champion", strong), ("churn@1", strong), ("churn@v2", weak),
                          ("churn", weak), ("churn@latest", weak), ("churn@challenger", weak)):  # fmt: skip
        loaded = mlops.load_model(ref)
        assert type(loaded) is type(expected)
        assert np.array_equal(loaded.predict_proba(X), expected.predict_proba(X)), ref


@pytest.mark.parametrize(
    ("ref", "message", "hint"),
    [
        ("churm", 'No model named "churm"', "Did you mean churn"),
        ("fraud", 'No model named "fraud"', "Registered models: churn"),
        ("churn@5", 'Model "churn" has no version 5', "from 1 to 1"),
        ("churn@champion", 'Model "churn" has no alias "champion"', "none yet"),
    ],
)
def test_load_names_what_does_not_exist(
    registry: Registry, ref: str, message: str, hint: str
) -> None:
    mlops.register_model({"a": 1}, "churn")
    with pytest.raises(NotFoundError, match=message) as error:
        mlops.load_model(ref)
    assert hint in (error.value.hint or "")


class _Canary:
    """Unpickling this creates a file: proof that a tampered artifact was never unpickled."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> Any:
        return (open, (self.path, "w"))


def test_load_refuses_a_tampered_artifact_without_unpickling_it(
    registry: Registry, tmp_path: Path
) -> None:
    version = mlops.register_model({"weights": [1, 2, 3]}, "churn")
    path = registry.artifacts.path_of(version.artifact_sha256)
    canary = tmp_path / "unpickled"
    path.write_bytes(pickle.dumps(_Canary(str(canary))))
    with pytest.raises(ArtifactIntegrityError, match="was changed on disk.*refusing to load it"):
        mlops.load_model("churn@1")
    assert not canary.exists()
    path.unlink()
    with pytest.raises(NotFoundError, match="is missing"):
        mlops.load_model("churn")


# -- concurrency -------------------------------------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from jupyter_mlops.models.registering import register
    from jupyter_mlops.registry.connection import Registry

    registry = Registry.open(sys.argv[1])
    go = Path(sys.argv[2])
    while not go.exists():
        time.sleep(0.002)
    versions = [register(registry, {"by": sys.argv[3], "n": n}, "churn").version
                for n in range(15)]
    print(",".join(map(str, versions)))
    """
)


@pytest.mark.slow
def test_two_processes_registering_at_once_get_distinct_versions(
    registry: Registry, tmp_path: Path, python_env: dict[str, str]
) -> None:
    go = tmp_path / "go"
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(registry.path), str(go), name],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=python_env,
        )
        for name in ("a", "b")
    ]
    time.sleep(1.0)  # both are open and waiting
    go.touch()
    outputs = [w.communicate(timeout=120) for w in writers]
    assert [w.returncode for w in writers] == [0, 0], [err for _, err in outputs]
    got = [[int(v) for v in out.strip().split(",")] for out, _ in outputs]
    assert all(versions == sorted(versions) for versions in got)
    assert sorted(got[0] + got[1]) == list(range(1, 31))
    rows = registry.query("SELECT version, artifact_sha256 FROM model_versions ORDER BY version")
    loaded = {load(registry, f"churn@{r[0]}")["by"] for r in rows}
    assert loaded == {"a", "b"} and len({r[1] for r in rows}) == 30


# -- aliases and listings ------------------------------------------------------------------------------


def test_aliases_move_and_every_move_is_kept(registry: Registry) -> None:
    mlops.register_model({"v": 1}, "churn", alias="champion")
    mlops.register_model({"v": 2}, "churn", alias="challenger")
    mlops.promote("churn@2", alias="champion")
    assert aliases_of(registry, "churn") == {"challenger": 2, "champion": 2}
    assert remove_alias(registry, "churn@challenger") == 2
    moves = [
        (m.alias, m.from_version, m.to_version, m.reason) for m in alias_history(registry, "churn")
    ]
    assert moves == [
        ("champion", None, 1, "register"),
        ("challenger", None, 2, "register"),
        ("champion", 1, 2, "promote"),
        ("challenger", 2, None, "remove"),
    ]
    with pytest.raises(NotFoundError, match='has no alias "challenger"'):
        remove_alias(registry, "churn@challenger")


def test_registered_models_frame_has_versions_aliases_and_metrics(registry: Registry) -> None:
    for accuracy in (0.8, 0.9):
        with mlops.start_run(f"run-{accuracy}") as run:
            run.log(accuracy=accuracy)
            mlops.register_model(
                {"a": accuracy}, "churn", alias="champion" if accuracy == 0.8 else None
            )
    mlops.register_model({"b": 1}, "fraud")
    frame = mlops.registered_models()
    assert list(frame[["model", "version"]].itertuples(index=False, name=None)) == [
        ("churn", 2), ("churn", 1), ("fraud", 1),
    ]  # fmt: skip
    assert frame["aliases"].tolist() == ["", "champion", ""]
    assert frame["metrics.accuracy"].tolist()[:2] == [0.9, 0.8] and np.isnan(
        frame["metrics.accuracy"][2]
    )
    assert mlops.registered_models("fraud")["version"].tolist() == [1]
    view = registry.query(
        "SELECT model, version, aliases, run_name FROM model_versions_view ORDER BY model, version"
    )
    assert [tuple(r) for r in view] == [
        ("churn", 1, "champion", "run-0.8"), ("churn", 2, None, "run-0.9"), ("fraud", 1, None, None),
    ]  # fmt: skip


# -- the magics ----------------------------------------------------------------------------------------


def cell(shell: Any, source: str) -> tuple[Any, str, list[Any]]:
    with capture_output() as captured:
        result = run_cell(shell, source)
    return result, captured.stdout, captured.outputs


def test_register_magic_links_the_run_that_fitted_the_variable(
    shell: Any, registry: Registry
) -> None:
    result, _, _ = cell(
        shell,
        "%%mlops run fit\n"
        "from sklearn.datasets import load_iris\n"
        "from sklearn.tree import DecisionTreeClassifier\n"
        "X, y = load_iris(return_X_y=True)\n"
        "model = DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, y)\n"
        "mlops.log(accuracy=model.score(X, y))",
    )
    assert result.error_in_exec is None
    cell(shell, "%%mlops run other\nz = 1")  # a later run that did not fit `model`
    result, out, _ = cell(shell, "%mlops register model --name iris --alias champion")
    assert result.error_in_exec is None
    fit = mlops.get_run("fit").run
    assert "Registered iris@1 (sklearn DecisionTreeClassifier" in out
    assert f"from run fit ({fit.id}), which fitted model" in out and "champion -> version 1" in out
    version = resolve_version(registry, "iris@champion")
    assert version.run_id == fit.id and version.metrics["accuracy"] == pytest.approx(
        fit.metrics["accuracy"]
    )
    result, out, _ = cell(shell, "%mlops register model --name iris --run other")
    assert "Registered iris@2" in out and resolve_version(registry, "iris@2").run_name == "other"


def test_register_magic_explains_bad_input(shell: Any) -> None:
    result, _, _ = cell(shell, "%mlops register nothing_here --name iris")
    assert type(result.error_in_exec).__name__ == "UsageError"
    assert '"nothing_here" is not a defined variable' in str(result.error_in_exec)
    result, _, _ = cell(shell, "import threading\nlock = threading.Lock()")
    result, _, _ = cell(shell, "%mlops register lock --name iris")
    assert "it cannot be pickled" in str(result.error_in_exec)


def test_models_magic_shows_an_escaped_table(shell: Any, registry: Registry) -> None:
    with mlops.start_run("<img src=x onerror=alert(1)>") as run:
        run.log(accuracy=0.5)
        mlops.register_model({"a": 1}, "churn", alias="champion")
    result, _, outputs = cell(shell, "%mlops models")
    assert result.error_in_exec is None
    page = outputs[0].data["text/html"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "<img" not in page
    assert "churn" in page and "champion" in page and "0.5" in page
    result, _, outputs = cell(shell, "%mlops models fraud")
    assert 'No model named "fraud"' in str(result.error_in_exec) and not outputs


def churn_with_moves() -> None:
    """churn v1 registered as champion, v2 as challenger, v2 promoted to champion."""
    mlops.register_model({"v": 1}, "churn", alias="champion")
    mlops.register_model({"v": 2}, "churn", alias="challenger")
    mlops.promote("churn@2", alias="champion")


def test_models_magic_history_shows_every_move_and_unalias_adds_one(
    shell: Any, registry: Registry
) -> None:
    churn_with_moves()

    result, out, _ = cell(shell, "%mlops unalias churn@challenger")

    assert result.error_in_exec is None
    assert "Removed churn@challenger (it pointed at version 2)" in out
    assert aliases_of(registry, "churn") == {"champion": 2}
    result, _, outputs = cell(shell, "%mlops models churn --history")
    assert result.error_in_exec is None
    page = outputs[0].data["text/html"]
    rows = page.split("<tbody>")[1].split("</tr>")[:-1]
    assert [
        [re.sub("<[^>]+>", "", cell).split(">", 1)[-1] for cell in row.split("<td")[1:]][1:5]
        for row in rows
    ] == [
        ["champion", "—", "v1", "register"],
        ["challenger", "—", "v2", "register"],
        ["champion", "v1", "v2", "promote"],
        ["challenger", "v2", "—", "remove"],
    ]
    assert "4 alias move(s)" in page


def test_models_magic_history_of_a_model_whose_aliases_never_moved(
    shell: Any, registry: Registry
) -> None:
    mlops.register_model({"v": 1}, "fraud")
    _, _, outputs = cell(shell, "%mlops models fraud --history")
    page = outputs[0].data["text/html"]
    assert "No alias of fraud has been set yet" in page and "<table" not in page


@pytest.mark.parametrize(
    ("line", "message", "hint"),
    [
        ("%mlops unalias churm@challenger", 'No model named "churm"', "Did you mean churn?"),
        ("%mlops unalias churn@staging", 'Model "churn" has no alias "staging"',
         "Its aliases: challenger (v2), champion (v2)"),
        ("%mlops unalias churn@2", '"churn@2" names no alias', "Write NAME@ALIAS"),
        ("%mlops unalias", "the following arguments are required: NAME@ALIAS",
         "See %mlops help unalias"),
        ("%mlops models churm --history", 'No model named "churm"', "Did you mean churn?"),
        ("%mlops models --history", "--history needs the model's name",
         "%mlops models churn --history"),
    ],
)  # fmt: skip
def test_alias_magics_explain_bad_input_in_one_line_and_a_hint(
    shell: Any, registry: Registry, line: str, message: str, hint: str
) -> None:
    churn_with_moves()
    result, _, outputs = cell(shell, line)
    error = result.error_in_exec
    assert type(error).__name__ == "UsageError" and not outputs
    first, second = str(error).split("\n")
    assert message in first and second.startswith("Hint: ") and hint in second
    assert aliases_of(registry, "churn") == {"challenger": 2, "champion": 2}


# -- the command line ------------------------------------------------------------------------------


def test_models_command_prints_versions_and_json(registry: Registry) -> None:
    with mlops.start_run("r") as run:
        run.log(f1=0.75)
        mlops.register_model({"a": 1}, "churn", alias="champion")
    mlops.register_model({"a": 2}, "churn")
    result = cli_runner().invoke(main, ["models"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "churn: 2 version(s); champion -> v1"
    assert lines[1].split()[:5] == ["version", "aliases", "flavor", "class", "run"]
    assert lines[3].split()[:3] == ["2", "pickle", "dict"]
    assert lines[4].split()[:2] == ["1", "champion"] and "0.75" in lines[4]
    data = json.loads(cli_runner().invoke(main, ["models", "churn", "--format", "json"]).stdout)
    assert data[0]["aliases"] == {"champion": 1} and data[0]["versions"][1]["metrics"] == {
        "f1": 0.75
    }
    missing = cli_runner().invoke(main, ["models", "fraud"])
    assert missing.exit_code == 1 and 'No model named "fraud"' in missing.stderr


def test_registry_opened_by_another_process_sees_the_new_tables(
    registry: Registry, python_env: dict[str, str]
) -> None:
    mlops.register_model({"a": 1}, "churn")
    script = (
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]);"
        " print(c.execute('SELECT model, version FROM model_versions_view').fetchall())"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(registry.path)],
        capture_output=True,
        text=True,
        env=python_env,
    )
    assert done.stdout.strip() == "[('churn', 1)]", done.stderr


def test_models_history_command_prints_every_move_as_a_table_or_json(registry: Registry) -> None:
    churn_with_moves()
    removed = cli_runner().invoke(main, ["unalias", "churn@challenger"])
    assert removed.exit_code == 0, removed.output
    assert removed.stdout.startswith("Removed churn@challenger (it pointed at version 2);")

    result = cli_runner().invoke(main, ["models", "churn", "--history"])

    assert result.exit_code == 0, result.output
    header, _, *rows = result.stdout.splitlines()
    assert header.split() == ["moved", "alias", "from", "to", "why", "gate", "evaluation"]
    assert [row.split()[2:6] for row in rows] == [
        ["champion", "-", "v1", "register"],
        ["challenger", "-", "v2", "register"],
        ["champion", "v1", "v2", "promote"],
        ["challenger", "v2", "-", "remove"],
    ]
    moves = json.loads(
        cli_runner().invoke(main, ["models", "churn", "--history", "--format", "json"]).stdout
    )
    assert [(m["alias"], m["from_version"], m["to_version"], m["reason"]) for m in moves] == [
        ("champion", None, 1, "register"), ("challenger", None, 2, "register"),
        ("champion", 1, 2, "promote"), ("challenger", 2, None, "remove"),
    ]  # fmt: skip
    assert all(m["model"] == "churn" and m["moved_at"] > 0 for m in moves)


@pytest.mark.parametrize(
    ("args", "message", "hint"),
    [
        (["unalias", "churm@challenger"], 'No model named "churm"', "Did you mean churn?"),
        (["unalias", "churn@staging"], 'Model "churn" has no alias "staging"',
         "Its aliases: challenger (v2), champion (v2)"),
        (["unalias", "churn"], '"churn" names no alias', "Write NAME@ALIAS"),
        (["models", "churm", "--history"], 'No model named "churm"', "Did you mean churn?"),
        (["models", "--history"], "--history needs the model's name",
         "jupyter mlops models churn --history"),
    ],
)  # fmt: skip
def test_alias_commands_exit_1_with_a_message_and_a_hint(
    registry: Registry, args: list[str], message: str, hint: str
) -> None:
    churn_with_moves()
    result = cli_runner().invoke(main, args)
    assert result.exit_code == 1 and result.stdout == ""
    error, advice = result.stderr.splitlines()
    assert error.startswith("Error: ") and message in error
    assert advice.startswith("Hint: ") and hint in advice
    assert aliases_of(registry, "churn") == {"challenger": 2, "champion": 2}
