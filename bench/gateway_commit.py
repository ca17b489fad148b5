"""Gateway group commit: commits/s and the latency a commit adds, against a bare write + fsync per group.

    .venv/bin/python bench/gateway_commit.py [--rates 100,500,1000] [--seconds 10] [--max-wait 0]
                                              [--min-interval 0] [--segments 0]

For each rate, requests arrive open-loop (Poisson, seeded) for --seconds and each awaits
``GroupCommitter.commit``; latency is from a request's arrival to its commit's return. The reference runs
the same committer with the ledger append replaced by a bare ``os.write`` + ``os.fsync`` of the group's
Parquet bytes (what one durable write of the same data costs on this disk); the ratio of the two p50s is
what the ledger's own work (journal, segment rename, tree nodes, manifest, signed head: six fsyncs) costs.
Also prints the appends (= segments) per minute each rate makes.

``--segments N`` then measures what many small segments cost: it appends N groups of 8 events, timing the
append at the start and the end, then ``verify``, a snapshot, DuckDB queries over the events view and the
committer under load (``--segments-rate``) on that ledger.
Machines are shared: read the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import random
import secrets
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from custodiet import ledger
from custodiet.events import EVENT_SCHEMA
from custodiet.gateway.committer import GroupCommitter, event_row
from custodiet.ledger.snapshot import take
from custodiet.store import Store


def gateway_event(i: int) -> dict[str, Any]:
    return {
        "event_id": secrets.token_hex(16), "ts": datetime.now(UTC), "channel": "gateway",
        "actor": f"officer-{i % 300}", "actor_org": f"U{i % 12}", "subject": secrets.token_hex(32),
        "subject_kind": "msisdn", "data_kind": ("location", "cdr", "identity")[i % 3],
        "operation": "GET /v1/lookup", "authority": f"case-{i % 97}", "outcome": "allowed", "records": 1,
        "attrs": {"client_ip": f"10.0.{i % 200}.{i % 250}", "decision": "case", "status": 200},
        "source": f"gateway:{os.getpid()}",
    }


class BareFsyncCommitter(GroupCommitter):
    """The reference: the same grouping, but a group is one ``os.write`` + ``os.fsync`` of its Parquet bytes."""

    def __init__(self, store: Store, **kwargs: Any):
        super().__init__(store, **kwargs)
        store.init()
        self._fd = os.open(store.home / "bare.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def _append_group(self, rows: list[dict[str, Any]]) -> float:
        table = pa.Table.from_pylist(rows, schema=EVENT_SCHEMA)
        sink = io.BytesIO()
        pq.write_table(table, sink, compression="zstd")
        started = time.perf_counter()
        os.write(self._fd, sink.getvalue())
        os.fsync(self._fd)
        return time.perf_counter() - started


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def load(committer: GroupCommitter, rate: float, seconds: float, seed: int) -> dict[str, float]:
    """Open-loop Poisson arrivals at ``rate`` per second for ``seconds``; each arrival commits one event."""
    rng = random.Random(seed)
    await committer.start()
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    failures = 0

    async def one(i: int, arrival: float) -> None:
        nonlocal failures
        try:
            await committer.commit(gateway_event(i))
        except Exception:  # noqa: BLE001 - counted and reported
            failures += 1
            return
        latencies.append(loop.time() - arrival)

    tasks = []
    start = loop.time()
    at, i = start, 0
    while at < start + seconds:
        delay = at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, at)))
        i += 1
        at += rng.expovariate(rate)
    await asyncio.gather(*tasks)
    elapsed = loop.time() - start
    await committer.stop()
    groups = committer.stats.groups
    return {"requests": i, "failures": failures, "commits_per_s": len(latencies) / elapsed,
            "p50_ms": 1000 * pct(latencies, 0.5), "p99_ms": 1000 * pct(latencies, 0.99),
            "groups": groups, "mean_group": len(latencies) / max(groups, 1),
            "segments_per_min": 60 * groups / elapsed,
            "append_p50_ms": 1000 * statistics.median(committer.stats.append_seconds or [0.0]),
            "append_mean_ms": 1000 * statistics.fmean(committer.stats.append_seconds or [0.0])}


def run_rates(rates: list[float], seconds: float, max_wait: float, min_interval: float, workdir: Path) -> None:
    print(f"{'rate/s':>7} {'what':<10} {'commits/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'groups':>6} {'per grp':>7} "
          f"{'segs/min':>8} {'write p50':>9} {'mean':>7}")
    for rate in rates:
        results = {}
        for name, cls in (("ledger", GroupCommitter), ("bare fsync", BareFsyncCommitter)):
            home = workdir / f"{name.replace(' ', '-')}-{rate:g}"
            committer = cls(Store(home), max_wait_s=max_wait, min_interval_s=min_interval)
            r = asyncio.run(load(committer, rate, seconds, seed=int(rate)))
            results[name] = r
            print(f"{rate:>7g} {name:<10} {r['commits_per_s']:>9.0f} {r['p50_ms']:>7.1f} {r['p99_ms']:>7.1f} "
                  f"{r['groups']:>6.0f} {r['mean_group']:>7.1f} {r['segments_per_min']:>8.0f} "
                  f"{r['append_p50_ms']:>7.1f}ms {r['append_mean_ms']:>5.1f}ms"
                  + (f"  ({r['failures']:.0f} failed)" if r["failures"] else ""))
        ratio = results["ledger"]["p50_ms"] / max(results["bare fsync"]["p50_ms"], 1e-9)
        print(f"{'':>7} ratio p50 ledger / bare fsync: {ratio:.1f}x")


def many_segments(n: int, workdir: Path, rate: float, seconds: float, home: Path | None = None) -> None:
    """Append ``n`` groups of 8 events (to ``home``, up to ``n`` segments, when given); time an append early and
    late, then verify, a snapshot, DuckDB queries, and the committer under load at ``rate`` on that ledger."""
    store = Store(home or workdir / "many")
    times = []
    for g in range(len(store.segment_paths()), n):
        table = pa.Table.from_pylist([event_row(gateway_event(g * 8 + k)) for k in range(8)], schema=EVENT_SCHEMA)
        t = time.perf_counter()
        with store.writer("bench", catalog=False):
            ledger.append_events(store, table)
        times.append(time.perf_counter() - t)
    k = max(1, min(100, len(times) // 10))
    if times:
        print(f"{n} segments of 8 events: append p50 first {k}: {1000 * statistics.median(times[:k]):.1f} ms, "
              f"last {k}: {1000 * statistics.median(times[-k:]):.1f} ms")
    t = time.perf_counter()
    ok = ledger.verify(store).ok
    print(f"verify: {time.perf_counter() - t:.2f} s (ok={ok})")
    t = time.perf_counter()
    take(store)
    print(f"snapshot (take): {1000 * (time.perf_counter() - t):.1f} ms")
    t = time.perf_counter()
    con = store.connect()
    count = con.execute("SELECT count(*) FROM events").fetchone()
    print(f"DuckDB connect + count(*) over {n} segments: {time.perf_counter() - t:.2f} s ({count[0] if count else 0} "
          "events)")
    t = time.perf_counter()
    con.execute("SELECT actor, count(*) FROM events GROUP BY actor").fetchall()
    print(f"DuckDB group by actor: {time.perf_counter() - t:.2f} s")
    t = time.perf_counter()
    store.write_catalog()
    print(f"write_catalog: {time.perf_counter() - t:.2f} s")
    if rate:
        before = len(store.segment_paths())
        r = asyncio.run(load(GroupCommitter(store), rate, seconds, seed=1))
        print(f"committer at {rate:g}/s on a ledger of {before} segments: {r['commits_per_s']:.0f} commits/s, "
              f"p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, {r['mean_group']:.1f} events per group, "
              f"append p50 {r['append_p50_ms']:.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rates", default="100,500,1000", help="arrival rates, requests per second")
    ap.add_argument("--seconds", type=float, default=10.0, help="seconds of load per rate")
    ap.add_argument("--max-wait", type=float, default=0.0, help="the committer's max_wait_s")
    ap.add_argument("--min-interval", type=float, default=0.0, help="the committer's min_interval_s")
    ap.add_argument("--segments", type=int, default=0, help="also measure a ledger of this many small segments")
    ap.add_argument("--segments-rate", type=float, default=500.0,
                    help="after --segments, load the committer on that ledger at this rate (0: skip)")
    ap.add_argument("--segments-home", type=Path, default=None,
                    help="build (or reuse, up to --segments) the many-segment ledger here instead of a temp folder")
    ap.add_argument("--dir", type=Path, default=None, help="work folder (default: a temp folder, removed)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        work = Path(tmp)
        if args.rates:
            run_rates([float(r) for r in args.rates.split(",")], args.seconds, args.max_wait, args.min_interval, work)
        if args.segments:
            many_segments(args.segments, work, args.segments_rate, args.seconds, args.segments_home)


if __name__ == "__main__":
    main()
