"""Small deterministic canonical events for the ledger tests."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import strategies as st

from custodiet import ledger
from custodiet.events import EVENT_SCHEMA
from custodiet.ledger import journal
from custodiet.ledger.encoding import conform
from custodiet.ledger.heads import last_head
from custodiet.ledger.segments import SegmentWriter
from custodiet.ledger.signing import key_record_path, writer_signer
from custodiet.ledger.tree import LedgerPaths
from custodiet.store import Store

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def event(i: int) -> dict:
    return {
        "event_id": f"ev-{i:05d}",
        "ts": T0 + timedelta(seconds=17 * i),
        "channel": "portal",
        "actor": f"officer-{i % 7}",
        "actor_org": None if i % 5 == 0 else "U12",
        "subject": f"{i * 7919 % 100003:064x}",
        "subject_kind": "msisdn",
        "data_kind": ("cdr", "location", "identity")[i % 3],
        "operation": "/api/lookup",
        "authority": None if i % 2 else f"case-{i % 11}",
        "outcome": "allowed",
        "records": i % 4,
        "attrs": f'{{"client_ip":"10.0.0.{i % 250}"}}',
        "source": f"portal.csv:{i + 2}",
    }


def event_rows(text: st.SearchStrategy[str], first_year: int, last_year: int) -> st.SearchStrategy[dict]:
    """Any canonical event (text fields drawn from ``text``, nullable where the schema allows)."""
    optional = st.none() | text
    return st.fixed_dictionaries({
        "event_id": text, "ts": st.datetimes(min_value=datetime(first_year, 1, 1), max_value=datetime(last_year, 1, 1),
                                             timezones=st.just(UTC)),
        "channel": text, "actor": text, "actor_org": optional, "subject": text, "subject_kind": text,
        "data_kind": text, "operation": optional, "authority": optional, "outcome": text,
        "records": st.none() | st.integers(min_value=-(2**63), max_value=2**63 - 1), "attrs": optional,
        "source": text,
    })


def events(start: int, end: int) -> pa.Table:
    return pa.Table.from_pylist([event(i) for i in range(start, end)], schema=EVENT_SCHEMA)


def append_batches(store: Store, sizes: list[int]) -> int:
    """Append batches of the given sizes; returns the number of events appended."""
    n = 0
    with store.writer():
        for size in sizes:
            ledger.append_events(store, events(n, n + size))
            n += size
    return n


def rewrite_history(store: Store, change: Callable[[list[pa.Table]], list[pa.Table]] | None = None) -> None:
    """What whoever runs the store and holds a signing key can do: rebuild the whole ledger from the
    (changed) events of its segments and sign it anew, with whatever key the writer is configured for."""
    tables = [pq.read_table(p) for p in store.segment_paths()]
    tables = change(tables) if change else tables
    shutil.rmtree(store.ledger_dir)
    key_record_path(store).unlink(missing_ok=True)
    with store.writer():
        for table in tables:
            ledger.append_events(store, table)


def append_batches_at(store: Store, first: int, size: int) -> None:
    """Append events ``first .. first+size-1`` as one batch."""
    with store.writer():
        ledger.append_events(store, events(first, first + size))


def publish_then_crash(store: Store, table: pa.Table, rename: bool = True) -> None:
    """What an append does up to renaming its segment into place (journal record included), then it dies:
    no tree nodes, no manifest line, no head. With ``rename`` False it dies just before the rename."""
    with store.writer():
        size = ledger.heal(store)
        signer = writer_signer(store, last_head(LedgerPaths.of(store).heads))
        writer = SegmentWriter(store)
        writer.write(conform(table))
        record = journal.recorder(store, signer, size, table.num_rows)
        if rename:
            writer.publish(record)
        else:
            writer._writer.close()
            record(writer._tmp, writer.path)


def segment(store: Store, number: int) -> Path:
    """The path of the ledger's segment ``number``."""
    return store.segments_dir / f"{number:08d}.parquet"
