"""The writers' lock of a store: exclusive, taken per commit, fair, with a timeout and a word to the user.

Two ``flock`` files in the home folder. ``lock`` is the lock itself; once held, it records who holds it
(pid and purpose) for anyone waiting. ``lock.queue`` is a turnstile: a writer takes it before ``lock`` and
lets go of it as soon as ``lock`` is its own. A writer that has just committed and wants the lock again
must pass the turnstile too, which a waiting writer holds, so a long ingest that commits batch after
batch cannot starve a small writer: each waits at most for the commit under way.

Waiting is polling (a few milliseconds apart), so that a timeout works in any thread. After
``NOTICE_AFTER`` seconds of waiting, ``on_wait`` is told once what the writer waits for.
"""

from __future__ import annotations

import errno
import fcntl
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

DEFAULT_TIMEOUT = 3600.0  # seconds: generous, a long ingest commits far more often than this
NOTICE_AFTER = 1.0


class LockTimeout(RuntimeError):
    """A writer gave up waiting for the store's lock; the message says who held it."""


def _try_lock(fh: IO[str]) -> bool:
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            return False
        raise


def holder(home: Path) -> str:
    """Who holds (or last held) the writers' lock, as recorded in it: 'pid N (purpose)', or ''."""
    try:
        text = (home / "lock").read_text(encoding="utf-8").strip()
    except OSError:
        return ""
    pid, _, purpose = text.partition(" ")
    return f"pid {pid} ({purpose})" if pid.isdigit() else ""


def _say(message: str) -> None:
    print(f"custodiet: {message}", file=sys.stderr, flush=True)


class WriteLock:
    """``with WriteLock(home, purpose, timeout, on_wait):`` holds the writers' lock of ``home``."""

    def __init__(self, home: Path, purpose: str, timeout: float, on_wait: Callable[[str], None] | None = None):
        self.home, self.purpose, self.timeout = home, purpose, timeout
        self.on_wait = on_wait or _say
        self._fh: IO[str] | None = None

    def __enter__(self) -> WriteLock:
        started = time.monotonic()
        told = False
        queue = open(self.home / "lock.queue", "a+")  # noqa: SIM115 - closed below, whatever happens
        lock = open(self.home / "lock", "a+")  # noqa: SIM115 - kept open while held
        try:
            pause = 0.001
            for fh in (queue, lock):
                while not _try_lock(fh):
                    waited = time.monotonic() - started
                    who = holder(self.home)
                    if waited >= self.timeout:
                        raise LockTimeout(f"gave up after {waited:.0f} s waiting for the store's write lock "
                                          f"({self.home / 'lock'}), held by {who or 'another process'}; "
                                          "try again later or raise --lock-timeout")
                    if not told and waited >= NOTICE_AFTER:
                        self.on_wait(f"waiting for the store's write lock, held by {who or 'another process'} "
                                     f"(giving up after {self.timeout:g} s)")
                        told = True
                    time.sleep(pause)
                    pause = min(pause * 2, 0.02)
        except BaseException:
            lock.close()  # closing lets go of a lock held through it
            queue.close()
            raise
        queue.close()  # the turnstile: the next writer in line may now wait on ``lock``
        lock.seek(0)
        lock.truncate()
        lock.write(f"{os.getpid()} {self.purpose}\n")
        lock.flush()
        self._fh = lock
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """A plain exclusive ``flock`` on ``path`` (for short critical sections: the catalog, the findings)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
