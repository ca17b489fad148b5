"""The C hashing engine gives byte-identical results to the hashlib engine (and so to pymerkle), on
every Arrow layout it reads in place, and the ledger falls back to hashlib when it is not built."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymerkle import InmemoryTree

from custodiet import ledger
from custodiet.events import EVENT_SCHEMA
from custodiet.ledger import hashing, merkle, native
from custodiet.ledger.encoding import encode_event, leaf_inputs
from custodiet.ledger.growth import Frontier
from custodiet.ledger.hashing import Hasher, NativeHasher, event_fingerprints, fingerprint, hashlib_pairs

from .helpers import event, event_rows, events


def test_extension_is_built():
    """`make install` installs the compiler and OpenSSL headers, so the C engine must be there."""
    assert native.AVAILABLE, f"C extension not built: {native.IMPORT_ERROR}"

# long values (a short text repeated) make a record outgrow the C encoder's first 4 KiB scratch buffer
text = st.text(max_size=10) | st.builds(str.__mul__, st.text(min_size=1, max_size=4), st.integers(1500, 2500))
rows = event_rows(text, 1800, 2300)


def reference_leaves(table: pa.Table) -> list[bytes]:
    """SHA-256(0x00 ‖ cev1) per row through the readable Python reference encoder."""
    return [hashlib.sha256(b"\x00" + encode_event(r)).digest() for r in table.to_pylist()]


def as_list(hashes: np.ndarray) -> list[bytes]:
    return [h.tobytes() for h in hashes]


@settings(max_examples=40, deadline=None)
@given(st.lists(rows, min_size=1, max_size=6), st.data())
def test_native_leaves_equal_the_reference_on_any_layout(batch, data):
    table = pa.Table.from_pylist(batch, schema=EVENT_SCHEMA)
    expected = reference_leaves(table)
    assert as_list(NativeHasher().leaves_of_table(table)) == expected
    assert as_list(Hasher().leaves_of_table(table)) == expected
    # the same rows as several chunks that start at non-zero Arrow offsets, columns chunked differently
    cut = data.draw(st.integers(min_value=0, max_value=len(batch)))
    doubled = pa.concat_tables([table, table])
    sliced = pa.concat_tables([doubled.slice(len(batch), cut), doubled.slice(cut, len(batch) - cut)])
    sliced = sliced.set_column(0, "event_id", table.column("event_id").combine_chunks())
    assert as_list(NativeHasher().leaves_of_table(sliced)) == expected


def test_null_empty_and_all_null_columns():
    base = [event(i) for i in range(5)]
    for e in base:
        e.update(actor_org=None, operation="", authority=None, records=None, attrs=None)
    table = pa.Table.from_pylist(base, schema=EVENT_SCHEMA)
    assert table.column("authority").null_count == 5
    assert as_list(NativeHasher().leaves_of_table(table)) == reference_leaves(table)
    assert NativeHasher().leaves_of_table(table.slice(0, 0)).shape == (0, 32)


def test_wider_input_types_are_cast_like_the_reference():
    table = events(0, 50)
    wide = table.set_column(3, "actor", table.column("actor").cast(pa.large_string()))
    assert as_list(NativeHasher().leaves_of_table(wide)) == reference_leaves(table)


@pytest.mark.parametrize("count", [0, 1, 255, 256, 257, 4099])
@pytest.mark.parametrize("threads", ["1", "2", "3"])
def test_node_hashes_equal_hashlib(count, threads, monkeypatch):
    monkeypatch.setenv("CUSTODIET_HASH_THREADS", threads)
    pairs = np.random.default_rng(count).integers(0, 256, (count, 64), dtype=np.uint8)
    ours = NativeHasher().pairs(pairs)
    assert ours.shape == (count, 32)
    assert np.array_equal(ours, hashlib_pairs(pairs).reshape(count, 32))
    if count:
        assert ours[-1].tobytes() == merkle.hash_children(pairs[-1, :32].tobytes(), pairs[-1, 32:].tobytes())


def test_leaves_do_not_depend_on_thread_count(monkeypatch):
    table = events(0, 3000)
    results = []
    for threads in ("1", "2", "5"):
        monkeypatch.setenv("CUSTODIET_HASH_THREADS", threads)
        results.append(NativeHasher().leaves_of_table(table))
    assert all(np.array_equal(results[0], r) for r in results[1:])
    assert as_list(results[0][:50]) == reference_leaves(table.slice(0, 50))


def test_bad_thread_setting_is_named(monkeypatch):
    monkeypatch.setenv("CUSTODIET_HASH_THREADS", "two")
    with pytest.raises(ValueError, match="CUSTODIET_HASH_THREADS"):
        native.threads()


@pytest.mark.parametrize("kind", [pa.binary(), pa.large_binary(), pa.string()])
def test_sha256_values_on_sliced_arrays(kind):
    values = [b"", b"a", b"\x00" * 70, "é".encode()] * 3
    array = pa.array(values if kind != pa.string() else [v.decode() for v in values], type=kind)[2:]
    expected = [hashlib.sha256(v).digest() for v in values[2:]]
    assert as_list(native.sha256_values(array)) == expected
    assert as_list(NativeHasher().values(leaf_inputs(events(0, 3)))) == reference_leaves(events(0, 3))


def test_event_fingerprints_match_the_python_path(monkeypatch):
    ids = pa.chunked_array([pa.array(["ev-1", "", "ünï"]), pa.array(["ev-2"])])
    fast = event_fingerprints(ids)
    monkeypatch.setattr(hashing, "BACKEND", "hashlib")
    assert np.array_equal(fast, event_fingerprints(ids))
    assert [int(f) for f in fast] == [fingerprint(e) for e in ids.to_pylist()]


def test_c_rejects_malformed_buffers():
    from custodiet.ledger import _fasthash

    offsets = np.array([0, 3, 99], dtype=np.int32)  # the second value runs past the data
    with pytest.raises(ValueError, match="row 1"):
        _fasthash.sha256_values(b"abcdef", offsets)
    with pytest.raises(ValueError, match="64-byte"):
        _fasthash.node_hashes(b"x" * 65)
    with pytest.raises(ValueError, match="shorter"):
        _fasthash.record_hashes([(1, 0, None, None, b"1234567")], 1, b"")
    with pytest.raises(ValueError, match="row 0"):
        _fasthash.record_hashes([(0, 0, None, np.array([5, 2], dtype=np.int32), b"abcdef")], 1, b"")


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 8, 9, 16, 17, 31, 32, 33, 100])
def test_native_tree_matches_pymerkle(size):
    inputs = [encode_event(event(i)) for i in range(size)]
    tree = InmemoryTree(algorithm="sha256")
    for data in inputs:
        tree.append_entry(data)
    frontier = Frontier()
    leaves = NativeHasher().leaves_of_table(events(0, size))
    for start in range(0, size, 7):  # several batches, as appends arrive
        frontier.extend(leaves[start : start + 7], NativeHasher().pairs)
    assert frontier.root() == tree.get_root(size)


def test_ledger_files_are_identical_with_either_engine(tmp_path):
    from custodiet.store import Store

    roots = {}
    for engine in (Hasher, NativeHasher):
        store = Store(tmp_path / engine.name)
        with store.writer():
            for a, b in ((0, 3), (3, 40), (40, 41)):
                ledger.append_events(store, events(a, b), engine())
        roots[engine.name] = [h["root_hash"] for h in ledger.heads(store)]
        result = ledger.verify(store, hasher=engine())
        assert result.ok, result.problem
        roots[engine.name].append((store.ledger_dir / "nodes.bin").read_bytes())
    assert roots["hashlib"] == roots["native"]


FALLBACK = """
import json, sys
sys.modules["custodiet.ledger._fasthash"] = None  # as if the extension had not been built
from custodiet import ledger
from custodiet.ledger import hashing, native
from custodiet.store import Store
from tests.ledger.helpers import append_batches
store = Store(sys.argv[1])
append_batches(store, [3, 5])
print(json.dumps({"backend": hashing.BACKEND, "available": native.AVAILABLE, "why": native.IMPORT_ERROR,
                  "engine": hashing.default_hasher().name, "engines": sorted(hashing.ENGINES),
                  "ok": ledger.verify(store).ok, "root": ledger.head(store)["root_hash"]}))
"""


def test_fallback_to_hashlib_without_the_extension(tmp_path, store):
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", FALLBACK, str(tmp_path / "fallback")], cwd=root,
                          capture_output=True, text=True, check=True)
    report = json.loads(done.stdout)
    assert report["backend"] == report["engine"] == "hashlib"
    assert report["available"] is False
    assert "_fasthash" in report["why"]
    assert report["engines"] == ["duckdb", "hashlib"]
    assert report["ok"] is True
    with store.writer():  # the same events through the C engine in this process
        ledger.append_events(store, events(0, 3), NativeHasher())
        ledger.append_events(store, events(3, 8), NativeHasher())
    assert ledger.head(store)["root_hash"] == report["root"]


def test_unknown_forced_backend_is_named(monkeypatch):
    monkeypatch.setattr(hashing, "BACKEND", "sha3")
    with pytest.raises(ValueError, match="CUSTODIET_LEDGER_HASH='sha3'"):
        hashing.default_hasher()
