"""Gateway alerts: one JSON line in ``<home>/alerts.jsonl`` at once, and the same JSON POSTed to a webhook.

``emit(alert)`` never blocks the event loop on the network or the disk's flush to stable storage: it
appends the line (written through to the file at once, so a reader of ``alerts.jsonl`` sees it
immediately; fsynced in the background, coalesced) and queues the POST. Deliveries run concurrently over
one ``aiohttp.ClientSession`` (a connection pool); a failed one (no connection, a timeout, a 5xx, 408 or
429) is retried after ``backoff_s``, doubling each time, ``retries`` times. An alert that still could not
be delivered, or that the webhook refused outright (another 4xx), goes to
``<home>/alerts.deadletter.jsonl`` as ``{"alert": ..., "error": ..., "attempts": n, "failed_at": ...}``.
``stop`` waits up to ``drain_s`` for deliveries under way and dead-letters whatever is left, so that no
alert is lost silently.

An alert carries at least ``ts``, ``kind``, ``actor``, ``subject`` and ``event_id`` (``ts`` a datetime or
ISO 8601 text; written as ISO 8601 UTC).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import aiohttp

from custodiet.events import canonical_json

ALERT_FIELDS = ("ts", "kind", "actor", "subject", "event_id")
ALERTS_FILE = "alerts.jsonl"
DEADLETTER_FILE = "alerts.deadletter.jsonl"
_RETRY_STATUS = {408, 429}


class WebhookRefused(RuntimeError):
    """The webhook answered with a status that retrying will not change (a 4xx other than 408 / 429)."""


def alert_json(alert: dict[str, Any]) -> str:
    """The alert as one line of canonical JSON; raises ``ValueError`` naming a missing field."""
    missing = [f for f in ALERT_FIELDS if f not in alert]
    if missing:
        raise ValueError(f"alert {alert.get('kind')!r} lacks {', '.join(missing)}")
    ts = alert["ts"]
    if isinstance(ts, datetime):
        if ts.tzinfo is None:
            raise ValueError(f"alert {alert['kind']!r}: ts must be timezone-aware")
        alert = {**alert, "ts": ts.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")}
    return canonical_json(alert)


@dataclass
class SinkStats:
    written: int = 0
    delivered: int = 0
    retried: int = 0  # failed attempts that were tried again
    dead: int = 0


class AlertSink:
    """Writes alerts to ``<home>/alerts.jsonl`` and POSTs them to ``webhook`` (see the module's docstring).

    ``concurrency``: deliveries in flight at once (and the pool's connection limit)."""

    def __init__(self, home: Path, webhook: str | None = None, retries: int = 5, timeout_s: float = 2.0,
                 backoff_s: float = 0.1, concurrency: int = 8, drain_s: float = 5.0):
        self.home, self.webhook = Path(home), webhook
        self.retries, self.timeout_s, self.backoff_s = retries, timeout_s, backoff_s
        self.concurrency, self.drain_s = concurrency, drain_s
        self.path, self.deadletter_path = self.home / ALERTS_FILE, self.home / DEADLETTER_FILE
        self.stats = SinkStats()
        self._file: IO[str] | None = None
        self._queue: asyncio.Queue[str] | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._client: aiohttp.ClientSession | None = None
        self._dirty = asyncio.Event()
        self._syncer: asyncio.Task[None] | None = None
        self._in_flight = 0

    async def start(self) -> None:
        """Open the alerts file and the webhook client; start the delivery workers and the fsync task."""
        self.home.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open until ``stop``
        self._dirty = asyncio.Event()
        self._syncer = asyncio.create_task(self._sync_loop(), name="alerts-fsync")
        if self.webhook:
            self._client = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=self.concurrency),
                                                 timeout=aiohttp.ClientTimeout(total=self.timeout_s))
            self._queue = asyncio.Queue()
            self._workers = [asyncio.create_task(self._deliver_loop(), name=f"alerts-webhook-{i}")
                             for i in range(self.concurrency)]

    def emit(self, alert: dict[str, Any]) -> None:
        """Write the alert's line now (flushed to the file) and queue its POST; never waits (call it from
        the event loop's thread). Raises ``ValueError`` for an alert without the required fields."""
        if self._file is None:
            raise RuntimeError("the alert sink is not started")
        line = alert_json(alert)
        self._file.write(line + "\n")
        self._file.flush()
        self.stats.written += 1
        self._dirty.set()
        if self._queue is not None:
            self._queue.put_nowait(line)

    @property
    def pending(self) -> int:
        """Alerts queued or being delivered."""
        return (self._queue.qsize() if self._queue is not None else 0) + self._in_flight

    async def stop(self) -> None:
        """Give deliveries under way up to ``drain_s`` to finish, dead-letter the rest, fsync and close."""
        if self._file is None:
            return
        if self._queue is not None:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.drain_s
            while self.pending and loop.time() < deadline:
                await asyncio.sleep(0.01)
            for task in self._workers:
                task.cancel()  # a cancelled delivery dead-letters its alert (``_deliver_loop``)
            await asyncio.gather(*self._workers, return_exceptions=True)
            while not self._queue.empty():
                self._dead(self._queue.get_nowait(), "the gateway stopped before it was delivered", 0)
            self._workers = []
            self._queue = None
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self._syncer is not None:
            self._syncer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._syncer
        os.fsync(self._file.fileno())
        self._file.close()
        self._file = None

    # -- background --------------------------------------------------------------------------------
    async def _sync_loop(self) -> None:
        """fsync the alerts file after writes, in a worker thread; writes during one fsync share the next."""
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            if self._file is not None:
                await asyncio.to_thread(os.fsync, self._file.fileno())

    async def _deliver_loop(self) -> None:
        assert self._queue is not None
        queue = self._queue
        while True:
            line = await queue.get()
            self._in_flight += 1
            try:
                await self._deliver(line)
            except asyncio.CancelledError:
                self._dead(line, "the gateway stopped before it was delivered", 0)
                raise
            finally:
                self._in_flight -= 1

    async def _deliver(self, line: str) -> None:
        """POST one alert, retrying with exponential backoff; dead-letter it when every attempt failed."""
        assert self._client is not None and self.webhook is not None  # noqa: PT018 - both set by ``start``
        delay, error = self.backoff_s, ""
        for attempt in range(1, self.retries + 2):  # the first try and ``retries`` retries
            try:
                async with self._client.post(self.webhook, data=line.encode("utf-8"),
                                             headers={"content-type": "application/json"}) as answer:
                    status = answer.status
                if 200 <= status < 300:
                    self.stats.delivered += 1
                    return
                error = f"HTTP {status} from {self.webhook}"
                if status < 500 and status not in _RETRY_STATUS:
                    self._dead(line, f"{error} (not retried)", attempt)
                    return
            except (aiohttp.ClientError, TimeoutError) as exc:
                error = f"{type(exc).__name__}: {exc or 'no detail'} ({self.webhook})"
            if attempt <= self.retries:
                self.stats.retried += 1
                await asyncio.sleep(delay)
                delay *= 2
        self._dead(line, error, self.retries + 1)

    def _dead(self, line: str, error: str, attempts: int) -> None:
        record = '{"alert":' + line + ',"attempts":' + str(attempts) + ',"error":' + canonical_json(error)
        record += ',"failed_at":' + canonical_json(datetime.now(UTC).isoformat(timespec="microseconds")) + "}"
        with open(self.deadletter_path, "a", encoding="utf-8") as fh:
            fh.write(record + "\n")
            fh.flush()
            os.fsync(fh.fileno())  # rare: the webhook has been failing for seconds
        self.stats.dead += 1
