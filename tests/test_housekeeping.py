"""Run housekeeping (notes, rename, tags, move, archive, restore, purge) through the core,
the Python API, ``%mlops`` in a real InteractiveShell and ``jupyter mlops``, on a real
registry with real artifact files."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from IPython.utils.capture import capture_output

import jupyter_mlops as mlops
from jupyter_mlops.cli import main
from jupyter_mlops.errors import InvalidInputError, NotFoundError
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.tracking import housekeeping as hk
from jupyter_mlops.tracking.purge import purge_plan, purge_run
from jupyter_mlops.tracking.queries.listing import best_run, experiments, list_runs
from jupyter_mlops.tracking.queries.sweep import sweep_data

from .conftest import cli_runner, run_cell


@pytest.fixture
def recorded(registry: Registry) -> dict[str, str]:
    """Three runs of "churn": "keep" and "drop" share a text artifact, "drop" has one of
    its own and two children (a sweep); "other" has the best accuracy."""
    ids = {}
    with mlops.start_run("keep", experiment="churn") as run:
        run.log(accuracy=0.80)
        mlops.log_text("shared bytes", "shared.txt")
        ids["keep"] = run.id
    with mlops.start_run("drop", experiment="churn") as run:
        run.log(accuracy=0.85)
        mlops.log_text("shared bytes", "shared.txt")
        mlops.log_text("only drop has these bytes", "own.txt")
        ids["drop"] = run.id
        for depth in (2, 4):
            with mlops.start_run(f"trial-{depth}", experiment="churn", parent=run) as child:
                child.log_params(depth=depth)
                child.log(accuracy=0.5 + depth / 100)
                ids[f"trial-{depth}"] = child.id
    with mlops.start_run("other", experiment="churn") as run:
        run.log(accuracy=0.95)
        ids["other"] = run.id
    return ids


def listed(registry: Registry, **kwargs: Any) -> set[str]:
    return {run.name for run in list_runs(registry, **kwargs).runs}


def artifact_shas(registry: Registry, run_id: str) -> dict[str, str]:
    rows = registry.query("SELECT name, sha256 FROM run_artifacts WHERE run_id = ?", (run_id,))
    return {row["name"]: row["sha256"] for row in rows}


# -- the core -------------------------------------------------------------------------------------


def test_archived_run_leaves_every_list_and_comes_back_when_restored(
    registry: Registry, recorded: dict[str, str]
) -> None:
    everything = listed(registry, archived=None)
    change = hk.archive_run(registry, "other")

    assert change.changed == (recorded["other"],) and "hidden from lists" in change.message
    assert "other" not in listed(registry) and "other" not in listed(registry, top_level=True)
    assert listed(registry, archived=True) == {"other"}
    assert listed(registry, archived=None) == everything
    assert "other" not in set(mlops.runs()["name"])
    assert set(mlops.runs(archived=True)["name"]) == {"other"}
    assert best_run(registry, "accuracy").name == "drop"  # other had the best accuracy
    assert {e.name: e.runs for e in experiments(registry)}["churn"] == len(everything) - 1
    assert mlops.get_run("last").run.name != "other"  # "last" skips archived runs
    assert mlops.get_run("other").archived_at is not None  # still named by its name

    hk.restore_run(registry, "other")
    assert listed(registry, archived=None) == listed(registry) == everything
    assert best_run(registry, "accuracy").name == "other"
    assert mlops.get_run("other").archived_at is None


def test_archiving_a_parent_archives_its_sweep_and_a_child_alone_leaves_the_sweep(
    registry: Registry, recorded: dict[str, str]
) -> None:
    assert {c.name for c in sweep_data(registry, "drop").children} == {"trial-2", "trial-4"}
    hk.archive_run(registry, "trial-2")
    assert {c.name for c in sweep_data(registry, "drop").children} == {"trial-4"}
    assert list_runs(registry, top_level=True, archived=None).runs  # counts follow
    assert {r.name: r.children for r in list_runs(registry, top_level=True).runs}["drop"] == 1

    change = hk.archive_run(registry, "drop")
    assert set(change.changed) == {recorded["drop"], recorded["trial-2"], recorded["trial-4"]}
    assert listed(registry, archived=True) == {"drop", "trial-2", "trial-4"}
    # the sweep of an archived parent shows the children archived with it
    assert {c.name for c in sweep_data(registry, "drop").children} == {"trial-2", "trial-4"}


def test_rename_tag_untag_move_and_notes_change_what_is_read_back(
    registry: Registry, recorded: dict[str, str]
) -> None:
    hk.rename_run(registry, "keep", "kept")
    hk.tag_run(registry, "kept", {"review": "done", "team": "growth"})
    hk.untag_run(registry, "kept", ["team"])
    hk.note_run(registry, "kept", "## Stale labels\nrerun after the fix")
    change = hk.move_run(registry, "kept", "churn-old")

    detail = mlops.get_run(recorded["keep"])
    assert (detail.run.name, detail.run.experiment) == ("kept", "churn-old")
    assert detail.tags == {"review": "done"} and detail.note.startswith("## Stale labels")
    assert change.changed == (recorded["keep"],)
    assert listed(registry, experiment="churn-old") == {"kept"}
    assert listed(registry, code="Stale labels") == {"kept"}  # the search follows the note

    moved = hk.move_run(registry, "drop", "sweeps")  # the children go with their parent
    assert set(moved.changed) == {recorded["drop"], recorded["trial-2"], recorded["trial-4"]}
    assert listed(registry, experiment="sweeps", archived=None) == {"drop", "trial-2", "trial-4"}

    hk.note_experiment(registry, "churn", "Target: **30-day churn**")
    assert hk.experiment_note(registry, "churn") == "Target: **30-day churn**"
    hk.note_experiment(registry, "churn", "")
    assert hk.experiment_note(registry, "churn") is None


@pytest.mark.parametrize(
    ("action", "error", "message", "hint"),
    [
        (lambda r: hk.rename_run(r, "ghost", "x"), NotFoundError, '"ghost"', "%mlops runs"),
        (lambda r: hk.rename_run(r, "keep", "  "), InvalidInputError, "run name", "Name the run"),
        (lambda r: hk.move_run(r, "keep", ""), InvalidInputError, "Cannot move run keep",
         "Name the experiment"),
        (lambda r: hk.untag_run(r, "keep", ["nope"]), NotFoundError, 'no tag "nope"',
         "Its tags: none"),
        (lambda r: hk.tag_run(r, "keep", {}), InvalidInputError, "KEY=VALUE", "team=growth"),
        (lambda r: hk.note_experiment(r, "nowhere", "x"), NotFoundError,
         'No experiment named "nowhere"', "Experiments: churn"),
        (lambda r: hk.archive_run(r, "ghost"), NotFoundError, '"ghost"', "%mlops runs"),
    ],
)  # fmt: skip
def test_bad_input_names_the_object_and_says_what_to_do(
    registry: Registry, recorded: dict[str, str], action: Any, error: type, message: str, hint: str
) -> None:
    with pytest.raises(error, match=message) as caught:
        action(registry)
    assert hint in (caught.value.hint or "")


def test_purge_removes_unique_artifacts_and_keeps_shared_ones(
    registry: Registry, recorded: dict[str, str]
) -> None:
    drop = artifact_shas(registry, recorded["drop"])
    own, shared = drop["own.txt"], drop["shared.txt"]
    assert artifact_shas(registry, recorded["keep"])["shared.txt"] == shared
    store = registry.artifacts
    assert store.exists(own) and store.exists(shared)

    plan = purge_plan(registry, "drop")
    assert plan.unique_artifacts == (own,) and plan.shared_artifacts == (shared,)
    result = purge_run(registry, "drop", confirm=True)

    assert set(result.run_ids) == {recorded["drop"], recorded["trial-2"], recorded["trial-4"]}
    assert result.removed_artifacts == (own,) and result.kept_artifacts == (shared,)
    assert result.bytes_freed == len(b"only drop has these bytes")
    assert not store.exists(own) and store.exists(shared)
    assert store.read_bytes(shared) == b"shared bytes"
    assert listed(registry, archived=None) == {"keep", "other"}
    for table in ("params", "metrics", "metric_summaries", "run_artifacts", "code_cells"):
        left = registry.query_tuples(
            f"SELECT COUNT(*) FROM {table} WHERE run_id IN (?, ?, ?)",
            (recorded["drop"], recorded["trial-2"], recorded["trial-4"]),
        )[0][0]
        assert left == 0, table
    assert registry.query_one("SELECT 1 FROM artifacts WHERE sha256 = ?", (own,)) is None
    assert registry.integrity_check() == "ok"
    assert registry.query_tuples("PRAGMA foreign_key_check") == []


def test_purge_keeps_what_other_records_use_without_the_link(registry: Registry) -> None:
    with mlops.start_run("base", experiment="churn") as first:
        version = mlops.register_model({"weights": [1, 2]}, "churn")
        mlops.snapshot(np.arange(6.0).reshape(3, 2), name="train", role="train", materialize=True)
    with mlops.start_run("base", experiment="churn") as again:
        pass
    assert mlops.get_run(again.id).run.previous_run_id == first.id

    result = mlops.purge(first.id, confirm=True)

    assert version.artifact_sha256 in result.kept_artifacts
    assert registry.artifacts.exists(version.artifact_sha256)
    assert mlops.load_model("churn@1") == {"weights": [1, 2]}
    kept = registry.query_one("SELECT run_id FROM model_versions WHERE id = ?", (version.id,))
    assert kept["run_id"] is None
    snapshot = registry.query_one("SELECT artifact_sha256 FROM snapshots WHERE name = 'train'")
    assert snapshot is not None and registry.artifacts.exists(snapshot[0])
    assert mlops.get_run(again.id).run.previous_run_id is None
    assert registry.query_tuples("PRAGMA foreign_key_check") == []


def test_purge_without_confirmation_refuses_and_deletes_nothing(
    registry: Registry, recorded: dict[str, str]
) -> None:
    before = listed(registry, archived=None)
    with pytest.raises(InvalidInputError, match="not confirmed") as caught:
        mlops.purge("drop")
    assert "confirm=True" in caught.value.hint and "--yes" in caught.value.hint
    with pytest.raises(InvalidInputError, match="not confirmed"):
        purge_run(registry, "drop", confirm="yes")  # type: ignore[arg-type]
    assert listed(registry, archived=None) == before


def test_a_running_run_is_not_purged(registry: Registry) -> None:
    run = mlops.start_run("live")
    run.log(loss=1.0)
    with pytest.raises(InvalidInputError, match='"live".* is still running') as caught:
        mlops.purge("live", confirm=True)
    assert "End it first" in caught.value.hint
    run.end()
    assert mlops.purge("live", confirm=True).run_ids == (run.id,)


def test_every_write_moves_the_change_marker(registry: Registry, recorded: dict[str, str]) -> None:
    writes = [
        lambda: hk.note_run(registry, "keep", "a note"),
        lambda: hk.rename_run(registry, "keep", "kept"),
        lambda: hk.tag_run(registry, "kept", {"a": "b"}),
        lambda: hk.untag_run(registry, "kept", ["a"]),
        lambda: hk.move_run(registry, "kept", "elsewhere"),
        lambda: hk.archive_run(registry, "kept"),
        lambda: hk.restore_run(registry, "kept"),
        lambda: hk.note_experiment(registry, "churn", "x"),
        lambda: purge_run(registry, "kept", confirm=True),
    ]
    for write in writes:
        before = registry.change_marker()
        write()
        assert registry.change_marker() != before


# -- the Python API and Run methods ----------------------------------------------------------


def test_api_and_run_methods_keep_the_active_run_in_step(registry: Registry) -> None:
    run = mlops.start_run("draft", experiment="scratch")
    run.set_tags(wip="yes", owner="me")
    run.log(loss=0.5)
    mlops.rename("draft", "final")
    mlops.move(run, "churn")
    mlops.untag(run, "wip")  # set in this session, not written yet
    assert (run.name, run.experiment) == ("final", "churn")
    run.end()

    detail = mlops.get_run(run.id)
    assert (detail.run.name, detail.run.experiment) == ("final", "churn")
    assert detail.tags == {"owner": "me"}

    run.rename("final-2")
    run.untag("owner")
    run.archive()
    assert mlops.runs(archived=True)["name"].tolist() == ["final-2"]
    run.restore()
    assert mlops.runs()["name"].tolist() == ["final-2"]
    assert mlops.get_run(run.id).tags == {}


# -- the magics ----------------------------------------------------------------------------------


def cell(shell: Any, source: str) -> tuple[Any, str]:
    with capture_output() as captured:
        result = run_cell(shell, source)
    return result, captured.stdout


def test_magics_do_each_action(shell: Any, recorded: dict[str, str], registry: Registry) -> None:
    steps = [
        ("%mlops note --run keep labels were stale, don't trust it", 'Noted on run "keep"'),
        ('%mlops note --experiment "churn" **Churn**: 30-day', 'Noted on experiment "churn"'),
        ("%mlops tag review=done --run keep", 'Tagged run "keep"'),
        ("%mlops untag review --run keep", "Removed tag(s) review"),
        ("%mlops rename keep kept", 'to "kept"'),
        ("%mlops move kept churn-old", 'to "churn-old"'),
        ("%mlops archive kept other", "hidden from lists"),
    ]
    for source, said in steps:
        result, out = cell(shell, source)
        assert result.error_in_exec is None, (source, result.error_in_exec)
        assert said in out, source
    detail = mlops.get_run(recorded["keep"])
    assert detail.note == "labels were stale, don't trust it" and detail.tags == {}
    assert (detail.run.name, detail.run.experiment) == ("kept", "churn-old")
    assert hk.experiment_note(registry, "churn") == "**Churn**: 30-day"
    assert listed(registry, archived=True) == {"kept", "other"}

    with capture_output() as shown:
        run_cell(shell, "%mlops runs --archived --all")
    html = shown.outputs[0].data["text/html"]
    assert "kept" in html and "drop" not in html

    result, out = cell(shell, "%mlops restore kept")
    assert result.error_in_exec is None and "Restored" in out
    assert "kept" in listed(registry)


def test_magic_purge_needs_yes_and_says_so(
    shell: Any, recorded: dict[str, str], registry: Registry
) -> None:
    own = artifact_shas(registry, recorded["drop"])["own.txt"]
    result, _ = cell(shell, "%mlops purge drop")
    assert type(result.error_in_exec).__name__ == "UsageError"
    assert "add --yes to confirm" in str(result.error_in_exec)
    assert registry.artifacts.exists(own)

    result, out = cell(shell, "%mlops purge drop --yes")
    assert result.error_in_exec is None and 'Purged run "drop"' in out
    assert not registry.artifacts.exists(own)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("%mlops rename ghost new", 'No run with id or name "ghost"'),
        ("%mlops move keep", "the following arguments are required"),
        ("%mlops untag nope --run keep", 'no tag "nope"'),
        ("%mlops untag nope", "No run is active"),
        ("%mlops note --experiment nowhere hello", 'No experiment named "nowhere"'),
        ("%mlops note --run keep", "the note is empty"),
        ("%mlops tag oops --run keep", "is not of the form key=value"),
    ],
)
def test_magic_bad_input_is_one_line_and_a_hint(
    shell: Any, recorded: dict[str, str], source: str, message: str
) -> None:
    result, _ = cell(shell, source)
    assert type(result.error_in_exec).__name__ == "UsageError"
    assert message in str(result.error_in_exec)
    assert "Hint:" in str(result.error_in_exec)


# -- the command line ----------------------------------------------------------------------------


def invoke(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = cli_runner().invoke(main, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


def test_cli_does_each_action(recorded: dict[str, str], registry: Registry) -> None:
    steps = [
        (("note", "keep", "labels", "were", "stale"), 'Noted on run "keep"'),
        (("note", "--experiment", "churn", "-"), 'Noted on experiment "churn"'),
        (("tag", "keep", "review=done"), 'Tagged run "keep"'),
        (("untag", "keep", "review"), "Removed tag(s) review"),
        (("rename", "keep", "kept"), 'to "kept"'),
        (("move", "kept", "churn-old"), 'to "churn-old"'),
        (("archive", "kept"), "hidden from lists"),
    ]
    for args, said in steps:
        code, out, err = invoke(*args, input="# From stdin\n")
        assert code == 0, (args, err)
        assert said in out, args
    detail = mlops.get_run(recorded["keep"])
    assert detail.note == "labels were stale" and detail.tags == {}
    assert (detail.run.name, detail.run.experiment) == ("kept", "churn-old")
    assert hk.experiment_note(registry, "churn") == "# From stdin\n"

    _, out, _ = invoke("runs", "--format", "json")
    assert "kept" not in out
    _, out, _ = invoke("show", "kept")
    assert "archived " in out and f"jupyter mlops restore {recorded['keep']}" in out
    _, out, _ = invoke("runs", "--archived", "--format", "json")
    assert '"name": "kept"' in out and '"name": "other"' not in out
    code, out, _ = invoke("restore", "kept")
    assert code == 0 and "Restored" in out
    _, out, _ = invoke("runs", "--format", "json")
    assert '"name": "kept"' in out


def test_cli_purge_asks_and_refuses_without_a_yes(
    recorded: dict[str, str], registry: Registry
) -> None:
    own = artifact_shas(registry, recorded["drop"])["own.txt"]
    for answer in ("n\n", None):  # a no, and no answer at all (not a terminal)
        code, out, err = invoke("purge", "drop", input=answer)
        assert code == 1 and "Nothing was purged" in err and "--yes" in err
        assert 'Delete run "drop"' in out and "2 child run(s)" in out
        assert registry.artifacts.exists(own)

    code, out, _ = invoke("purge", "drop", input="y\n")
    assert code == 0 and 'Purged run "drop"' in out
    assert not registry.artifacts.exists(own)
    code, out, _ = invoke("purge", "other", "--yes")
    assert code == 0 and listed(registry, archived=None) == {"keep"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("rename", "ghost", "new"), 'No run with id or name "ghost"'),
        (("untag", "keep", "nope"), 'no tag "nope"'),
        (("tag", "keep", "oops"), "not of the form key=value"),
        (("note", "--experiment", "nowhere", "hi"), 'No experiment named "nowhere"'),
        (("note", "keep"), "note takes a run and the text"),
        (("move", "keep", " "), "Cannot move run keep"),
    ],
)
def test_cli_bad_input_exits_1_with_a_hint(
    recorded: dict[str, str], args: tuple[str, ...], message: str
) -> None:
    code, out, err = invoke(*args)
    assert code == 1 and message in err and "Hint:" in err and "Traceback" not in out + err
