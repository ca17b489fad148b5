"""Small deterministic canonical events for the ledger tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
from hypothesis import strategies as st

from custodiet import ledger
from custodiet.events import EVENT_SCHEMA
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
