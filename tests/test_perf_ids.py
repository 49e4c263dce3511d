"""Call ids come from batches of ``os.urandom``: still unique across threads and across a
forked child (which must not reuse the batch its parent holds)."""

from __future__ import annotations

import os
import re
import threading
import warnings

import pytest

from aigate._context import CallContext, call_id


def test_ids_are_32_hex_digits_and_unique() -> None:
    ids = [call_id() for _ in range(3000)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert len(set(ids)) == len(ids)
    assert CallContext("chat", (), None, {}, None).request_id != call_id()


def test_threads_never_share_an_id() -> None:
    found: list[list[str]] = [[] for _ in range(8)]

    def draw(into: list[str]) -> None:
        for _ in range(2000):
            into.append(call_id())

    threads = [threading.Thread(target=draw, args=(bucket,)) for bucket in found]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [i for bucket in found for i in bucket]
    assert len(set(every)) == len(every)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX")
def test_a_forked_child_draws_its_own_ids() -> None:
    call_id()  # the parent holds a batch
    read, write = os.pipe()
    with warnings.catch_warnings():  # 3.12+ warns about forking a process with threads
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: report its next ids, then leave without cleanup
        os.close(read)
        os.write(write, "".join(call_id() for _ in range(5)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child = pipe.read()
    os.waitpid(pid, 0)
    parent = [call_id() for _ in range(300)]
    assert len(child) == 5 * 32
    assert not {child[i : i + 32] for i in range(0, len(child), 32)} & set(parent)
