"""Interception tasks put back together from their X1 messages in the ledger.

A message is the events that share its ``attrs.message`` digest (one per target). A task (``xId``) is its
messages in time order: an Activate starts an active interval, a Deactivate ends it, and an xId activated
again after its Deactivate is the same task. A ModifyTaskRequest carries the task's complete details. A
*stretch* is a run of active time under one lIID: it starts at an Activate (or a Modify that switches the
lIID, a renewal) and ends at the Deactivate, at the switch, or, when the task is never deactivated, at the
last message of the whole input (never the wall clock).

An Activate while the task is active, or a Modify while it is not, is read as the provisioning it asks
for: the first continues the interval, the second starts one.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import duckdb

from custodiet.events import from_epoch_us
from custodiet.ingest.interception.events import CHANNEL
from custodiet.ingest.interception.messages import ACTIVATE, DEACTIVATE

_ORDER = {ACTIVATE: 0, "ModifyTaskRequest": 1, DEACTIVATE: 2}  # same instant: provisioning before removal


@dataclass
class Message:
    digest: str
    ts: datetime
    kind: str  # the X1 message type
    xid: str
    liid: str | None
    data_kinds: tuple[str, ...]
    targets: frozenset[tuple[str, str]]  # (kind, pseudonym); unknown subjects left out
    event_ids: list[str]
    source: str

    @property
    def provisions(self) -> bool:
        """Does it carry the task's details (Activate or Modify)?"""
        return self.kind != DEACTIVATE


@dataclass
class Stretch:
    liid: str | None
    start: datetime
    end: datetime
    ended_by: str  # "deactivate", "renewal" (a Modify switching the lIID) or "open" (still active)
    messages: list[Message] = field(default_factory=list)  # the Activate/Modify messages in force during it


@dataclass
class Task:
    xid: str
    messages: list[Message]
    stretches: list[Stretch]
    intervals: list[tuple[datetime, datetime, bool]]  # active intervals: (start, end, still open)

    @property
    def targets(self) -> frozenset[tuple[str, str]]:
        return frozenset(t for m in self.messages for t in m.targets)

    def in_force_before(self, moment: datetime) -> Message | None:
        """The task's details in force just before ``moment``: its latest Activate/Modify before it."""
        found = None
        for m in self.messages:
            if m.ts >= moment:
                break
            if m.provisions:
                found = m
        return found


def read_messages(con: duckdb.DuckDBPyConnection) -> list[Message]:
    """Every interception message in the ledger, in time order (read as Arrow columns: a tenth of the time
    rows of Python tuples take, times above all)."""
    table = con.execute(
        f"""SELECT json_extract_string(attrs, '$.message') AS digest, epoch_us(min(ts)) AS ts_us,
                   any_value(operation) AS kind, any_value(json_extract_string(attrs, '$.xId')) AS xid,
                   any_value(authority) AS liid,
                   any_value(CAST(json_extract(attrs, '$.data_kinds') AS VARCHAR[])) AS kinds,
                   list(subject_kind ORDER BY event_id) AS subject_kinds, list(subject ORDER BY event_id) AS subjects,
                   list(event_id ORDER BY event_id) AS ids, min(source) AS source
            FROM events WHERE channel = '{CHANNEL}' GROUP BY digest ORDER BY ts_us, digest"""
    ).to_arrow_table()
    cols = {name: table.column(name).to_pylist() for name in table.column_names}
    messages = []
    for digest, ts_us, kind, xid, liid, kinds, subject_kinds, subjects, ids, source in zip(
            *(cols[n] for n in ("digest", "ts_us", "kind", "xid", "liid", "kinds", "subject_kinds", "subjects", "ids",
                                "source")), strict=True):
        targets = frozenset((k, s) for k, s in zip(subject_kinds, subjects, strict=True) if k != "unknown")
        messages.append(Message(digest, from_epoch_us(ts_us), kind, xid, liid,
                                tuple(kinds or ()), targets, ids, source))
    return messages


def build_tasks(messages: list[Message]) -> dict[str, Task]:
    """The tasks of ``messages``, by xId; open stretches end at the last message's time."""
    if not messages:
        return {}
    last = max(m.ts for m in messages)
    by_task: dict[str, list[Message]] = defaultdict(list)
    for m in messages:
        by_task[m.xid].append(m)
    return {xid: _task(xid, sorted(ms, key=lambda m: (m.ts, _ORDER.get(m.kind, 1), m.digest)), last)
            for xid, ms in by_task.items()}


def _task(xid: str, messages: list[Message], last: datetime) -> Task:
    stretches: list[Stretch] = []
    intervals: list[tuple[datetime, datetime, bool]] = []
    current: Stretch | None = None
    began: datetime | None = None
    for m in messages:
        if m.kind == DEACTIVATE:
            if current is not None and began is not None:
                current.end, current.ended_by = m.ts, "deactivate"
                stretches.append(current)
                intervals.append((began, m.ts, False))
                current, began = None, None
            continue
        if current is None:
            current, began = Stretch(m.liid, m.ts, m.ts, "open", [m]), m.ts
        elif m.liid != current.liid:
            current.end, current.ended_by = m.ts, "renewal"
            stretches.append(current)
            current = Stretch(m.liid, m.ts, m.ts, "open", [m])
        else:
            current.messages.append(m)
    if current is not None and began is not None:
        current.end = last
        stretches.append(current)
        intervals.append((began, last, True))
    return Task(xid, messages, stretches, intervals)
