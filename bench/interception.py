"""Benchmark: interception oversight end to end, each step against a named reference in the same run.

1. ``ingest interception`` of X1 JSON lines against DuckDB's own ``read_json`` → Parquet copy of the same
   file; of the same messages as X1 XML against lxml parsing each of its documents into a tree.
2. The interception detectors (tasks rebuilt, every task judged, agencies compared) against DuckDB's own
   minimum: one scan of the same events grouping them by task (``json_extract_string`` of the xId).
3. The transparency report of one quarter against the same scan.

    .venv/bin/python bench/interception.py [--warrants 20000] [--days 365] [--seed 1]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
from lxml import etree

BIN = Path(sys.executable).parent
CLI = str(BIN / "custodiet")


def timed(*args: str) -> float:
    t0 = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - t0


def reference_json(path: Path, out: Path) -> float:
    t0 = time.perf_counter()
    con = duckdb.connect()
    con.execute(f"COPY (SELECT * FROM read_json('{path}', format='newline_delimited')) TO '{out}' (FORMAT parquet)")
    con.close()
    return time.perf_counter() - t0


def reference_xml(path: Path) -> float:
    """lxml parsing every X1Request document of the file into a tree (the file concatenates several)."""
    t0 = time.perf_counter()
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    data = path.read_bytes()
    starts = [m.start() for m in re.finditer(rb"<\?xml", data)] or [0]
    for begin, end in zip(starts, [*starts[1:], len(data)], strict=True):
        etree.fromstring(data[begin:end], parser)
    return time.perf_counter() - t0


def reference_scan(home: Path) -> float:
    t0 = time.perf_counter()
    con = duckdb.connect()
    con.execute(f"""SELECT json_extract_string(attrs, '$.xId') AS xid, count(*), min(ts), max(ts),
                           list(DISTINCT authority), list(DISTINCT subject)
                    FROM read_parquet('{home}/ledger/segments/*.parquet') WHERE channel = 'interception'
                    GROUP BY xid""").fetchall()
    con.close()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--warrants", type=int, default=20000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        world, root = Path(tmp) / "world", Path(tmp)
        t_sim = timed(CLI, "simulate", "interception", "--out", str(world), "--seed", str(args.seed),
                      "--warrants", str(args.warrants), "--days", str(args.days))
        messages = sum(1 for _ in (world / "x1.jsonl").open())
        print(f"simulate: {messages:,} X1 messages, {args.warrants:,} warrants in {t_sim:.2f} s")
        for form, reference in (("jsonl", lambda p: reference_json(p, root / "copy.parquet")), ("xml", reference_xml)):
            home = root / f"home-{form}"
            timed(CLI, "--home", str(home), "context", "load", "warrants", str(world / "warrants.csv"))
            t_ingest = timed(CLI, "--home", str(home), "ingest", "interception", str(world / f"x1.{form}"))
            t_ref = reference(world / f"x1.{form}")
            name = "DuckDB read_json -> Parquet" if form == "jsonl" else "lxml parsing its documents"
            print(f"ingest {form}: {t_ingest:.2f} s ({messages / t_ingest:,.0f} messages/s, CLI start included); "
                  f"{name} {t_ref:.2f} s; ratio {t_ingest / t_ref:.2f}x")
        home = root / "home-jsonl"
        t_detect = timed(CLI, "--home", str(home), "detect", "--channel", "interception")
        t_scan = reference_scan(home)
        print(f"detect --channel interception: {t_detect:.2f} s (CLI start included); DuckDB one scan grouping "
              f"by task {t_scan:.2f} s; ratio {t_detect / t_scan:.1f}x")
        t_report = timed(CLI, "--home", str(home), "transparency", "report", "--period", "2026-Q3", "--format", "json")
        print(f"transparency report: {t_report:.2f} s (CLI start included); ratio to the scan {t_report / t_scan:.1f}x")


if __name__ == "__main__":
    main()
