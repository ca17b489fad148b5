"""The portal world simulator against DuckDB rewriting the same access log, in one run.

    .venv/bin/python bench/simulate_portal.py [--actors 920] [--days 90] [--seed 1] [--keep DIR]

About 2,200 events per actor at the default 90 days, so 920 actors give ~2M events. The reference is
DuckDB reading the generated access_log.csv and writing it out again as CSV (2 threads): the least any
tool spends to merely produce a file of that size. Prints both times, the ratio, events per second and
the peak resident memory. Target: 2M events well under a minute.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

from custodiet.simulate.portal import PortalConfig, generate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--actors", type=int, default=920)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", type=Path, help="write the world here and keep it")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-simulate-"))
    out = args.keep or tmp / "world"
    try:
        began = time.perf_counter()
        truth = generate(PortalConfig(seed=args.seed, actors=args.actors, days=args.days), out)
        ours = time.perf_counter() - began
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        log = out / "access_log.csv"
        con = duckdb.connect()
        con.execute("SET threads = 2")
        began = time.perf_counter()
        con.execute(f"COPY (SELECT * FROM read_csv('{log}', all_varchar = true)) TO '{tmp / 'copy.csv'}' "
                    "(HEADER, DELIMITER ',')").fetchall()
        ref = time.perf_counter() - began
        con.close()

        events = int(truth["events"])  # type: ignore[call-overload]
        size_mb = log.stat().st_size / 1e6
        print(json.dumps({
            "events": events,
            "actors": args.actors,
            "days": args.days,
            "access_log_mb": round(size_mb, 1),
            "simulate_s": round(ours, 2),
            "duckdb_rewrite_s": round(ref, 2),
            "ratio": round(ours / ref, 2),
            "events_per_s": round(events / ours),
            "peak_rss_mb": round(peak_mb),
        }, indent=2))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
