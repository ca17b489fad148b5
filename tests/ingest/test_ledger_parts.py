"""A ledger batch appended in parts equals the same batch appended whole, and verifies."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from custodiet.events import EVENT_SCHEMA
from custodiet.ledger import log, verify
from custodiet.store import Store


def _events(first: int, count: int) -> pa.Table:
    rows = [{"event_id": f"e{i}", "ts": 1_700_000_000_000_000 + i, "channel": "portal", "actor": f"off{i % 3}",
             "actor_org": None, "subject": f"{i:064x}", "subject_kind": "nid", "data_kind": "cdr",
             "operation": None, "authority": None, "outcome": "allowed", "records": i % 5, "attrs": None,
             "source": f"f.csv:{i + 2}"} for i in range(first, first + count)]
    return pa.Table.from_pylist(rows, schema=EVENT_SCHEMA)


@pytest.mark.parametrize("cuts", [[5], [1, 1, 1], [3, 4, 9], [8, 0, 8]])
def test_parts_make_the_same_ledger_as_whole_batches(tmp_path, monkeypatch, cuts):
    key = tmp_path / "pseudonym.key"
    key.write_bytes(b"k" * 32)
    monkeypatch.setenv("CUSTODIET_KEY_FILE", str(key))
    whole, parted = Store(tmp_path / "whole"), Store(tmp_path / "parted")
    first = 0
    for batch in range(2):  # two batches: the second grows a tree that is already stored
        tables = [_events(first + sum(cuts[:k]), n) for k, n in enumerate(cuts)]
        first += sum(cuts)
        with whole.writer():
            log.append_events(whole, pa.concat_tables(tables))
        with parted.writer():
            written = log.append_event_parts(parted, iter(tables))
        assert written is not None
        assert written.name == f"{batch + 1:08d}.parquet"
    assert [h["root_hash"] for h in log.heads(whole)] == [h["root_hash"] for h in log.heads(parted)]
    assert [h["tree_size"] for h in log.heads(parted)] == [sum(cuts), 2 * sum(cuts)]
    for a, b in zip(whole.segment_paths(), parted.segment_paths(), strict=True):
        assert pq.read_table(a).equals(pq.read_table(b))
        assert pq.ParquetFile(b).num_row_groups == len([n for n in cuts if n])
    assert verify(parted).ok
    assert log.inclusion_proof(parted, "e3") == log.inclusion_proof(whole, "e3")


def test_no_rows_no_segment(store):
    with store.writer():
        assert log.append_event_parts(store, iter([_events(0, 0)])) is None
    assert store.segment_paths() == []


def test_a_failing_part_leaves_no_segment_behind(store):
    def parts():
        yield _events(0, 3)
        raise RuntimeError("the source broke")

    with store.writer(), pytest.raises(RuntimeError, match="the source broke"):
        log.append_event_parts(store, parts())
    assert store.segment_paths() == []
    assert not list(store.segments_dir.glob(".tmp-*"))
    with store.writer():
        log.append_event_parts(store, iter([_events(0, 2)]))
    assert verify(store).ok
