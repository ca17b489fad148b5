"""Ledger speed: appending, one inclusion proof, verify — against pymerkle in the same run.

    .venv/bin/python bench/ledger.py [--events 1000000] [--batch 100000] [--proof-leaves 10000000]
                                     [--verify-events 2000000] [--pymerkle 200000]

Prints leaves/s for every hashing engine (``native``: the C extension over OpenSSL, when built;
``hashlib``: the pure-Python fallback; ``duckdb``: DuckDB's vectorised sha256) against pymerkle's bulk
append, the time of one inclusion proof from the node file at --proof-leaves leaves against pymerkle's
at --pymerkle leaves, and verify's events/s (default engine) extrapolated to 20M events, against the
time pymerkle would take just to rebuild the same tree. Machines are shared: read the ratios.
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
from custodiet.ledger import merkle, native
from custodiet.ledger.encoding import leaf_inputs
from custodiet.ledger.growth import Frontier, grow
from custodiet.ledger.hashing import BACKEND, ENGINES, default_hasher, fingerprint
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


def bench_append(events: int, size: int, root: Path, pymerkle_rate: float) -> None:
    tables = [batch(s, min(size, events - s)) for s in range(0, events, size)]
    rates: dict[str, float] = {}
    for name, engine in ENGINES.items():
        store = Store(root / f"append-{name}")
        hasher = engine()
        hashing = 0.0
        cpu = time.process_time()
        frontier = Frontier()  # the tree's right edge: all that growing it by a batch reads
        for t in tables:
            start = time.perf_counter()
            frontier.extend(hasher.leaves_of_table(t), hasher.pairs)
            hashing += time.perf_counter() - start
        cpu = time.process_time() - cpu
        full = 0.0
        with store.writer():
            for t in tables:
                full += timed(lambda t=t, s=store, h=hasher: ledger.append_events(s, t, h))
        rates[name] = events / hashing
        print(f"append [{name:7}] hashing+tree {events / hashing:>10,.0f} leaves/s "
              f"({events / hashing / pymerkle_rate:5.1f}x pymerkle; {events / cpu:>10,.0f} per CPU-second)   "
              f"append_events (segment+tree+head) {events / full:>10,.0f} leaves/s")
    if "native" in rates:
        print(f"  ratio: native / hashlib hashing+tree = {rates['native'] / rates['hashlib']:.1f}x")
    sample = tables[0].slice(0, min(200_000, events))
    enc = timed(lambda: leaf_inputs(sample))
    print(f"  canonical encoding alone (Arrow/numpy, the hashlib path): {sample.num_rows / enc:,.0f} rows/s")


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
    hasher = default_hasher()
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


def bench_verify(n: int, root: Path, pymerkle_rate: float) -> None:
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
    print(f"  ratio: pymerkle only rebuilding the same tree ({n / pymerkle_rate:.1f} s) / our full verify "
          f"= {n / pymerkle_rate / full:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=100_000)
    parser.add_argument("--proof-leaves", type=int, default=10_000_000)
    parser.add_argument("--verify-events", type=int, default=2_000_000)
    parser.add_argument("--pymerkle", type=int, default=200_000)
    parser.add_argument("--parts", default="append,proof,lookup,verify",
                        help="comma-separated parts to run (pymerkle, the reference, always runs)")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    print(f"load average before: {os.getloadavg()}")
    print(f"default hashing backend: {BACKEND}" + (f" ({native.OPENSSL_VERSION}, {native.threads()} threads)"
                                                   if BACKEND == "native" else ""))
    with tempfile.TemporaryDirectory(prefix="custodiet-bench-") as tmp:
        root = Path(tmp)
        rate, pm_proof = bench_pymerkle(args.pymerkle)
        if "append" in parts:
            bench_append(args.events, args.batch, root, rate)
        if "proof" in parts:
            ours = bench_proof(args.proof_leaves, root)
            print(f"  ratio: pymerkle proof at {args.pymerkle:,} leaves / ours at {args.proof_leaves:,} = "
                  f"{pm_proof / ours:.2f}x")
        if "lookup" in parts:
            bench_lookup(args.proof_leaves, root)
        if "verify" in parts:
            bench_verify(args.verify_events, root, rate)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
