"""Ledger speed: appending, one inclusion proof, verify — against pymerkle in the same run.

    .venv/bin/python bench/ledger.py [--events 1000000] [--batch 100000] [--proof-leaves 10000000]
                                     [--verify-events 2000000] [--pymerkle 200000]

Prints leaves/s for both hashing engines (hashlib loop, DuckDB sha256) and for pymerkle's bulk append,
the time of one inclusion proof from the node file at --proof-leaves leaves against pymerkle's at
--pymerkle leaves, and verify's events/s extrapolated to 20M events. Machines are shared: read ratios.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
from pymerkle import InmemoryTree

from custodiet import ledger
from custodiet.events import EVENT_SCHEMA
from custodiet.ledger import merkle
from custodiet.ledger.encoding import leaf_inputs
from custodiet.ledger.growth import grow
from custodiet.ledger.hashing import ENGINES, fingerprint
from custodiet.ledger.log import find_leaf
from custodiet.ledger.tree import LedgerPaths, NodeFile
from custodiet.store import Store


def batch(start: int, n: int) -> pa.Table:
    """Portal-like canonical events (about 250 bytes of leaf input each), built without Python rows."""
    i = np.arange(start, start + n)
    ids = pa.array(np.char.add("portal-", i.astype(str)))
    subjects = pa.array(np.char.add(np.char.zfill(i.astype(str), 24), "a" * 40))
    ts = pa.array((datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1e6 + i * 1_000_000).astype("int64")).cast(
        pa.timestamp("us", tz="UTC"))
    return pa.table({
        "event_id": ids, "ts": ts, "channel": pa.array(["portal"] * n),
        "actor": pa.array(np.char.add("officer-", (i % 997).astype(str))), "actor_org": pa.array(["U12"] * n),
        "subject": subjects, "subject_kind": pa.array(["msisdn"] * n), "data_kind": pa.array(["cdr"] * n),
        "operation": pa.array(["/api/v1/cdr"] * n), "authority": pa.nulls(n, pa.string()),
        "outcome": pa.array(["allowed"] * n), "records": pa.array(i % 50),
        "attrs": pa.array(['{"client_ip":"10.1.2.3"}'] * n),
        "source": pa.array(np.char.add("portal.csv:", (i + 2).astype(str))),
    }).cast(EVENT_SCHEMA)


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def bench_append(events: int, size: int, root: Path) -> None:
    tables = [batch(s, min(size, events - s)) for s in range(0, events, size)]
    for name, engine in ENGINES.items():
        store = Store(root / f"append-{name}")
        hasher = engine()
        hashing = 0.0
        nodes = np.empty((0, 32), np.uint8)

        def get(level: int, index: int, nodes_ref=lambda: nodes) -> bytes:
            return nodes_ref()[merkle.node_position(level, index)].tobytes()

        total = 0
        for t in tables:
            start = time.perf_counter()
            leaves = hasher.leaves_of_table(t)
            growth = grow(total, leaves, get, hasher.pairs)
            hashing += time.perf_counter() - start
            nodes = np.concatenate([nodes, growth.nodes])
            total += t.num_rows
        full = 0.0
        with store.writer():
            for t in tables:
                full += timed(lambda t=t, s=store, h=hasher: ledger.append_events(s, t, h))
        print(f"append [{name:7}] hashing+tree {events / hashing:>10,.0f} leaves/s   "
              f"append_events (segment+tree+head) {events / full:>10,.0f} leaves/s")
    sample = tables[0].slice(0, min(200_000, events))
    enc = timed(lambda: leaf_inputs(sample))
    print(f"  canonical encoding alone: {sample.num_rows / enc:,.0f} rows/s")


def bench_pymerkle(n: int) -> tuple[float, float]:
    entries = leaf_inputs(batch(0, n)).to_pylist()
    tree = InmemoryTree(algorithm="sha256")
    append = timed(lambda: [tree.append_entry(e) for e in entries])
    reps = 20
    rng = np.random.default_rng(1)
    idx = rng.integers(1, n + 1, reps)
    proof = timed(lambda: [tree.prove_inclusion(int(k), n) for k in idx]) / reps
    print(f"pymerkle: append {n / append:>10,.0f} leaves/s; one inclusion proof at {n:,} leaves "
          f"{proof * 1e3:.2f} ms")
    return n / append, proof


def bench_proof(n: int, root: Path) -> float:
    rng = np.random.default_rng(0)
    path = root / "nodes.bin"
    hasher = ENGINES["hashlib"]()
    step = 1 << 20
    with open(path, "wb") as fh:
        pass
    size = 0
    t0 = time.perf_counter()
    with NodeFile(path) as nodes:
        while size < n:
            leaves = rng.integers(0, 256, (min(step, n - size), 32), dtype=np.uint8)
            growth = grow(size, leaves, nodes.get, hasher.pairs)
            with open(path, "ab") as fh:
                fh.write(growth.nodes.tobytes())
            size = growth.new_size
    build = time.perf_counter() - t0
    reps = 2000
    with NodeFile(path) as nodes:
        root_hash = merkle.root(nodes.get, n)
        idx = rng.integers(0, n, reps)
        t = time.perf_counter()
        for k in idx:
            merkle.inclusion_path(nodes.get, int(k), n)
        per = (time.perf_counter() - t) / reps
        k = int(idx[0])
        assert merkle.verify_inclusion(k, n, nodes.get(0, k), merkle.inclusion_path(nodes.get, k, n), root_hash)
    print(f"inclusion proof from nodes.bin at {n:,} leaves: {per * 1e3:.3f} ms "
          f"(tree of random leaves grown at {n / build:,.0f} leaves/s)")
    return per


def bench_lookup(n: int, root: Path) -> None:
    """Event id -> leaf index through the fingerprint index (``ids.bin``) at ``n`` leaves."""
    store = Store(root / "lookup")
    store.init()
    fps = np.random.default_rng(2).integers(0, 2**63, n, dtype=np.uint64)
    fps[n - 7] = fingerprint("needle")
    fps.tofile(LedgerPaths.of(store).ids)
    reps = 20
    per = timed(lambda: [find_leaf(store, "needle", n) for _ in range(reps)]) / reps
    assert find_leaf(store, "needle", n) == n - 7
    print(f"event id lookup (ids.bin scan) at {n:,} leaves: {per * 1e3:.1f} ms")


def bench_verify(n: int, root: Path) -> None:
    store = Store(root / "verify")
    size = 500_000
    with store.writer():
        for s in range(0, n, size):
            ledger.append_events(store, batch(s, min(size, n - s)))
    quick = timed(lambda: ledger.verify(store, quick=True))
    result = None

    def run() -> None:
        nonlocal result
        result = ledger.verify(store)

    full = timed(run)
    assert result is not None
    assert result.ok, result
    print(f"verify over {n:,} events: full {full:.1f} s ({n / full:,.0f} events/s; 20M events ≈ "
          f"{20_000_000 / (n / full):.0f} s), quick {quick:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=100_000)
    parser.add_argument("--proof-leaves", type=int, default=10_000_000)
    parser.add_argument("--verify-events", type=int, default=2_000_000)
    parser.add_argument("--pymerkle", type=int, default=200_000)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory(prefix="custodiet-bench-") as tmp:
        root = Path(tmp)
        bench_append(args.events, args.batch, root)
        rate, pm_proof = bench_pymerkle(args.pymerkle)
        ours = bench_proof(args.proof_leaves, root)
        print(f"  ratio: pymerkle proof at {args.pymerkle:,} leaves / ours at {args.proof_leaves:,} = "
              f"{pm_proof / ours:.2f}x")
        bench_lookup(args.proof_leaves, root)
        bench_verify(args.verify_events, root)


if __name__ == "__main__":
    main()
