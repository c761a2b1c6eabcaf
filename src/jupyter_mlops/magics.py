"""``%mlops`` and ``%%mlops``: parse the line, call the core, render the result.

    %load_ext jupyter_mlops
    %mlops init
    %%mlops run baseline --experiment churn
    lr = 0.1
    model = RandomForestClassifier(max_depth=6).fit(X_train, y_train)
    mlops.log(accuracy=model.score(X_test, y_test))

Errors from the core are shown as one line and a hint, without a traceback
(``%mlops --debug ...`` shows it). The user's code always runs and its result
always stands: if the registry cannot record something, a warning says what was
not recorded and the buffered values are kept for the next try.
"""

from __future__ import annotations

import argparse
import ast
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.display import display

from . import capture, queries, tracking
from .errors import InvalidInputError, MlopsError, NoActiveRunError, RecordingError
from .registry import Registry

# Automatic snapshots skip objects larger than this (take them with --snapshot VAR).
AUTO_SNAPSHOT_MAX_BYTES = 1 << 30


class _ArgumentParser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage and exiting the kernel."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise InvalidInputError(
            f"%mlops {self.prog.split()[-1]}: {message}",
            hint=f"See %mlops help {self.prog.split()[-1]}.",
        )

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        raise InvalidInputError(message or "invalid arguments")


@dataclass(frozen=True)
class Command:
    name: str
    summary: str
    build: Callable[[argparse.ArgumentParser], object]
    handler: Callable[[MlopsMagics, argparse.Namespace, str | None], Any]
    cell: bool = False  # used as %%mlops NAME


COMMANDS: dict[str, Command] = {}


def command(
    name: str, summary: str, *, cell: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a subcommand: ``summary`` is its line in ``%mlops help``."""

    def register(handler: Callable[..., Any]) -> Callable[..., Any]:
        build = getattr(handler, "_arguments", lambda parser: None)
        COMMANDS[name] = Command(name, summary, build, handler, cell)
        return handler

    return register


def arguments(
    build: Callable[[argparse.ArgumentParser], object],
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def attach(handler: Callable[..., Any]) -> Callable[..., Any]:
        handler._arguments = build  # type: ignore[attr-defined]
        return handler

    return attach


def parser_for(name: str) -> argparse.ArgumentParser:
    spec = COMMANDS[name]
    parser = _ArgumentParser(
        prog=f"%{'%' if spec.cell else ''}mlops {name}", description=spec.summary, add_help=False
    )
    spec.build(parser)
    return parser


def guess_role(variable: str) -> str:
    """A snapshot role from a variable's name: ``X_train`` is train, ``df_test`` is test."""
    lowered = variable.lower()
    if "train" in lowered:
        return "train"
    if any(word in lowered for word in ("test", "valid", "holdout", "eval")):
        return "test"
    if "ref" in lowered:
        return "reference"
    return "input"


def _warn(text: str) -> None:
    print(f"jupyter-mlops: {text}", file=sys.stderr)


# -- the session: hooks that follow cells while a run is active ------------------------------------


class NotebookSession:
    """Per-kernel state: the current cell, and what automatic capture has done."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.cell_id: str | None = None
        self.raw_cell: str = ""
        self.capture: dict[str, bool] = {}  # run id -> automatic capture on
        self.in_cell_magic = False
        self.debug = False

    @property
    def user_ns(self) -> dict[str, Any]:
        return self.shell.user_ns  # type: ignore[no-any-return,unused-ignore]

    @property
    def execution_count(self) -> int | None:
        """The number of the cell being executed (IPython versions differ in when they count)."""
        result = getattr(self.shell.displayhook, "exec_result", None)
        return getattr(result, "execution_count", None)

    # where the notebook is, if the frontend said
    def notebook_path(self) -> str | None:
        import os

        for candidate in (
            self.user_ns.get("__session__"),
            os.environ.get("JPY_SESSION_NAME"),
            self.user_ns.get("__vsc_ipynb_file__"),
        ):
            if isinstance(candidate, str) and candidate.endswith(".ipynb"):
                return candidate
        return None

    def run_context(self) -> dict[str, Any]:
        """What tracking.start_run learns about the notebook when called from a cell."""
        return {
            "notebook_path": self.notebook_path(),
            "cell_id": self.cell_id,
            "kind": "notebook",
            "cell_source": self.raw_cell,
            "execution_count": self.execution_count,
        }

    def register(self) -> None:
        events = self.shell.events
        events.register("pre_run_cell", self.pre_run_cell)
        events.register("post_run_cell", self.post_run_cell)
        tracking.set_context_provider(self.run_context)

    def unregister(self) -> None:
        events = self.shell.events
        for name, callback in (
            ("pre_run_cell", self.pre_run_cell),
            ("post_run_cell", self.post_run_cell),
        ):
            try:
                events.unregister(name, callback)
            except ValueError:
                pass
        tracking.set_context_provider(None)

    def _is_cell_magic(self, source: str) -> bool:
        return source.lstrip().startswith("%%mlops")

    def pre_run_cell(self, info: Any) -> None:
        self.cell_id = getattr(info, "cell_id", None)
        self.raw_cell = getattr(info, "raw_cell", "") or ""
        run = tracking.active_run()
        if run is None or self._is_cell_magic(self.raw_cell) or not self.capture.get(run.id, True):
            return
        self.snapshot_inputs(run, self.python_of(self.raw_cell), explicit=())

    def post_run_cell(self, result: Any) -> None:
        run = tracking.active_run()
        if run is None or self._is_cell_magic(self.raw_cell):
            return
        info = getattr(result, "info", None)
        source = getattr(info, "raw_cell", self.raw_cell) or self.raw_cell
        run.record_cell(
            source, execution_count=getattr(result, "execution_count", None), cell_id=self.cell_id
        )
        if self.capture.get(run.id, True):
            self.capture_after(run, self.python_of(source))
        error = getattr(result, "error_in_exec", None) or getattr(result, "error_before_exec", None)
        if isinstance(error, UsageError):  # a mistyped magic ran nothing: the run goes on
            error = None
        try:
            if error is not None and run.status == "running":
                status = "killed" if isinstance(error, KeyboardInterrupt) else "failed"
                run.end(status, error=tracking.describe_exception(error))
                _warn(
                    f'run "{run.name}" ({run.id}) marked {status}; %mlops start begins a new one.'
                )
            elif run.status == "running":
                run.flush()
        except RecordingError as exc:
            _warn(
                f"not recorded yet for run {run.id}: {exc.message}. "
                "It is kept in memory and retried after the next cell."
            )

    def python_of(self, source: str) -> str:
        try:
            return str(self.shell.transform_cell(source))
        except Exception:
            return source

    def snapshot_inputs(self, run: tracking.Run, python: str, explicit: tuple[str, ...]) -> None:
        """Snapshot the data the code reads before assigning it, and the ``explicit`` names."""
        names = set(explicit)
        if self.capture.get(run.id, True):
            names |= capture.names_read_first(python)
        for name, value in capture.data_inputs(self.user_ns, names).items():
            size = _nbytes(value)
            if name not in explicit and size > AUTO_SNAPSHOT_MAX_BYTES:
                _warn(
                    f"{name} ({size / 2**30:.1f} GiB) was not snapshotted automatically; "
                    f"use --snapshot {name} to include it."
                )
                continue
            try:
                run.snapshot(value, name=name, role=guess_role(name), variable=name)
            except MlopsError as exc:
                _warn(f"snapshot of {name} not recorded: {exc.message}")
        missing = [n for n in explicit if n not in self.user_ns]
        if missing:
            raise InvalidInputError(
                f"--snapshot names {', '.join(missing)}, which is not defined",
                hint="Define the variable before the run, or drop --snapshot.",
            )

    def capture_after(self, run: tracking.Run, python: str) -> None:
        """Record literal parameters and fitted estimators' parameters of the code that ran."""
        try:
            tree = capture.parse_cell(python)
            if tree is None:
                return
            literals = capture.literal_assignments(tree)
            if literals:
                run.record_params(literals, source="literal")
            estimators = capture.estimator_params(self.user_ns, capture.names_mentioned(tree))
            if estimators:
                run.record_params(estimators, source="estimator")
        except MlopsError as exc:
            _warn(f"parameters not captured: {exc.message}")


def _nbytes(value: Any) -> int:
    try:
        if hasattr(value, "memory_usage"):
            usage = value.memory_usage(index=True, deep=False)
            return int(usage.sum() if hasattr(usage, "sum") else usage)
        return int(getattr(value, "nbytes", 0))
    except Exception:
        return 0


# -- the magics ---------------------------------------------------------------------------------------


@magics_class
class MlopsMagics(Magics):
    """``%mlops SUBCOMMAND ...`` and ``%%mlops run ...``."""

    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        self.session = NotebookSession(shell)

    @line_cell_magic
    def mlops(self, line: str, cell: str | None = None) -> Any:
        __tracebackhide__ = True  # noqa: F841 - read by IPython's traceback printer
        debug = False
        try:
            words = shlex.split(line, comments=False)
        except ValueError as exc:
            raise UsageError(f"%mlops: cannot read the arguments: {exc}") from None
        if words and words[0] == "--debug":
            debug, words = True, words[1:]
        if not words:
            words = ["help"]
        name, rest = words[0], words[1:]
        try:
            spec = COMMANDS.get(name)
            if spec is None:
                known = ", ".join(sorted(COMMANDS))
                raise InvalidInputError(
                    f'Unknown subcommand "{name}"', hint=f"Subcommands: {known}. See %mlops help."
                )
            if spec.cell and cell is None:
                raise InvalidInputError(
                    f"%mlops {name} needs a cell: write %%mlops {name} "
                    "on the first line of the cell",
                    hint="See %mlops help.",
                )
            if cell is not None and not spec.cell:
                raise InvalidInputError(
                    f"%%mlops {name} is not a cell magic",
                    hint=f"Use %mlops {name} on a line of its own.",
                )
            args = parser_for(name).parse_args(_glue_dashed_values(rest))
            return spec.handler(self, args, cell)
        except MlopsError as exc:
            if debug:
                raise
            raise UsageError(exc.describe()) from None

    # -- helpers for handlers -------------------------------------------------------

    @property
    def user_ns(self) -> dict[str, Any]:
        assert self.shell is not None
        return self.shell.user_ns  # type: ignore[no-any-return,unused-ignore]

    def registry(self, *, create: bool = False) -> Registry:
        return tracking.default_registry(create=create)

    def value_of(self, text: str, *, text_allowed: bool = False) -> Any:
        """A literal, or a (dotted) name from the user's namespace; nothing is evaluated.

        With ``text_allowed`` (parameters), a word that names no variable is taken as text,
        as on a command line: ``optimizer=adam``.
        """
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            pass
        head, *attributes = text.split(".")
        if not head.isidentifier() or head not in self.user_ns:
            if text_allowed:
                return text
            raise InvalidInputError(
                f'"{text}" is neither a number nor a defined variable',
                hint="Metrics are numbers: write name=0.9 or name=variable.",
            )
        value = self.user_ns[head]
        for attribute in attributes:
            if not attribute.isidentifier() or attribute.startswith("_"):
                raise InvalidInputError(f'"{text}" is not a plain attribute path')
            value = getattr(value, attribute)
        return value

    def pairs(self, items: list[str], *, text_allowed: bool = False) -> dict[str, Any]:
        found = {}
        for item in items:
            key, sep, text = item.partition("=")
            if not sep or not key:
                raise InvalidInputError(
                    f'"{item}" is not of the form name=value',
                    hint="For example: %mlops log accuracy=0.93 loss=0.2",
                )
            try:
                found[key] = self.value_of(text, text_allowed=text_allowed)
            except InvalidInputError as exc:
                raise InvalidInputError(f'"{key}": {exc.message}', hint=exc.hint) from None
        return found


_VALUE_OPTIONS = ("--sort", "-s", "--where", "-w")


def _glue_dashed_values(words: list[str]) -> list[str]:
    """Let ``--sort -accuracy`` mean descending, not a second option (argparse's reading)."""
    glued: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        if word in _VALUE_OPTIONS and index + 1 < len(words) and words[index + 1].startswith("-"):
            glued.append(f"{word}={words[index + 1]}")
            index += 2
            continue
        glued.append(word)
        index += 1
    return glued


# -- subcommands -----------------------------------------------------------------------------------------


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
    tracking.use_registry(registry)
    count = registry.query_one("SELECT COUNT(*) FROM runs")[0]  # type: ignore[index]
    print(f"Registry ready at {registry.path} ({count} run(s) recorded).")


@command("status", "Which registry is used and which run is active")
def _status(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> None:
    registry = magics.registry()
    run = tracking.active_run()
    count = registry.query_one("SELECT COUNT(*) FROM runs")[0]  # type: ignore[index]
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


def _tags(items: list[str]) -> dict[str, str]:
    tags = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidInputError(f'--tag "{item}" is not of the form key=value')
        tags[key] = value
    return tags


def _start(magics: MlopsMagics, args: argparse.Namespace) -> tracking.Run:
    session = magics.session
    run = tracking.start_run(
        args.name,
        experiment=args.experiment,
        tags=_tags(args.tag),
        kind="notebook",
        registry=magics.registry(),
        notebook_path=session.notebook_path(),
        cell_id=session.cell_id,
    )
    session.capture[run.id] = not args.no_capture
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
    run: tracking.Run | None
    try:
        run = _start(magics, args)
    except InvalidInputError:
        raise  # the arguments are wrong: nothing runs
    except MlopsError as exc:
        _warn(f"this cell runs without being recorded: {exc.message}")
        run = None
    if run is not None:
        try:
            session.snapshot_inputs(run, python, explicit=tuple(args.snapshot))
        except InvalidInputError:
            run.end("failed", error="--snapshot named an undefined variable")
            raise
    session.in_cell_magic = True
    try:
        value = _execute(shell, python, session.execution_count)
    except BaseException as exc:
        if run is not None:
            status = "killed" if isinstance(exc, KeyboardInterrupt) else "failed"
            try:
                _record_cell_magic(session, run, cell, python)
                run.end(status, error=tracking.describe_exception(exc))
            except MlopsError as failure:
                _warn(f"the {status} run {run.id} was not fully recorded: {failure.message}")
        raise
    finally:
        session.in_cell_magic = False
    if run is not None:
        try:
            _record_cell_magic(session, run, cell, python)
            run.end("finished")
        except MlopsError as exc:
            _warn(f"run {run.id} is not fully recorded: {exc.message}. Your results are intact.")
    return value


def _record_cell_magic(session: NotebookSession, run: tracking.Run, body: str, python: str) -> None:
    source = session.raw_cell if session.raw_cell.rstrip().endswith(body.rstrip()) else body
    run.record_cell(source, execution_count=session.execution_count, cell_id=session.cell_id)
    if session.capture.get(run.id, True):
        session.capture_after(run, python)


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
    current = tracking.active_run()
    if current is not None:
        raise InvalidInputError(
            f'Run "{current.name}" ({current.id}) is already active',
            hint="End it first with %mlops end.",
        )
    run = _start(magics, args)
    if args.snapshot:
        magics.session.snapshot_inputs(run, "", explicit=tuple(args.snapshot))
    print(f'Started run "{run.name}" ({run.id}) in experiment "{run.experiment}".')


@command("end", "End the active run (finished, or --status failed|killed)")
@arguments(
    lambda p: p.add_argument(
        "--status", default="finished", choices=["finished", "failed", "killed"]
    )
)
def _end(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> None:
    run = tracking.active_run()
    if run is None:
        raise NoActiveRunError(
            "%mlops end: no run is active", hint="Start one with %mlops start NAME."
        )
    run.record_cell(
        magics.session.raw_cell,
        execution_count=magics.session.execution_count,
        cell_id=magics.session.cell_id,
    )
    run.end(args.status)
    print(f'Run "{run.name}" ({run.id}) {args.status}.')


@command("log", "Log metrics to the active run: %mlops log accuracy=0.93 [--step N]")
@arguments(
    lambda p: (
        p.add_argument("values", nargs="+", metavar="NAME=VALUE"),
        p.add_argument("--step", type=int, default=None),
    )
)
def _log(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> None:
    values = magics.pairs(args.values)
    tracking.require_active_run().log(values, step=args.step)


@command("param", "Record parameters on the active run: %mlops param lr=0.1 layers=3")
@arguments(lambda p: p.add_argument("values", nargs="+", metavar="NAME=VALUE"))
def _param(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> None:
    values = magics.pairs(args.values, text_allowed=True)
    tracking.require_active_run().log_params(values)


@command("tag", "Label the active run: %mlops tag team=growth")
@arguments(lambda p: p.add_argument("values", nargs="+", metavar="KEY=VALUE"))
def _tag(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> None:
    tracking.require_active_run().set_tags(_tags(args.values))


def _snapshot_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", metavar="VAR_OR_PATH")
    parser.add_argument("--name", default=None)
    parser.add_argument("--role", default=None, choices=list(tracking.ROLES))
    parser.add_argument(
        "--materialize",
        action="store_true",
        help="store the data itself (parquet) so the run can be reproduced",
    )
    parser.add_argument("--index", default="auto", choices=["auto", "include", "ignore"])


@command(
    "snapshot", "Fingerprint and profile data: %mlops snapshot df --name train [--materialize]"
)
@arguments(_snapshot_arguments)
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
    run = tracking.active_run()
    started = time.perf_counter()
    record = tracking.record_snapshot(
        magics.registry(),
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
        help="a field, param or metric; -name for descending",
    )
    parser.add_argument("--limit", "-n", type=int, default=100)


@command("runs", "List runs: %mlops runs [--experiment E] [--where EXPR] [--sort -acc] [--limit N]")
@arguments(_runs_arguments)
def _runs(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> None:
    from .widgets import RunsTableView

    page = queries.list_runs(
        magics.registry(),
        experiment=args.experiment,
        where=args.where,
        sort=args.sort,
        limit=args.limit,
    )
    display(RunsTableView(page))


@command("show", "Show one run: parameters, metrics and curves, code, data, environment")
@arguments(lambda p: p.add_argument("run", nargs="?", default="last", metavar="RUN"))
def _show(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> None:
    from .widgets import RunView

    display(RunView(queries.run_detail(magics.registry(), args.run)))


@command("compare", "Compare runs: %mlops compare RUN RUN [RUN...]")
@arguments(lambda p: p.add_argument("runs", nargs="+", metavar="RUN"))
def _compare(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> None:
    from .widgets import ComparisonView

    display(ComparisonView(queries.compare(magics.registry(), args.runs)))


# -- loading -------------------------------------------------------------------------------------------


def load(shell: Any) -> MlopsMagics:
    """Register the magics and the cell hooks on ``shell``; put ``mlops`` in its namespace."""
    magics = MlopsMagics(shell)
    shell.register_magics(magics)
    magics.session.register()
    if "mlops" not in shell.user_ns:
        import jupyter_mlops

        shell.push({"mlops": jupyter_mlops}, interactive=False)
    return magics


def unload(shell: Any, magics: MlopsMagics) -> None:
    magics.session.unregister()
