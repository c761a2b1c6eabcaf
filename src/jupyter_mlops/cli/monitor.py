"""``jupyter mlops monitor NAME``: a served model's traffic judged window by window.

    jupyter mlops monitor churn                      # windows of an hour
    jupyter mlops monitor churn --window 30m --since 2d
    jupyter mlops monitor churn --on-retrain churn-pipeline

Each window's live inputs are compared with the training snapshot of the version that
answered them; the windows are stored, so the notebook and the panel draw the same history.
The exit status is the newest tested window's decision, as ``jupyter mlops drift`` gives
it: 0 monitor, 1 review, 2 retrain (with ``--on-retrain``, the retraining has run by then);
bad arguments exit with 4.
"""

from __future__ import annotations

import json
import sys
import time

import click

from .base import main, open_registry, registry_option
from .drift import EXIT_BAD_INPUT, EXIT_CODES


@main.command("monitor")
@registry_option
@click.argument("model", metavar="NAME")
@click.option("--window", default="1h", show_default=True, metavar="LENGTH",
              help="The length of a window: 30m, 1h, 1d.")  # fmt: skip
@click.option("--since", default=None, metavar="DURATION",
              help="Only the requests of the last DURATION: 6h, 7d (default: all).")  # fmt: skip
@click.option("--kind", type=click.Choice(["classifier", "regressor"]), default=None,
              help="Which live metrics to keep (default: from the model's class).")  # fmt: skip
@click.option("--min-rows", type=int, default=50, show_default=True,
              help="Windows with fewer sampled rows are not tested for drift.")  # fmt: skip
@click.option("--on-retrain", "on_retrain", default=None, metavar="PIPELINE_DIR",
              help="Run this pipeline when the newest ended window decides retrain; its gates"
              " decide whether the alias moves.")  # fmt: skip
@click.option("--alias", default="champion", show_default=True,
              help="The alias a retraining may move (reported before and after).")  # fmt: skip
@click.option("--fairness", "fairness", multiple=True, metavar="RULE",
              help="A fairness rule to check on each window, e.g."
              " 'demographic_parity_difference(sex) <= 0.05' (repeatable); a broken one makes"
              " the window's decision at least review.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the windows as JSON.")
def monitor_command(
    registry_path: str | None,
    model: str,
    window: str,
    since: str | None,
    kind: str | None,
    min_rows: int,
    on_retrain: str | None,
    alias: str,
    fairness: tuple[str, ...],
    as_json: bool,
) -> None:
    """Judge NAME's served traffic window by window: input drift against the training
    snapshot, prediction drift, latency p50/p99, live metrics per version and the shadow
    against the champion; store the windows; with --on-retrain, retrain when one decides so."""
    from ..errors import MlopsError
    from ..serving.monitoring import monitor_model
    from ..serving.windows import parse_window

    try:
        start = None if since is None else time.time() - parse_window(since)
        report = monitor_model(
            open_registry(registry_path),
            model,
            window=window,
            since=start,
            kind=kind,
            min_rows=min_rows,
            on_retrain=on_retrain,
            retrain_alias=alias,
            fairness=fairness,
            progress=None if as_json else click.echo,
        )
    except MlopsError as exc:
        click.echo(f"Error: {exc.message}", err=True)
        if exc.hint:
            click.echo(f"Hint: {exc.hint}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "model": report.model,
                    "window_seconds": report.window_seconds,
                    "decision": report.decision,
                    "windows": [w.to_dict() for w in report.windows],
                    "retrain": None if report.retrain is None else report.retrain.__dict__,
                    "notes": list(report.notes),
                }
            )
        )
    else:
        click.echo(report.summary())
    sys.exit(EXIT_CODES.get(report.decision or "monitor", 0))
