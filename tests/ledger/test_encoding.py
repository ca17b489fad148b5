"""The canonical leaf encoding: the vectorised build equals the readable reference, byte for byte."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from custodiet.events import EVENT_SCHEMA
from custodiet.ledger.encoding import encode_event, leaf_inputs
from custodiet.ledger.hashing import DuckDBHasher, Hasher

from .helpers import event, event_rows

events = event_rows(st.text(max_size=12), 1900, 2200)


@settings(max_examples=60, deadline=None)
@given(st.lists(events, min_size=1, max_size=8))
def test_vectorised_encoding_equals_reference(rows):
    table = pa.Table.from_pylist(rows, schema=EVENT_SCHEMA)
    built = leaf_inputs(table).to_pylist()
    assert built == [b"\x00" + encode_event(r) for r in rows]
    expected = [hashlib.sha256(b"\x00" + encode_event(r)).digest() for r in rows]
    assert [h.tobytes() for h in Hasher().leaves_of_table(table)] == expected
    assert [h.tobytes() for h in DuckDBHasher().leaves_of_table(table)] == expected


def test_layout_is_version_lengths_values():
    e = event(3)
    data = encode_event(e)
    assert data[:4] == b"cev1"
    assert int.from_bytes(data[4:8], "big") == len(e["event_id"])
    assert data[4 + 4 * 14 :].startswith(e["event_id"].encode())


def test_null_differs_from_empty_and_every_field_counts():
    base = event(1)
    seen = {encode_event(base)}
    for name in EVENT_SCHEMA.names:
        changed = dict(base)
        value = base[name]
        if isinstance(value, datetime):
            changed[name] = value + timedelta(microseconds=1)
        elif isinstance(value, int):
            changed[name] = value + 1
        else:
            changed[name] = (value or "") + "x"
        seen.add(encode_event(changed))
    assert len(seen) == len(EVENT_SCHEMA.names) + 1
    blank = dict(base, actor_org="")
    null = dict(base, actor_org=None)
    assert encode_event(blank) != encode_event(null)


def test_moving_bytes_between_fields_changes_the_encoding():
    a = dict(event(2), actor="ab", actor_org="c")
    b = dict(event(2), actor="a", actor_org="bc")
    assert encode_event(a) != encode_event(b)
