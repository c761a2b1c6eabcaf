"""Build this checkout's sdist and wheel with the real build backend (hatchling and its
hooks), as a release does. The build tools come from the running environment (the
``test`` extra), so the builds run offline; the panel must already be built
(``scripts/setup`` does it), as a standard build then uses it instead of running jlpm."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def build(kind: str, source: Path, outdir: Path, *, env: dict[str, str] | None = None) -> Path:
    """Build a ``kind`` ("sdist" or "wheel") of ``source`` (a checkout or an unpacked sdist)
    into ``outdir`` and return its path."""
    outdir.mkdir(parents=True, exist_ok=True)
    before = set(outdir.iterdir())
    done = subprocess.run(
        [sys.executable, "-m", "build", f"--{kind}", "--no-isolation", "--outdir", str(outdir),
         str(source)],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, env=env or dict(os.environ),
    )  # fmt: skip
    assert done.returncode == 0, f"building the {kind} of {source} failed:\n" + (
        done.stdout[-4000:] + done.stderr[-4000:]
    )
    (built,) = set(outdir.iterdir()) - before
    return built
