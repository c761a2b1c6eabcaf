"""How the monitor's cost grows with the prediction log: hours of logged, labelled traffic of a
served classifier (400 requests an hour of 20 rows, every input sampled, written through the
real prediction log), then ``monitor_model`` with one-hour windows: judging every window,
running again with nothing new, and running after one more request in the newest window
(what a monitor run on a schedule meets).

    python bench/monitor.py            # 24 and 96 hours, about two minutes; writes the Monitor section
    python bench/monitor.py --smoke    # 4 hours; writes nothing

The second and third figures grow with the log only through counts in SQL (a window that
gained nothing is known from them), since the log is read from the first window that changed.
No peer keeps live windows in its store and judges only what changed (Evidently computes the
reports it is given), so the figures stand alone; the drift statistics themselves are
compared with Evidently's in the Drift section.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import (  # noqa: E402
    RESULTS_FILE,
    format_seconds,
    git_commit,
    load_average,
    log,
    machine_info,
    markdown_table,
    update_results_section,
)

REPO = Path(__file__).resolve().parents[1]
HOUR = 3600.0
START = 1_790_000_000.0 - (1_790_000_000.0 % HOUR)
REQUESTS_PER_HOUR = 400
ROWS_PER_REQUEST = 20
FEATURES = ["age", "income", "tenure"]


def customers(n: int, seed: int) -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            "income": rng.gamma(2.0, 20_000, n),
            "tenure": rng.integers(0, 10, n).astype(float),
        }
    )
    frame["churned"] = ((frame["age"] < 38) ^ (rng.random(n) < 0.1)).astype(int)
    return frame


def logged_traffic(directory: Path, hours: int) -> tuple[Any, Any, Any]:
    """A registry with churn@1 and ``hours`` of its traffic, every request labelled."""
    from sklearn.linear_model import LogisticRegression

    from jupyter_mlops.models.registering import register
    from jupyter_mlops.registry.connection import Registry
    from jupyter_mlops.serving.feedback import record_feedback
    from jupyter_mlops.serving.prediction_log import PredictionLog
    from jupyter_mlops.snapshots.store import record_snapshot

    registry = Registry.init(directory)
    train = customers(3000, 0)
    snapshot = record_snapshot(registry, train[FEATURES], name="churn-train", role="train")
    model = LogisticRegression(max_iter=1000).fit(train[FEATURES], train["churned"])
    version = register(registry, model, "churn", snapshot=snapshot.id, alias="champion")
    log_ = PredictionLog(registry.another_connection(), flush_seconds=0.05).start()
    labels: dict[str, list[int]] = {}
    for hour in range(hours):
        traffic = customers(REQUESTS_PER_HOUR * ROWS_PER_REQUEST, 10 + hour)
        outputs = model.predict(traffic[FEATURES])
        for number in range(REQUESTS_PER_HOUR):
            cut = slice(number * ROWS_PER_REQUEST, (number + 1) * ROWS_PER_REQUEST)
            request_id = f"h{hour}-{number}"
            served_at = START + hour * HOUR + number * HOUR / REQUESTS_PER_HOUR
            log_.submit(record(request_id, version.id, traffic.iloc[cut], outputs[cut], served_at))
            labels[request_id] = traffic["churned"].iloc[cut].tolist()
    log_.close()
    ids = list(labels)
    for offset in range(0, len(ids), 5000):
        chunk = ids[offset : offset + 5000]
        record_feedback(registry, chunk, [labels[i] for i in chunk])
    return registry, version, model


def record(request_id: str, version_id: int, rows: Any, outputs: Any, served_at: float) -> Any:
    from jupyter_mlops.serving.prediction_log import PredictionRecord

    return PredictionRecord(
        request_id, version_id, "served", "churn@champion", len(rows),
        rows[FEATURES].reset_index(drop=True), outputs, 2.0, served_at,
    )  # fmt: skip


def measure(hours: int) -> dict[str, Any]:
    from jupyter_mlops.serving.feedback import record_feedback
    from jupyter_mlops.serving.live_rows import live_rows
    from jupyter_mlops.serving.monitoring import monitor_model
    from jupyter_mlops.serving.prediction_log import PredictionLog

    with tempfile.TemporaryDirectory(prefix="bench-monitor-") as temp:
        log(f"logging {hours} hours of traffic")
        registry, version, model = logged_traffic(Path(temp), hours)
        after = START + hours * HOUR + 1
        figures: dict[str, Any] = {
            "hours": hours,
            "requests": hours * REQUESTS_PER_HOUR,
            "rows": hours * REQUESTS_PER_HOUR * ROWS_PER_REQUEST,
            "megabytes": os.path.getsize(registry.path) / 1e6,
        }
        started = time.perf_counter()
        figures["live_rows"] = len(live_rows(registry, "churn")), time.perf_counter() - started
        log("the monitor: every window, then again, then after one more request")
        for name in ("first", "again"):
            started = time.perf_counter()
            report = monitor_model(registry, "churn", window="1h", now=after)
            figures[name] = report.computed, time.perf_counter() - started
        late = customers(ROWS_PER_REQUEST, 999)
        log_ = PredictionLog(registry.another_connection(), flush_seconds=0.01).start()
        served_at = START + (hours - 1) * HOUR + HOUR - 1
        log_.submit(record("late", version.id, late, model.predict(late[FEATURES]), served_at))
        log_.close()
        record_feedback(registry, ["late"], [late["churned"].tolist()])
        started = time.perf_counter()
        report = monitor_model(registry, "churn", window="1h", now=after)
        figures["one more"] = report.computed, time.perf_counter() - started
        registry.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="4 hours; write nothing")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO / "src"))

    started = time.time()
    load_before = load_average()
    info = machine_info(Path(tempfile.gettempdir()))
    sizes = (4,) if args.smoke else (24, 96)
    measured = [measure(hours) for hours in sizes]
    rows = [
        [
            f"{m['hours']} h",
            f"{m['requests']:,}",
            f"{m['rows']:,}",
            f"{m['megabytes']:.0f} MB",
            format_seconds(m["live_rows"][1]),
            f"{format_seconds(m['first'][1])} ({m['first'][0]} windows)",
            f"{format_seconds(m['again'][1])} ({m['again'][0]})",
            f"{format_seconds(m['one more'][1])} ({m['one more'][0]})",
        ]
        for m in measured
    ]
    table = markdown_table(
        [
            "traffic",
            "requests",
            "rows",
            "registry",
            "whole log as rows",
            "monitor: every window",
            "again, nothing new",
            "after one more request",
        ],
        rows,
    )
    print(table)
    for m in measured:
        assert m["again"][0] == 0 and m["one more"][0] == 1, m
    if args.smoke:
        return
    body = (
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))} by"
        f" `python bench/monitor.py`, on {info.get('cpu', '?')} ({info.get('cores', '?')}"
        f" cores), Python {info.get('python', '?')}; load average {load_before} before the run,"
        f" {load_average()} after it; jupyter-mlops at commit {git_commit(REPO)}.\n\n"
        f"A served classifier of 3 columns answered {REQUESTS_PER_HOUR} requests an hour of"
        f" {ROWS_PER_REQUEST} rows, every input sampled and every request labelled, logged"
        " through the real prediction log; `monitor_model` judges one-hour windows (drift of"
        " the inputs against the training snapshot, of the predictions against the window"
        " before, live metrics, latency), in this process. In brackets: the windows judged.\n\n"
        f"{table}\n\n"
        '"whole log as rows" is `live_rows` over everything, for scale. A run with nothing new'
        " counts each window's rows, labelled rows and newest label in SQL, finds every"
        " window as it was stored and reads no traffic; one more request in the newest window"
        " reads the log from the window before it (whose predictions the newest one's are"
        " compared with) and judges that window alone. Both grow with the log only through"
        " the counts in SQL, about 3 µs a request, where judging every window grows with all"
        " of its rows. Before the counts in SQL, every run read the whole log row by row: 9 s"
        " for 48 hours of this traffic, with nothing new."
    )
    update_results_section(RESULTS_FILE, "Monitor", body)


if __name__ == "__main__":
    main()
