"""The events of one file (a capture, an X1 message log) as columns: pseudonymised, deduplicated against the
batch and the store, then appended to the ledger with the file's rejections in quarantine.

Event ids are content hashes, checked within the batch and against the store's segments (Arrow's
``is_in``, one segment's ids at a time). Columns go to Arrow from buffers (``arrow_columns``): no pandas.
The signalling ingest imports it only once the decoding child is forked: these imports (Arrow, the ledger,
the store) are most of the CLI's start-up, and the child decodes meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from custodiet.arrow_columns import int64_array, string_array
from custodiet.events import EVENT_SCHEMA, canonical_json
from custodiet.ingest.pending import PendingEvent
from custodiet.ledger import append_events, heal
from custodiet.ledger.snapshot import take
from custodiet.pseudonym import Pseudonymiser
from custodiet.quarantine import write_quarantine
from custodiet.store import Store


@dataclass
class EventRows:
    """The events of one file as columns (Python lists), pseudonymised, in mapping order."""

    channel: str
    event_id: list[str]
    ts_us: list[int]
    actor: list[str]
    actor_org: list[str | None]
    subject: list[str]
    subject_kind: list[str]
    data_kind: list[str]
    operation: list[str]
    outcome: list[str]
    attrs: list[str]
    source: list[str]
    authority: list[str | None]

    @classmethod
    def of(cls, events: list[PendingEvent], source_name: str, pseudo: Pseudonymiser, channel: str) -> EventRows:
        """Columns of the events; each distinct identifier is pseudonymised once."""
        pseudonyms: dict[tuple[str, str], str] = {}

        def pseudonym(kind: str, value: str) -> str:
            key = (kind, value)
            hit = pseudonyms.get(key)
            if hit is None:
                hit = pseudonyms[key] = pseudo.of_normalised(kind, value)
            return hit

        attrs_text: list[str] = []
        last: dict | None = None  # events of one message may share one attrs dict: encoded once
        for e in events:
            attrs = e.attrs
            if attrs is last:
                attrs_text.append(attrs_text[-1])
                continue
            for kind in ("imsi", "msisdn"):
                value = attrs.pop(f"{kind}_normalised", None)
                if value is not None:
                    attrs[f"{kind}_pseudonym"] = pseudonym(kind, value)
            attrs_text.append(canonical_json(attrs))
            last = attrs
        prefix = source_name + ":"
        return cls(
            channel=channel, event_id=[e.event_id for e in events], ts_us=[e.ts_us for e in events],
            actor=[e.actor for e in events], actor_org=[e.actor_org for e in events],
            subject=[e.subject_pseudonym or pseudonym(e.subject_kind, e.subject_value) for e in events],
            subject_kind=[e.subject_kind for e in events], data_kind=[e.data_kind for e in events],
            operation=[e.operation for e in events], outcome=[e.outcome for e in events], attrs=attrs_text,
            source=[prefix + str(e.frame) for e in events], authority=[e.authority for e in events],
        )

    def __len__(self) -> int:
        return len(self.event_id)

    def table(self, rows: list[int]) -> pa.Table:
        """Arrow table (canonical event schema) of the given rows, in that order."""
        n = len(rows)

        def pick(column: list) -> list:
            return [column[i] for i in rows]

        return pa.Table.from_arrays(
            [
                string_array(pick(self.event_id)),
                int64_array(pick(self.ts_us), pa.timestamp("us", tz="UTC")),
                string_array([self.channel] * n),
                string_array(pick(self.actor)),
                string_array(pick(self.actor_org)),
                string_array(pick(self.subject)),
                string_array(pick(self.subject_kind)),
                string_array(pick(self.data_kind)),
                string_array(pick(self.operation)),
                string_array(pick(self.authority)),
                string_array(pick(self.outcome)),
                pa.nulls(n, pa.int64()),
                string_array(pick(self.attrs)),
                string_array(pick(self.source)),
            ],
            schema=EVENT_SCHEMA,
        )


def fresh_rows(store: Store, rows: EventRows, segments: list[Path] | None = None) -> list[int]:
    """Rows to store, ordered by (ts, source): one per event_id, none already in ``segments`` (default: the
    segments of the newest signed state).

    Among rows sharing an event_id (which hashes the timestamp) the one with the smallest source is kept.
    """
    ids = rows.event_id
    seen: set[str] = set()
    keep = []
    for _, _, i in sorted(zip(rows.ts_us, rows.source, range(len(ids)), strict=True)):  # ties: capture order
        if ids[i] not in seen:
            seen.add(ids[i])
            keep.append(i)
    stored = _stored_ids(store, [ids[i] for i in keep], segments)
    return [i for i in keep if ids[i] not in stored] if stored else keep


def _stored_ids(store: Store, ids: list[str], segments: list[Path] | None = None) -> set[str]:
    """Which of ``ids`` the event ``segments`` (default: the newest signed state's) already hold (read one
    segment's ids at a time)."""
    paths = take(store).segments if segments is None else segments
    if not ids or not paths:
        return set()
    import pyarrow.compute as pc  # here: a fresh store never needs it (its import costs ~0.1 s)

    wanted = string_array(ids)
    found: set[str] = set()
    for path in paths:
        stored = pq.read_table(path, columns=["event_id"]).column("event_id")
        found.update(stored.filter(pc.is_in(stored, value_set=wanted)).to_pylist())
    return found


def _not_yet_quarantined(store: Store, name: str, channel: str, rejected: list[tuple[int, str, str | None]]
                         ) -> list[tuple[int, str, str | None]]:
    """Rejections of this file not already in quarantine (re-ingesting adds nothing twice)."""
    paths = store.quarantine_paths()
    if not rejected or not paths:
        return rejected
    import pyarrow.compute as pc  # here, as in ``_stored_ids``

    seen: set[tuple[int, str]] = set()
    for path in paths:
        q = pq.read_table(path, columns=["source", "line", "reason", "channel"])
        mine = q.filter(pc.and_(pc.equal(q.column("channel"), channel), pc.equal(q.column("source"), name)))
        seen.update(zip(mine.column("line").to_pylist(), mine.column("reason").to_pylist(), strict=True))
    return [r for r in rejected if (r[0], r[1]) not in seen]


def store_batch(store: Store, name: str, rows: EventRows, rejected: list[tuple[int, str, str | None]]
                ) -> tuple[int, int, int]:
    """Append the file's new events and new rejections (one ledger batch, one quarantine file);
    returns (stored, duplicates, quarantined)."""
    quarantined = 0
    before = take(store)
    keep = fresh_rows(store, rows, before.segments)  # the long part, outside the lock
    with store.writer(f"ingest {name}"):
        rejected = _not_yet_quarantined(store, name, rows.channel, rejected)
        heal(store)
        since = [e for e in take(store).entries if e.end_leaf > before.size]  # other writers' commits since
        if since:
            ids = rows.event_id
            stored = _stored_ids(store, [ids[i] for i in keep], [store.segments_dir / e.segment for e in since])
            keep = [i for i in keep if ids[i] not in stored]
        append_events(store, rows.table(keep))
        if rejected:
            rejected.sort(key=lambda r: r[0])
            quarantined = write_quarantine(
                store,
                sources=[name] * len(rejected),
                lines=[frame for frame, _, _ in rejected],
                reasons=[reason for _, reason, _ in rejected],
                raws=[raw for _, _, raw in rejected],
                channel=rows.channel,
            )
    return len(keep), len(rows) - len(keep), quarantined
