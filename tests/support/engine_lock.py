"""One engine test at a time on this machine.

An engine test clears every fastpod container before and after it, and its pods have fixed
names: two such tests at once, from two pytest runs on the same machine, would remove each
other's containers. Each holds this lock for its whole run; a single pytest run (CI) never
waits on it.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator

LOCK_PATH = "/tmp/fastpod-engine-tests.lock"


@contextlib.contextmanager
def engines_held() -> Iterator[None]:
    """Hold the machine's engines for one test, waiting for any other test holding them."""
    with open(LOCK_PATH, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
