"""Process tokens: what a run records so that a reused pid is not taken for its process."""

from __future__ import annotations

import os
import sys

import pytest

from jupyter_mlops.registry.liveness import process_alive, process_token

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="tokens come from /proc on Linux"
)


def test_a_forked_child_has_its_own_token_not_its_parents_remembered_one():
    parent = process_token(os.getpid())
    assert parent is not None
    assert process_token(os.getpid()) == parent  # remembered, still the same
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # the child: its own token, as it would record it in a run
        os.close(reader)
        os.write(writer, (process_token(os.getpid()) or "").encode())
        os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as pipe:
        from_child = pipe.read()
    seen_from_parent_while_alive = process_token(child)
    os.waitpid(child, 0)
    assert from_child and from_child != parent
    # The parent read the child's token from /proc, either while the child was alive
    # (the same token) or after it ended (None: a zombie or gone).
    assert seen_from_parent_while_alive in (from_child, None)
    assert not process_alive(child, from_child)
    assert process_alive(os.getpid(), parent)
