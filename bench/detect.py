"""Benchmark: the insider detection suite and leak tracing over a large ledger.

A simulated portal world (``custodiet simulate portal``) is loaded into a fresh store and then replicated
``--copies`` times into more segments (accounts, units, cases and people renamed per copy, people re-keyed
with SHA-256, so each copy is a separate population with the same behaviour) until about ``--events``
events are stored. Then, in one run:

- the full suite (``custodiet detect``'s ``run_detectors``) in a child process, timing wall clock and peak
  RSS, against the reference: DuckDB computing a per-actor daily robust z (median/MAD per unit and day)
  over the same events with one SQL statement;
- ``trace-leak`` of 500 sampled people (index warm; the index build is timed separately), against the
  reference: one DuckDB query counting each account's distinct sampled people before the listing.

Targets (issue 4): suite <= 60 s and <= 4 GB at 20M events; trace <= 1.5 s. The machine is shared, so the
load average is printed with the figures; ``--repeat N`` runs the suite and its reference N times
(alternating) and reports the best of each, ``--no-trace`` skips leak tracing. The store under ``--work``
is kept and reused: delete the folder to rebuild it.

    .venv/bin/python bench/detect.py --events 20000000 --work /var/tmp/custodiet-bench
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

from custodiet.context.load import load_context
from custodiet.ingest.portal import ingest_portal
from custodiet.leaks import ensure_index, trace
from custodiet.ledger import append_events
from custodiet.store import Store

CHILD = """
import json, resource, sys, time
from custodiet.detect.run import run_detectors
from custodiet.store import Store
t = time.perf_counter()
report = run_detectors(Store(sys.argv[1]), channel="portal")
print(json.dumps({"seconds": time.perf_counter() - t, "findings": len(report.findings),
                  "errors": [d["id"] for d in report.errors],
                  "detectors": {d["id"]: d["seconds"] for d in report.detectors},
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

REFERENCE_SQL = """
WITH daily AS (
  SELECT e.actor, a.org, date_trunc('day', e.ts) AS day, count(*) AS n, count(DISTINCT e.subject) AS people
  FROM events e JOIN actors a USING (actor) GROUP BY ALL),
peer AS (SELECT org, day, median(ln(1 + people)) AS med FROM daily GROUP BY ALL),
spread AS (SELECT d.org, d.day, median(abs(ln(1 + d.people) - p.med)) AS mad
           FROM daily d JOIN peer p USING (org, day) GROUP BY ALL)
SELECT d.actor, max((ln(1 + d.people) - p.med) / greatest(1.4826 * s.mad, 0.4)) AS z
FROM daily d JOIN peer p USING (org, day) JOIN spread s USING (org, day) GROUP BY ALL ORDER BY z DESC LIMIT 20
"""


def run_suite(home: Path, src: Path | None) -> dict:
    """Run the suite in a child process (with ``src`` first on its import path, if given); its report."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src.resolve())
    child = subprocess.run([sys.executable, "-c", CHILD, str(home)], check=True, capture_output=True, text=True,
                           env=env)
    return json.loads(child.stdout.strip().splitlines()[-1])


def load_world(world: Path, store: Store) -> None:
    for kind, name in (("actors", "actors.csv"), ("cases", "cases.csv"), ("case-subjects", "case_subjects.csv"),
                       ("protected", "protected.csv")):
        load_context(store, kind, world / name)
    ingest_portal(store, world / "access_log.csv")


def replicate(store: Store, copies: int) -> None:
    """Append ``copies`` renamed copies of segment 1 and of the context tables."""
    con = store.connect()
    seg = store.segment_paths()[0]
    q = lambda p: "'" + str(p).replace("'", "''") + "'"  # noqa: E731
    for i in range(1, copies + 1):  # appended through the ledger: only the writer's own segments are signed
        copy = con.execute(f"""SELECT event_id || '~{i}' AS event_id, ts, channel, actor || '~{i}' AS actor,
            actor_org || '~{i}' AS actor_org, sha256(subject || '{i}') AS subject, subject_kind, data_kind,
            operation, CASE WHEN authority IS NULL THEN NULL ELSE authority || '~{i}' END AS authority, outcome,
            records, attrs, source FROM read_parquet({q(seg)})""").fetch_arrow_table()
        with store.writer("bench replicate"):
            append_events(store, copy)
    ctx_sql = {
        "actors": "SELECT actor || '~{i}', org || '~{i}', role, region FROM read_parquet({p})",
        "cases": "SELECT case_id || '~{i}', org || '~{i}', opened, closed FROM read_parquet({p})",
        "case_subjects": "SELECT case_id || '~{i}', sha256(subject || '{i}'), subject_kind FROM read_parquet({p})",
        "protected": "SELECT sha256(subject || '{i}'), subject_kind, category FROM read_parquet({p})",
    }
    for name, sql in ctx_sql.items():
        path = store.context_path(name)
        parts = [f"SELECT * FROM read_parquet({q(path)})"] + [sql.format(i=i, p=q(path)) for i in range(1, copies + 1)]
        tmp = path.with_name("bench-" + path.name)
        con.execute(f"COPY ({' UNION ALL '.join(parts)}) TO {q(tmp)} (FORMAT parquet)")
        tmp.replace(path)
    con.close()


def leak_sample(world: Path, n: int, seed: int) -> Path:
    with open(world / "access_log.csv", newline="") as fh:
        people = sorted({(r["subject"], r["subject_kind"]) for r in csv.DictReader(fh)})
    chosen = random.Random(seed).sample(people, n)
    path = world / f"bench_sample_{n}.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["subject", "subject_kind"])
        w.writerows(chosen)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, required=True, help="Folder for the world and the store.")
    ap.add_argument("--events", type=int, default=20_000_000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--actors", type=int, default=300)
    ap.add_argument("--sample", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=1, help="Run the suite and its reference this many times "
                    "(alternating); the best of each is reported.")
    ap.add_argument("--baseline-src", type=Path, help="The src folder of another checkout of Custodiet (e.g. the "
                    "last commit, from `git worktree add`): its suite is timed in the same run, alternating.")
    ap.add_argument("--no-trace", action="store_true", help="Time the detection suite only, not leak tracing.")
    args = ap.parse_args()
    world, home = args.work / "world", args.work / "home"
    store = Store(home)
    if not store.segment_paths():
        subprocess.run([str(Path(sys.executable).parent / "custodiet"), "simulate", "portal", "--out", str(world),
                        "--seed", str(args.seed), "--actors", str(args.actors)], check=True)
        t = time.perf_counter()
        load_world(world, store)
        con = store.connect()
        base = con.execute("SELECT count(*) FROM events").fetchall()[0][0]
        con.close()
        copies = max(0, round(args.events / base) - 1)
        replicate(store, copies)
        print(f"prepared {base:,} events × {copies + 1} in {time.perf_counter() - t:.0f} s")
    con = store.connect()
    events = con.execute("SELECT count(*) FROM events").fetchall()[0][0]
    con.close()
    print(f"events: {events:,}; load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    runs, refs, base_runs = [], [], []
    for _ in range(max(args.repeat, 1)):
        con = store.connect()
        t = time.perf_counter()
        con.execute(REFERENCE_SQL).fetchall()
        refs.append(time.perf_counter() - t)
        con.close()
        runs.append(run_suite(home, None))
        if args.baseline_src:
            base_runs.append(run_suite(home, args.baseline_src))
        print(f"  run {len(runs)}: suite {runs[-1]['seconds']:.1f} s"
              + (f", baseline suite {base_runs[-1]['seconds']:.1f} s" if base_runs else "")
              + f", reference {refs[-1]:.1f} s, load {os.getloadavg()[0]:.2f}", flush=True)
    ref = min(refs)
    for label, done in (("suite", runs), ("baseline suite", base_runs)):
        if not done:
            continue
        best = min(done, key=lambda r: r["seconds"])
        print(f"{label}: {best['seconds']:.1f} s, peak RSS {best['max_rss_mb']:.0f} MB, {best['findings']} findings, "
              f"errors {best['errors']}")
        print(f"  per detector: {json.dumps(best['detectors'])}")
        print(f"  reference (DuckDB per-actor daily robust z, one SQL): {ref:.1f} s; ratio {best['seconds'] / ref:.2f}")
    if base_runs:
        print(f"suite / baseline suite: {min(r['seconds'] for r in runs) / min(r['seconds'] for r in base_runs):.2f}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.no_trace:
        return

    t = time.perf_counter()
    ensure_index(store)
    build = time.perf_counter() - t
    sample = leak_sample(world, args.sample, args.seed)
    listed = "2100-01-01"
    from custodiet.events import parse_time

    when = parse_time(listed)
    trace(store, sample, when)  # warm the OS cache once
    t = time.perf_counter()
    result = trace(store, sample, when)
    traced = time.perf_counter() - t
    ps = store.pseudonymiser
    with open(sample, newline="") as fh:
        pseudonyms = [ps.of_raw(r["subject_kind"], r["subject"]) for r in csv.DictReader(fh)]
    con = store.connect()
    t = time.perf_counter()
    con.execute("SELECT actor, count(DISTINCT subject) AS m FROM events WHERE subject IN (SELECT unnest(?)) "
                "AND ts < ? GROUP BY actor ORDER BY m DESC", [pseudonyms, when]).fetchall()
    ref_trace = time.perf_counter() - t
    con.close()
    print(f"access index build: {build:.1f} s")
    top = result.rows[0]["actor"] if result.rows else None
    print(f"trace-leak of {result.sample} people: {traced:.2f} s (top {top})")
    print(f"reference (DuckDB distinct sampled people per account over the events): {ref_trace:.2f} s; "
          f"ratio {traced / ref_trace:.2f}")
    print(f"bench process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
