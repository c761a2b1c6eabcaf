"""Answers for the panel's data routes, shaped exactly like the server's.

tests/test_panel_live.py drives the panel against a real registry; the tests that use
this module answer the data routes in the browser instead (Playwright's
``page.route``), from seeded, generated data, to reach states a real registry makes
hard to stage: hundreds of runs with every value kind, a route that fails with a given
code, a drift report before the registry can store one, a server that stops answering.
The status route, the JupyterLab server and the browser stay real, and
tests/test_server_routes.py checks that these answers have the server's keys.
"""

from __future__ import annotations

import json
import random
import re
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Page, Route

XSS_NAME = "<img src=x onerror=alert(1)>"
XSS_CODE = "<script>window.__mlops_xss = 1</script>\nmodel.fit(X, y)"

DATA_ROUTES = re.compile(
    r"/jupyter-mlops/api/(changes|experiments|runs|snapshots|models|gates|drift|pipelines)"
    r"(?:/([^/?]+))?$"
)

# The reproduce routes: starting one (POST), the run's last job (GET), a job's progress.
REPRODUCE_ROUTES = re.compile(
    r"/jupyter-mlops/api/(?:runs/([^/?]+)/reproduce|reproductions/jobs/([^/?]+))$"
)
# A served model's monitor windows: GET reads them, POST runs the monitor.
MONITORING_ROUTE = re.compile(r"/jupyter-mlops/api/models/([^/?]+)/monitoring$")
MONITOR_START = 1_700_000_000 - 1_700_000_000 % 3600
LENGTH_SECONDS = {"15m": 900, "1h": 3600, "6h": 21_600, "1d": 86_400}

ENVIRONMENTS = [
    {"name": "current", "title": "The Python of this Jupyter server"},
    {"name": "venv", "title": "A fresh virtual environment with the versions the run recorded"},
    {"name": "container", "title": "A container image with the versions the run recorded"},
]


@dataclass(frozen=True)
class SeenRequest:
    """One request the panel made to a data route."""

    route: str
    item: str | None
    query: dict[str, str]


def _run_id(index: int) -> str:
    return f"{index:08x}" + "c0ffee" * 4


def make_runs(seed: int = 7) -> list[dict[str, Any]]:
    """120 runs of "churn" and 3 of "fraud"; the newest churn run has a markup name."""
    rng = random.Random(seed)
    runs = []
    for index in range(123):
        experiment = "churn" if index < 120 else "fraud"
        # fraud ran a day earlier, so "churn" is the experiment that ran most recently
        started = 1_700_000_000 + (index * 60 if experiment == "churn" else index - 86_400)
        duration = round(rng.uniform(0.5, 400), 2)
        runs.append(
            {
                "id": _run_id(index),
                "name": f"rf-{index:03d}",
                "experiment": experiment,
                "status": rng.choice(["finished", "finished", "finished", "failed", "running"]),
                "started_at": started,
                "ended_at": started + duration,
                "duration": duration,
                "kind": "notebook",
                "notebook_path": "/home/me/project/analysis/train.ipynb",
                "notebook_lab_path": "analysis/train.ipynb",
                "previous_run_id": _run_id(index - 1) if index > 0 else None,
                "parent_run_id": None,
                "children": 0,
                "params": {
                    "lr": rng.choice([0.01, 0.03, 0.1, 0.3]),
                    "depth": rng.randint(2, 12),
                    "model": "rf",
                    "seed": index,
                    "criterion": "gini",
                },
                "metrics": {
                    "accuracy": round(rng.uniform(0.6, 0.99), 4),
                    "f1": round(rng.uniform(0.5, 0.95), 4),
                    "loss": None if index % 10 == 0 else round(rng.uniform(0.05, 1.2), 4),
                    "auc": round(rng.uniform(0.6, 0.99), 4),
                    "precision": round(rng.uniform(0.5, 0.99), 4),
                },
            }
        )
    runs[119]["name"] = XSS_NAME
    return runs


def _sort_value(run: dict[str, Any], key: str) -> Any:
    if key.startswith(("params.", "metrics.")):
        group, name = key.split(".", 1)
        return run[group].get(name)
    return run[key]


@dataclass
class ContractStandIn:
    """Seeded data behind the data routes, and a log of what the panel asked for.

    ``failures`` maps a route to the ``(status, body)`` it answers instead of data;
    ``missing`` lists routes that answer 404 as a server does before any such row exists.
    """

    runs: list[dict[str, Any]] = field(default_factory=make_runs)
    marker: str = "marker-1"
    failures: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)
    seen: list[SeenRequest] = field(default_factory=list)
    # POST runs/ID/reproduce answers this instead of starting a job, when set
    reproduce_refusal: tuple[int, dict[str, Any]] | None = None
    reproduce_bodies: list[Any] = field(default_factory=list)
    # how many times each job is asked for while it runs before it ends with a mismatch
    polls_while_running: int = 2
    # the monitor windows stored per length (see monitor_windows); POST adds a length
    monitored: dict[str, int] = field(default_factory=lambda: {"1h": 30})
    # POST models/NAME/monitoring answers this instead of running, when set
    monitor_refusal: tuple[int, dict[str, Any]] | None = None
    monitor_bodies: list[Any] = field(default_factory=list)
    _jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    _polls: dict[str, int] = field(default_factory=dict)

    def install(self, page: Page) -> None:
        page.route(re.compile(r".*/jupyter-mlops/api/(?!status).*"), self._answer)

    def requests_to(self, route: str) -> list[SeenRequest]:
        return [seen for seen in self.seen if seen.route == route]

    def last(self, route: str) -> SeenRequest:
        return self.requests_to(route)[-1]

    def _answer(self, route: Route) -> None:
        url = urllib.parse.urlsplit(route.request.url)
        reproduce = REPRODUCE_ROUTES.search(url.path)
        if reproduce is not None:
            status, body = self._reproduce(route.request.method, *reproduce.groups(), route)
            route.fulfill(status=status, content_type="application/json", body=json.dumps(body))
            return
        monitoring = MONITORING_ROUTE.search(url.path)
        if monitoring is not None:
            model = urllib.parse.unquote(monitoring.group(1))
            self.seen.append(SeenRequest("monitoring", model, {}))
            body = json.loads(route.request.post_data or "null")
            status, body = self.monitoring(model, route.request.method, body)
            route.fulfill(status=status, content_type="application/json", body=json.dumps(body))
            return
        matched = DATA_ROUTES.search(url.path)
        if matched is None:
            route.continue_()  # not a data route: let the real server answer
            return
        name, item = matched.group(1), matched.group(2)
        query = dict(urllib.parse.parse_qsl(url.query))
        self.seen.append(SeenRequest(name, item, query))
        status, body = self._respond(name, item, query)
        route.fulfill(status=status, content_type="application/json", body=json.dumps(body))

    def _respond(
        self, name: str, item: str | None, query: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        if name in self.failures:
            return self.failures[name]
        if name in self.missing:
            return 404, {"message": f"No {name} recorded in this registry yet."}
        if name == "runs":
            return self._run_detail(item) if item else self._runs_page(query)
        return 200, getattr(self, f"_{name}")(query)

    def _reproduce(
        self, method: str, run_id: str | None, job_id: str | None, route: Route
    ) -> tuple[int, dict[str, Any]]:
        """A reproduction that runs for a few polls, then ends with a mismatch."""
        if job_id is not None:
            job = self._jobs.get(job_id)
            if job is None:
                return 404, {"message": f'No reproduction job "{job_id}" on this server'}
            return 200, self._advance(job)
        assert run_id is not None
        if not any(run["id"] == run_id for run in self.runs):
            return 404, {"message": f'Run "{run_id}" does not exist.', "hint": "List runs."}
        if method == "GET":
            last = [job for job in self._jobs.values() if job["run_id"] == run_id]
            return 200, {"environments": ENVIRONMENTS, "job": dict(last[-1]) if last else None}
        body = json.loads(route.request.post_data or "null")
        self.reproduce_bodies.append(body)
        if self.reproduce_refusal is not None:
            return self.reproduce_refusal
        job = self.start_reproduction(run_id, (body or {}).get("env"))
        return 202, {**job, "lines": list(job["lines"])}

    def start_reproduction(self, run_id: str, env: str | None = None) -> dict[str, Any]:
        """A reproduction of ``run_id`` that starts running now (as another page would start it)."""
        job = _reproduction_job(run_id, f"job{len(self._jobs):09d}", env)
        self._jobs[job["job"]] = job
        return job

    def _advance(self, job: dict[str, Any]) -> dict[str, Any]:
        polls = self._polls[job["job"]] = self._polls.get(job["job"], 0) + 1
        if polls <= self.polls_while_running:
            job["lines"].append(f"  cell {polls}/3 ran ({polls * 0.5:.1f} s): {XSS_NAME}")
        elif job["state"] == "running":
            job["lines"].append("  cell 3/3 ran (1.9 s): mlops.log(accuracy=accuracy)")
            job.update(state="done", ended_at=job["started_at"] + 2.0, verdict=_mismatch(job))
        return {**job, "lines": list(job["lines"])}

    def monitoring(
        self, model: str, method: str = "GET", body: Any = None
    ) -> tuple[int, dict[str, Any]]:
        """``GET|POST models/NAME/monitoring``: churn's stored windows; a POST stores
        windows of the posted length (24 of them when that length had none)."""
        if model != "churn":
            return 404, {
                "message": f'There is no model named "{model}"',
                "hint": "Registered models: churn.",
            }
        run = None
        if method == "POST":
            self.monitor_bodies.append(body)
            if self.monitor_refusal is not None:
                return self.monitor_refusal
            window = (body or {}).get("window", "1h")
            before = self.monitored.get(window, 0)
            self.monitored[window] = max(before, 24)
            run = {
                "window": window,
                "computed": self.monitored[window] - before,
                "decision": "retrain",
                "notes": [],
                "message": f"monitor of churn: {self.monitored[window]} window(s) of {window},"
                f" {self.monitored[window] - before} computed now; the newest tested decides"
                " retrain",
            }
        lengths = [
            monitor_length(window, count)
            for window, count in sorted(self.monitored.items(), key=lambda i: LENGTH_SECONDS[i[0]])
        ]
        answer = {
            "model": "churn",
            "aliases": {"challenger": 1, "champion": 2},
            "window": None,
            "decision": "retrain" if lengths else None,
            "decided_by": (
                f"{lengths[0]['window']} window of {lengths[0]['windows'][0]['start_text']}"
                if lengths
                else None
            ),
            "choices": list(LENGTH_SECONDS),
            "lengths": lengths,
        }
        return 200, answer if run is None else {**answer, "run": run}

    def _changes(self, query: dict[str, str]) -> dict[str, Any]:
        return {"marker": self.marker}

    def _experiments(self, query: dict[str, str]) -> dict[str, Any]:
        by_name: dict[str, list[dict[str, Any]]] = {}
        for run in self.runs:
            by_name.setdefault(run["experiment"], []).append(run)
        return {
            "experiments": [
                {
                    "name": name,
                    "runs": len(runs),
                    "last_started_at": _iso(max(r["started_at"] for r in runs)),
                }
                # fraud first: the panel must pick the most recent experiment, not the first
                for name, runs in sorted(by_name.items(), key=lambda item: item[0] != "fraud")
            ]
        }

    def _runs_page(self, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        where = query.get("where", "")
        if where.endswith(">"):
            return 400, {
                "message": f"Cannot parse the filter {where!r}: a value is missing after '>'.",
                "hint": "Write a comparison such as metrics.accuracy > 0.9",
            }
        runs = [r for r in self.runs if r["experiment"] == query.get("experiment")]
        parent, top_level = query.get("parent"), query.get("top_level") == "true"
        if parent is not None:
            runs = [r for r in runs if r["parent_run_id"] == parent]
        elif top_level:
            runs = [r for r in runs if r["parent_run_id"] is None]
        if where == "metrics.accuracy > 2":
            runs = []
        code = query.get("code", "")
        if code:  # the runs whose code used RandomForest: every seventh; nothing else matches
            runs = [r for r in runs if code == "RandomForest" and r["params"]["seed"] % 7 == 0]
        sort = query.get("sort", "-started_at")
        key = sort.lstrip("-")
        present = [r for r in runs if _sort_value(r, key) is not None]
        absent = [r for r in runs if _sort_value(r, key) is None]
        present.sort(key=lambda r: _sort_value(r, key), reverse=sort.startswith("-"))
        runs = present + absent
        page, page_size = int(query.get("page", 1)), int(query.get("page_size", 50))
        chunk = runs[(page - 1) * page_size : page * page_size]
        return 200, {
            "runs": [
                {**r, "started_at": _iso(r["started_at"]), "ended_at": _iso(r["ended_at"])}
                for r in chunk
            ],
            "total": len(runs),
            "page": page,
            "page_size": page_size,
            "pages": max(1, -(-len(runs) // page_size)),
            # The panel pages by number; the stand-in's cursors only name the next page.
            "next_cursor": f"page-{page + 1}" if page * page_size < len(runs) else None,
            "previous_cursor": f"page-{page - 1}" if page > 1 else None,
            "experiment": query.get("experiment"),
            "where": where or None,
            "code": code or None,
            "sort": sort,
            "parent": parent,
            "top_level": top_level,
            "archived": False,
            "columns": {
                "params": ["lr", "depth", "model", "seed", "criterion"],
                "metrics": ["accuracy", "f1", "loss", "auc", "precision"],
                "shown": [
                    *(f"params.{k}" for k in ("lr", "depth", "model", "seed")),
                    *(f"metrics.{k}" for k in ("accuracy", "f1", "loss", "auc")),
                ],
                "chosen": False,
                "available": [
                    *(f"params.{k}" for k in ("lr", "depth", "model", "seed", "criterion")),
                    *(f"metrics.{k}" for k in ("accuracy", "f1", "loss", "auc", "precision")),
                ],
                "groups": [],
            },
        }

    def _run_detail(self, run_id: str) -> tuple[int, dict[str, Any]]:
        index = next((i for i, r in enumerate(self.runs) if r["id"] == run_id), None)
        if index is None:
            return 404, {
                "message": f'Run "{run_id}" does not exist.',
                "hint": "List runs with %mlops runs.",
            }
        run = self.runs[index]
        rng = random.Random(index)
        accuracy = [
            [step, round(0.5 + 0.4 * (1 - 0.9**step) + rng.uniform(-0.01, 0.01), 4)]
            for step in range(20)
        ]
        accuracy[7][1] = None  # a missing point breaks the curve
        loss = [[step, round(1.5 * 0.85**step + rng.uniform(0, 0.02), 4)] for step in range(30)]
        # the preview of a million-point curve: each step range's lowest and highest point
        grad_norm = [
            [bucket * 1024 + offset, round(1 + rng.uniform(0, 0.1) + (5 if offset else 0), 3)]
            for bucket in range(40)
            for offset in (17, 600)
        ] + [[999_999, 1.02]]
        return 200, {
            "run": {
                **run,
                "started_at": _iso(run["started_at"]),
                "ended_at": _iso(run["ended_at"]),
                "git_commit": "9f2c1e7d3b5a4c6e8f0a1b2c3d4e5f6a7b8c9d0e",
                "git_branch": "main",
                "git_dirty": True,
                "error": "ValueError: Input contains NaN" if run["status"] == "failed" else None,
                "note": "tried a deeper forest" if run["params"]["seed"] % 7 == 0 else None,
                "archived_at": None,
            },
            "params": [
                {"key": k, "value": v, "type": type(v).__name__, "source": "literal"}
                for k, v in run["params"].items()
            ],
            "metrics": [
                _summary("accuracy", accuracy[-1][1], 0.5, accuracy[-1][1], 19, 19),
                _summary("loss", loss[-1][1], loss[-1][1], loss[0][1], 30, 29),
                _summary(
                    "f1", run["metrics"]["f1"], run["metrics"]["f1"], run["metrics"]["f1"], 1, 0
                ),
                _summary("grad_norm", 1.02, 1.0, 6.1, 1_000_000, 999_999),
            ],
            "series": {
                "accuracy": accuracy,
                "loss": loss,
                "f1": [[0, run["metrics"]["f1"]]],
                "grad_norm": grad_norm,
            },
            "downsampled": ["grad_norm"],
            "code": [
                _code(1, 3, "lr = 0.1\ndepth = 6"),
                _code(2, 4, XSS_CODE),
            ],
            "environment": {
                "python": "3.11.7",
                "platform": "Linux-x86_64",
                "packages": {"scikit-learn": "1.5.0", "pandas": "3.1.0", "numpy": "2.4.0"},
            },
            "snapshots": [
                {
                    "id": "s1",
                    "name": "train",
                    "role": "input",
                    "variable": "train_df",
                    "kind": "dataframe",
                    "fingerprint": "ab" * 32,
                    "n_rows": 8000,
                    "n_columns": 21,
                    "materialized": False,
                },
            ],
            "tags": {"owner": "data-team"},
            "models": [{"model": "churn", "version": 2, "aliases": ["champion"]}]
            if index == 5
            else [],
            "gates": [g for g in self._gates(query={})["evaluations"] if g["run_id"] == run["id"]],
            "artifacts": [
                {
                    "name": "notes.txt",
                    "kind": "text",
                    "media_type": "text/plain",
                    "size": 11,
                    "sha256": "ef" * 32,
                    "created_at": 1_700_000_100.0,
                    "execution_count": 3,
                    "cell_id": None,
                    "href": f"artifacts/{'ef' * 32}",
                    "image": False,
                    "preview": {"table": None, "text": "hello world", "truncated": False},
                }
            ],
            "closure": _closure() if index == 118 else None,
            "reproductions": _reproductions(run["id"], self.runs[117]["id"])
            if index == 118
            else [],
        }

    def _snapshots(self, query: dict[str, str]) -> dict[str, Any]:
        return {
            "snapshots": [
                _snapshot("s2", "march", "cd" * 32, 12345, 1_700_100_000, runs=0),
                _snapshot("s1", "train", "ab" * 32, 8000, 1_700_000_000, runs=3),
            ],
            "total": 2,
            "limit": 200,
            "offset": 0,
        }

    def _models(self, query: dict[str, str]) -> dict[str, Any]:
        evaluations = {e["id"]: e for e in self._gates(query)["evaluations"]}
        return {
            "models": [
                {
                    "name": "churn",
                    "description": None,
                    "created_at": _iso(1_700_000_500),
                    "aliases": {"challenger": 1, "champion": 2},
                    "versions": [  # newest first, as the server sends them
                        _version(2, self.runs[5], ["champion"], 0.9112, evaluations["g2"]),
                        _version(1, self.runs[3], ["challenger"], 0.84, evaluations["g1"]),
                    ],
                }
            ]
        }

    def _gates(self, query: dict[str, str]) -> dict[str, Any]:
        return {
            "evaluations": [
                _evaluation(
                    "g2",
                    self.runs[5],
                    "promote",
                    1_700_001_000,
                    [
                        ("accuracy >= 0.85", True, 0.9112, ">= 0.85"),
                        ("accuracy >= champion.accuracy - 0.01", True, 0.9112, ">= 0.83"),
                        ("demographic_parity_difference(sex) <= 0.05", True, 0.031, "<= 0.05"),
                    ],
                    version=2,
                    alias="champion",
                    groups={2: [SEX_GROUPS]},
                ),
                _evaluation(
                    "g1",
                    self.runs[3],
                    "check",
                    1_700_000_600,
                    [("accuracy >= 0.85", False, 0.84, ">= 0.85")],
                ),  # fmt: skip
                _evaluation(
                    "g0",
                    self.runs[3],
                    "check",
                    1_700_000_550,
                    [("accuracy >= 0.8", True, 0.84, ">= 0.8")],
                ),  # fmt: skip
            ]
        }

    def _drift(self, query: dict[str, str]) -> dict[str, Any]:
        return {
            "reports": [
                {
                    "id": "d2",
                    "created_at": _iso(1_700_200_000),
                    "decision": "retrain",
                    "reference": "train",
                    "current": "march",
                    "columns": [
                        {
                            "column": "tenure",
                            "verdict": "retrain",
                            "test": "ks",
                            "statistic": 0.41,
                            "p_adjusted": 1e-9,
                            "effect": 0.52,
                        },
                        {
                            "column": "plan",
                            "verdict": "review",
                            "test": "chi2",
                            "statistic": 9.3,
                            "p_adjusted": 0.03,
                            "effect": 0.12,
                        },
                        {
                            "column": "region",
                            "verdict": "monitor",
                            "test": "chi2",
                            "statistic": 1.1,
                            "p_adjusted": 0.6,
                            "effect": 0.01,
                        },
                    ],
                },
                {
                    "id": "d1",
                    "created_at": _iso(1_700_100_000),
                    "decision": "monitor",
                    "reference": "train",
                    "current": "february",
                    "columns": [
                        {
                            "column": "tenure",
                            "verdict": "monitor",
                            "test": "ks",
                            "statistic": 0.02,
                            "p_adjusted": 0.8,
                            "effect": 0.01,
                        }
                    ],
                },
            ]
        }

    def _pipelines(self, query: dict[str, str]) -> dict[str, Any]:
        return {
            "runs": [
                {
                    "id": "p" * 8 + "1",
                    "pipeline": "churn-train",
                    "status": "gate_failed",
                    "started_at": _iso(1_700_300_000),
                    "duration": 95.2,
                    "steps": [
                        {"name": "load", "status": "ok", "duration": 1.2, "cached": True},
                        {"name": "train", "status": "ok", "duration": 80.0, "cached": False},
                        {"name": "gate", "status": "gate_failed", "duration": 0.3, "cached": False},
                        {
                            "name": "register",
                            "status": "not_run",
                            "duration": None,
                            "cached": False,
                        },
                    ],
                    "edges": [["load", "train"], ["train", "gate"], ["gate", "register"]],
                },
                {
                    "id": "p" * 8 + "0",
                    "pipeline": "churn-train",
                    "status": "ok",
                    "started_at": _iso(1_700_200_000),
                    "duration": 12.5,
                    "steps": [
                        {"name": "load", "status": "ok", "duration": 1.0, "cached": False},
                        {"name": XSS_NAME, "status": "ok", "duration": 2.0, "cached": False},
                    ],
                    "edges": [["load", XSS_NAME]],
                },
            ]
        }


def _closure() -> dict[str, Any]:
    """What the panel's run page shows of a closure: two earlier cells, one file."""
    return {
        "cells": [
            {"execution_count": 2, "source": "import pandas as pd", "provides": ["pd"]},
            {
                "execution_count": 4,
                "source": 'churn = pd.read_csv("data/churn.csv")',
                "provides": ["churn"],
            },
        ],
        "files": [
            {
                "path": "data/churn.csv",
                "resolved": "/work/data/churn.csv",
                "sha256": "ab" * 32,
                "size": 1024,
                "execution_count": 4,
            }
        ],
        "unresolved": [],
        "directory": "/work",
    }


def _reproductions(run_id: str, again_id: str) -> list[dict[str, Any]]:
    return [
        {
            "id": 1,
            "original_run_id": run_id,
            "run_id": again_id,
            "environment": "venv",
            "status": "parity",
            "summary": "parity ok: 2 metric(s) came back within rel 1e-06, abs 1e-09 (accuracy, f1)",
            "report": {"status": "parity"},
            "started_at": 1_700_000_900.0,
            "ended_at": 1_700_000_905.0,
        }
    ]


def _reproduction_job(run_id: str, job_id: str, env: str | None) -> dict[str, Any]:
    """A job as ``POST runs/ID/reproduce`` answers it, just started."""
    return {
        "job": job_id,
        "run_id": run_id,
        "run_name": "rf",
        "environment": env or "current",
        "data_from_snapshots": False,
        "params": {},
        "state": "running",
        "started_at": 1_700_001_000.0,
        "ended_at": None,
        "lines": [f'reproducing run "rf" ({run_id[:12]}): 2 earlier cell(s) and 1 of its own'],
        "verdict": None,
        "error": None,
    }


def _mismatch(job: dict[str, Any]) -> dict[str, Any]:
    """The verdict of a reproduction whose accuracy came back different, with its causes."""
    return {
        "status": "mismatch",
        "summary": f"parity MISMATCH with run {job['run_id'][:12]} (rel 1e-06, abs 1e-09): 1 of 2"
        " metric(s) differ: accuracy: 0.91 then, 0.87 now",
        "original_run_id": job["run_id"],
        "run_id": _run_id(200),
        "reason": "",
        "causes": [
            f"RandomForestClassifier(n_estimators=3) draws at random with no seed: {XSS_NAME}"
        ],
        "notes": ["data check: churn: as the run read it (fingerprint ab12cd34ef56)"],
        "differs_from_here": ["scikit-learn 1.5.0 -> 1.6.1"],
        "reproduction_id": 7,
        "seconds": 2.0,
        "notebook": "/work/.mlops/reproductions/rf-20261204.ipynb",
        "notebook_lab_path": ".mlops/reproductions/rf-20261204.ipynb",
    }


def _summary(
    key: str, last: float | None, low: float | None, high: float | None, count: int, step: int
) -> dict[str, Any]:
    return {
        "key": key, "last": last, "last_step": step, "min": low, "min_step": 0, "max": high,
        "max_step": step, "count": count,
    }  # fmt: skip


def _code(seq: int, execution_count: int, source: str) -> dict[str, Any]:
    return {
        "seq": seq, "execution_count": execution_count, "cell_id": f"cell-{seq}",
        "source": source, "executed_at": 1_700_000_000 + seq,
    }  # fmt: skip


def _snapshot(
    snapshot_id: str, name: str, fingerprint: str, rows: int, created: float, *, runs: int
) -> dict[str, Any]:
    return {
        "id": snapshot_id, "name": name, "kind": "dataframe", "fingerprint": fingerprint,
        "n_rows": rows, "n_columns": 21, "created_at": _iso(created), "source_path": None,
        "materialized": False, "runs": runs,
    }  # fmt: skip


# The per-group table of a fairness rule, as gates/groups.py's GroupTable sends it.
SEX_GROUPS: dict[str, Any] = {
    "of": "demographic_parity_difference(sex)",
    "column": "sex",
    "metrics": ["selection_rate"],
    "groups": ["F", "M", "(missing)"],
    "counts": [1480, 1502, 18],
    "values": [[0.402], [0.433], [None]],
}


def _evaluation(
    evaluation_id: str,
    run: dict[str, Any],
    purpose: str,
    evaluated_at: float,
    rules: list[tuple[str, bool, float, str]],
    *,
    version: int | None = None,
    alias: str | None = None,
    groups: dict[int, list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    failed = sum(not passed for _, passed, _, _ in rules)
    return {
        "id": evaluation_id,
        "purpose": purpose,
        "run_id": run["id"],
        "run_name": run["name"],
        "model": "churn",
        "version": version,
        "alias": alias,
        "passed": failed == 0,
        "summary": f"passed: {len(rules)} of {len(rules)}"
        if failed == 0
        else f"failed: {failed} of {len(rules)} failed",
        "evaluated_at": evaluated_at,
        "rules": [
            {
                "rule": rule,
                "kind": "rule",
                "passed": passed,
                "actual": actual,
                "expected": expected,
                "detail": "",
                "exact": True,
                "groups": (groups or {}).get(index, []),
            }  # fmt: skip
            for index, (rule, passed, actual, expected) in enumerate(rules)
        ],
    }


def _version(
    number: int,
    run: dict[str, Any],
    aliases: list[str],
    accuracy: float,
    gate: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        "version": number,
        "ref": f"churn@{number}",
        "aliases": aliases,
        "run_id": run["id"],
        "run_name": run["name"],
        "flavor": "sklearn",
        "model_class": "sklearn.ensemble.RandomForestClassifier",
        "snapshot_name": "train",
        "created_at": 1_700_000_500 + 400 * number,
        "metrics": {"accuracy": accuracy},
        "gate": gate,
    }


def monitor_length(window: str, count: int) -> dict[str, Any]:
    """``count`` windows of ``window``, newest first: the oldest monitor, then five that ask
    for review (one column moved, a fairness rule broken), one too small to test, and four
    that decide retrain; version 2 answers
    from the middle on, with a shadow's verdict."""
    seconds = LENGTH_SECONDS[window]
    decisions: list[str | None] = ["monitor"] * count
    for index in range(count):
        back = count - 1 - index  # 0: the newest
        if back < 4:
            decisions[index] = "retrain"
        elif back == 4:
            decisions[index] = None
        elif back < 10:
            decisions[index] = "review"
    windows = [
        _monitor_window(window, seconds, index, decision, count)
        for index, decision in enumerate(decisions)
    ]
    return {
        "window": window,
        "window_seconds": seconds,
        "decision": "retrain",
        "total": count,
        "shown": count,
        "x_label": f"hours since {_start_text(MONITOR_START)} UTC",
        "x_name": "hour",
        "windows": list(reversed(windows)),
        "latency": [
            {"name": name, "points": [[w["x"], w[key]] for w in windows]}
            for name, key in (("p50 ms", "latency_p50_ms"), ("p99 ms", "latency_p99_ms"))
        ],
        "metrics": [
            {
                "name": f"v{version} accuracy",
                "points": [
                    [w["x"], w["metrics"].get(version, {}).get("accuracy")] for w in windows
                ],
            }
            for version in ("1", "2")
        ],
    }


def _monitor_window(
    window: str, seconds: int, index: int, decision: str | None, count: int
) -> dict[str, Any]:
    start = MONITOR_START + index * seconds
    version = "2" if index >= count // 2 else "1"
    retrain = ["tenure", XSS_NAME] if decision == "retrain" else []
    review = ["plan"] if decision == "review" else []
    metrics = {version: {"accuracy": round(0.9 - 0.004 * index, 4)}}
    comparison = (
        {
            "kind": "classifier",
            "metric": "accuracy",
            "champion_value": 0.86,
            "challenger_value": 0.91,
            "n_pairs": 40,
            "test": "mcnemar",
            "p_value": 0.01,
            "alpha": 0.05,
            "verdict": "challenger better",
            "champion_only_right": 2,
            "challenger_only_right": 9,
        }
        if version == "2"
        else None
    )
    note = "too few rows to test (12 < 30)" if decision is None else ""
    fairness = [
        {
            "rule": "demographic_parity_difference(sex) <= 0.1",
            "passed": decision != "review",
            "detail": "0.04" if decision != "review" else "0.18",
        }
    ]
    broken = [check["rule"] for check in fairness if check["passed"] is False]
    line = f"{_start_text(start)}     120 req  v{version}  " + (
        note
        if decision is None
        else "; ".join(
            [decision]
            + ([f"retrain for {', '.join(retrain)}"] if retrain else [])
            + ([f"review {', '.join(review)}"] if review else [])
            + ([f"unfair: {'; '.join(broken)}"] if broken else [])
        )
    )
    return {
        "model": "churn",
        "window_seconds": seconds,
        "start": start,
        "end": start + seconds,
        "version": version,
        "n_predictions": 12 if decision is None else 120,
        "n_labelled": 0 if decision is None else 100,
        "decision": decision,
        "retrain_columns": retrain,
        "review_columns": review,
        "input_report_id": None if decision is None else f"mon-in-{window}-{index}",
        "prediction_report_id": None if decision is None else f"mon-out-{window}-{index}",
        "latency_p50_ms": 2.0 + index % 3,
        "latency_p99_ms": 9.0 + index % 5,
        "metrics": {} if decision is None else metrics,
        "comparison": comparison,
        "note": note,
        "computed_at": start + seconds + 60,
        "window": window,
        "start_text": _start_text(start),
        "x": (start - MONITOR_START) / 3600,
        "line": line,
        "verdict": None if comparison is None else comparison["verdict"],
        "fairness": fairness,
        "fairness_failed": broken,
    }


def _start_text(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, tz=timezone.utc).strftime("%Y-%m-%d %H:%M")


def _iso(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, tz=timezone.utc).isoformat()
