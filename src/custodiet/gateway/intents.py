"""The gateway's intent journal: every lookup it is about to forward, written and fsynced first.

A lookup's event is committed to the ledger only once the upstream has answered (it records how many records
came back), so between the call and the commit the journal holds the request. The caller ``settle``s each
write once its event is committed (or refused); when no write is unsettled and the journal has grown past
``KEEP_BYTES``, it is emptied, so it holds only what a crash could leave unrecorded, not every request ever
made. Writes arriving together share
one write and one fsync (group commit). When the journal cannot be written the gateway fails closed: nothing
is forwarded. At start, ``pending`` lists the journaled requests whose event is not in the ledger (the
gateway died between the call and the commit): the gateway ledgers each as an ``error`` marked
``recovered``, then empties the journal.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

KEEP_BYTES = 1 << 20


class JournalUnavailable(Exception):
    """The intent journal cannot be written: fail closed."""


class IntentJournal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._waiting: list[tuple[bytes, asyncio.Future[None]]] = []
        self._flushing = False
        self._unsettled = 0  # writes begun whose events are not yet committed or refused
        self._keep = False  # a record whose event was not committed: the journal is kept whole until restart
        self._size = 0

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._size = os.fstat(self._fd).st_size

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def pending(self) -> list[dict[str, Any]]:
        """The journaled requests (every whole line; a line cut by a crash is left out)."""
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_bytes().split(b"\n"):
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out

    def clear(self) -> None:
        """Empty the journal (once everything in it is in the ledger)."""
        self.close()
        with open(self.path, "wb") as fh:
            os.fsync(fh.fileno())
        self.open()

    async def write(self, record: dict[str, Any]) -> None:
        """Append ``record`` durably; raises ``JournalUnavailable`` when it cannot be. Once written, the
        caller calls ``settle`` when the record's event is committed or refused."""
        self._unsettled += 1
        try:
            await self._write(record)
        except BaseException:
            self._unsettled -= 1
            raise

    def settle(self, committed: bool) -> None:
        """One written record is done with: its event ``committed``, or not (refused, or the request was cut
        off). When none is left unsettled, a journal grown past ``KEEP_BYTES`` is emptied (no write is under
        way then: every write begun is still unsettled), unless an event was ever left uncommitted: that
        record stays for the restart to ledger."""
        self._unsettled -= 1
        self._keep = self._keep or not committed
        if self._unsettled == 0 and self._size > KEEP_BYTES and not self._keep and self._fd is not None:
            os.ftruncate(self._fd, 0)
            self._size = 0

    async def _write(self, record: dict[str, Any]) -> None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._waiting.append((json.dumps(record, separators=(",", ":"), default=str).encode() + b"\n", done))
        if not self._flushing:
            self._flushing = True
            loop.create_task(self._flush())
        await done

    async def _flush(self) -> None:
        try:
            while self._waiting:
                group, self._waiting = self._waiting, []
                try:
                    await asyncio.to_thread(self._append, b"".join(data for data, _ in group))
                except OSError as exc:
                    for _, done in group:
                        done.set_exception(JournalUnavailable(f"the gateway's journal cannot be written: {exc}"))
                    continue
                for _, done in group:
                    done.set_result(None)
        finally:
            self._flushing = False

    def _append(self, data: bytes) -> None:
        if self._fd is None:
            raise OSError("journal not open")
        os.write(self._fd, data)
        os.fsync(self._fd)
        self._size += len(data)
