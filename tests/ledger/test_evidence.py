"""Evidence against the people who run the store: whatever they plant, delete, replace or cut in the ledger
folder, `verify` names the file and the first event concerned, and no writer ever signs it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from custodiet import ledger
from custodiet.events import canonical_json
from custodiet.ledger import journal, merkle
from custodiet.ledger.heads import SIGNING_KEY_FILE, sign_head
from custodiet.ledger.signing import key_record_path
from custodiet.ledger.tree import LedgerPaths
from custodiet.store import Store
from tests.conftest import run_cli

from .helpers import append_batches, append_batches_at, events, publish_then_crash, segment


def snapshot(store) -> dict[str, bytes]:
    """Every file under the store's ledger and keys folders, by path, with its bytes."""
    return {str(p.relative_to(store.home)): p.read_bytes()
            for folder in (store.ledger_dir, store.keys_dir) for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_never_signed(store, heads_before: bytes) -> None:
    """The next append refuses, and the heads file is exactly what it was."""
    with pytest.raises(ledger.LedgerError), store.writer():
        ledger.append_events(store, events(100, 102))
    assert LedgerPaths.of(store).heads.read_bytes() == heads_before


def test_a_planted_segment_is_foreign_and_never_signed(filled):
    heads_before = LedgerPaths.of(filled).heads.read_bytes()
    table = pq.read_table(segment(filled, 2))
    ids = pa.array([f"planted-{i}" for i in range(table.num_rows)])
    pq.write_table(table.set_column(0, "event_id", ids), segment(filled, 4))  # the next number, new ids
    before = snapshot(filled)
    for quick in (False, True):
        result = ledger.verify(filled, quick=quick)
        assert not result.ok
        assert (result.problem.kind, result.problem.segment, result.problem.event_id) == (
            "foreign", "00000004.parquet", "planted-0")
        assert "ledger/segments/00000004.parquet" in result.problem.message
    assert snapshot(filled) == before  # verify wrote nothing, healed nothing, signed nothing
    assert_never_signed(filled, heads_before)
    with pytest.raises(ledger.LedgerError, match="00000004.parquet is not the writer's"), filled.writer():
        ledger.heal(filled)


def test_a_planted_segment_with_a_forged_journal_record_is_still_foreign(filled):
    heads_before = LedgerPaths.of(filled).heads.read_bytes()
    shutil.copy(segment(filled, 3), segment(filled, 4))
    path = segment(filled, 4)
    forged = journal.JournalRecord("00000004.parquet", path.stat().st_size, journal.file_digest(path), 5, 15, 20,
                                   "00" * 64)
    journal.journal_path(filled).write_text(json.dumps(forged.__dict__) + "\n")
    result = ledger.verify(filled)
    assert (result.problem.kind, result.problem.segment) == ("foreign", "00000004.parquet")
    assert "not signed by the ledger's key" in result.problem.message
    assert_never_signed(filled, heads_before)


def test_a_journaled_segment_replaced_after_the_crash_is_foreign(store):
    append_batches(store, [3])
    publish_then_crash(store, events(3, 6))
    shutil.copy(segment(store, 1), segment(store, 2))  # swapped for other bytes before the writer healed
    result = ledger.verify(store)
    assert (result.problem.kind, result.problem.segment) == ("foreign", "00000002.parquet")
    assert "the journal recorded" in result.problem.message
    assert_never_signed(store, LedgerPaths.of(store).heads.read_bytes())


def test_a_foreign_file_beside_the_ledger_files_is_named(filled):
    (filled.ledger_dir / "heads.jsonl.bak").write_text("{}\n")
    result = ledger.verify(filled)
    assert result.problem.kind == "foreign"
    assert "ledger/heads.jsonl.bak" in result.problem.message


def test_the_writers_own_interrupted_append_is_pending_not_foreign(store):
    append_batches(store, [3])
    publish_then_crash(store, events(3, 8), rename=False)  # a writer died just before its rename
    publish_then_crash(store, events(3, 8))  # the next one died just after it
    before = snapshot(store)
    result = ledger.verify(store)
    assert result.ok, result.problem
    assert result.tree_size == 3
    assert any("00000002.parquet (5 events) was journaled" in n for n in result.notes)
    assert snapshot(store) == before
    append_batches_at(store, 8, 2)  # the next append adopts the journaled segment, then appends its own
    assert [h["tree_size"] for h in ledger.heads(store)] == [3, 8, 10]
    assert journal.read_journal(store) == []
    assert ledger.verify(store).ok


def test_a_segment_left_before_its_rename_is_not_adopted(store):
    append_batches(store, [3])
    publish_then_crash(store, events(3, 8), rename=False)
    result = ledger.verify(store)
    assert result.ok
    assert any("temp file of a write in progress or cut short" in n for n in result.notes)
    append_batches_at(store, 3, 2)
    assert [h["tree_size"] for h in ledger.heads(store)] == [3, 5]
    assert ledger.verify(store).ok


def test_heads_deleted(filled):
    heads = LedgerPaths.of(filled).heads
    heads.unlink()
    result = ledger.verify(filled)
    assert (result.problem.kind, result.problem.event_id, result.problem.segment) == ("head", "ev-00000",
                                                                                    "00000001.parquet")
    assert "heads.jsonl is missing or empty" in result.problem.message
    with pytest.raises(ledger.LedgerError, match="signed history is gone"), filled.writer():
        ledger.append_events(filled, events(100, 102))
    assert not heads.exists()


def test_heads_replaced_by_an_older_copy(filled):
    heads = LedgerPaths.of(filled).heads
    heads.write_text(heads.read_text().splitlines(keepends=True)[0])  # only the first head is left
    result = ledger.verify(filled)
    assert (result.problem.kind, result.problem.event_id, result.problem.segment, result.problem.leaf_index) == (
        "unsigned", "ev-00004", "00000002.parquet", 4)
    assert_never_signed(filled, heads.read_bytes())


def test_heads_replaced_by_heads_of_another_key(filled):
    other = Ed25519PrivateKey.generate()
    heads = LedgerPaths.of(filled).heads
    lines = [json.loads(line) for line in heads.read_text().splitlines()]
    heads.write_text("".join(canonical_json(sign_head(other, h["tree_size"], bytes.fromhex(h["root_hash"]))) + "\n"
                             for h in lines))
    result = ledger.verify(filled)
    assert (result.problem.kind, result.problem.head_line) == ("head", 1)
    assert "not the ledger's key" in result.problem.message
    assert_never_signed(filled, heads.read_bytes())


def test_signing_key_deleted(filled):
    heads_before = LedgerPaths.of(filled).heads.read_bytes()
    key = filled.keys_dir / SIGNING_KEY_FILE
    key.unlink()
    result = ledger.verify(filled)
    assert result.problem.kind == "key"
    assert "keys/ledger-signing.key is missing" in result.problem.message
    with pytest.raises(ledger.LedgerError, match="a new key would not be this ledger's"), filled.writer():
        ledger.append_events(filled, events(100, 102))
    assert not key.exists()  # no new key was made
    assert LedgerPaths.of(filled).heads.read_bytes() == heads_before


def test_signing_key_replaced(filled):
    heads_before = LedgerPaths.of(filled).heads.read_bytes()
    (filled.keys_dir / SIGNING_KEY_FILE).write_bytes(Ed25519PrivateKey.generate().private_bytes_raw())
    result = ledger.verify(filled)
    assert result.problem.kind == "key"
    assert "the signing key was replaced" in result.problem.message
    with pytest.raises(ledger.LedgerError, match=r"has fingerprint ed25519:\w+, but this ledger is signed by key "
                                                 r"ed25519:\w+"), filled.writer():
        ledger.append_events(filled, events(100, 102))
    assert LedgerPaths.of(filled).heads.read_bytes() == heads_before


def test_key_record_replaced_is_caught_by_the_heads(filled):
    other = Ed25519PrivateKey.generate().public_key().public_bytes_raw().hex()
    key_record_path(filled).write_text(json.dumps({"public_key": other, "custody": "file"}))
    result = ledger.verify(filled)
    assert not result.ok
    assert result.problem.kind in ("key", "head")


@pytest.mark.parametrize("cut", [32, 1, 200])
def test_nodes_truncated(filled, cut):
    nodes = LedgerPaths.of(filled).nodes
    size = nodes.stat().st_size
    heads_before = LedgerPaths.of(filled).heads.read_bytes()
    with open(nodes, "r+b") as fh:
        fh.truncate(size - cut)
    first_lost = next(i for i in range(15) if (merkle.node_position(0, i) + 1) * 32 > size - cut)
    for quick in (False, True):
        result = ledger.verify(filled, quick=quick)
        assert (result.problem.kind, result.problem.leaf_index) == ("tree", first_lost)
        assert "nodes.bin is truncated" in result.problem.message
        assert result.problem.event_id == f"ev-{first_lost:05d}"
    assert_never_signed(filled, heads_before)


def test_one_byte_edited_anywhere_in_any_segment(filled):
    """Every tenth byte of every segment, flipped in turn: named by verify, full and quick, every time."""
    for number in (1, 2, 3):
        path = segment(filled, number)
        original = path.read_bytes()
        for offset in range(0, len(original), 10):
            changed = bytearray(original)
            changed[offset] ^= 0x5A
            path.write_bytes(bytes(changed))
            full = ledger.verify(filled)
            assert not full.ok, (number, offset)
            assert full.problem.segment == path.name, (number, offset, full.problem)
            assert full.problem.event_id is not None, (number, offset, full.problem)
            quick = ledger.verify(filled, quick=True)
            assert (quick.problem.kind, quick.problem.segment) == ("digest", path.name)
        path.write_bytes(original)
    assert ledger.verify(filled).ok


def test_an_altered_event_stays_named_after_later_appends(filled):
    path = segment(filled, 2)
    table = pq.read_table(path)
    pq.write_table(table.filter(pc.not_equal(table.column("event_id"), "ev-00006")), path)
    append_batches_at(filled, 15, 2)  # the writer does not re-read signed segments; the head covers nodes.bin
    result = ledger.verify(filled)
    assert (result.problem.kind, result.problem.segment, result.problem.leaf_index) == ("missing",
                                                                                      "00000002.parquet", 6)


def test_an_ingest_into_a_ledger_with_a_planted_segment_stops_in_one_line(tmp_path):
    filled = Store(tmp_path / "home")
    assert filled.pseudonymiser is not None  # the store's key, made while it is empty
    append_batches(filled, [4, 6, 5])
    shutil.copy(segment(filled, 3), segment(filled, 4))
    log = tmp_path / "portal.csv"
    log.write_text("ts,actor,subject,subject_kind,data_kind,event_id\n"
                   "2026-03-01T10:00:00Z,off1,1000000007,nid,identity,n1\n")
    heads_before = LedgerPaths.of(filled).heads.read_bytes()
    proc = run_cli("ingest", "portal", str(log), home=filled.home, check=False)
    assert proc.returncode == 2
    assert "ledger/segments/00000004.parquet is not the writer's" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert LedgerPaths.of(filled).heads.read_bytes() == heads_before
    verdict = run_cli("verify", home=filled.home, check=False)
    assert verdict.returncode == 1
    assert "foreign: ledger/segments/00000004.parquet" in verdict.stderr


def test_verify_throughout_an_ingest_never_calls_the_writer_foreign(tmp_path):
    """Segments, manifest lines and heads appear while verify reads: the journal and a last look at the
    newest head tell an append under way (or just finished) from a planted file, every time."""
    log = tmp_path / "portal.csv"
    with open(log, "w") as fh:
        fh.write("ts,actor,subject,subject_kind,data_kind,event_id\n")
        for i in range(12_000):
            fh.write(f"2026-02-{1 + i % 28:02d}T{i % 24:02d}:00:00Z,off{i % 40},{1000000000 + i * 7},nid,identity,"
                     f"k{i}\n")
    home = tmp_path / "home"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(Path(p).resolve())
                                                       for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                                                       if p)}
    proc = subprocess.Popen([sys.executable, "-m", "custodiet", "--home", str(home), "ingest", "portal", str(log),
                             "--batch-rows", "300"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    store = Store(home)
    checked, sizes = 0, set()
    try:
        while proc.poll() is None:
            if (home / "ledger" / "heads.jsonl").exists():
                result = ledger.verify(store, quick=checked % 3 != 0)
                assert result.ok, result.problem
                sizes.add(result.tree_size)
                checked += 1
    finally:
        proc.wait(timeout=300)
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    final = ledger.verify(store)
    assert final.ok
    assert final.tree_size == 12_000
    assert checked >= 5
    assert len(sizes) >= 3  # verify ran between many different appends
