"""X1 task messages -> access events on the ``interception`` channel, one per target.

- ``actor`` and ``actor_org``: the agency of the warrant the message's lIID names (``unknown`` when the
  warrants table has no such warrant, or none is loaded);
- ``subject``: the target's pseudonym; a Deactivate, which names no target, gets one event per target the
  task had (from earlier messages of the same file, else from the ledger; ``unknown`` when neither has it);
- ``data_kind``: the most intrusive kind the message asks for (content, then location, then metadata);
- ``authority``: the lIID; ``operation``: the message type;
- ``attrs``: ``xId``, ``x1TransactionId``, ``neIdentifier``, ``admfIdentifier``, ``deliveryType``,
  ``serviceTypes``, ``data_kinds``, the mediation detail's ``startTime``/``endTime``, and ``message``: a
  digest of the message that its events share (how oversight puts a message back together).

Event ids hash the message's content and the target, so the same message read from the JSON or the XML
form, or sent twice, is one event.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from custodiet.context.warrants import read_warrants
from custodiet.events import sql_text
from custodiet.ingest.interception.messages import DEACTIVATE, INTRUSION_ORDER, X1Message
from custodiet.ingest.pending import PendingEvent
from custodiet.store import Store

CHANNEL = "interception"
UNKNOWN = "unknown"


def _digest(m: X1Message) -> str:
    """The message's content hash: its fields joined by a separator no field holds (control characters are
    refused in X1 text), the targets and service types in their sorted order."""
    fields = [str(m.ts_us), m.message_type, m.xid, m.transaction, m.admf, m.ne,
              "\x1e".join(f"{k}:{v}" for k, v in m.targets), m.delivery, "\x1e".join(m.services), m.liid, m.start,
              m.end]
    return hashlib.sha256("\x1f".join("\x00" if f is None else f for f in fields).encode()).hexdigest()


class _TaskState:
    """What each task's last Activate/Modify said: its targets (kind, value or pseudonym), warrant, kinds."""

    def __init__(self) -> None:
        self.targets: dict[str, list[tuple[str, str, bool]]] = {}  # xid -> (kind, value, value is a pseudonym)
        self.liid: dict[str, str | None] = {}
        self.kinds: dict[str, list[str]] = {}
        self.delivery: dict[str, str | None] = {}

    def remember(self, m: X1Message) -> None:
        self.targets[m.xid] = [(k, v, False) for k, v in m.targets]
        self.liid[m.xid], self.kinds[m.xid], self.delivery[m.xid] = m.liid, m.data_kinds, m.delivery

    def load_from_ledger(self, store: Store, xids: list[str]) -> None:
        """The targets, warrant and kinds of tasks whose last Activate/Modify is already in the ledger."""
        if not xids or not store.segment_paths():
            return
        con = store.connect()
        try:
            listing = ", ".join(sql_text(x) for x in xids)
            rows = con.execute(
                f"""WITH mine AS (SELECT ts, subject_kind, subject, authority, attrs,
                                         json_extract_string(attrs, '$.xId') AS xid,
                                         json_extract_string(attrs, '$.message') AS message
                                  FROM events WHERE channel = '{CHANNEL}' AND operation <> '{DEACTIVATE}'),
                    last AS (SELECT xid, arg_max(message, ts) AS message FROM mine
                             WHERE xid IN ({listing}) GROUP BY xid)
                    SELECT m.xid, m.subject_kind, m.subject, m.authority, m.attrs FROM mine m
                    JOIN last l ON l.xid = m.xid AND l.message = m.message ORDER BY m.xid, m.subject"""
            ).fetchall()
        finally:
            con.close()
        for xid, kind, pseudonym, liid, attrs_text in rows:
            attrs = json.loads(attrs_text)
            self.targets.setdefault(xid, []).append((kind, pseudonym, True))
            self.liid[xid], self.kinds[xid] = liid, attrs.get("data_kinds", [])
            self.delivery[xid] = attrs.get("deliveryType")


def build_events(store: Store, messages: list[X1Message]) -> list[PendingEvent]:
    """The events of ``messages`` (any order), in time order (ties: line)."""
    agencies = {w.warrant_id: w.agency for w in read_warrants(store).values()}
    state = _TaskState()
    ordered = sorted(messages, key=lambda m: (m.ts_us, m.line))
    first_seen: dict[str, str] = {}
    for m in ordered:
        first_seen.setdefault(m.xid, m.message_type)
    state.load_from_ledger(store, sorted(x for x, kind in first_seen.items() if kind == DEACTIVATE))
    events = []
    for m in ordered:
        if m.message_type == DEACTIVATE:
            targets = state.targets.get(m.xid) or [(UNKNOWN, m.xid, False)]
            liid, kinds, delivery = state.liid.get(m.xid), state.kinds.get(m.xid, []), state.delivery.get(m.xid)
        else:
            state.remember(m)
            targets = [(k, v, False) for k, v in m.targets]
            liid, kinds, delivery = m.liid, m.data_kinds, m.delivery
        digest = _digest(m)
        agency = agencies.get(liid or "", UNKNOWN)
        attrs: dict[str, Any] = {"xId": m.xid, "x1TransactionId": m.transaction, "neIdentifier": m.ne,
                                 "admfIdentifier": m.admf, "deliveryType": delivery, "serviceTypes": m.services,
                                 "data_kinds": kinds, "startTime": m.start, "endTime": m.end,
                                 "message": digest[:24], "targets": len(targets)}
        data_kind = next((k for k in INTRUSION_ORDER if k in kinds), "metadata")
        for kind, value, is_pseudonym in targets:
            event_id = hashlib.sha256(f"{digest}|{kind}|{value}".encode()).hexdigest()[:32]
            events.append(PendingEvent(
                event_id, m.ts_us, agency, agency if agency != UNKNOWN else None, kind,
                "" if is_pseudonym else value, data_kind, m.message_type, m.line, attrs, "allowed", liid,
                value if is_pseudonym else None))
    return events
