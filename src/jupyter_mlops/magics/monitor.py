"""``%mlops monitor NAME``: a served model's windows, judged, stored and drawn.

%mlops monitor churn
%mlops monitor churn --window 30m
%mlops monitor churn --on-retrain churn-pipeline
"""

from __future__ import annotations

import argparse

from IPython.display import display

from .base import MlopsMagics, arguments, command


def _monitor_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="NAME")
    parser.add_argument("--window", default="1h", help="the length of a window: 30m, 1h, 1d")
    parser.add_argument("--kind", choices=["classifier", "regressor"], default=None)
    parser.add_argument("--min-rows", type=int, default=50,
                        help="windows with fewer sampled rows are not tested for drift")  # fmt: skip
    parser.add_argument("--on-retrain", default=None, metavar="PIPELINE_DIR",
                        help="run this pipeline when the newest ended window decides retrain")  # fmt: skip
    parser.add_argument("--alias", default="champion", help="the alias a retraining may move")
    parser.add_argument("--fairness", action="append", default=[], metavar="RULE",
                        help="a fairness rule checked on each window (repeatable)")  # fmt: skip


@command(
    "monitor",
    "Judge a served model's traffic window by window and draw it: %mlops monitor NAME"
    " [--window 1h] [--on-retrain PIPELINE_DIR]",
)
@arguments(_monitor_arguments)
def _monitor(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> None:
    from ..serving.monitoring import monitor_model
    from ..widgets.monitoring import MonitorView

    report = monitor_model(
        magics.registry(),
        args.model,
        window=args.window,
        kind=args.kind,
        min_rows=args.min_rows,
        on_retrain=args.on_retrain,
        retrain_alias=args.alias,
        fairness=args.fairness,
        progress=print,
    )
    display(MonitorView(report))
