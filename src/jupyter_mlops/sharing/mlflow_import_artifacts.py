"""Files of an MLflow server brought into the content-addressed store, through the
server's artifact proxy: one file as its bytes, a folder (an MLflow model directory) as
one tar archive of its files.

The archive is made the same way every time (members in path order, no times, owners or
modes of the machine that made it), so the same folder always has the same hash and a
second import of it stores nothing new.

    files = walk(server, run_artifact_uri)                # [("notes/readme.txt", 5), ...]
    sha, size = store_file(server, registry, run_artifact_uri, "model.pkl")
    sha, size = store_folder(server, registry, model_uri, files)
"""

from __future__ import annotations

import io
import pickletools
import tarfile
import tempfile
from pathlib import Path
from typing import IO

from ..registry.connection import Registry
from .mlflow_api import MlflowServer

MAX_DEPTH = 32


def walk(
    server: MlflowServer, artifact_uri: str, folder: str = "", depth: int = 0
) -> list[tuple[str, int]]:
    """Every file under ``folder`` of ``artifact_uri``: (path relative to the root, size)."""
    found: list[tuple[str, int]] = []
    for entry in server.list_artifacts(artifact_uri, folder):
        path = f"{folder}/{entry['path']}" if folder else entry["path"]
        if entry.get("is_dir"):
            if depth < MAX_DEPTH:
                found.extend(walk(server, artifact_uri, path, depth + 1))
        else:
            found.append((path, int(entry.get("file_size") or 0)))
    return sorted(found)


def store_file(
    server: MlflowServer, registry: Registry, artifact_uri: str, path: str
) -> tuple[str, int]:
    """Download the file ``path`` under ``artifact_uri`` into the store: (sha256, size)."""
    sha = registry.artifacts.put_path_writer(lambda temp: server.download(artifact_uri, path, temp))
    return sha, registry.artifacts.path_of(sha).stat().st_size


def store_folder(
    server: MlflowServer, registry: Registry, artifact_uri: str, files: list[tuple[str, int]]
) -> tuple[str, int]:
    """Download ``files`` (paths relative to ``artifact_uri``) into one tar archive in the
    store: (sha256, size)."""
    with tempfile.TemporaryDirectory(prefix="mlops-import-") as scratch:
        folder = Path(scratch)
        for path, _size in files:
            server.download(artifact_uri, path, folder / path)

        def write(handle: IO[bytes]) -> None:
            with tarfile.open(fileobj=handle, mode="w", format=tarfile.PAX_FORMAT) as archive:
                for path, _size in sorted(files):
                    data = (folder / path).read_bytes()
                    member = tarfile.TarInfo(path)
                    member.size = len(data)
                    member.mode = 0o644
                    member.mtime = 0
                    archive.addfile(member, io.BytesIO(data))

        sha = registry.artifacts.put_writer(write)
    return sha, registry.artifacts.path_of(sha).stat().st_size


def pickled_class(data: bytes) -> str | None:
    """The class of the object a pickle holds, read from its opcodes without unpickling
    it (an imported file is not trusted): ``builtins.dict``, ``sklearn...Forest``."""
    strings: list[str] = []
    try:
        for opcode, argument, _position in pickletools.genops(data):
            name = opcode.name
            if name in ("PROTO", "FRAME", "MARK"):
                continue
            if name in ("EMPTY_DICT", "DICT"):
                return "builtins.dict"
            if name in ("EMPTY_LIST", "LIST"):
                return "builtins.list"
            if name == "GLOBAL" and isinstance(argument, str):
                return argument.replace(" ", ".")
            if name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE") and isinstance(argument, str):
                strings.append(argument)
                continue
            if name == "MEMOIZE":
                continue
            if name == "STACK_GLOBAL" and len(strings) >= 2:
                return f"{strings[-2]}.{strings[-1]}"
            return None
    except (ValueError, EOFError, UnicodeDecodeError):
        return None
    return None


def mlmodel_flavors(text: str) -> tuple[str, ...]:
    """The flavors an ``MLmodel`` file lists (``python_function``, ``sklearn``...), read
    from its YAML by indentation (no YAML parser needed for one mapping's keys)."""
    flavors: list[str] = []
    inside = False
    for line in text.splitlines():
        if not line.strip():
            continue
        if not line.startswith(" "):
            inside = line.rstrip() == "flavors:"
            continue
        if inside and line.startswith("  ") and not line.startswith("   "):
            key = line.strip().split(":", 1)[0]
            if key:
                flavors.append(key)
    return tuple(flavors)
