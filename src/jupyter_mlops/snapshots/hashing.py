"""The hashes behind a fingerprint: one scheme per hash, a tree of block digests, threads.

:mod:`.fingerprint` turns a table into fields of canonical byte buffers; this module
hashes them. A scheme names the hash of the blocks and of the manifest; everything else
(the canonical buffers, 4 MiB blocks, the framing of the manifest) is the same in every
scheme, so the same data has one fingerprint per scheme and a stored fingerprint is
checked by computing its own scheme again:

========================================  ==========================================
scheme                                    hash of each block and of the manifest
========================================  ==========================================
``jupyter-mlops/fingerprint/2`` (current)  BLAKE3, 256-bit output
``jupyter-mlops/fingerprint/1``            SHA-256 (every fingerprint recorded before
                                          the BLAKE3 scheme; still computed on request)
========================================  ==========================================

    scheme_of("jupyter-mlops/fingerprint/1").hash_name      # 'sha256'

**Why BLAKE3.** A fingerprint decides that data did not change, so its hash must resist
collisions: a cryptographic hash, not a checksum. Measured on this project's 2-core
machine (AMD EPYC with AVX-512 and SHA extensions), in bytes hashed per CPU-second of one
core over a 512 MiB buffer: BLAKE3 (the ``blake3`` package, the reference Rust
implementation) 4.4 GB, SHA-256 (hashlib, OpenSSL with the SHA instructions) 1.7 GB,
BLAKE2b 0.9 GB, SHA-512 0.8 GB, KangarooTwelve (pycryptodome, portable C) 0.9 GB; numpy
copies memory at about 12 GB/s. Only BLAKE3 leaves room to reach memory speed on two
cores. XXH3-128 runs at 30 GB per CPU-second, but it is not collision resistant: pairs of
inputs with one XXH3 hash can be built on purpose, so it could not vouch that a file
handed over is the data a run read. BLAKE3 gives 128-bit collision resistance (256-bit
output, the security level of SHA-256), rests on the analysed BLAKE2/ChaCha permutation,
and releases the GIL while it hashes, so the blocks of a table are hashed by a thread
pool here, as SHA-256 blocks were. The pool is ours rather than BLAKE3's own threads
(``max_threads``): the same threads also neutralize NaNs and missing slots block by
block, and a block's digest does not depend on how many threads there are.

**NaNs.** A float block is checked for NaN in 256 KiB pieces, each just before it is
hashed, while it is still in the core's cache; ``min()`` finds a NaN (it propagates
NaNs) without writing a mask, so a column without NaN pays almost nothing for the check,
and only a piece that holds a NaN is copied and rewritten.
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from math import isnan
from typing import TYPE_CHECKING, Protocol

from ..errors import InvalidInputError

if TYPE_CHECKING:  # numpy is imported where a table is hashed: the scheme names stay cheap
    import numpy as np

BLOCK_SIZE = 4 * 1024 * 1024
# Below this many bytes in all, a thread pool costs more than it saves.
PARALLEL_MIN_BYTES = 8 * 1024 * 1024
MAX_WORKERS = 8
# Floats are checked for NaN this many bytes at a time, right before they are hashed.
NAN_PIECE = 256 * 1024

_PACK_U64 = struct.Struct("<Q").pack


class Hasher(Protocol):
    def update(self, data: bytes | memoryview, /) -> object: ...

    def digest(self) -> bytes: ...


def _blake3() -> Hasher:
    from blake3 import blake3

    hasher: Hasher = blake3()
    return hasher


@dataclass(frozen=True)
class Scheme:
    """A fingerprint scheme: its recorded name and the hash of its blocks and manifest."""

    name: str
    hash_name: str
    new_hasher: Callable[[], Hasher]


SHA256_SCHEME = "jupyter-mlops/fingerprint/1"
BLAKE3_SCHEME = "jupyter-mlops/fingerprint/2"
SCHEMES = {
    BLAKE3_SCHEME: Scheme(BLAKE3_SCHEME, "blake3", _blake3),
    SHA256_SCHEME: Scheme(SHA256_SCHEME, "sha256", hashlib.sha256),
}
# The scheme of every new fingerprint.
SCHEME = BLAKE3_SCHEME


def scheme_of(name: str) -> Scheme:
    """The scheme recorded as ``name``; InvalidInputError for a scheme this version lacks."""
    try:
        return SCHEMES[name]
    except (KeyError, TypeError):
        raise InvalidInputError(
            f'Unknown fingerprint scheme "{name}"',
            hint=f"This version computes {', '.join(SCHEMES)}; a fingerprint recorded under"
            " another scheme needs the version of jupyter-mlops that recorded it.",
        ) from None


@dataclass(frozen=True)
class Buffer:
    """One canonical byte buffer of a field, hashed block by block."""

    role: str
    values: np.ndarray  # 1-D, C-contiguous, little-endian, itemsize a power of two
    canonical_nan: bool = False  # floats: every NaN hashes as the same bits
    zero_where: np.ndarray | None = None  # bool per element: these slots hash as zero


@dataclass(frozen=True)
class Field:
    """A column or index level: its role, type-tagged name, dtype descriptor and buffers."""

    role: str  # "index" or "column"
    name: bytes
    descriptor: str
    buffers: tuple[Buffer, ...]


def worker_count(workers: int | None) -> int:
    """The hashing threads to use: ``workers``, else the usable cores (at most 8)."""
    if workers is not None:
        if workers < 1:
            raise InvalidInputError(
                f"workers must be at least 1, not {workers}",
                hint="Leave it unset to use every core.",
            )
        return workers
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count() or 1
    return max(1, min(usable, MAX_WORKERS))


def record(tag: bytes, *parts: bytes) -> bytes:
    """A record whose parts are each prefixed by their length, so none can bleed into another."""
    out = bytearray(tag)
    out += _PACK_U64(len(parts))
    for part in parts:
        out += _PACK_U64(len(part))
        out += part
    return bytes(out)


def root_digest(header: bytes, fields: list[Field], workers: int, scheme: Scheme) -> str:
    """The hex digest of the manifest: ``header``, then each field and its buffers' leaves."""
    from concurrent.futures import ThreadPoolExecutor

    jobs = [job for field in fields for buffer in field.buffers for job in _blocks(buffer)]
    total = sum(buffer.values.nbytes for field in fields for buffer in field.buffers)
    leaf = partial(_leaf, scheme.new_hasher)
    if workers > 1 and len(jobs) > 1 and total >= PARALLEL_MIN_BYTES:
        with ThreadPoolExecutor(workers, thread_name_prefix="mlops-fingerprint") as pool:
            leaves = iter(list(pool.map(leaf, jobs)))
    else:
        leaves = iter([leaf(job) for job in jobs])
    manifest = scheme.new_hasher()
    manifest.update(header)
    for field in fields:
        manifest.update(
            record(b"field", field.role.encode(), field.name, field.descriptor.encode())
        )
        for buffer in field.buffers:
            size = buffer.values.nbytes
            manifest.update(record(b"buffer", buffer.role.encode(), str(size).encode()))
            for _ in range(-(-size // BLOCK_SIZE)):
                manifest.update(next(leaves))
    return manifest.digest().hex()


_Job = tuple["np.ndarray", bool, "np.ndarray | None"]


def _blocks(buffer: Buffer) -> Iterator[_Job]:
    per_block = BLOCK_SIZE // buffer.values.dtype.itemsize
    for start in range(0, len(buffer.values), per_block):
        stop = start + per_block
        zero_where = None if buffer.zero_where is None else buffer.zero_where[start:stop]
        yield buffer.values[start:stop], buffer.canonical_nan, zero_where


def _bytes_of(values: np.ndarray) -> memoryview:
    return values.view("u1").data


def _leaf(new_hasher: Callable[[], Hasher], job: _Job) -> bytes:
    """The digest of one block, NaNs and missing slots neutralized (on a copy, if any)."""
    import numpy as np

    block, canonical_nan, zero_where = job
    hasher = new_hasher()
    if zero_where is not None and zero_where.any():
        block = block.copy()
        block[zero_where] = 0
        if canonical_nan:
            block[np.isnan(block)] = np.nan
        hasher.update(_bytes_of(block))
    elif canonical_nan:
        # Per piece: a slice of the block, its minimum and a slice of the block's bytes,
        # with as little Python around them as can be (a GB is 4,096 pieces).
        size = block.itemsize
        step = NAN_PIECE // size
        data = _bytes_of(block)
        lowest = np.minimum.reduce
        for start in range(0, len(block), step):
            piece = block[start : start + step]
            if isnan(lowest(piece)):
                piece = piece.copy()
                piece[np.isnan(piece)] = np.nan
                hasher.update(_bytes_of(piece))
            else:
                hasher.update(data[start * size : (start + step) * size])
    else:
        hasher.update(_bytes_of(block))
    return hasher.digest()
