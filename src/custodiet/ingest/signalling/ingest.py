"""Ingest signalling captures into the ledger: decode, map to events, pseudonymise, dedupe, append.

One ledger batch and one quarantine file per capture. Re-ingesting a capture stores nothing twice:
event ids are content hashes, checked against the store (a DuckDB anti-join) and within the batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from custodiet.context.network import Registry
from custodiet.events import EVENT_SCHEMA, canonical_json
from custodiet.ingest.signalling.capture import CaptureError
from custodiet.ingest.signalling.decoder import CaptureDecoder, Failure
from custodiet.ingest.signalling.mapping import EventMapper, PendingEvent
from custodiet.ledger import append_events
from custodiet.quarantine import write_quarantine
from custodiet.store import Store

CHANNEL = "signalling"


@dataclass
class FileSummary:
    """What happened to one capture."""

    name: str
    frames: int = 0
    messages: int = 0  # TCAP and Diameter messages decoded
    events: int = 0  # events built
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # frames without signalling, by reason
    counts: dict[str, int] = field(default_factory=dict)  # messages by kind
    error: str | None = None  # set when the file could not be read at all


def build_table(events: list[PendingEvent], source_name: str, store: Store) -> pa.Table:
    """Arrow table of canonical events; subjects (and secondary identifiers in attrs) pseudonymised."""
    pseudo = store.pseudonymiser
    subjects = pseudo.of_many((e.subject_kind, e.subject_value) for e in events)
    attrs_text = []
    for e in events:
        attrs = e.attrs
        for kind in ("imsi", "msisdn"):
            value = attrs.pop(f"{kind}_normalised", None)
            if value is not None:
                attrs[f"{kind}_pseudonym"] = pseudo.of_normalised(kind, value)
        attrs_text.append(canonical_json(attrs))
    return pa.table(
        {
            "event_id": pa.array([e.event_id for e in events], pa.string()),
            "ts": pa.array([e.ts_us for e in events], pa.int64()).cast(pa.timestamp("us", tz="UTC")),
            "channel": pa.array([CHANNEL] * len(events), pa.string()),
            "actor": pa.array([e.actor for e in events], pa.string()),
            "actor_org": pa.array([e.actor_org for e in events], pa.string()),
            "subject": pa.array(subjects, pa.string()),
            "subject_kind": pa.array([e.subject_kind for e in events], pa.string()),
            "data_kind": pa.array([e.data_kind for e in events], pa.string()),
            "operation": pa.array([e.operation for e in events], pa.string()),
            "authority": pa.nulls(len(events), pa.string()),
            "outcome": pa.array([e.outcome for e in events], pa.string()),
            "records": pa.nulls(len(events), pa.int64()),
            "attrs": pa.array(attrs_text, pa.string()),
            "source": pa.array([f"{source_name}:{e.frame}" for e in events], pa.string()),
        },
        schema=EVENT_SCHEMA,
    )


def new_events(store: Store, table: pa.Table) -> pa.Table:
    """Rows whose event_id is neither already stored nor earlier in this batch."""
    if table.num_rows == 0:
        return table
    con = store.connect()
    try:
        con.register("batch", table)
        kept = con.execute(
            "SELECT * EXCLUDE (rn) FROM ("
            "  SELECT b.*, row_number() OVER (PARTITION BY b.event_id ORDER BY b.source) AS rn"
            "  FROM batch b ANTI JOIN events e ON b.event_id = e.event_id"
            ") WHERE rn = 1 ORDER BY ts, source"
        ).to_arrow_table()
    finally:
        con.close()
    return kept.cast(EVENT_SCHEMA)


def _not_yet_quarantined(store: Store, name: str, rejected: list[tuple[int, str, str | None]]
                         ) -> list[tuple[int, str, str | None]]:
    """Rejections of this capture not already in quarantine (re-ingesting adds nothing twice)."""
    if not rejected or not store.quarantine_paths():
        return rejected
    con = store.connect()
    try:
        seen = set(con.execute(
            "SELECT line, reason FROM quarantine WHERE channel = ? AND source = ?", [CHANNEL, name]
        ).fetchall())
    finally:
        con.close()
    return [r for r in rejected if (r[0], r[1]) not in seen]


def ingest_file(store: Store, path: Path, registry: Registry,
                progress: Callable[[int], None] | None = None) -> FileSummary:
    """Decode one capture and store its events and rejections; never raises for bad content."""
    summary = FileSummary(path.name)
    decoder = CaptureDecoder(path)
    mapper = EventMapper(path.name, registry)
    last_bytes = 0
    try:
        for record in decoder.records():
            summary.messages += 1
            mapper.add(record)
            if progress is not None and decoder.bytes_read - last_bytes > 1 << 20:
                progress(decoder.bytes_read - last_bytes)
                last_bytes = decoder.bytes_read
    except CaptureError as exc:
        if decoder.frames == 0:
            summary.error = str(exc)
            return summary
        decoder.failures.append(Failure(decoder.frames + 1, f"capture unreadable from here on: {exc}", None))
    if progress is not None:
        progress(decoder.bytes_read - last_bytes)
    summary.frames = decoder.frames
    summary.skipped = dict(decoder.skipped)
    summary.counts = dict(mapper.counts)
    table = build_table(mapper.events, path.name, store)
    summary.events = table.num_rows
    rejected = [(f.frame, f.reason, f.raw) for f in decoder.failures] + list(mapper.rejects)
    with store.writer():
        rejected = _not_yet_quarantined(store, path.name, rejected)
        fresh = new_events(store, table)
        summary.duplicates = table.num_rows - fresh.num_rows
        append_events(store, fresh)
        summary.stored = fresh.num_rows
        if rejected:
            rejected.sort(key=lambda r: r[0])
            summary.quarantined = write_quarantine(
                store,
                sources=[path.name] * len(rejected),
                lines=[frame for frame, _, _ in rejected],
                reasons=[reason for _, reason, _ in rejected],
                raws=[raw for _, _, raw in rejected],
                channel=CHANNEL,
            )
    return summary
