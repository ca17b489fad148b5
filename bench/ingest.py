"""Portal ingest of every common form of log against DuckDB's own copy of the same file to Parquet, in one run.

    python bench/ingest.py [--rows 2000000] [--forms lf-noid,lf,crlf,crlf-quoted,jsonl,parquet,csv-gz]
                           [--keep DIR] [--repeat N]

The forms real users send: CSV with LF or CRLF line ends, unquoted or with every field quoted, with or
without an ``event_id`` column (most portal logs have none: ingest derives ids from content, the case
measured first); JSON lines; Parquet; gzip CSV. The log is the same records in every form. The reference
is DuckDB's copy of that file to Parquet (``read_csv``, ``read_json`` or ``read_parquet``), timed in the
same run. For each form: both times, the ratio (target <= 3x), where the ingest's time goes (its progress
steps), and the load average (the machine may be shared: read a ratio with the load it was measured
under). With ``--repeat N`` the two run alternately N times; "ratio" compares the best of each, "median" the
medians (the issue's measure). After the
timing, every stored event's ``source`` line is checked against the line its record was written to (the
log's ``ref`` column). The peak resident memory printed is the whole run's.
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import os
import resource
import shutil
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from custodiet.arrow_pool import use_reusing_pool
from custodiet.events import sql_text
from custodiet.ingest.portal import IngestSummary, ingest_portal
from custodiet.store import Store

FORMS = ("lf-noid", "lf", "crlf", "crlf-quoted", "jsonl", "parquet", "csv-gz")


def log_table(rows: int, seed: int = 1) -> pa.Table:
    """A portal log shaped like the simulator's: 500 officers, 300k citizens, mixed identifier kinds; ``ref``
    (an extra column, kept in ``attrs``) is the record's position."""
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
        "ref": np.arange(rows),
    })
    return table


def write_form(table: pa.Table, work: Path, form: str) -> Path:
    """``table`` written in one form; returns the file (written once, kept for the next run)."""
    name = {"jsonl": "log.jsonl", "parquet": "log.parquet", "csv-gz": "log.csv.gz"}.get(form, f"log-{form}.csv")
    path = work / name
    if path.exists():
        return path
    if form == "lf-noid":
        table = table.drop_columns(["event_id"])
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.register("log", table)
    target = sql_text(str(path))
    if form == "jsonl":
        con.execute(f"COPY log TO {target} (FORMAT json)")
    elif form == "parquet":
        con.execute(f"COPY log TO {target} (FORMAT parquet)")
    elif form == "csv-gz":
        con.execute(f"COPY log TO {target} (FORMAT csv, HEADER, COMPRESSION gzip)")
    else:
        con.close()
        crlf = form.startswith("crlf")
        with open(path, "w", newline="", encoding="utf-8") as out:  # Python's csv, as Windows tools write
            writer = csv.writer(out, lineterminator="\r\n" if crlf else "\n",
                                quoting=csv.QUOTE_ALL if form == "crlf-quoted" else csv.QUOTE_MINIMAL)
            writer.writerow(table.column_names)
            for batch in table.to_batches(200_000):
                writer.writerows(zip(*(column.to_pylist() for column in batch.columns), strict=True))
        return path
    con.close()
    return path


def _times(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def _reference(log: Path, out: Path) -> float:
    """DuckDB's own copy of the log to Parquet: the named reference."""
    reader = {".jsonl": "read_json", ".parquet": "read_parquet"}.get(log.suffix, "read_csv")
    t0 = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute(f"COPY (SELECT * FROM {reader}({sql_text(str(log))})) TO {sql_text(str(out))} (FORMAT parquet)")
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
    """Stored events whose ``source`` is not the line their record ``ref`` was written to: ``ref + 2`` in a
    CSV (after its header), ``ref + 1`` in JSON lines and Parquet (a Parquet record's line is its row)."""
    first = 1 if log.suffix in (".jsonl", ".parquet") else 2
    con = Store(home).connect()
    try:
        return con.execute(
            f"SELECT count(*) FROM events WHERE source <> {sql_text(log.name + ':')} || "
            f"(CAST(json_extract_string(attrs, '$.ref') AS BIGINT) + {first})"
        ).fetchall()[0][0]
    finally:
        con.close()


def _measure(log: Path, work: Path, repeat: int) -> dict[str, object]:
    """Reference and ingest of one form, alternately ``repeat`` times; the best of each."""
    references, runs = [], []
    for _ in range(repeat):
        references.append(_reference(log, work / "reference.parquet"))
        runs.append(_ingest(log, work / "home"))
    ours, steps, summary = min(runs, key=lambda run: run[0])
    totals: dict[str, float] = {}
    for name, seconds in steps:  # a large file repeats the steps chunk by chunk
        totals[name] = totals.get(name, 0.0) + seconds
    return {"reference": min(references), "ours": ours, "references": references, "runs": [r[0] for r in runs],
            "steps": totals, "summary": summary, "misplaced": wrong_lines(work / "home", log)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--forms", default=",".join(FORMS), help=f"comma-separated, of {', '.join(FORMS)}")
    parser.add_argument("--repeat", type=int, default=1, help="alternate reference and ingest N times")
    parser.add_argument("--keep", type=Path, default=None, help="work folder to keep (default: a temp one)")
    args = parser.parse_args()
    forms = [f.strip() for f in args.forms.split(",") if f.strip()]
    unknown = [f for f in forms if f not in FORMS]
    if unknown:
        parser.error(f"unknown form(s) {', '.join(unknown)}; known: {', '.join(FORMS)}")
    arrow_pool = use_reusing_pool()  # as the command line does
    work = args.keep or Path(tempfile.mkdtemp(prefix="custodiet-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        # Written in a child process, so that the peak memory printed is the runs' own.
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
            logs = pool.submit(_write_forms, work, args.rows, forms).result()
        failed = []
        print(f"rows: {args.rows:,}")
        print(f"{'form':<12} {'reference s':>11} {'ingest s':>9} {'ratio':>6} {'median':>6}  "
              "stored / quarantined  steps")
        for form, log in zip(forms, logs, strict=True):
            m = _measure(log, work, args.repeat)
            summary = m["summary"]
            assert isinstance(summary, IngestSummary)
            steps = m["steps"]
            assert isinstance(steps, dict)
            runs, references = m["runs"], m["references"]
            assert isinstance(runs, list)
            assert isinstance(references, list)
            median = statistics.median(runs) / statistics.median(references)
            print(f"{form:<12} {m['reference']:>11.2f} {m['ours']:>9.2f} {m['ours'] / m['reference']:>5.2f}x "  # type: ignore[operator]
                  f"{median:>5.2f}x  "
                  f"{summary.stored:,} / {summary.quarantined:,}  "
                  + ", ".join(f"{name} {seconds:.2f}" for name, seconds in steps.items())
                  + (f"  (runs: {_times(m['runs'])}; reference {_times(m['references'])})"  # type: ignore[arg-type]
                     if args.repeat > 1 else ""))
            if m["misplaced"] or summary.stored != args.rows:
                failed.append(f"{form}: {m['misplaced']} events with a wrong source line, {summary.stored:,} stored")
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
        print(f"peak RSS: {peak_mb:,.0f} MB   Arrow pool: {arrow_pool}   load average: {load}")
        if failed:
            raise SystemExit("; ".join(failed))
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


def _write_forms(work: Path, rows: int, forms: list[str]) -> list[Path]:
    table = log_table(rows)
    return [write_form(table, work, form) for form in forms]


if __name__ == "__main__":
    main()
