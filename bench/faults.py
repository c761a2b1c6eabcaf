"""Fault-injection soak: writers and readers on one registry while it is killed, filled
and made read-only; nothing acknowledged may be lost.

    python bench/faults.py                 # 120 s, 8 writers, 2 readers; writes the Faults section
    python bench/faults.py --smoke         # 16 s, the same faults, shorter; RESULTS.md left alone
    python bench/faults.py --seconds 600   # longer
    python bench/faults.py --python .venv/bin/python   # the jupyter-mlops of that environment

The workers use ``--python``, else the running interpreter when it can import
jupyter_mlops, else ``bench/.venvs/ours`` (built on first use). The soak needs root for
mount(8); without it the kill and concurrency classes run alone.

A driver (this file, standard library only) mounts a tmpfs of its own, creates a registry
on it and starts 8 writer and 2 reader processes (this file again, ``--worker writer`` /
``--worker reader``, with the Python that has jupyter-mlops; the workers' code is in
``_faults_workers.py``). They find the registry through ``MLOPS_REGISTRY``, as a
pipeline step does. For ``--seconds`` the driver kills writers with SIGKILL at random (a
new incarnation of the writer starts at once), fills the disk once and makes it
read-only once. Then it stops everything, opens the registry and checks every
acknowledgement against it.

Writers do what a training script does: ``with mlops.start_run(...)``, log a few params
and a random number of metric points (tens to thousands, one ``mlops.log`` call each),
now and then register a small model, and let the ``with`` block end the run. One run in
two hundred logs 60,000 points, past the 50,000 at which ``mlops.log`` flushes by
itself, so that the automatic flush meets the faults too. A run is **acknowledged**
only when the library has confirmed that it is recorded: ``end()`` returned, the run is
not an ``UnrecordedRun`` and its end is not pending. A run whose end was deferred
(``run.end_pending``: the registry could not take it) is acknowledged when a later
``SESSION.retry_unfinished()`` writes it, and not before. A model version is
acknowledged when ``register_model`` returned it. Each acknowledgement (run id, name,
the digest of every point, the params, the model version and its content) is appended
and fsync'ed to a JSON-lines journal per writer incarnation, outside the tmpfs, before
the writer goes on. **Lost** means acknowledged and then missing or different at the
end: the run absent or not finished, a point missing, extra or changed, a param
missing or changed, a model version that does not load to what was registered.

The journal also holds what the writer saw: runs the library turned into unrecorded
runs, ends it deferred, model registrations it refused with a ``RecordingError`` (the
documented answer for an artifact on a full or read-only disk), and **escaped**
exceptions: anything else that reached the writer's own loop from the library, which a
notebook would show as a broken cell. An escaped exception is a failure of its own,
whether or not anything was lost.

The faults, and why they are made this way:

- **SIGKILL** of a random writer that has been up for a second (so that kills hit work,
  not the interpreter's start), about 24 a minute (several dozen per run), at any point
  of its work, including during the disk episodes. A kill counts as survived when every
  acknowledgement that writer made before it is intact at the end.
- **Full disk**: the tmpfs is filled to its last block (big writes, then smaller ones
  down to one byte) and topped up every 0.1 s for several seconds, so that space another
  process frees (a WAL that is reset) does not end the episode early; then it is freed.
- **Read-only**: the kernel refuses ``mount -o remount,ro`` (EBUSY) while any file on
  the filesystem is open for writing, and every open registry holds its database, WAL
  and shared-memory files open read-write. So the driver pauses the workers first:
  through a control file they poll between runs (and between reads) they finish what
  they are doing, close their registries (``SESSION.reset()`` after retrying deferred
  ends) and report that they are paused; the driver remounts read-only and lets them
  resume against the read-only filesystem for several seconds (writers get unrecorded
  runs and refusals, readers read), then pauses them again, remounts read-write and
  lets them resume. Kills wait while the workers are paused. The workers' policy, not
  the library's: a writer whose registry opened read-only (``registry.read_only``)
  closes and reopens it before its next run, so that it records again as soon as the
  disk is writable; a registry, once open, does not watch its filesystem.
- **Concurrency** runs throughout: 8 writers commit into one file while 2 readers loop
  over ``mlops.runs()``, ``mlops.runs(where=...)``, ``mlops.get_run()`` and
  ``mlops.compare()``; any exception or inconsistent answer in a read is counted.

The disk is filled at 30 % of the run and made read-only at 60 %: each episode meets a
registry that already holds thousands of runs, and the workers have time to recover in
between. A write attempt (a run, or a model registration) belongs to an episode when
its time overlaps the episode's; the rest are the concurrency class. Without root (no mount),
the registry lives in a plain directory and only the kill and concurrency classes run.

At the end the driver opens the registry (which marks the runs in flight when their
writer was killed as crashed), checks ``PRAGMA integrity_check`` and every
acknowledgement, prints a table per fault class and exits non-zero when anything
acknowledged was lost, an exception escaped, a read failed, the registry is damaged,
a worker died on its own, or an episode could not be made. The full run rewrites the
``## Faults`` section of ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _faults_workers import (
    LONG_RUN_POINTS,
    LONG_RUN_SHARE,
    MODEL_NAME,
    MODEL_SHARE,
    POINTS_RANGE,
    Control,
    read_journal,
    worker_main,
)
from _harness import (
    OURS_VENV,
    REPO_ROOT,
    RESULTS_FILE,
    BenchError,
    can_import,
    ensure_venv,
    git_commit,
    load_average,
    log,
    machine_info,
    markdown_table,
    plain_table,
    run_worker,
    update_results_section,
)

PAUSE_TIMEOUT_SECONDS = 120.0  # a worker may wait up to the registry's busy timeout (60 s)
STOP_TIMEOUT_SECONDS = 120.0


@dataclass(frozen=True)
class Plan:
    """How long the soak runs and when its faults come."""

    seconds: float
    writers: int
    readers: int
    kills_per_minute: float
    disk_mib: int
    full_at: float  # share of the run at which the episode starts
    full_seconds: float
    read_only_at: float
    read_only_seconds: float


FULL = Plan(120.0, 8, 2, 24.0, 1024, 0.30, 8.0, 0.60, 8.0)
SMOKE = Plan(16.0, 8, 2, 24.0, 256, 0.30, 2.5, 0.60, 2.5)


# -- the filesystem ----------------------------------------------------------------------------


def can_mount() -> bool:
    return os.geteuid() == 0 and shutil.which("mount") is not None


def mount(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True, check=False)


class Disk:
    """The registry's filesystem: a tmpfs of its own when root, else a plain directory."""

    def __init__(self, where: Path, size_mib: int, mounted: bool) -> None:
        self.where = where
        self.size_mib = size_mib
        self.mounted = False
        self.filler = where / ".filler"
        where.mkdir(parents=True, exist_ok=True)
        if mounted:
            done = mount("-t", "tmpfs", "-o", f"size={size_mib}m,mode=0777", "tmpfs", str(where))
            if done.returncode != 0:
                raise BenchError(f"Could not mount a tmpfs at {where}: {done.stderr.strip()}")
            self.mounted = True

    def fill(self) -> int:
        """Write to the filler until the filesystem has no block left; the bytes written."""
        written = 0
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for size in (1 << 20, 1 << 16, 4096, 512, 1):
                block = b"\0" * size
                try:
                    while True:
                        written += os.write(fd, block)
                except OSError:
                    continue
        finally:
            os.close(fd)
        return written

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def remount(self, mode: str, attempts: int = 20) -> str | None:
        """Remount ``ro`` or ``rw``; ``None`` when done, else why not."""
        why = ""
        for _ in range(attempts):
            done = mount("-o", f"remount,{mode}", str(self.where))
            if done.returncode == 0:
                return None
            why = done.stderr.strip()
            time.sleep(0.25)
        holders = self.holders()
        return f"{why}; files held open: {holders or 'none found'}"

    def holders(self) -> list[str]:
        """Which processes hold files of the disk open (to say why a remount is refused)."""
        found = []
        prefix = str(self.where.resolve())
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                for fd in (proc / "fd").iterdir():
                    with contextlib.suppress(OSError):
                        target = os.readlink(fd)
                        if target.startswith(prefix):
                            found.append(f"pid {proc.name}: {target}")
        return found

    def usage(self) -> str:
        stat = os.statvfs(self.where)
        used = (stat.f_blocks - stat.f_bfree) * stat.f_frsize
        return f"{used / 2**20:.0f} of {stat.f_blocks * stat.f_frsize / 2**20:.0f} MiB"

    def unmount(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.where)], capture_output=True, check=False)
            self.mounted = False


# -- the driver --------------------------------------------------------------------------------


@dataclass
class Worker:
    role: str  # writer | reader
    slot: int
    incarnation: int
    process: subprocess.Popen[bytes]
    started: float

    @property
    def ident(self) -> str:
        return f"{self.role[0]}{self.slot}-i{self.incarnation}"


@dataclass
class Soak:
    """The processes of the soak and what was done to them."""

    python: Path
    workdir: Path
    disk: Disk
    seed: int
    env: dict[str, str]
    control: Control
    journals: Path
    logs: Path
    workers: dict[tuple[str, int], Worker] = field(default_factory=dict)
    incarnations: Counter[tuple[str, int]] = field(default_factory=Counter)
    kills: list[dict[str, Any]] = field(default_factory=list)
    died: list[dict[str, Any]] = field(default_factory=list)  # exits nobody asked for
    epoch: int = 0
    problems: list[str] = field(default_factory=list)

    def spawn(self, role: str, slot: int) -> Worker:
        key = (role, slot)
        incarnation = self.incarnations[key]
        self.incarnations[key] += 1
        ident = f"{role[0]}{slot}-i{incarnation}"
        with open(self.logs / f"{ident}.log", "wb") as output:
            process = subprocess.Popen(
                [
                    str(self.python),
                    str(Path(__file__).resolve()),
                    "--worker",
                    role,
                    "--ident",
                    ident,
                    "--seed",
                    str(self.seed),
                    "--control",
                    str(self.control.path.parent),
                    "--journals",
                    str(self.journals),
                ],
                cwd=self.workdir,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        worker = Worker(role, slot, incarnation, process, time.time())
        self.workers[key] = worker
        return worker

    def live(self) -> list[Worker]:
        return [w for w in self.workers.values() if w.process.poll() is None]

    def reap(self) -> None:
        """Restart the workers that exited on their own, and remember that they did."""
        for key, worker in list(self.workers.items()):
            code = worker.process.poll()
            if code is not None:
                self.died.append({"worker": worker.ident, "code": code, "t": time.time()})
                log(f"  {worker.ident} exited on its own with {code}; see {self.logs}")
                self.spawn(*key)

    def kill_one(self, rng: random.Random) -> None:
        """SIGKILL a writer that has been at work for at least a second; start the next one."""
        candidates = [
            w for w in self.live() if w.role == "writer" and time.time() - w.started >= 1.0
        ]
        if not candidates:
            return
        victim = rng.choice(candidates)
        victim.process.send_signal(signal.SIGKILL)
        at = time.time()
        victim.process.wait()
        self.kills.append({"writer": victim.slot, "incarnation": victim.ident, "t": at})
        self.spawn(victim.role, victim.slot)

    def pause(self) -> bool:
        """Ask every worker to close its registry and wait until all have; False on timeout."""
        self.epoch += 1
        self.control.set("pause", self.epoch)
        deadline = time.time() + PAUSE_TIMEOUT_SECONDS
        while time.time() < deadline:
            waiting = [w for w in self.live() if self.control.paused_epoch(w.ident) < self.epoch]
            if not waiting:
                return True
            time.sleep(0.02)
        self.problems.append(
            f"workers {', '.join(w.ident for w in waiting)} did not pause in"
            f" {PAUSE_TIMEOUT_SECONDS:.0f} s"
        )
        return False

    def resume(self) -> None:
        self.epoch += 1
        self.control.set("run", self.epoch)

    def stop(self) -> None:
        self.epoch += 1
        self.control.set("stop", self.epoch)
        deadline = time.time() + STOP_TIMEOUT_SECONDS
        for worker in self.workers.values():
            try:
                code = worker.process.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()
                self.problems.append(f"{worker.ident} did not stop in {STOP_TIMEOUT_SECONDS:.0f} s")
                continue
            if code != 0:
                self.died.append({"worker": worker.ident, "code": code, "t": time.time()})

    def kill_all(self) -> None:
        for worker in self.workers.values():
            if worker.process.poll() is None:
                worker.process.kill()
                worker.process.wait()


def run_soak(plan: Plan, soak: Soak, faults: bool, rng: random.Random) -> dict[str, Any]:
    """Start the workers, make the faults at their times, stop; return the episodes."""
    soak.control.set("run", 0)
    for slot in range(plan.writers):
        soak.spawn("writer", slot)
    for slot in range(plan.readers):
        soak.spawn("reader", slot)
    started = time.time()
    deadline = started + plan.seconds
    mean_gap = 60.0 / plan.kills_per_minute if plan.kills_per_minute > 0 else float("inf")
    next_kill = started + rng.expovariate(1.0 / mean_gap) + 1.0
    episodes: dict[str, dict[str, Any]] = {}
    full_due = started + plan.seconds * plan.full_at if faults else float("inf")
    read_only_due = started + plan.seconds * plan.read_only_at if faults else float("inf")
    full_ends = read_only_ends = float("inf")
    while time.time() < deadline:
        now = time.time()
        soak.reap()
        if now >= next_kill:
            soak.kill_one(rng)
            next_kill = now + rng.expovariate(1.0 / mean_gap)
        if now >= full_due:
            full_due = float("inf")
            filled = soak.disk.fill()
            episodes["full"] = {"start": time.time(), "filled_bytes": filled}
            full_ends = time.time() + plan.full_seconds
            log(
                f"  disk full ({filled / 2**20:.0f} MiB written to fill it) at {now - started:.0f} s"
            )
        elif full_ends < float("inf"):
            if time.time() >= full_ends:
                soak.disk.free()
                episodes["full"]["end"] = time.time()
                full_ends = float("inf")
                log(f"  disk freed at {time.time() - started:.0f} s ({soak.disk.usage()} used)")
            else:
                soak.disk.fill()  # what someone freed is taken again
        if now >= read_only_due and full_ends == float("inf"):  # never both at once
            read_only_due = float("inf")
            read_only_ends = begin_read_only(soak, episodes, started, plan.read_only_seconds)
        elif time.time() >= read_only_ends:
            read_only_ends = float("inf")
            end_read_only(soak, episodes, started)
        time.sleep(0.1)
    if full_ends < float("inf"):
        soak.disk.free()
        episodes["full"]["end"] = time.time()
    if read_only_ends < float("inf"):
        end_read_only(soak, episodes, started)
    return episodes


def begin_read_only(
    soak: Soak, episodes: dict[str, dict[str, Any]], started: float, seconds: float
) -> float:
    """Pause the workers, remount read-only, resume them; when the episode is to end."""
    paused_at = time.time()
    if not soak.pause():
        soak.resume()
        return float("inf")
    why = soak.disk.remount("ro")
    if why is not None:
        soak.problems.append(f"could not remount read-only: {why}")
        soak.resume()
        return float("inf")
    soak.resume()
    episodes["read_only"] = {"start": time.time(), "pause_seconds": [time.time() - paused_at]}
    log(
        f"  read-only at {time.time() - started:.0f} s (pausing took {time.time() - paused_at:.1f} s)"
    )
    return time.time() + seconds


def end_read_only(soak: Soak, episodes: dict[str, dict[str, Any]], started: float) -> None:
    """Pause the workers again, remount read-write, resume them."""
    paused_at = time.time()
    soak.pause()
    episodes["read_only"]["end"] = time.time()
    episodes["read_only"]["pause_seconds"].append(time.time() - paused_at)
    why = soak.disk.remount("rw")
    if why is not None:
        soak.problems.append(f"could not remount read-write: {why}")
    soak.resume()
    log(f"  writable again at {time.time() - started:.0f} s")


# -- what happened -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    """One write a writer attempted: a run (start, params, points, end) or a model version."""

    what: str  # run | model
    outcome: str  # recorded | unrecorded | deferred | escaped | refused
    key: str  # the run's name or model@version: what the verification reports as lost
    writer: int
    t0: float
    t1: float
    error: str = ""

    def during(self, window: tuple[float, float] | None) -> bool:
        return window is not None and self.t0 <= window[1] and self.t1 >= window[0]


def collect(journals: Path) -> dict[str, Any]:
    """Every attempt, acknowledgement, read and event the workers journaled."""
    attempts: list[Attempt] = []
    acknowledged: dict[str, tuple[int, float]] = {}  # key -> (writer, when)
    late: set[str] = set()
    abandoned: list[str] = []
    reads: list[dict[str, Any]] = []
    points = 0
    for path in sorted(journals.glob("*.jsonl")):
        records, _ = read_journal(path)
        writer = int(path.name.split("-")[0][1:])
        for record in records:
            kind = record["kind"]
            if kind == "read":
                reads.append(record)
            elif kind == "run":
                attempts.append(
                    Attempt(
                        "run",
                        record["outcome"],
                        record["name"],
                        writer,
                        record["t0"],
                        record["t1"],
                        record.get("error", ""),
                    )
                )
                if record["outcome"] == "recorded":
                    acknowledged[record["name"]] = (writer, record["at"])
                    points += sum(count for count, _ in record["points"].values())
            elif kind == "late":
                late.add(record["name"])
                acknowledged[record["name"]] = (writer, record["at"])
                points += sum(count for count, _ in record["points"].values())
            elif kind == "model":
                key = f"{record['model']}@{record['version']}"
                attempts.append(
                    Attempt("model", "recorded", key, writer, record["t0"], record["t1"])
                )
                acknowledged[key] = (writer, record["at"])
            elif kind == "model-refused":
                attempts.append(
                    Attempt(
                        "model", "refused", "", writer, record["t0"], record["t1"], record["why"]
                    )
                )
            elif kind == "abandoned":
                abandoned.append(record["name"])
    return {
        "attempts": attempts,
        "acknowledged": acknowledged,
        "late": late,
        "abandoned": abandoned,
        "reads": reads,
        "points": points,
    }


def outcome_words(attempts: list[Attempt], late: set[str], abandoned: set[str]) -> str:
    """What the library did with these attempts, in a few words."""
    runs = Counter(a.outcome for a in attempts if a.what == "run")
    models = Counter(a.outcome for a in attempts if a.what == "model")
    deferred = [a for a in attempts if a.outcome == "deferred"]
    parts = [f"{runs['recorded']:,} runs recorded"]
    if runs["unrecorded"]:
        parts.append(f"{runs['unrecorded']:,} unrecorded")
    if deferred:
        written = sum(a.key in late for a in deferred)
        given_up = sum(a.key in abandoned for a in deferred)
        killed = len(deferred) - written - given_up
        how = [f"{written} written later"]
        if killed:
            how.append(f"{killed} writer killed first")
        if given_up:
            how.append(f"{given_up} never written")
        parts.append(f"{len(deferred)} ended late ({', '.join(how)})")
    if models["recorded"] or models["refused"]:
        parts.append(f"{models['recorded']:,} models recorded, {models['refused']:,} refused")
    if runs["escaped"]:
        parts.append(f"{runs['escaped']} escaped")
    return ", ".join(parts)


def classify(
    seen: dict[str, Any],
    verified: dict[str, Any],
    episodes: dict[str, dict[str, Any]],
    kills: list[dict[str, Any]],
    faults: bool,
) -> list[dict[str, Any]]:
    """The table: one row per fault class with attempts, survived, lost and what happened."""
    lost = {item["key"] for item in verified["lost"]}
    attempts: list[Attempt] = seen["attempts"]
    acknowledged = seen["acknowledged"]
    late = seen["late"]

    def window(name: str) -> tuple[float, float] | None:
        episode = episodes.get(name)
        return (episode["start"], episode["end"]) if episode and "end" in episode else None

    def write_row(name: str, chosen: list[Attempt], seconds: float | None) -> dict[str, Any]:
        lost_here = {a.key for a in chosen if a.key in lost and a.key in acknowledged}
        return {
            "class": name if seconds is None else f"{name} ({seconds:.1f} s)",
            "attempts": len(chosen),
            "survived": sum(a.outcome != "escaped" for a in chosen),
            "lost": len(lost_here),
            "what": outcome_words(chosen, late, set(seen["abandoned"])),
        }

    rows = []
    lost_by_writer: dict[int, list[float]] = defaultdict(list)
    for key in lost:
        if key in acknowledged:
            writer, at = acknowledged[key]
            lost_by_writer[writer].append(at)
    kills_lost = {
        key
        for key in lost
        if key in acknowledged
        and any(
            k["writer"] == acknowledged[key][0] and k["t"] > acknowledged[key][1] for k in kills
        )
    }
    crashed = verified["runs_by_status"].get("crashed", 0)
    rows.append(
        {
            "class": "SIGKILL of a writer",
            "attempts": len(kills),
            "survived": sum(
                not any(at < kill["t"] for at in lost_by_writer[kill["writer"]]) for kill in kills
            ),
            "lost": len(kills_lost),
            "what": f"{len(kills)} restarts; {crashed} runs in flight marked crashed",
        }
    )
    full, read_only = window("full"), window("read_only")
    if faults:
        for label, win in (
            ("full disk", full),
            ("read-only", read_only),
        ):
            if win is None:
                rows.append(
                    {"class": label, "attempts": 0, "survived": 0, "lost": 0, "what": "not made"}
                )
                continue
            rows.append(write_row(label, [a for a in attempts if a.during(win)], win[1] - win[0]))
        ro_reads = [
            r
            for r in seen["reads"]
            if read_only and r["t0"] <= read_only[1] and r["t1"] >= read_only[0]
        ]
        rows.append(read_row("reads while read-only", ro_reads))
    calm = [a for a in attempts if not a.during(full) and not a.during(read_only)]
    label = "concurrent writes, outside the episodes" if faults else "concurrent writes"
    rows.append(write_row(label, calm, None))
    rows.append(read_row("concurrent reads", seen["reads"]))
    return rows


def read_row(name: str, reads: list[dict[str, Any]]) -> dict[str, Any]:
    """A row of reads: how many, how many gave a right answer, of which kinds."""
    by_op = Counter(r["op"] for r in reads)
    kinds = {
        "runs": "runs()",
        "where": "runs(where=...)",
        "get_run": "get_run",
        "compare": "compare",
    }
    return {
        "class": name,
        "attempts": len(reads),
        "survived": sum(r["ok"] for r in reads),
        "lost": None,
        "what": ", ".join(f"{by_op[op]} {label}" for op, label in kinds.items()),
    }


def table_cells(rows: list[dict[str, Any]]) -> list[list[str]]:
    return [
        [
            row["class"],
            f"{row['attempts']:,}",
            f"{row['survived']:,}",
            "–" if row["lost"] is None else f"{row['lost']:,}",
            row["what"],
        ]
        for row in rows
    ]


HEADERS = ["fault", "attempts", "survived", "lost", "what happened"]


def failures_of(
    seen: dict[str, Any],
    verified: dict[str, Any],
    soak: Soak,
    episodes: dict[str, Any],
    faults: bool,
) -> list[str]:
    """Everything that makes the soak fail, in words."""
    failures = list(soak.problems)
    if verified["integrity"] != "ok":
        failures.append(f"integrity_check: {verified['integrity']}")
    for item in verified["lost"]:
        failures.append(f"lost {item['key']}: {item['why']}")
    for attempt in seen["attempts"]:
        if attempt.outcome == "escaped":
            failures.append(f"escaped from {attempt.key}: {attempt.error}")
    for read in seen["reads"]:
        if not read["ok"]:
            failures.append(f"read {read['op']} failed: {read['error']}")
    for death in soak.died:
        failures.append(f"worker {death['worker']} exited on its own with {death['code']}")
    if faults:
        for name in ("full", "read_only"):
            if "end" not in episodes.get(name, {}):
                failures.append(f"the {name.replace('_', '-')} episode was not made")
    return failures


def results_markdown(facts: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    machine, totals = facts["machine"], facts["totals"]
    plan = facts["plan"]
    fault_words = (
        f"one full-disk episode of {plan['full_seconds']:g} s and one read-only episode of"
        f" {plan['read_only_seconds']:g} s on a {plan['disk_mib']} MiB tmpfs"
        if facts["faults"]
        else "no disk episodes (not root: no tmpfs could be mounted)"
    )
    lines = [
        f"Measured {machine['date']} by `python bench/faults.py`: {plan['writers']} writer and"
        f" {plan['readers']} reader processes for {facts['seconds']:.0f} s ({facts['duration']:.0f} s"
        f" with start-up and verification), random SIGKILLs, {fault_words}. On {machine['cpu']}"
        f" ({machine['cores']} cores, {machine['memory']}), {machine['os']}, Python"
        f" {machine['python']}, SQLite {machine['sqlite']}; journals on {machine['filesystem']}"
        f" (median fsync {machine['fsync']}); load average {facts['load_before']} before the run,"
        f" {facts['load_after']} after it (the machine is shared with other work). jupyter-mlops"
        f" {facts['version']} at commit {facts['commit']}.",
        "",
        markdown_table(HEADERS, table_cells(rows)),
        "",
        f"Totals: {totals['runs']:,} runs attempted, {totals['acknowledged']:,} acknowledged"
        f" ({totals['late']:,} of them after a deferred end), {totals['points']:,} metric points"
        f" acknowledged, {totals['models']:,} model versions acknowledged; the registry holds"
        f" {totals['runs_in_registry']:,} runs and {totals['points_in_registry']:,} points;"
        f" `PRAGMA integrity_check`: {facts['verified']['integrity']}; lost:"
        f" {len(facts['verified']['lost'])}; escaped: {totals['escaped']}; failed reads:"
        f" {totals['failed_reads']}.",
        "",
        "How it was run:",
        "",
        "- A writer loops: `with mlops.start_run(...)`, `mlops.log_params` (5 params),"
        f" `mlops.log(loss=v, step=i)` for {POINTS_RANGE[0]} to {POINTS_RANGE[1]:,} points"
        f" (log-uniform; one run in {1 / LONG_RUN_SHARE:.0f}: {LONG_RUN_POINTS:,}, past the"
        " automatic flush), `mlops.log(acc=...)`, one run in"
        f" {1 / MODEL_SHARE:.0f} `mlops.register_model` of a small dict, the end of the"
        " `with` block. The registry is found through `MLOPS_REGISTRY`. A run is acknowledged when the library confirmed"
        " it recorded (not an `UnrecordedRun`, no `end_pending`; a deferred end counts once a"
        " retry wrote it); a model version when `register_model` returned it. Each"
        " acknowledgement, with the digest of every point, is fsync'ed to a journal outside the"
        " tmpfs before the writer goes on.",
        "- Lost = acknowledged, then at the end missing, not finished, or with a point or param"
        " missing, extra or changed, or a model version that does not load to what was"
        " registered. Survived = handled without an exception escaping into the writer's loop"
        " (a `RecordingError` from `register_model` on a full or read-only disk is the"
        " documented refusal); for a kill, every earlier acknowledgement of that writer intact.",
        "- Writes belong to an episode when their time overlaps it. The full disk is filled to"
        " its last byte and topped up every 0.1 s. For the read-only episode the workers are"
        " paused through a control file and close their registries (the kernel refuses to"
        " remount read-only while files are open for writing), the disk is remounted read-only"
        " and they resume against it; the same pause is used to remount it read-write."
        f" Pausing all the workers took {facts['pause_seconds']}.",
    ]
    return "\n".join(lines)


# -- running it --------------------------------------------------------------------------------


def choose_python(args: argparse.Namespace) -> Path:
    """The Python with jupyter-mlops: ``--python``, else this one when it can import it,
    else ``bench/.venvs/ours`` (built on first use)."""
    if args.python is not None:
        python = args.python.absolute()
    elif can_import(sys.executable, "jupyter_mlops"):
        python = Path(sys.executable)
    else:
        built = ensure_venv(OURS_VENV, create=True)
        assert built is not None
        python = built
    if not can_import(python, "jupyter_mlops"):
        raise BenchError(f"{python} cannot import jupyter_mlops; pass --python with one that can")
    return python


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--smoke", action="store_true", help=f"{SMOKE.seconds:g} s, the same faults"
    )
    parser.add_argument("--seconds", type=float, help=f"how long (default {FULL.seconds:g})")
    parser.add_argument("--writers", type=int, help=f"writer processes (default {FULL.writers})")
    parser.add_argument("--readers", type=int, help=f"reader processes (default {FULL.readers})")
    parser.add_argument(
        "--kills-per-minute", type=float, help=f"SIGKILLs (default {FULL.kills_per_minute:g})"
    )
    parser.add_argument("--seed", type=int, default=20261202, help="for the kills and the data")
    parser.add_argument("--python", type=Path, help="a Python with jupyter-mlops installed")
    parser.add_argument("--workdir", type=Path, help="where the journals go (default: a temp dir)")
    parser.add_argument(
        "--keep", action="store_true", help="keep the journals, logs and a copy of the registry"
    )
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    write = parser.add_mutually_exclusive_group()
    write.add_argument(
        "--write-results",
        dest="write_results",
        action="store_true",
        default=None,
        help="write bench/RESULTS.md (the default unless --smoke)",
    )
    write.add_argument("--no-write-results", dest="write_results", action="store_false")
    # the workers' side
    parser.add_argument(
        "--worker", choices=("init", "writer", "reader", "verify"), help=argparse.SUPPRESS
    )
    parser.add_argument("--ident", help=argparse.SUPPRESS)
    parser.add_argument("--control", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--journals", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--registry", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker is not None:
        return worker_main(args)
    base = SMOKE if args.smoke else FULL
    plan = Plan(
        seconds=args.seconds or base.seconds,
        writers=args.writers or base.writers,
        readers=args.readers if args.readers is not None else base.readers,
        kills_per_minute=(
            base.kills_per_minute if args.kills_per_minute is None else args.kills_per_minute
        ),
        disk_mib=base.disk_mib,
        full_at=base.full_at,
        full_seconds=base.full_seconds,
        read_only_at=base.read_only_at,
        read_only_seconds=base.read_only_seconds,
    )
    write_results = (not args.smoke) if args.write_results is None else args.write_results
    python = choose_python(args)
    faults = can_mount()
    if not faults:
        log(
            "Not root (or no mount(8)): no tmpfs can be mounted, filled or made read-only, so"
            " only the SIGKILL and concurrency classes run. Run as root for all of them."
        )
    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="mlops-faults-"))).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    journals, logs, control_dir = workdir / "journals", workdir / "logs", workdir / "control"
    for directory in (journals, logs, control_dir / "paused"):
        directory.mkdir(parents=True, exist_ok=True)
    disk = Disk(workdir / "disk", plan.disk_mib, mounted=faults)
    rng = random.Random(args.seed)
    env = dict(os.environ)
    if env.get("PYTHONPATH"):  # the workers run elsewhere: a relative entry would move
        env["PYTHONPATH"] = os.pathsep.join(
            str(Path(entry).resolve()) for entry in env["PYTHONPATH"].split(os.pathsep) if entry
        )
    env["MLOPS_REGISTRY"] = str(disk.where / ".mlops" / "registry.db")
    env.pop("MLOPS_EXPERIMENT", None)
    soak = Soak(python, workdir, disk, args.seed, env, Control(control_dir), journals, logs)
    began = time.time()
    try:
        log(
            f"Fault soak in {workdir}: {plan.writers} writers, {plan.readers} readers, {plan.seconds:g} s"
        )
        made = run_worker(
            python,
            [
                str(Path(__file__).resolve()),
                "--worker",
                "init",
                "--registry",
                str(disk.where),
                "--out",
            ],
            cwd=workdir,
            env=env,
        )
        log(f"  jupyter-mlops {made['version']} from {made['module']} with {python}")
        if not Path(made["module"]).is_relative_to(REPO_ROOT):
            log(
                f"  (not this checkout's: run with PYTHONPATH={REPO_ROOT / 'src'} or --python"
                " a venv that has it installed to soak this code)"
            )
        load_before = load_average()
        machine = machine_info(workdir)
        episodes = run_soak(plan, soak, faults, rng)
        log(f"  stopping ({disk.usage()} of the disk used)")
        soak.stop()
        load_after = load_average()
        log("  verifying every acknowledgement ...")
        verified = run_worker(
            python,
            [
                str(Path(__file__).resolve()),
                "--worker",
                "verify",
                "--registry",
                str(disk.where),
                "--journals",
                str(journals),
                "--out",
            ],
            cwd=workdir,
            env=env,
        )
        if args.keep and disk.mounted:
            shutil.copytree(disk.where / ".mlops", workdir / "registry-copy")
    finally:
        soak.kill_all()
        disk.unmount()
    duration = time.time() - began
    seen = collect(journals)
    rows = classify(seen, verified, episodes, soak.kills, faults)
    attempts: list[Attempt] = seen["attempts"]
    totals = {
        "runs": sum(a.what == "run" for a in attempts),
        "acknowledged": sum(not key.startswith(f"{MODEL_NAME}@") for key in seen["acknowledged"]),
        "late": len(seen["late"]),
        "points": seen["points"],
        "models": sum(key.startswith(f"{MODEL_NAME}@") for key in seen["acknowledged"]),
        "escaped": sum(a.outcome == "escaped" for a in attempts),
        "failed_reads": sum(not r["ok"] for r in seen["reads"]),
        "abandoned": len(seen["abandoned"]),
        "runs_in_registry": sum(verified["runs_by_status"].values()),
        "points_in_registry": verified["points_in_registry"],
    }
    pauses = episodes.get("read_only", {}).get("pause_seconds", [])
    facts = {
        "plan": plan.__dict__,
        "faults": faults,
        "seconds": plan.seconds,
        "duration": duration,
        "machine": machine,
        "load_before": load_before,
        "load_after": load_after,
        "commit": git_commit(Path(__file__).resolve().parent),
        "version": made["version"],
        "totals": totals,
        "verified": verified,
        "episodes": episodes,
        "kills": soak.kills,
        "died": soak.died,
        "rows": rows,
        "pause_seconds": ", ".join(f"{p:.1f} s" for p in pauses) or "–",
    }
    failures = failures_of(seen, verified, soak, episodes, faults)
    facts["failures"] = failures
    print(plain_table(HEADERS, table_cells(rows)))
    print(
        f"\n{totals['runs']:,} runs attempted, {totals['acknowledged']:,} acknowledged"
        f" ({totals['late']} after a deferred end, {totals['abandoned']} ends never recorded),"
        f" {totals['points']:,} points and {totals['models']} model versions acknowledged;"
        f" registry: {totals['runs_in_registry']:,} runs, {totals['points_in_registry']:,} points,"
        f" integrity {verified['integrity']}; {duration:.0f} s in all, load average"
        f" {load_before} before, {load_after} after."
    )
    if args.json is not None:
        args.json.write_text(json.dumps(facts, indent=1, default=str))
    if write_results:
        update_results_section(RESULTS_FILE, "Faults", results_markdown(facts, rows))
        log(f"Wrote the Faults section of {RESULTS_FILE}")
    if not args.keep and args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        log(f"Journals and logs kept in {workdir}")
    if failures:
        print(f"\nFAILED: {len(failures)} problem(s):", file=sys.stderr)
        for failure in failures[:40]:
            print(f"  - {failure}", file=sys.stderr)
        if len(failures) > 40:
            print(f"  ... and {len(failures) - 40} more (see --json)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
