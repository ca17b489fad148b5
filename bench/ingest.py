"""Portal ingest against DuckDB's own CSV -> Parquet copy of the same file, in one run.

    python bench/ingest.py [--rows 2000000] [--keep DIR] [--repeat N]

Prints both times and the ratio (target: <= 2x before ledger hashing, <= 3x with it), where the ingest's
time goes (its progress steps), the peak resident memory of the ingest and the load average (the machine
is shared: read a ratio together with the load it was measured under). With ``--repeat N`` the two run
alternately N times and the best time of each is compared, which steadies the ratio on a shared machine.
After the timing, every stored event's ``source`` line is checked against the line its id was written to.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from custodiet.ingest.portal import IngestSummary, ingest_portal
from custodiet.store import Store


def write_log(path: Path, rows: int, seed: int = 1) -> None:
    """A portal log shaped like the simulator's: 500 officers, 300k citizens, mixed identifier kinds."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2026-01-01T00:00:00")
    ts = np.sort(start + rng.integers(0, 86400 * 90, rows).astype("timedelta64[s]"))
    person = rng.zipf(1.3, rows) % 300_000
    kind = np.array(["msisdn", "nid", "imei"])[rng.integers(0, 3, rows)]
    msisdn = np.char.add("88017", np.char.zfill(person.astype(str), 8))
    nid = np.char.zfill(person.astype(str), 10)
    imei = np.char.add("35", np.char.zfill(person.astype(str), 12))
    subject = np.where(kind == "msisdn", msisdn, np.where(kind == "nid", nid, imei))
    table = pa.table({
        "ts": pc.utf8_replace_slice(pa.array(np.datetime_as_string(ts, unit="s")), 19, 19, "Z"),
        "actor": np.char.add("officer", rng.integers(0, 500, rows).astype(str)),
        "subject": subject,
        "subject_kind": kind,
        "data_kind": np.array(["identity", "cdr", "location", "subscriber"])[rng.integers(0, 4, rows)],
        "event_id": np.char.add("r", np.arange(rows).astype(str)),
        "actor_org": np.char.add("U", rng.integers(0, 20, rows).astype(str)),
        "operation": np.array(["/api/v2/cdr", "/api/v2/nid", "/api/v2/loc"])[rng.integers(0, 3, rows)],
        "case_id": np.char.add("C-", rng.integers(0, 5000, rows).astype(str)),
        "outcome": np.array(["allowed"] * 9 + ["denied"])[rng.integers(0, 10, rows)],
        "records": rng.integers(0, 50, rows),
        "client_ip": np.char.add("10.1.0.", rng.integers(0, 255, rows).astype(str)),
    })
    pcsv.write_csv(table, path, pcsv.WriteOptions(quoting_style="none"))


def _times(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def _reference(log: Path, out: Path) -> float:
    """DuckDB's own CSV -> Parquet copy of the log: the named reference."""
    t0 = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute(f"COPY (SELECT * FROM read_csv('{log}')) TO '{out}' (FORMAT parquet)")
    con.close()
    return time.perf_counter() - t0


def _ingest(log: Path, home: Path) -> tuple[float, list[tuple[str, float]], IngestSummary]:
    """One ingest into a fresh store: total seconds, seconds per progress step, and the summary."""
    shutil.rmtree(home, ignore_errors=True)
    steps: list[tuple[str, float]] = []
    mark = [time.perf_counter()]

    def on_step(name: str) -> None:
        now = time.perf_counter()
        if steps:
            steps[-1] = (steps[-1][0], now - mark[0])
        steps.append((name, 0.0))
        mark[0] = now

    t0 = time.perf_counter()
    summary = ingest_portal(Store(home), log, on_step=on_step)
    end = time.perf_counter()
    if steps:
        steps[-1] = (steps[-1][0], end - mark[0])
    return end - t0, steps, summary


def wrong_lines(home: Path, log: Path) -> int:
    """Stored events whose ``source`` is not the line their id ``r<i>`` was written to (line i + 2)."""
    con = Store(home).connect()
    try:
        return con.execute(
            f"SELECT count(*) FROM events WHERE source <> '{log.name}:' || (CAST(event_id[2:] AS BIGINT) + 2)"
        ).fetchall()[0][0]
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=1, help="alternate reference and ingest N times")
    parser.add_argument("--keep", type=Path, default=None, help="work folder to keep (default: a temp one)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="custodiet-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    log = work / "access_log.csv"
    if not log.exists():  # in a child process, so that the peak memory printed is the runs' own
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
            pool.submit(write_log, log, args.rows).result()
    try:
        references, runs = [], []
        for _ in range(args.repeat):
            references.append(_reference(log, work / "reference.parquet"))
            runs.append(_ingest(log, work / "home"))
        reference = min(references)
        ours, steps, summary = min(runs, key=lambda run: run[0])
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"rows: {args.rows:,}  stored: {summary.stored:,}  quarantined: {summary.quarantined:,}")
        print(f"duckdb csv->parquet copy: {reference:.2f} s"
              + (f"  (runs: {_times(references)})" if len(runs) > 1 else ""))
        print(f"custodiet ingest portal:  {ours:.2f} s   ({args.rows / ours:,.0f} rows/s)"
              + (f"  (runs: {_times([r[0] for r in runs])})" if len(runs) > 1 else ""))
        totals: dict[str, float] = {}
        for name, seconds in steps:  # a large file repeats the steps chunk by chunk
            totals[name] = totals.get(name, 0.0) + seconds
        print("  steps: " + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in totals.items()))
        print(f"ratio: {ours / reference:.2f}x the reference   peak RSS: {peak_mb:,.0f} MB   "
              f"load average: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
        misplaced = wrong_lines(work / "home", log)
        print(f"events with a wrong source line: {misplaced}")
        if misplaced:
            raise SystemExit("line numbers are wrong")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
