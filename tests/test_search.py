"""Searching runs by their code and notes: the index and its migration, the matching rules,
hostile input, and each face (Python API, %mlops, jupyter mlops; the server route in
test_server_routes.py, the panel's filter box in test_panel_contract.py)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from click.testing import CliRunner
from IPython.utils.capture import capture_output

import jupyter_mlops as mlops
from jupyter_mlops.cli import main
from jupyter_mlops.errors import InvalidInputError
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.registry.migrations import statements_of
from jupyter_mlops.registry.schema import MIGRATIONS
from jupyter_mlops.registry.search_index import INDEXED
from jupyter_mlops.tracking.queries.listing import list_runs, runs_frame
from jupyter_mlops.tracking.queries.search import TextSearch, no_match

from .conftest import run_cell

# What the runs of the tests ran: (name, experiment, cells, note, accuracy)
RUNS: tuple[tuple[str, str, tuple[str, ...], str | None, float], ...] = (
    (
        "forest",
        "churn",
        (
            "from sklearn.ensemble import RandomForestClassifier",
            "model = RandomForestClassifier(max_depth=6).fit(X_train, y_train)",
        ),
        None,
        0.91,
    ),
    (
        "scaled",
        "churn",
        (
            "import sklearn.ensemble as ens\nX = scaler.fit_transform(X)",
            "model = ens.GradientBoostingClassifier().fit(X, y)",
        ),
        "tried a deeper forest: overfits after depth 12",
        0.87,
    ),
    (
        "linear",
        "churn",
        ("model = LogisticRegression(C=0.5)\nmodel.fit(X, y)  # 100% of 'rows'",),
        None,
        0.8,
    ),
    (
        "odd",
        "other",
        ('print("NEAR(a b) OR c* ^d col:x")\nlabel = "Ümlaut_ß"',),
        "labels were stale",
        0.5,
    ),
)


def record(registry: Registry, runs: tuple[tuple[Any, ...], ...] = RUNS) -> None:
    for name, experiment, cells, note, accuracy in runs:
        with mlops.start_run(name, experiment=experiment, registry=registry) as run:
            for number, source in enumerate(cells, start=1):
                run.record_cell(source, execution_count=number)
            run.log(accuracy=accuracy)
            if note:
                run.note(note)


@pytest.fixture
def recorded(registry: Registry) -> Registry:
    record(registry)
    return registry


def names(registry: Registry, code: str, **arguments: Any) -> list[str]:
    return [run.name for run in list_runs(registry, code=code, **arguments).runs]


def truth(code: str) -> set[str]:
    """The runs whose cells or note contain every word of ``code``, by Python's own reading."""
    words = TextSearch.parse(code).words
    found = set()
    for name, _, cells, note, _ in RUNS:
        text = "\n".join((*cells, note or "")).lower()
        if all(word.lower() in text for word in words):
            found.add(name)
    return found


# -- what matches ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("RandomForest", {"forest"}),  # part of RandomForestClassifier(...)
        ("randomforestclassifier", {"forest"}),  # case does not matter
        ("fit_transform", {"scaled"}),  # underscores as written
        ("sklearn.ensemble", {"forest", "scaled"}),  # a dotted name
        ("RandomForestClassifier(max_depth=6)", {"forest"}),  # a whole call
        ("forest", {"forest", "scaled"}),  # in the code of one, the note of the other
        ("stale", {"odd"}),  # a note only
        ("fit ensemble", {"forest", "scaled"}),  # every word, in any of the run's cells
        ("ensemble LogisticRegression", set()),  # two words no single run has
        ('"max_depth=6).fit"', {"forest"}),  # a quoted phrase is one word
        ("C=", {"linear"}),  # shorter than the index's three characters
        ("ß", {"odd"}),  # one character, not ASCII
        ("XGBClassifier", set()),
    ],
)
def test_search_finds_the_runs_whose_code_or_note_contains_each_word(
    recorded: Registry, code: str, expected: set[str]
) -> None:
    assert set(names(recorded, code)) == expected == truth(code)


HOSTILE = [
    '"',
    "'",
    'a" OR "b',
    "NEAR(a b)",
    "OR",
    "AND NOT",
    "c*",
    "^d",
    "col:x",
    "source:model",
    "(",
    ")",
    "%",
    "100%",
    "_",
    "\\",
    "'rows'",
    "'; DROP TABLE runs; --",
    '" OR 1=1 --',
    "{source note}: model",
    'label = "Ümlaut_ß"',
    "*" * 400,
    "\u202e\u200b",
    "x" * 499,
]


@pytest.mark.parametrize("code", HOSTILE)
def test_hostile_search_text_is_searched_for_as_written(recorded: Registry, code: str) -> None:
    before = recorded.path.read_bytes()

    found = set(names(recorded, code))

    assert found == truth(code)
    assert recorded.query_one("SELECT COUNT(*) FROM runs")[0] == len(RUNS)
    assert recorded.path.read_bytes() == before


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("", "is empty"),
        ('  ""  ', "is empty"),
        ("model\x00", "NUL character"),
        ("x" * 501, "at most 500"),
        (" ".join(f"w{i}" for i in range(21)), "at most 20"),
    ],
)
def test_search_text_that_cannot_be_searched_is_refused_with_a_hint(
    recorded: Registry, code: str, message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message) as caught:
        list_runs(recorded, code=code)
    assert caught.value.hint


def test_search_combines_with_experiment_where_sort_and_paging(recorded: Registry) -> None:
    assert names(recorded, "fit", experiment="churn", sort="accuracy") == [
        "linear",
        "scaled",
        "forest",
    ]
    assert names(recorded, "fit", where="accuracy > 0.85", sort="-accuracy") == [
        "forest",
        "scaled",
    ]
    page = list_runs(recorded, code="fit", sort="-accuracy", limit=1, offset=1)
    assert [run.name for run in page.runs] == ["scaled"] and page.total == 3
    frame = runs_frame(recorded, code="model", where="accuracy < 0.9", sort="-accuracy")
    assert list(frame["name"]) == ["scaled", "linear"]
    assert list(mlops.runs(code="sklearn.ensemble", sort="name")["name"]) == ["forest", "scaled"]


def test_search_that_matches_nothing_still_checks_the_filter_and_sort(recorded: Registry) -> None:
    from jupyter_mlops.errors import ExpressionError

    with pytest.raises(ExpressionError, match="nope"):
        list_runs(recorded, code="XGBClassifier", sort="nope")
    assert list_runs(recorded, code="XGBClassifier").total == 0
    assert runs_frame(recorded, code="XGBClassifier").empty


def test_no_match_message_names_every_filter_and_says_what_to_try() -> None:
    empty = no_match(experiment="churn", where="accuracy > 0.9", code="RandomForest fit")
    assert empty.message == (
        'No run in experiment "churn" matches: where accuracy > 0.9,'
        ' code or note containing "RandomForest" and "fit".'
    )
    assert "shorter piece" in empty.hint


# -- notes ------------------------------------------------------------------------------------------


def test_a_note_is_replaced_by_the_next_and_removed_by_empty_text(recorded: Registry) -> None:
    run_id = list_runs(recorded, code="stale").runs[0].id
    assert mlops.get_run(run_id).note == "labels were stale"

    with mlops.start_run("again", registry=recorded) as run:
        run.note("first thought")
    run.note("second thought, after the run ended")

    assert names(recorded, "first thought") == []
    assert names(recorded, "after the run ended") == ["again"]
    run.note("")
    assert names(recorded, "second thought") == [] and mlops.get_run(run.id).note is None


def test_a_note_must_be_text(recorded: Registry) -> None:
    with (
        mlops.start_run("typed", registry=recorded) as run,
        pytest.raises(InvalidInputError, match="A note is text"),
    ):
        run.note(42)  # type: ignore[arg-type]


# -- the index stays in step with the tables ----------------------------------------------------------


def integrity(registry: Registry) -> None:
    """FTS5's own check that each index holds exactly its table's text."""
    for _, _, index in INDEXED:
        registry.conn.execute(f"INSERT INTO {index} ({index}, rank) VALUES ('integrity-check', 1)")


def test_index_follows_edits_and_deletions_made_by_other_tools(recorded: Registry) -> None:
    # another tool (sqlite-utils, datasette) edits a cell and deletes a run
    db = sqlite_utils.Database(recorded.path)
    db.execute(
        "UPDATE code_cells SET source = 'model = XGBClassifier()' WHERE source LIKE '%Logistic%'"
    )
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("DELETE FROM runs WHERE name = 'odd'")  # cascades to its cells and note
    db.conn.commit()
    db.close()

    assert names(recorded, "XGBClassifier") == ["linear"]
    assert names(recorded, "LogisticRegression") == []
    assert names(recorded, "stale") == [] and names(recorded, "Ümlaut") == []
    integrity(recorded)


def test_cells_written_again_replace_their_indexed_text(recorded: Registry) -> None:
    run_id = list_runs(recorded, code="LogisticRegression").runs[0].id
    with recorded.transaction() as conn:  # the upsert the run's flush makes
        conn.execute(
            "INSERT INTO code_cells (run_id, seq, execution_count, cell_id, source, executed_at)"
            " VALUES (?, 0, 9, NULL, 'model = SVC()', 0) ON CONFLICT (run_id, seq) DO UPDATE"
            " SET source = excluded.source",
            (run_id,),
        )
    assert names(recorded, "SVC()") == ["linear"] and names(recorded, "Logistic") == []
    integrity(recorded)


def test_registry_without_the_index_finds_the_same_runs_by_scanning(recorded: Registry) -> None:
    # what the migration leaves on an SQLite older than 3.34 (no trigram tokenizer)
    db = sqlite_utils.Database(recorded.path)
    for table, _, _ in INDEXED:
        db.table(table).disable_fts()
    db.close()
    with Registry.open(recorded.path) as reopened:
        for code in ("RandomForest", "fit ensemble", "stale", "C=", "XGB"):
            assert set(names(reopened, code)) == truth(code), code


# -- the migration --------------------------------------------------------------------------------


def old_registry(path: Path) -> None:
    """A registry as jupyter-mlops made it before the index: the first four migrations."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
    for migration in MIGRATIONS[:4]:
        for statement in statements_of(migration.sql):
            conn.execute(statement)
        conn.execute("INSERT INTO schema_migrations VALUES (?, 0)", (migration.name,))
    conn.execute("PRAGMA user_version = 4")
    conn.execute("INSERT INTO experiments VALUES (1, 'old', 0)")
    for number, (name, _, cells, _, _) in enumerate(RUNS):
        conn.execute(
            "INSERT INTO runs (id, experiment_id, name, status, started_at)"
            " VALUES (?, 1, ?, 'finished', ?)",
            (f"old{number}", name, number),
        )
        for seq, source in enumerate(cells):
            conn.execute(
                "INSERT INTO code_cells (run_id, seq, execution_count, source, executed_at)"
                " VALUES (?, ?, ?, ?, 0)",
                (f"old{number}", seq, seq + 1, source),
            )
    conn.close()


def test_registry_made_before_the_index_gains_it_filled_with_its_code(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old_registry(path)

    with Registry.open(path) as registry:
        assert names(registry, "RandomForest") == ["forest"]
        assert set(names(registry, "sklearn.ensemble")) == {"forest", "scaled"}
        assert registry.query_one("PRAGMA user_version")[0] == len(MIGRATIONS)
        assert registry.query_one("SELECT COUNT(*) FROM code_cells")[0] == 6
        integrity(registry)
        # the rebuilt table keeps its key and its cascade
        with pytest.raises(sqlite3.IntegrityError):
            registry.conn.execute(
                "INSERT INTO code_cells (run_id, seq, source, executed_at)"
                " VALUES ('old0', 0, 'again', 0)"
            )
        with registry.transaction() as conn:
            conn.execute("DELETE FROM runs WHERE id = 'old0'")
        assert names(registry, "RandomForest") == []
        integrity(registry)


def test_processes_opening_an_old_registry_at_once_migrate_it_once(
    tmp_path: Path, python_env: dict[str, str]
) -> None:
    path = tmp_path / "old.db"
    old_registry(path)
    script = (
        "import sys; from jupyter_mlops.registry.connection import Registry;"
        " from jupyter_mlops.tracking.queries.listing import list_runs;"
        " r = Registry.open(sys.argv[1]);"
        " print(len(list_runs(r, code='model').runs)); r.close()"
    )
    children = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(path)],
            env=python_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = [child.communicate(timeout=60) for child in children]

    assert all(child.returncode == 0 for child in children), [err for _, err in results]
    assert [out.strip() for out, _ in results] == ["3"] * 4
    with Registry.open(path) as registry:
        applied = [row[0] for row in registry.query("SELECT name FROM schema_migrations")]
        assert applied == [m.name for m in MIGRATIONS]
        assert registry.query_one("SELECT COUNT(*) FROM code_cells_fts")[0] == 6
        integrity(registry)


# -- the faces ------------------------------------------------------------------------------------


def cell(shell: Any, source: str) -> tuple[Any, str, list[Any]]:
    with capture_output() as captured:
        result = run_cell(shell, source)
    return result, captured.stdout, captured.outputs


def test_magic_runs_code_shows_the_matching_runs(shell: Any, recorded: Registry) -> None:
    result, _, outputs = cell(shell, '%mlops runs --code "RandomForest" --where "accuracy > 0.5"')

    assert result.error_in_exec is None
    html = outputs[0].data["text/html"]
    assert "forest" in html and "scaled" not in html and "linear" not in html


def test_magic_runs_code_says_when_nothing_matches(shell: Any, recorded: Registry) -> None:
    result, out, outputs = cell(shell, "%mlops runs --code XGBClassifier -e churn")

    assert result.error_in_exec is None and outputs == []
    assert 'No run in experiment "churn" matches: code or note containing "XGBClassifier".' in out
    assert "shorter piece" in out


def test_magic_runs_code_refuses_an_empty_search(shell: Any, recorded: Registry) -> None:
    result, _, _ = cell(shell, '%mlops runs --code ""')
    assert type(result.error_in_exec).__name__ == "UsageError"
    assert "The code search is empty" in str(result.error_in_exec)


def test_magic_note_writes_the_active_runs_note_as_typed(shell: Any, registry: Registry) -> None:
    cell(shell, "%mlops start tuning")
    result, out, _ = cell(shell, '%mlops note didn\'t converge: "lr" too high, 50% done')
    cell(shell, "%mlops end")

    assert result.error_in_exec is None and 'Noted on run "tuning"' in out
    assert mlops.get_run("tuning").note == 'didn\'t converge: "lr" too high, 50% done'
    assert names(registry, "didn't converge") == ["tuning"]


def test_magic_note_inside_a_run_cell_notes_that_run(shell: Any, registry: Registry) -> None:
    cell(shell, "%%mlops run cellrun\nx = 1\n%mlops note one cell, <b>one</b> run")
    assert mlops.get_run("cellrun").note == "one cell, <b>one</b> run"

    _, _, outputs = cell(shell, "%mlops show cellrun")
    assert "one cell, &lt;b&gt;one&lt;/b&gt; run" in outputs[0].data["text/html"]


@pytest.mark.parametrize(
    ("source", "message"),
    [("%mlops note nothing is running", "no run is active"), ("%mlops note   ", "is empty")],
)
def test_magic_note_needs_an_active_run_and_text(
    shell: Any, registry: Registry, source: str, message: str
) -> None:
    result, _, _ = cell(shell, source)
    assert type(result.error_in_exec).__name__ == "UsageError"
    assert message in str(result.error_in_exec).lower()


def test_note_for_a_run_the_registry_does_not_have_is_refused(registry: Registry) -> None:
    from jupyter_mlops.errors import NotFoundError
    from jupyter_mlops.tracking.notes import write_note

    with pytest.raises(NotFoundError, match="No run nope"):
        write_note(registry, "nope", "text")


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_cli_runs_code_lists_the_matching_runs(recorded: Registry) -> None:
    code, out, _ = invoke("runs", "--code", "sklearn.ensemble", "--sort", "-accuracy")
    assert code == 0
    assert [line.split()[1] for line in out.splitlines()[2:]] == ["forest", "scaled"]

    code, out, _ = invoke("runs", "-c", "forest", "--where", "accuracy < 0.9", "--format", "json")
    assert code == 0 and [r["name"] for r in json.loads(out)["runs"]] == ["scaled"]

    code, out, _ = invoke("runs", "--code", "stale", "--format", "csv")
    assert code == 0 and out.splitlines()[1].split(",")[1] == "odd"


def test_cli_runs_code_says_when_nothing_matches(recorded: Registry) -> None:
    code, out, _ = invoke("runs", "--code", "XGBClassifier")
    assert code == 0
    assert out.startswith('No run matches: code or note containing "XGBClassifier".')


@pytest.mark.parametrize("hostile", ['a" OR "b', "NEAR(", "'; DROP TABLE runs; --", "%_\\"])
def test_cli_runs_code_with_hostile_text_lists_what_contains_it(
    recorded: Registry, hostile: str
) -> None:
    code, out, err = invoke("runs", "--code", hostile, "--format", "json")
    assert code == 0, err
    assert {r["name"] for r in json.loads(out)["runs"]} == truth(hostile)


def test_cli_runs_code_refuses_a_nul_character(recorded: Registry) -> None:
    code, _, err = invoke("runs", "--code", "model\x00")
    assert code != 0 and "NUL character" in err


def test_cli_show_prints_the_note(recorded: Registry) -> None:
    code, out, _ = invoke("show", "odd")
    assert code == 0 and "note: labels were stale" in out
    code, out, _ = invoke("show", "odd", "--format", "json")
    assert json.loads(out)["note"] == "labels were stale"
