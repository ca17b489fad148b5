"""Every kind of tampering is found and named: by `verify` (full) and by `verify --quick`."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from custodiet import ledger
from custodiet.events import canonical_json
from custodiet.ledger.heads import sign_head
from custodiet.ledger.tree import LedgerPaths

from .helpers import rewrite_history, segment


def rewrite(path, table: pa.Table) -> None:
    pq.write_table(table, path, compression="zstd")


def replace_head(store, line: int, change) -> None:
    """Replace head number ``line`` (from 1) of heads.jsonl with ``change(old head)``."""
    path = LedgerPaths.of(store).heads
    lines = path.read_text().splitlines()
    lines[line - 1] = canonical_json(change(json.loads(lines[line - 1])))
    path.write_text("\n".join(lines) + "\n")


def test_one_field_changed(filled):
    path = segment(filled, 2)
    table = pq.read_table(path)
    actors = table.column("actor").to_pylist()
    actors[3] = "someone-else"  # ev-00007
    rewrite(path, table.set_column(table.schema.get_field_index("actor"), "actor", pa.array(actors)))
    result = ledger.verify(filled)
    assert not result.ok
    assert (result.problem.kind, result.problem.event_id, result.problem.segment) == ("altered", "ev-00007",
                                                                                    "00000002.parquet")
    assert result.problem.leaf_index == 7
    quick = ledger.verify(filled, quick=True)
    assert (quick.problem.kind, quick.problem.segment) == ("digest", "00000002.parquet")


def test_a_segment_dropped(filled):
    segment(filled, 2).unlink()
    result = ledger.verify(filled)
    assert (result.problem.kind, result.problem.segment, result.problem.leaf_index) == ("missing",
                                                                                      "00000002.parquet", 4)
    assert result.problem.event_id == "ev-00004"
    quick = ledger.verify(filled, quick=True)
    assert (quick.problem.kind, quick.problem.event_id) == ("missing", "ev-00004")


def test_rows_reordered(filled):
    path = segment(filled, 3)
    table = pq.read_table(path)
    rewrite(path, table.take(pa.array([0, 2, 1, 3, 4])))  # swap ev-00011 and ev-00012
    result = ledger.verify(filled)
    assert (result.problem.kind, result.problem.event_id, result.problem.segment) == ("reordered", "ev-00012",
                                                                                    "00000003.parquet")
    assert result.problem.leaf_index == 11


def test_a_row_deleted(filled):
    path = segment(filled, 1)
    table = pq.read_table(path)
    rewrite(path, table.filter(pc.not_equal(table.column("event_id"), "ev-00001")))
    result = ledger.verify(filled)
    assert (result.problem.kind, result.problem.segment, result.problem.leaf_index) == ("missing",
                                                                                      "00000001.parquet", 1)


def test_a_head_replaced(filled):
    key = Ed25519PrivateKey.from_private_bytes((filled.keys_dir / "ledger-signing.key").read_bytes())
    forged = sign_head(key, 10, b"\x11" * 32)  # a valid signature over a history that never was
    replace_head(filled, 2, lambda _: forged)
    for quick in (False, True):
        result = ledger.verify(filled, quick=quick)
        assert (result.problem.kind, result.problem.head_line) == ("head", 2)


def test_a_head_signed_by_another_key(filled):
    other_key = Ed25519PrivateKey.generate()
    replace_head(filled, 1, lambda h: sign_head(other_key, h["tree_size"], bytes.fromhex(h["root_hash"])))
    result = ledger.verify(filled, quick=True)
    assert (result.problem.kind, result.problem.head_line) == ("head", 1)
    assert "not the ledger's key" in result.problem.message


def test_a_signature_forged(filled):
    def flip(head: dict) -> dict:
        return {**head, "signature": ("00" if head["signature"][:2] != "00" else "11") + head["signature"][2:]}

    replace_head(filled, 3, flip)
    for quick in (False, True):
        result = ledger.verify(filled, quick=quick)
        assert (result.problem.kind, result.problem.head_line) == ("signature", 3)


def test_stored_tree_damaged_but_events_intact(filled):
    nodes = LedgerPaths.of(filled).nodes
    data = bytearray(nodes.read_bytes())
    data[2 * 32] ^= 1  # node (1, 0): inside the tree, not a peak any head reads directly
    nodes.write_bytes(bytes(data))
    result = ledger.verify(filled)
    assert not result.ok
    assert result.problem.kind in ("tree", "head")


def test_history_rewritten_with_the_key_is_caught_by_a_witness(filled, tmp_path):
    witnessed = ledger.heads(filled)

    def nines(tables: list[pa.Table]) -> list[pa.Table]:
        first = tables[0]
        column = pa.array([9] * first.num_rows, pa.int64())
        return [first.set_column(first.schema.get_field_index("records"), "records", column), *tables[1:]]

    rewrite_history(filled, nines)  # the operator rebuilds the tree and re-signs with the store's own key
    alone = ledger.verify(filled)
    assert alone.ok  # the store alone cannot tell
    assert "checked the store only against itself" in alone.trust
    result = ledger.verify(filled, witness=witnessed)
    assert not result.ok
    assert result.problem.kind == "witness"
