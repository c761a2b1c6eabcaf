"""The git state of a run's working tree: commit, branch and whether it is dirty."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class GitState:
    commit: str | None
    branch: str | None
    dirty: bool | None


def git_dir_of(start: Path) -> Path | None:
    """The git directory of the repository containing ``start``, if any."""
    for directory in (start, *start.parents):
        dot_git = directory / ".git"
        if dot_git.is_dir():
            return dot_git
        if dot_git.is_file():  # a worktree or submodule: "gitdir: <path>"
            text = dot_git.read_text(errors="replace").strip()
            if text.startswith("gitdir:"):
                target = Path(text[len("gitdir:") :].strip())
                return target if target.is_absolute() else (directory / target).resolve()
    return None


def read_head(git_dir: Path) -> tuple[str | None, str | None]:
    """(commit, branch) read from the git files directly: no subprocess, microseconds."""
    try:
        head = (git_dir / "HEAD").read_text().strip()
    except OSError:
        return None, None
    if not head.startswith("ref:"):
        return head or None, None
    ref = head[4:].strip()
    branch = ref.removeprefix("refs/heads/")
    common = git_dir
    commondir = git_dir / "commondir"
    if commondir.is_file():
        common = (git_dir / commondir.read_text().strip()).resolve()
    for base in (git_dir, common):
        try:
            return (base / ref).read_text().strip(), branch
        except OSError:
            continue
    try:
        for line in (common / "packed-refs").read_text().splitlines():
            if line.endswith(" " + ref):
                return line.split(" ", 1)[0], branch
    except OSError:
        pass
    return None, branch  # a branch with no commits yet


class _DirtyCache:
    """``git status`` takes tens of milliseconds, so it runs in a thread and is reused briefly."""

    TTL_SECONDS = 5.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._results: dict[Path, tuple[float, bool | None]] = {}
        self._running: dict[Path, threading.Thread] = {}

    def clear(self) -> None:
        with self._lock:
            self._results.clear()

    def start(self, worktree: Path) -> None:
        with self._lock:
            cached = self._results.get(worktree)
            if cached and time.monotonic() - cached[0] < self.TTL_SECONDS:
                return
            if worktree in self._running:
                return
            thread = threading.Thread(target=self._run, args=(worktree,), daemon=True)
            self._running[worktree] = thread
        thread.start()

    def result(self, worktree: Path, wait: float) -> bool | None:
        with self._lock:
            thread = self._running.get(worktree)
        if thread is not None:
            thread.join(wait)
        with self._lock:
            cached = self._results.get(worktree)
        return cached[1] if cached else None

    def _run(self, worktree: Path) -> None:
        import subprocess

        dirty: bool | None
        try:
            completed = subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no"],
                cwd=worktree,
                capture_output=True,
                text=True,
                timeout=10,
            )
            dirty = bool(completed.stdout.strip()) if completed.returncode == 0 else None
        except (OSError, subprocess.SubprocessError):
            dirty = None
        with self._lock:
            self._results[worktree] = (time.monotonic(), dirty)
            self._running.pop(worktree, None)


_dirty_cache = _DirtyCache()


class GitProbe:
    """Git state for a run: the commit now, the dirty flag when ``git status`` answers."""

    def __init__(self, start: Path) -> None:
        start = start.resolve()
        git_dir = git_dir_of(start)
        self.worktree = start if git_dir is not None else None
        self.commit, self.branch = read_head(git_dir) if git_dir is not None else (None, None)
        if self.worktree is not None:
            _dirty_cache.start(self.worktree)

    def state(self, wait: float = 0.0) -> GitState:
        dirty = _dirty_cache.result(self.worktree, wait) if self.worktree is not None else None
        return GitState(self.commit, self.branch, dirty)


def forget_git_status() -> None:
    """Ask ``git status`` again for the next run, even within the few seconds an answer
    is otherwise reused (a file changed on purpose between two runs)."""
    _dirty_cache.clear()
