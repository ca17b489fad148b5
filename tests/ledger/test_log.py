"""Appending batches, signed heads, proofs from the store, and healing after a crash."""

from __future__ import annotations

import json
import stat

import pyarrow.parquet as pq
import pytest
from pymerkle import InmemoryTree

from custodiet import ledger
from custodiet.ledger import journal, merkle
from custodiet.ledger.encoding import encode_event
from custodiet.ledger.heads import SIGNING_KEY_FILE, HeadsFile, head_problem, signed_message
from custodiet.ledger.tree import LedgerPaths, read_manifest

from .helpers import append_batches, append_batches_at, event, events, publish_then_crash


def reference(n: int) -> InmemoryTree:
    tree = InmemoryTree(algorithm="sha256")
    for i in range(n):
        tree.append_entry(encode_event(event(i)))
    return tree


def test_every_batch_gets_a_signed_head(store):
    n = append_batches(store, [1, 2, 5, 8, 1])
    heads = ledger.heads(store)
    tree = reference(n)
    assert [h["tree_size"] for h in heads] == [1, 3, 8, 16, 17]
    for h in heads:
        assert head_problem(h) is None
        assert bytes.fromhex(h["root_hash"]) == tree.get_root(h["tree_size"])
        assert json.loads(signed_message(h)) == {k: v for k, v in h.items() if k != "signature"}
    assert ledger.head(store) == heads[-1]
    key = store.keys_dir / SIGNING_KEY_FILE
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert [e.rows for e in read_manifest(LedgerPaths.of(store).manifest)] == [1, 2, 5, 8, 1]


def test_empty_batch_writes_nothing(store):
    append_batches(store, [3])
    with store.writer():
        assert ledger.append_events(store, events(0, 0)) is None
    assert len(ledger.heads(store)) == 1


def test_inclusion_proofs_by_event_id(store):
    n = append_batches(store, [4, 9, 3])
    tree = reference(n)
    for i in (0, 3, 4, 12, 15):
        proof = ledger.inclusion_proof(store, f"ev-{i:05d}")
        assert proof["leaf_index"] == i
        assert proof["tree_size"] == n
        assert [bytes.fromhex(h) for h in proof["inclusion_path"]] == tree.prove_inclusion(i + 1, n).path[1:]
        assert ledger.verify_inclusion(i, n, bytes.fromhex(proof["leaf_hash"]),
                                       [bytes.fromhex(h) for h in proof["inclusion_path"]],
                                       bytes.fromhex(proof["root_hash"]))
    older = ledger.inclusion_proof(store, "ev-00002", tree_size=4)
    assert bytes.fromhex(older["root_hash"]) == tree.get_root(4)
    with pytest.raises(ledger.LedgerError, match="not among the first 4 leaves"):
        ledger.inclusion_proof(store, "ev-00010", tree_size=4)
    with pytest.raises(ledger.LedgerError, match="not among"):
        ledger.inclusion_proof(store, "no-such-event")


def test_consistency_between_heads(store):
    append_batches(store, [1, 1, 6, 9])
    heads = ledger.heads(store)
    for old in heads:
        for new in heads:
            if old["tree_size"] > new["tree_size"]:
                continue
            doc = ledger.consistency_proof(store, old["tree_size"], new["tree_size"])
            assert doc["first_root"] == old["root_hash"]
            assert doc["second_root"] == new["root_hash"]
            proof = [bytes.fromhex(h) for h in doc["proof"]]
            assert ledger.verify_consistency(doc["first_size"], doc["second_size"],
                                             bytes.fromhex(doc["first_root"]), bytes.fromhex(doc["second_root"]), proof)
    with pytest.raises(ledger.LedgerError):
        ledger.consistency_proof(store, 5, 2)
    with pytest.raises(ledger.LedgerError):
        ledger.consistency_proof(store, 1, 99)


def test_crash_after_segment_before_tree_is_healed(store):
    append_batches(store, [3])
    publish_then_crash(store, events(3, 8))  # the process dies here: events kept, tree not updated
    assert journal.read_journal(store)[0].segment == "00000002.parquet"
    assert ledger.head(store)["tree_size"] == 3  # a reader sees the last signed state and repairs nothing
    result = ledger.verify(store)  # verify reports the pending segment but neither heals nor signs
    assert result.ok, result.problem
    assert result.tree_size == 3
    assert any("00000002.parquet (5 events) was journaled" in n for n in result.notes)
    assert [h["tree_size"] for h in HeadsFile.read(LedgerPaths.of(store).heads).heads] == [3]
    ledger.ensure_healed(store)  # the next writer heals
    assert ledger.head(store)["tree_size"] == 8
    assert journal.read_journal(store) == []
    append_batches_from = 8
    with store.writer():
        ledger.append_events(store, events(append_batches_from, 10))
    assert ledger.head(store)["tree_size"] == 10
    assert ledger.verify(store).ok
    assert bytes.fromhex(ledger.head(store)["root_hash"]) == reference(10).get_root(10)


def test_crash_before_head_is_healed_without_doubling(store, monkeypatch):
    append_batches(store, [2])
    with monkeypatch.context() as m:
        m.setattr(journal, "clear", lambda _store: None)  # the process dies before it empties the journal
        append_batches_at(store, 2, 3)
    assert [r.segment for r in journal.read_journal(store)] == ["00000002.parquet"]
    paths = LedgerPaths.of(store)
    lines = paths.heads.read_text().splitlines(keepends=True)
    paths.heads.write_text("".join(lines[:-1]) + lines[-1][:40])  # last head torn mid-write
    assert ledger.head(store)["tree_size"] == 2  # readers: the last complete head
    torn = ledger.verify(store)  # read-only: the torn head is the journaled append's, left to the writer
    assert torn.ok, torn.problem
    assert torn.tree_size == 2
    assert any("heads.jsonl:2 is a head being written, or cut short" in n for n in torn.notes)
    saved = journal.journal_path(store).read_bytes()
    journal.clear(store)
    unjournaled = ledger.verify(store)  # without the journal, a cut line is no one's: a problem
    assert (unjournaled.problem.kind, unjournaled.ok) == ("head", False)
    assert "heads.jsonl:2: not a JSON head" in unjournaled.problem.message
    journal.journal_path(store).write_bytes(saved)
    ledger.ensure_healed(store)  # the next writer re-signs the batch, once
    assert ledger.head(store)["tree_size"] == 5
    assert [h["tree_size"] for h in ledger.heads(store)] == [2, 5]
    assert len(read_manifest(paths.manifest)) == 2
    assert paths.nodes.stat().st_size == merkle.node_count(5) * 32
    assert ledger.verify(store).ok


def test_crash_with_partial_nodes_is_truncated(store):
    append_batches(store, [4])
    paths = LedgerPaths.of(store)
    with open(paths.nodes, "ab") as fh:
        fh.write(b"\x07" * 50)  # a torn append of nodes for a batch whose segment never landed
    with store.writer():
        ledger.append_events(store, events(4, 6))
    assert ledger.head(store)["tree_size"] == 6
    assert ledger.verify(store).ok


def test_heal_refuses_a_lost_tree(store):
    append_batches(store, [4])
    LedgerPaths.of(store).nodes.write_bytes(b"")
    with pytest.raises(ledger.LedgerError, match="tree state lost"), store.writer():
        ledger.heal(store)


def test_segment_rows_are_the_leaves(store):
    append_batches(store, [2, 2])
    rows = [r for p in store.segment_paths() for r in pq.read_table(p).column("event_id").to_pylist()]
    assert rows == [f"ev-{i:05d}" for i in range(4)]
