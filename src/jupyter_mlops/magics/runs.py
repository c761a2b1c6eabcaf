"""The tracking subcommands: init, status, run, start, end, log, param, snapshot, runs,
show, compare, best, and help (note and tag live with the housekeeping subcommands)."""

from __future__ import annotations

import argparse
import ast
import contextlib
import time
from pathlib import Path
from typing import Any

from IPython.display import display

from ..errors import InvalidInputError, MlopsError, NoActiveRunError
from ..registry.backup import backup_registry, describe_backup
from ..registry.connection import Registry
from ..registry.contents import count_records
from ..snapshots.store import record_snapshot
from ..tracking import line_commands
from ..tracking.capture.cells import CellCode, read_cell
from ..tracking.column_choices import choose_columns
from ..tracking.queries.artifacts import previews
from ..tracking.queries.columns import table_columns
from ..tracking.queries.comparison import compare
from ..tracking.queries.detail import run_detail
from ..tracking.queries.listing import list_runs
from ..tracking.queries.records import RunsPage
from ..tracking.queries.search import no_match
from ..tracking.run import Run
from ..tracking.run_endings import describe_exception
from ..tracking.session import (
    SESSION,
    active_run,
    recorded_run,
    require_active_run,
    use_registry,
)
from ..tracking.unrecorded import UnrecordedRun
from .base import COMMANDS, MlopsMagics, arguments, command, parser_for
from .session import NotebookSession, guess_role, warn


@command("help", "List the subcommands, or explain one: %mlops help runs")
@arguments(lambda p: p.add_argument("subcommand", nargs="?"))
def _help(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> None:
    if args.subcommand:
        if args.subcommand not in COMMANDS:
            raise InvalidInputError(
                f'Unknown subcommand "{args.subcommand}"', hint="%mlops help lists them."
            )
        print(parser_for(args.subcommand).format_help())
        return
    width = max(len(name) for name in COMMANDS)
    lines = ["%mlops subcommands (%mlops help NAME for details):"]
    for name in sorted(COMMANDS):
        spec = COMMANDS[name]
        prefix = "%%" if spec.cell else "% "
        lines.append(f"  {prefix}mlops {name.ljust(width)}  {spec.summary}")
    lines.append("Add --debug after %mlops to see the full traceback of an error.")
    print("\n".join(lines))


@command("init", "Create (or open) the registry .mlops/registry.db in a directory")
@arguments(lambda p: p.add_argument("directory", nargs="?", default=None))
def _init(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> None:
    registry = Registry.init(Path(args.directory) if args.directory else None)
    use_registry(registry)
    count = count_records(registry).runs
    print(f"Registry ready at {registry.path} ({count} run(s) recorded).")


@command("backup", "Copy the registry into one consistent file: %mlops backup DEST")
@arguments(
    lambda p: (
        p.add_argument("dest", metavar="DEST"),
        p.add_argument("--artifacts", action="store_true", help="copy the artifacts beside it"),
        p.add_argument("--force", action="store_true", help="replace DEST if it exists"),
    )
)
def _backup(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> None:
    result = backup_registry(
        magics.registry(), args.dest, artifacts=args.artifacts, overwrite=args.force
    )
    print(describe_backup(result))


@command("status", "Which registry is used and which run is active")
def _status(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> None:
    registry = magics.registry()
    run = active_run()
    count = count_records(registry).runs
    active = f'run "{run.name}" ({run.id}) is active' if run else "no run is active"
    print(f"Registry {registry.path}: {count} run(s); {active}.")


def _run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", default=None)
    parser.add_argument("--experiment", "-e", default=None)
    parser.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--snapshot", action="append", default=[], metavar="VAR")
    parser.add_argument(
        "--no-capture", action="store_true", help="record only what the code logs explicitly"
    )
    parser.add_argument(
        "--no-outputs",
        action="store_true",
        help="do not store the images the cells display as the run's artifacts",
    )
    sampling = parser.add_mutually_exclusive_group()
    sampling.add_argument(
        "--system-metrics",
        dest="system_metrics",
        action="store_true",
        default=None,
        help="sample CPU, memory and GPU use into system/... series (the default in notebooks)",
    )
    sampling.add_argument(
        "--no-system-metrics",
        dest="system_metrics",
        action="store_false",
        help="do not sample CPU, memory and GPU use",
    )


def _tags(items: list[str]) -> dict[str, str]:
    tags = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidInputError(f'--tag "{item}" is not of the form key=value')
        tags[key] = value
    return tags


def _start(magics: MlopsMagics, args: argparse.Namespace) -> Run:
    session = magics.session
    notebook = session.notebook()
    run = SESSION.start_run(
        args.name,
        experiment=args.experiment,
        tags=_tags(args.tag),
        kind="notebook",
        registry=magics.registry(),
        notebook_path=None if notebook is None else notebook.path,
        cell_id=session.cell_id,
        announce_unrecorded=False,  # the magic says it in the cell's output
        system_metrics=args.system_metrics,
        papermill=None if notebook is None else notebook.papermill,
        closure=session.closure_of,
    )
    session.capture[run.id] = not args.no_capture
    magics.outputs.enabled[run.id] = not (args.no_capture or args.no_outputs)
    return run


@command(
    "run", "Record this cell as one run: %%mlops run NAME [--experiment E] [--tag k=v]", cell=True
)
@arguments(_run_arguments)
def _run(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> Any:
    assert cell is not None
    __tracebackhide__ = True  # noqa: F841 - read by IPython's traceback printer
    session = magics.session
    shell = magics.shell
    python = session.python_of(cell)
    code = read_cell(python)
    run: Run | None
    try:
        run = _start(magics, args)
    except InvalidInputError:
        raise  # the arguments are wrong: nothing runs
    except MlopsError as exc:
        run = SESSION.start_unrecorded(
            args.name, experiment=args.experiment, reason=exc.message, announce=False
        )
    if isinstance(run, UnrecordedRun):
        warn(f"this cell runs without being recorded ({run.reason}); what it logs is dropped.")
        run.new_cell(announced=True)
    if run is not None and not isinstance(run, UnrecordedRun):
        try:
            session.snapshot_inputs(run, code.inputs, explicit=tuple(args.snapshot))
        except InvalidInputError:
            run.end("failed", error="--snapshot named an undefined variable")
            raise
    if run is not None and session.capture.get(run.id, True):
        session.note_results(run, code.mentioned)
    session.in_cell_magic = True
    try:
        value = _execute(shell, python, session.execution_count)
    except BaseException as exc:
        if run is not None:
            status = "killed" if isinstance(exc, KeyboardInterrupt) else "failed"
            try:
                _record_cell_magic(session, run, cell, code)
                SESSION.end_children(run, status, error=describe_exception(exc))
                run.end(status, error=describe_exception(exc))
            except MlopsError as failure:
                warn(f"the {status} run {run.id} was not fully recorded: {failure.message}")
            else:
                confirm(run, status)
        raise
    finally:
        session.in_cell_magic = False
    if run is not None:
        try:
            magics.outputs.end_of_run_cell(run, value)
            _record_cell_magic(session, run, cell, code)
            SESSION.end_children(run, "finished")
            run.end("finished")
        except MlopsError as exc:
            warn(f"run {run.id} is not fully recorded: {exc.message}. Your results are intact.")
        else:
            confirm(run, "finished")
    return value


def confirm(run: Run, status: str) -> None:
    """Print the line that confirms ``run`` ended with ``status``: its id, name and what
    it recorded (:mod:`jupyter_mlops.tracking.queries.counts`), unless the setting
    ``run_summary`` is off or the run was not recorded. Counts that cannot be read are
    left out; nothing here raises into the user's cell."""
    if not SESSION.settings.run_summary or isinstance(run, UnrecordedRun):
        return
    from ..tracking.queries.counts import confirmation, run_counts

    try:
        counts = run_counts(run.registry, run.id)
    except Exception:  # noqa: BLE001 - a registry that cannot be read now: the id is enough
        counts = None
    # an odd stdout (closed, replaced by the user) must not fail a cell that ran
    with contextlib.suppress(Exception):
        print(confirmation(run.id, run.name, counts, status))


def _record_cell_magic(session: NotebookSession, run: Run, body: str, code: CellCode) -> None:
    source = session.raw_cell if session.raw_cell.rstrip().endswith(body.rstrip()) else body
    run.record_cell(source, execution_count=session.execution_count, cell_id=session.cell_id)
    if session.capture.get(run.id, True):
        session.capture_after(run, code)
        session.record_results(run, code.mentioned)


def _execute(shell: Any, python: str, number: int | None) -> Any:
    """Run ``python`` in the user's namespace like a cell; return its last expression's value."""
    filename = shell.compile.cache(python, number if number is not None else shell.execution_count)
    tree = shell.compile.ast_parse(python, filename=filename)
    tree = shell.transform_ast(tree)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    namespace = shell.user_ns
    __tracebackhide__ = True  # noqa: F841 - IPython shows the user's frames, not these
    exec(shell.compile(tree, filename, "exec"), namespace)
    if last is not None:
        return eval(shell.compile(last, filename, "eval"), namespace)
    return None


@command("start", "Start a run that spans the next cells, until %mlops end")
@arguments(_run_arguments)
def _start_command(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> None:
    current = active_run()
    if current is not None:
        raise InvalidInputError(
            f'Run "{current.name}" ({current.id}) is already active',
            hint="End it first with %mlops end.",
        )
    try:
        run = _start(magics, args)
    except InvalidInputError:
        raise
    except MlopsError as exc:
        run = SESSION.start_unrecorded(
            args.name, experiment=args.experiment, reason=exc.message, announce=False
        )
    if isinstance(run, UnrecordedRun):
        run.new_cell(announced=True)
        warn(
            f"the next cells run without being recorded ({run.reason}); what they log is"
            " dropped until %mlops end."
        )
        return
    if args.snapshot:
        magics.session.snapshot_inputs(run, (), explicit=tuple(args.snapshot))
    print(f'Started run "{run.name}" ({run.id}) in experiment "{run.experiment}".')


@command("end", "End the active run (finished, or --status failed|killed)")
@arguments(
    lambda p: p.add_argument(
        "--status", default="finished", choices=["finished", "failed", "killed"]
    )
)
def _end(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> None:
    run = active_run()
    if run is None:
        raise NoActiveRunError(
            "%mlops end: no run is active", hint="Start one with %mlops start NAME."
        )
    run.record_cell(
        magics.session.raw_cell,
        execution_count=magics.session.execution_count,
        cell_id=magics.session.cell_id,
    )
    if isinstance(run, UnrecordedRun):
        run.end(args.status)
        print(f'Run "{run.name}" ended; it was not recorded ({run.reason}).')
        return
    try:
        run.end(args.status)
    except MlopsError as exc:
        warn(
            f'run "{run.name}" ({run.id}) ended, but the registry could not record it yet:'
            f" {exc.message} It is kept and retried after the next cell."
        )
        return
    if SESSION.settings.run_summary:
        confirm(run, args.status)
    else:
        print(f'Run "{run.name}" ({run.id}) {args.status}.')


@command("log", "Log metrics to the active run: %mlops log accuracy=0.93 [--step N]")
@arguments(line_commands.log_arguments)
def _log(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> None:
    values = magics.pairs(args.values)
    require_active_run().log(values, step=args.step)


@command("param", "Record parameters on the active run: %mlops param lr=0.1 layers=3")
@arguments(line_commands.param_arguments)
def _param(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> None:
    values = magics.pairs(args.values, text_allowed=True)
    require_active_run().log_params(values)


@command(
    "snapshot", "Fingerprint and profile data: %mlops snapshot df --name train [--materialize]"
)
@arguments(line_commands.snapshot_arguments)
def _snapshot(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> None:
    target = args.data
    if target in magics.user_ns:
        data, variable = magics.user_ns[target], target
    elif Path(target).suffix.lower() in (".csv", ".parquet", ".pq") or Path(target).exists():
        data, variable = target, None
    else:
        raise InvalidInputError(
            f'"{target}" is neither a variable nor a CSV/parquet file',
            hint="Give a DataFrame, Series or array variable, or a file path.",
        )
    role = args.role or guess_role(args.name or target)
    registry = magics.registry()
    run = recorded_run(registry)
    started = time.perf_counter()
    record = record_snapshot(
        registry,
        data,
        name=args.name or variable,
        role=role,
        run_id=run.id if run else None,
        variable=variable,
        materialize=args.materialize,
        index=args.index,
    )
    took = time.perf_counter() - started
    linked = f', linked to run "{run.name}" as {role}' if run else ""
    seen = " (already recorded)" if record.reused else ""
    stored = ", data stored" if record.artifact_sha256 else ""
    print(
        f'Snapshot "{record.name}": {record.n_rows:,} rows x {record.n_columns} columns, '
        f"fingerprint {record.fingerprint[:12]}{seen}{stored}{linked} [{took:.2f} s]"
    )


def _runs_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--experiment", "-e", default=None)
    parser.add_argument("--where", "-w", default=None, help='a filter, e.g. "accuracy > 0.9"')
    parser.add_argument(
        "--sort",
        "-s",
        action="append",
        default=None,
        help="a field, param or metric as every face names it: -metrics.auc, params.lr,"
        " started_at (a bare name works too: -auc); - in front for descending",
    )
    parser.add_argument("--limit", "-n", type=int, default=100)
    parser.add_argument(
        "--code",
        "-c",
        default=None,
        metavar="TEXT",
        help='runs whose recorded code or note contains each word, e.g. "RandomForest"',
    )
    parser.add_argument(
        "--parent",
        "-p",
        default=None,
        metavar="RUN",
        help="list the children of RUN (a sweep's trials, a search's candidates)",
    )
    parser.add_argument(
        "--all",
        dest="every_run",
        action="store_true",
        help="list child runs too (by default they are counted on their parent's line)",
    )
    parser.add_argument(
        "--archived",
        action="store_true",
        help="list the archived runs (hidden otherwise; %%mlops restore RUN brings one back)",
    )


@command(
    "runs",
    "List runs: %mlops runs [--experiment E] [--where EXPR] [--code TEXT] [--sort -acc]"
    " [--limit N] [--parent RUN | --all] [--archived]",
)
@arguments(_runs_arguments)
def _runs(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> None:
    from ..widgets import RunsTableView

    page = list_runs(
        magics.registry(),
        experiment=args.experiment,
        where=args.where,
        sort=args.sort,
        limit=args.limit,
        code=args.code,
        top_level=args.parent is None and not args.every_run,
        parent=args.parent,
        archived=args.archived,
    )
    if page.total == 0 and (args.code or args.where):
        empty = no_match(experiment=args.experiment, where=args.where, code=args.code)
        print(f"{empty.message}\n{empty.hint}")
        return
    registry = magics.registry()
    columns = table_columns(registry, page, experiment=args.experiment)
    experiment = args.experiment or _only_experiment(page)

    def remember(names: list[str] | None) -> None:
        if experiment is not None:
            try:
                choose_columns(registry, experiment, names)
            except MlopsError as exc:  # the table still changes; the choice is not kept
                print(f"{exc}\n{exc.hint or ''}".rstrip())

    display(RunsTableView(page, columns=columns, on_choose=remember))


def _only_experiment(page: RunsPage) -> str | None:
    """The experiment of every run of ``page``, when they all share one."""
    names = {run.experiment for run in page.runs}
    return names.pop() if len(names) == 1 else None


@command("show", "Show one run: parameters, metrics and curves, code, data, environment")
@arguments(lambda p: p.add_argument("run", nargs="?", default="last", metavar="RUN"))
def _show(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> None:
    from ..widgets import RunView

    registry = magics.registry()
    detail = run_detail(registry, args.run)
    display(RunView(detail, previews(registry, detail.artifacts)))


@command("compare", "Compare runs: %mlops compare RUN RUN [RUN...]")
@arguments(lambda p: p.add_argument("runs", nargs="+", metavar="RUN"))
def _compare(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> None:
    from ..widgets import ComparisonView

    display(ComparisonView(compare(magics.registry(), args.runs)))


def _sweep_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", nargs="?", default="last", metavar="RUN")
    parser.add_argument(
        "--metric",
        "-m",
        default=None,
        help="the metric to draw (default: the"
        " search's mean_test_score, else the metric most children logged)",
    )
    parser.add_argument("--param", "-p", default=None, help="the parameter of the scatter")
    direction = parser.add_mutually_exclusive_group()
    direction.add_argument(
        "--min",
        dest="maximize",
        action="store_false",
        default=None,
        help="the lowest value is best (a loss, an error)",
    )
    direction.add_argument(
        "--max", dest="maximize", action="store_true", help="the highest value is best"
    )


@command(
    "sweep",
    "Draw a run's children: %mlops sweep RUN [--metric M] (parallel coordinates, a scatter)",
)
@arguments(_sweep_arguments)
def _sweep(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> None:
    from ..tracking.queries.sweep import sweep_data
    from ..widgets import SweepView

    sweep = sweep_data(magics.registry(), args.run, metric=args.metric, maximize=args.maximize)
    display(SweepView(sweep, param=args.param))


def _best_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("metric", metavar="METRIC")
    parser.add_argument(
        "--min", action="store_true", help="the lowest value is best (a loss, an error)"
    )
    parser.add_argument("--experiment", "-e", default=None, help="only runs of this experiment")


@command("best", "Show the run with the best value of a metric: %mlops best accuracy [--min]")
@arguments(_best_arguments)
def _best(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> None:
    from ..tracking.formatting import value_text
    from ..tracking.queries.listing import best_run
    from ..widgets import RunView

    registry = magics.registry()
    best = best_run(registry, args.metric, maximize=not args.min, experiment=args.experiment)
    among = f' of experiment "{args.experiment}"' if args.experiment else ""
    print(
        f"Best run{among} by {'lowest' if args.min else 'highest'} {args.metric}: "
        f'"{best.name}" ({best.id}), {args.metric} = {value_text(best.metrics.get(args.metric))}.'
    )
    detail = run_detail(registry, best.id)
    display(RunView(detail, previews(registry, detail.artifacts)))
