"""``jupyter mlops init | status | runs | show | best | compare``."""

from __future__ import annotations

import csv
import datetime
import io
import json
from pathlib import Path

import click

from ..registry.backup import backup_registry, describe_backup
from ..registry.connection import Registry
from ..registry.contents import count_records
from ..tracking.formatting import children_text, duration, size_text, timestamp, value_text
from ..tracking.queries.columns import TableColumns, param_cells, table_columns
from ..tracking.queries.comparison import compare as compare_runs
from ..tracking.queries.detail import run_detail
from ..tracking.queries.listing import best_run, list_runs
from ..tracking.queries.records import RunDetail, RunRow, RunsPage
from ..tracking.queries.search import no_match
from .base import format_table, friendly, main, open_registry, registry_option, short_id


@main.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@friendly
def init(directory: str | None) -> None:
    """Create (or open) the registry .mlops/registry.db in DIRECTORY (default: here)."""
    with Registry.init(Path(directory) if directory else None) as registry:
        count = count_records(registry).runs
    click.echo(f"Registry ready at {registry.path} ({count} run(s) recorded).")


@main.command()
@registry_option
@click.option("--experiment", "-e", default=None, help="Only this experiment.")
@click.option("--where", "-w", default=None, help='A filter, e.g. "accuracy > 0.9".')
@click.option(
    "--code",
    "-c",
    default=None,
    metavar="TEXT",
    help='Runs whose recorded code or note contains each word, e.g. "RandomForest".',
)
@click.option(
    "--sort",
    "-s",
    multiple=True,
    help="A field, param or metric: -metrics.auc, params.lr, started_at (or a bare name:"
    " -auc); - in front for descending.",
)
@click.option("--limit", "-n", type=int, default=50, show_default=True, help="At most this many.")
@click.option(
    "--after",
    default=None,
    metavar="CURSOR",
    help="The page after the one whose next_cursor this is (see --format json).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--parent",
    "-p",
    default=None,
    metavar="RUN",
    help="List the children of RUN (a sweep's trials, a search's candidates).",
)
@click.option(
    "--all",
    "every_run",
    is_flag=True,
    help="List child runs too, each on its own line (by default a run's children are"
    " counted on its line; --parent RUN lists them).",
)
@click.option(
    "--archived",
    is_flag=True,
    help="List the archived runs (hidden otherwise; jupyter mlops restore RUN brings one back).",
)
@friendly
def runs(
    registry_path: str | None,
    experiment: str | None,
    where: str | None,
    code: str | None,
    sort: tuple[str, ...],
    limit: int,
    after: str | None,
    fmt: str,
    parent: str | None,
    every_run: bool,
    archived: bool,
) -> None:
    """List runs, newest first, with the parameters that differ and the last metric values.

    Sort by a run field or a value: --sort -metrics.auc, --sort params.lr, --sort name
    (a bare name is looked up as a field, then a metric, then a parameter). The columns
    are those chosen for the experiment (jupyter mlops columns), else the parameters
    whose values differ between the listed runs and every metric; an estimator's
    parameters (gbm.max_depth...) are folded into one column, "gbm (21)".

    Child runs are counted on their parent's line ("12 children"); --parent RUN lists
    them, --all lists every run. Archived runs are left out; --archived lists them.
    """
    registry = open_registry(registry_path)
    page = list_runs(
        registry,
        experiment=experiment,
        where=where,
        code=code,
        sort=list(sort) or None,
        limit=limit,
        after=after,
        top_level=parent is None and not every_run,
        parent=parent,
        archived=archived,
    )
    if fmt == "csv":
        write_csv(page)
        return
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "total": page.total,
                    "next_cursor": page.next_cursor,
                    "runs": [
                        {
                            "id": r.id,
                            "name": r.name,
                            "experiment": r.experiment,
                            "status": r.status,
                            "started_at": r.started_at,
                            "duration": r.duration,
                            "parent_run_id": r.parent_run_id,
                            "children": r.children,
                            "params": r.params,
                            "metrics": r.metrics,
                        }
                        for r in page.runs
                    ],
                },
                indent=2,
                default=str,
            )
        )
        return
    if page.total == 0 and (where or code):
        empty = no_match(experiment=experiment, where=where, code=code)
        click.echo(f"{empty.message}\n{empty.hint}")
        return
    columns = table_columns(registry, page, experiment=experiment)
    params = param_cells(columns)
    with_children = any(r.children for r in page.runs)
    # One experiment's runs need no column saying so: the width goes to params and metrics.
    with_experiment = len({r.experiment for r in page.runs}) > 1
    headers = [
        "id",
        "name",
        *(["children"] if with_children else []),
        *(["experiment"] if with_experiment else []),
        "status",
        "started",
        "duration",
        *(title for title, _ in params),
        *columns.metrics,
    ]
    rows = [
        [
            short_id(r.id),
            r.name,
            *([children_text(r.children)] if with_children else []),
            *([r.experiment] if with_experiment else []),
            r.status,
            timestamp(r.started_at),
            duration(r.duration),
            *[param_text(r, title, keys, columns) for title, keys in params],
            *[r.metrics.get(k) for k in columns.metrics],
        ]
        for r in page.runs
    ]
    click.echo(format_table(headers, rows))
    if page.next_cursor is not None:
        click.echo(
            f"({len(page.runs)} of {page.total} runs; use --limit to see more,"
            f" or --after {page.next_cursor} for the next page)"
        )


def param_text(run: RunRow, title: str, keys: tuple[str, ...], columns: TableColumns) -> object:
    """A parameter cell: the value, or ``k=v k=v`` for an estimator's folded parameters."""
    if keys == (title,):
        return run.params.get(title)
    group = columns.group_of(keys[0]) if keys else None
    if group is None:
        return ""
    return " ".join(
        f"{group.label(k)}={value_text(run.params[k])}" for k in keys if k in run.params
    )


# The columns of ``mlops.runs()`` before its params.* and metrics.* columns.
CSV_RUN_COLUMNS = (
    "run_id",
    "name",
    "experiment",
    "status",
    "kind",
    "started_at",
    "ended_at",
    "notebook_path",
    "previous_run_id",
    "parent_run_id",
    "duration",
)


def write_csv(page: RunsPage) -> None:
    """The runs as CSV on stdout, with the columns of ``mlops.runs()``.

    Written with the csv module from the page the table shows, not through a
    DataFrame: pandas alone would take longer to import than the rest of the command.
    Times are UTC ISO 8601, empty cells are values not recorded.
    """
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(
        [
            *CSV_RUN_COLUMNS,
            *(f"params.{key}" for key in page.param_keys),
            *(f"metrics.{key}" for key in page.metric_keys),
        ]
    )
    for r in page.runs:
        writer.writerow(
            [
                *_csv_fields(r),
                *(r.params.get(key) for key in page.param_keys),
                *(r.metrics.get(key) for key in page.metric_keys),
            ]
        )
    click.echo(text.getvalue(), nl=False)


def _csv_fields(r: RunRow) -> list[object]:
    return [
        r.id,
        r.name,
        r.experiment,
        r.status,
        r.kind,
        _utc(r.started_at),
        _utc(r.ended_at),
        r.notebook_path,
        r.previous_run_id,
        r.parent_run_id,
        r.duration,
    ]


def _utc(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    moment = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return moment.isoformat(sep=" ", timespec="microseconds")


@main.command()
@registry_option
@click.argument("run", default="last")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option("--code/--no-code", default=True, show_default=True, help="Print the cells' code.")
@click.option(
    "--full-series",
    is_flag=True,
    help="In JSON, every point of every curve (by default a curve longer than 2,048 points"
    " is its preview: the lowest and highest point of each step range, and the last).",
)
@friendly
def show(registry_path: str | None, run: str, fmt: str, code: bool, full_series: bool) -> None:
    """Show one run (id, id prefix, name or 'last'): params, metrics, code, data."""
    detail = run_detail(open_registry(registry_path), run, full_series=full_series)
    print_run(detail, as_json=fmt == "json", code=code)


@main.command()
@registry_option
@click.argument("metric")
@click.option(
    "--min", "minimize", is_flag=True, help="The lowest value is best (a loss, an error)."
)
@click.option("--experiment", "-e", default=None, help="Only runs of this experiment.")
@click.option("--json", "as_json", is_flag=True, help="Print the run as JSON (as show does).")
@click.option("--code/--no-code", default=True, show_default=True, help="Print the cells' code.")
@friendly
def best(
    registry_path: str | None,
    metric: str,
    minimize: bool,
    experiment: str | None,
    as_json: bool,
    code: bool,
) -> None:
    """Show the run with the highest last value of METRIC (--min: the lowest), as show does."""
    registry = open_registry(registry_path)
    found = best_run(registry, metric, maximize=not minimize, experiment=experiment)
    detail = run_detail(registry, found.id)
    if not as_json:
        among = f' of experiment "{experiment}"' if experiment else ""
        value = value_text(found.metrics.get(metric))
        click.echo(
            f"Best run{among} by {'lowest' if minimize else 'highest'} {metric}:"
            f" {metric} = {value}\n"
        )
    print_run(detail, as_json=as_json, code=code)


def print_run(detail: RunDetail, *, as_json: bool, code: bool) -> None:
    """One run as ``show`` prints it: a text page, or JSON."""
    r = detail.run
    if as_json:
        click.echo(
            json.dumps(
                {
                    "id": r.id,
                    "name": r.name,
                    "experiment": r.experiment,
                    "status": r.status,
                    "started_at": r.started_at,
                    "ended_at": r.ended_at,
                    "parent_run_id": r.parent_run_id,
                    "children": r.children,
                    "error": detail.error,
                    "git_commit": detail.git_commit,
                    "git_dirty": detail.git_dirty,
                    "params": {p.key: p.value for p in detail.params},
                    "metrics": {
                        m.key: {"last": m.last, "min": m.min, "max": m.max, "count": m.count}
                        for m in detail.metrics
                    },
                    "series": {k: list(v) for k, v in detail.series.items()},
                    "downsampled": sorted(detail.downsampled),
                    "code": [c.source for c in detail.code],
                    "tags": detail.tags,
                    "note": detail.note,
                    "archived_at": detail.archived_at,
                    "snapshots": [
                        {
                            "name": s.name,
                            "role": s.role,
                            "fingerprint": s.fingerprint,
                            "rows": s.n_rows,
                        }
                        for s in detail.snapshots
                    ],
                    "artifacts": [
                        {
                            "name": a.name,
                            "kind": a.kind,
                            "media_type": a.media_type,
                            "size": a.size,
                            "sha256": a.sha256,
                        }
                        for a in detail.artifacts
                    ],
                },
                indent=2,
                default=str,
            )
        )
        return
    click.echo(f"Run {r.name} ({r.id}) in {r.experiment}: {r.status}")
    click.echo(
        f"  started {timestamp(r.started_at)}"
        + (f", took {duration(r.duration)}" if r.duration is not None else "")
    )
    if detail.git_commit:
        click.echo(f"  git {detail.git_commit[:10]}{' (dirty)' if detail.git_dirty else ''}")
    if r.parent_run_id:
        click.echo(f"  child of run {r.parent_run_id}")
    if r.children:
        click.echo(f"  {children_text(r.children)}: jupyter mlops runs --parent {r.id}")
    if detail.error:
        click.echo(f"  error: {detail.error}")
    if detail.archived_at is not None:
        click.echo(
            f"  archived {timestamp(detail.archived_at)}: jupyter mlops restore {r.id} brings it back"
        )
    if detail.note:
        click.echo(f"  note: {detail.note}")
    if detail.params:
        click.echo(
            "\nParameters\n"
            + format_table(
                ["key", "value", "source"], [[p.key, p.value, p.source] for p in detail.params]
            )
        )
    if detail.metrics:
        click.echo(
            "\nMetrics\n"
            + format_table(
                ["key", "last", "min", "max", "points"],
                [[m.key, m.last, m.min, m.max, m.count] for m in detail.metrics],
            )
        )
    if detail.snapshots:
        click.echo(
            "\nData\n"
            + format_table(
                ["name", "role", "rows", "columns", "fingerprint"],
                [
                    [s.name, s.role, s.n_rows, s.n_columns, s.fingerprint[:16]]
                    for s in detail.snapshots
                ],
            )
        )
    if detail.artifacts:
        click.echo(
            "\nArtifacts\n"
            + format_table(
                ["name", "kind", "size"],
                [[a.name, a.kind, size_text(a.size)] for a in detail.artifacts],
            )
        )
    if code and detail.code:
        click.echo("\nCode")
        for cell in detail.code:
            click.echo(f"--- [{cell.execution_count if cell.execution_count is not None else ' '}]")
            click.echo(cell.source.rstrip())


@main.command()
@registry_option
@click.argument("runs_", metavar="RUN RUN [RUN...]", nargs=-1, required=True)
@friendly
def compare(registry_path: str | None, runs_: tuple[str, ...]) -> None:
    """Compare runs: parameters that differ (marked *) and metrics side by side."""
    comparison = compare_runs(open_registry(registry_path), list(runs_))
    labels = [f"{d.run.name} ({d.run.id[:6]})" for d in comparison.runs]
    click.echo(
        format_table(
            ["", "parameter", *labels],
            [["*" if differs else "", key, *values] for key, values, differs in comparison.params],
        )
    )
    click.echo()
    click.echo(
        format_table(["metric", *labels], [[key, *values] for key, values in comparison.metrics])
    )


@main.command()
@registry_option
@friendly
def status(registry_path: str | None) -> None:
    """Which registry applies here and what it holds."""
    registry = open_registry(registry_path)
    counts = count_records(registry)
    click.echo(f"Registry {registry.path}")
    click.echo(
        f"{counts.experiments} experiments, {counts.runs} runs, {counts.snapshots} snapshots"
    )


@main.command()
@registry_option
@click.argument("dest", type=click.Path())
@click.option(
    "--artifacts",
    is_flag=True,
    help="Also copy the artifact files beside the copy, so that it opens as a registry.",
)
@click.option("--force", is_flag=True, help="Replace DEST if it exists.")
@friendly
def backup(registry_path: str | None, dest: str, artifacts: bool, force: bool) -> None:
    """Copy the registry into DEST as one consistent file, even while others write to it."""
    result = backup_registry(
        open_registry(registry_path), dest, artifacts=artifacts, overwrite=force
    )
    click.echo(describe_backup(result))
