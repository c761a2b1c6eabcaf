"""Real filesystem faults for the tests: a small tmpfs that fills up, and a mount that
turns read-only, made with mount(8) (root only; CI runs the suite as root).

    with small_tmpfs(tmp_path / "disk", size_kib=4096) as disk:
        registry = Registry.init(disk)
        with disk_full(disk):
            ...                     # every write to the disk fails with ENOSPC
        ...                         # space is back
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def can_mount() -> bool:
    return os.geteuid() == 0 and shutil.which("mount") is not None


needs_mount = pytest.mark.skipif(
    not can_mount(), reason="makes a real full or read-only filesystem with mount(8): run as root"
)


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True, text=True)


@contextlib.contextmanager
def small_tmpfs(where: Path, *, size_kib: int = 8192) -> Iterator[Path]:
    """A tmpfs of ``size_kib`` KiB mounted at ``where``, unmounted afterwards."""
    where.mkdir(parents=True, exist_ok=True)
    _mount("-t", "tmpfs", "-o", f"size={size_kib}k,mode=0777", "tmpfs", str(where))
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False, capture_output=True)


@contextlib.contextmanager
def disk_full(disk: Path) -> Iterator[Path]:
    """Fill the filesystem of ``disk`` to the last block; free it afterwards."""
    filler = disk / ".filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 16, 4096, 512, 1):  # big blocks, then the last partial ones
            try:
                while os.write(fd, b"\0" * size):
                    pass
            except OSError:
                continue
    finally:
        os.close(fd)
    try:
        yield filler
    finally:
        filler.unlink(missing_ok=True)


@contextlib.contextmanager
def read_only(mount_point: Path) -> Iterator[Path]:
    """Remount ``mount_point`` (a tmpfs from :func:`small_tmpfs`) read-only, then writable."""
    _mount("-o", "remount,ro", str(mount_point))
    try:
        yield mount_point
    finally:
        _mount("-o", "remount,rw", str(mount_point))
