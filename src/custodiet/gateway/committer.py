"""Group commit of the gateway's access events to the ledger: requests arriving together share one append.

``await committer.commit(event)`` returns once the event is durably in the ledger under a signed head.
Events queue while the previous group is being appended; the worker then takes everything queued (up to
``max_batch``, after waiting ``max_wait_s`` for more when that is above zero) and appends it as one
ledger batch: one segment, one journal record, one signed head (``ledger.append_events``), in a worker
thread, so the event loop keeps serving while the group is fsynced. While one group is written the next
accumulates: the classic group commit.

Every append makes one segment file, so a busy gateway makes many small ones (thousands a minute at a few
hundred requests per second, see ``bench/gateway_commit.py``). ``min_interval_s`` bounds that: under load
appends start at most once per interval (a group then gathers what arrives meanwhile), while a request
arriving after a quiet spell is appended at once. ``max_pending`` bounds the queue: past it, commits are
refused (``LedgerUnavailable``) rather than left waiting on a ledger that cannot keep up.

The store's writers' lock is taken per group and only for the append itself, so other writers (an
ingest) interleave. A writer that cannot get the lock within ``lock_timeout_s`` fails the group.

Fail closed: when an append fails, every commit of the group raises ``LedgerUnavailable`` (the gateway
then answers 503 and forwards nothing) and ``writable`` turns False. While it is False, commits are
refused at once without queueing, except that every ``probe_interval_s`` a cheap probe (create and
remove a file in the ledger folder) is made; when it succeeds the next group is tried again. A
successful append sets ``writable`` back to True.

What a failed append leaves: a failure before the segment is renamed into place leaves nothing. A failure
after it (the tree nodes, the manifest or the head could not be written) leaves a journaled segment that
the next append heals into the tree, so those events are then signed although their commits were refused:
the ledger may record a lookup the gateway refused with 503, never the other way round.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa

from custodiet.events import EVENT_SCHEMA, canonical_json
from custodiet.ledger import append_events
from custodiet.store import Store

_REQUIRED = tuple(f.name for f in EVENT_SCHEMA if not f.nullable)
_TEXT = tuple(f.name for f in EVENT_SCHEMA if pa.types.is_string(f.type))


def probe_segments(store: Store) -> None:
    """Make and remove a file in the segments folder; ``OSError`` when a segment could not be written now.
    Its name is an atomic write's in progress (``.tmp-PID-…``): recovery and ``verify``, which may list the
    folder meanwhile, take it for one and leave it be."""
    probe = store.segments_dir / f".tmp-{os.getpid()}-probe"
    os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    probe.unlink(missing_ok=True)


def segments_look_writable(store: Store) -> bool:
    """A few microseconds' check, for every request: the segments folder is a folder this process may write
    into, on a file system that is neither read-only nor full. (A failed append is still caught by the
    committer; this keeps the request that would meet it from being forwarded first.)"""
    folder = store.segments_dir
    try:
        fs = os.statvfs(folder)
    except OSError:
        return False
    return (folder.is_dir() and os.access(folder, os.W_OK | os.X_OK) and not fs.f_flag & os.ST_RDONLY
            and fs.f_bavail > 0)


class LedgerUnavailable(RuntimeError):
    """The ledger could not be written: the event is not acknowledged (answer 503, forward nothing)."""


@dataclass
class CommitStats:
    """What the committer has done so far (for the bench and the gateway's health page)."""

    groups: int = 0  # successful appends
    events: int = 0  # events acknowledged
    failed_groups: int = 0
    refused: int = 0  # commits refused at once while the ledger was not writable
    largest_group: int = 0
    append_seconds: list[float] = field(default_factory=list)  # per successful append, in the worker


def event_row(event: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical row of one event dict, checked field by field; raises ``ValueError`` naming the field.

    ``ts`` must be a timezone-aware datetime; ``attrs`` a dict (stored as canonical JSON) or JSON text."""
    unknown = set(event) - set(EVENT_SCHEMA.names)
    if unknown:
        raise ValueError(f"event has fields outside the canonical schema: {', '.join(sorted(unknown))}")
    row = {name: event.get(name) for name in EVENT_SCHEMA.names}
    for name in _REQUIRED:
        if row[name] is None:
            raise ValueError(f"event {row.get('event_id')!r}: {name} is required")
    ts = row["ts"]
    if not isinstance(ts, datetime) or ts.tzinfo is None or ts.utcoffset() is None:
        raise ValueError(f"event {row['event_id']!r}: ts must be a timezone-aware datetime, got {ts!r}")
    if isinstance(row["attrs"], dict):
        row["attrs"] = canonical_json(row["attrs"])
    for name in _TEXT:
        if row[name] is not None and not isinstance(row[name], str):
            raise ValueError(f"event {row['event_id']!r}: {name} must be text, got {type(row[name]).__name__}")
    records = row["records"]
    if records is not None and (isinstance(records, bool) or not isinstance(records, int)):
        raise ValueError(f"event {row['event_id']!r}: records must be an integer, got {records!r}")
    return row


@dataclass
class _Pending:
    row: dict[str, Any]
    done: asyncio.Future[None]


class GroupCommitter:
    """Appends the events given to ``commit`` in groups (see the module's docstring).

    ``max_batch``: most events in one append; ``max_wait_s``: how long the worker waits for more events
    after the first of a group arrives (0: take what is queued, the lowest latency); ``min_interval_s``:
    least time between the starts of two appends (0: none); ``max_pending``: most commits queued;
    ``lock_timeout_s``: how long a group waits for the store's writers' lock before it fails;
    ``probe_interval_s``: how often a refused commit may probe whether the ledger folder is writable again."""

    def __init__(self, store: Store, max_batch: int = 1000, max_wait_s: float = 0.0, min_interval_s: float = 0.0,
                 max_pending: int = 50_000, lock_timeout_s: float = 5.0, probe_interval_s: float = 0.5):
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        # our own Store object: its own lock timeout, and its lock depth is ours alone
        self.store = Store(store.home, store.rules, lock_timeout=lock_timeout_s, on_lock_wait=lambda _: None)
        self.max_batch, self.max_wait_s, self.probe_interval_s = max_batch, max_wait_s, probe_interval_s
        self.min_interval_s, self.max_pending = min_interval_s, max_pending
        self._last_start = float("-inf")
        self.writable = True
        self.last_error: BaseException | None = None
        self.stats = CommitStats()
        self._queue: asyncio.Queue[_Pending | None] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._last_probe = 0.0
        self._stopping = False

    # -- life cycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start the worker (in the running event loop)."""
        if self._worker is not None:
            raise RuntimeError("the committer is already started")
        self.store.init()
        self._queue = asyncio.Queue()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger-commit")
        self._stopping = False
        self._worker = asyncio.create_task(self._run(), name="ledger-group-commit")

    async def stop(self) -> None:
        """Append what is queued, then stop; replaces the store's SQL catalog once at the end."""
        if self._worker is None or self._queue is None or self._pool is None:
            return
        self._stopping = True
        self._queue.put_nowait(None)
        await self._worker
        loop = asyncio.get_running_loop()
        if self.stats.groups:
            with contextlib.suppress(OSError):  # the catalog is a convenience for ad-hoc SQL; the ledger is durable
                await loop.run_in_executor(self._pool, self.store.write_catalog)
        self._pool.shutdown(wait=True)
        self._worker = self._queue = self._pool = None

    # -- committing -------------------------------------------------------------------------------
    async def commit(self, event: Mapping[str, Any]) -> None:
        """Return once ``event`` is durably in the ledger under a signed head.

        Raises ``ValueError`` for an event that is not a canonical one (before anything is queued) and
        ``LedgerUnavailable`` when the ledger cannot be written."""
        if self._queue is None or self._stopping:
            raise LedgerUnavailable("the ledger committer is not running")
        row = event_row(event)
        if not self.writable and not self._probe():
            self.stats.refused += 1
            raise LedgerUnavailable(f"the ledger is not writable ({self.last_error})")
        if self._queue.qsize() >= self.max_pending:
            self.stats.refused += 1
            raise LedgerUnavailable(f"{self._queue.qsize()} commits already wait for the ledger")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Pending(row, done))
        await asyncio.shield(done)  # a caller that gives up does not take the event out of its group

    def _probe(self) -> bool:
        """Can the ledger folder be written again? At most once per ``probe_interval_s``."""
        now = time.monotonic()
        if now - self._last_probe < self.probe_interval_s:
            return False
        self._last_probe = now
        try:
            probe_segments(self.store)
        except OSError as exc:
            self.last_error = exc
            return False
        return True  # the next append decides: ``writable`` turns True only once one succeeds

    async def _run(self) -> None:
        assert self._queue is not None
        queue, loop = self._queue, asyncio.get_running_loop()
        stop = False
        while not stop:
            first = await queue.get()
            if first is None:
                break
            group = [first]
            deadline = max(loop.time() + self.max_wait_s, self._last_start + self.min_interval_s)
            if deadline > loop.time():
                while len(group) < self.max_batch and (left := deadline - loop.time()) > 0:
                    try:
                        item = await asyncio.wait_for(queue.get(), left)
                    except TimeoutError:
                        break
                    if item is None:
                        stop = True
                        break
                    group.append(item)
            while len(group) < self.max_batch and not queue.empty():
                item = queue.get_nowait()
                if item is None:
                    stop = True
                    break
                group.append(item)
            self._last_start = loop.time()
            await self._append(group)
        while not queue.empty():  # commits that arrived with or after the stop: still appended
            rest = [item for item in (queue.get_nowait() for _ in range(queue.qsize())) if item is not None]
            for i in range(0, len(rest), self.max_batch):
                await self._append(rest[i:i + self.max_batch])

    async def _append(self, group: list[_Pending]) -> None:
        loop = asyncio.get_running_loop()
        try:
            seconds = await loop.run_in_executor(self._pool, self._append_group, [p.row for p in group])
        except Exception as exc:  # noqa: BLE001 - whatever failed, the group is not acknowledged
            self.writable = False
            self.last_error = exc
            self._last_probe = time.monotonic()
            self.stats.failed_groups += 1
            failure = LedgerUnavailable(f"appending {len(group)} events to the ledger failed: {exc}")
            for p in group:
                if not p.done.done():
                    p.done.set_exception(failure)
            return
        self.writable = True
        self.stats.groups += 1
        self.stats.events += len(group)
        self.stats.largest_group = max(self.stats.largest_group, len(group))
        self.stats.append_seconds.append(seconds)
        for p in group:
            if not p.done.done():
                p.done.set_result(None)

    def _append_group(self, rows: list[dict[str, Any]]) -> float:
        """One ledger batch (in the worker thread): segment, journal record, nodes, manifest, signed head."""
        table = pa.Table.from_pylist(rows, schema=EVENT_SCHEMA)
        started = time.perf_counter()
        with self.store.writer("gateway group commit", catalog=False):
            append_events(self.store, table)
        return time.perf_counter() - started
