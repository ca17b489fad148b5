"""Leak tracing: given records seen for sale and the date they were listed, who could have sold them?

Input: a CSV (header with ``subject`` and ``subject_kind``) or JSON-lines file, plain or ``.gz``, with
cleartext identifiers. They are normalised and pseudonymised on intake (the store's key) and the
cleartext is dropped at once. A record that does not parse is reported with its ``file:line``.

Model. For every account that looked up at least one sampled person before the listing, compare two
explanations of its matches:

- *source*: the account pulled the sample, so it accessed each sampled person with probability ρ (0.9,
  allowing for records from elsewhere in a seller's bundle);
- *chance*: its accesses are a random draw of its size from the portal's traffic, so it accessed person
  s with p = 1 - exp(-n_a · k_s / T), where n_a is the number of people it looked up before the listing,
  k_s the number of accounts that looked s up, T the total of (account, person) pairs.

``score`` is the log10 likelihood ratio, Σ_matched log10(ρ/p) + Σ_unmatched log10((1-ρ)/(1-p)), over
sampled people anyone looked up. Rare people (small k_s) weigh most, so 5–6 records single out a seller
even among heavy users; busy accounts are discounted through n_a. ``expected`` is Σ p (matches expected
by chance) and ``p_value`` the Poisson tail P(X ≥ matched | expected). A canary in the sample names the
account or unit it was issued to outright (score 1000, p-value 0).

Speed. Scanning every event for each trace would be slow, so an access index of (subject key, account,
first access) pairs — subject key = the first 64 bits of the pseudonym — and a per-account, per-day count
of new pairs are kept under ``<home>/index/`` and rebuilt when the ledger's segments change.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from custodiet import atomic, canary
from custodiet.detect.insider import INSIDER_CHANNELS
from custodiet.events import sql_list, sql_text
from custodiet.identifiers import InvalidIdentifier
from custodiet.ledger.snapshot import Snapshot, take
from custodiet.store import Store
from custodiet.writelock import file_lock

RHO = 0.9
CANARY_SCORE = 1000.0


class LeakInputError(ValueError):
    """The sample could not be read at all (message names the file)."""


@dataclass
class TraceResult:
    rows: list[dict[str, Any]]
    sample: int  # distinct people in the sample
    known: int  # of those, people somebody looked up before the listing
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (file:line, reason)


def verdict(result: TraceResult, name: str, listed_at: datetime) -> str:
    """The trace in plain words, for an investigator who reads one sentence."""
    if not result.rows:
        return f"No account looked up any of the {result.sample} people in {name} before {listed_at:%Y-%m-%d}."
    top = result.rows[0]
    if top["canary"]:
        return (f"{name} contains a canary issued to {top['actor']}: that account's data was sold "
                f"({top['matched']} canary record(s) in the sample).")
    runner = result.rows[1]["score"] if len(result.rows) > 1 else 0.0
    margin = f"; the next account scores {runner:.1f} against its {top['score']:.1f}" if len(result.rows) > 1 else ""
    return (f"{name} was most likely sold from account {top['actor']}: it looked up {top['matched']} of the "
            f"{result.sample} people in the sample before {listed_at:%Y-%m-%d}, where chance would give "
            f"{top['expected']:.2g} (p = {top['p_value']:.1g}){margin}.")


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def read_sample(path: Path) -> tuple[list[tuple[int, str, str]], list[tuple[str, str]]]:
    """(line, subject_kind, subject) records and (file:line, reason) rejections of a CSV or JSONL file."""
    name = path.name
    try:
        with _open_text(path) as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise LeakInputError(f"{path}: cannot read: {exc}") from exc
    stem = name[:-3] if name.endswith(".gz") else name
    is_json = stem.endswith((".jsonl", ".ndjson", ".json")) or text.lstrip().startswith("{")
    records: list[tuple[int, str, str]] = []
    rejected: list[tuple[str, str]] = []
    if is_json:
        for i, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                records.append((i, str(obj["subject_kind"]).strip(), str(obj["subject"]).strip()))
            except (ValueError, KeyError, TypeError) as exc:
                rejected.append((f"{name}:{i}", f"not a JSON object with subject and subject_kind ({exc})"))
        return records, rejected
    reader = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(reader, [])]
    if "subject" not in header or "subject_kind" not in header:
        raise LeakInputError(f"{name}:1: the header must name subject and subject_kind (got {header})")
    si, ki = header.index("subject"), header.index("subject_kind")
    for row in reader:
        at = reader.line_num
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            rejected.append((f"{name}:{at}", f"{len(row)} fields, the header has {len(header)}"))
            continue
        records.append((at, row[ki].strip(), row[si].strip()))
    return records, rejected


# -- the access index -----------------------------------------------------------------------------

def index_path(store: Store) -> Path:
    return store.home / "index" / "access_pairs.parquet"


def days_path(store: Store) -> Path:
    """Per account and day: how many (account, person) pairs began that day (the null model's sizes)."""
    return store.home / "index" / "access_days.parquet"


def _manifest(snapshot: Snapshot) -> dict[str, Any]:
    return {"version": 1, "duckdb": duckdb.__version__,
            "segments": [[p.name, p.stat().st_size] for p in snapshot.segments]}


def ensure_index(store: Store, con: duckdb.DuckDBPyConnection | None = None,
                 snapshot: Snapshot | None = None) -> Path:
    """The access index of one signed state of the ledger (``snapshot``, whose events ``con`` views; by
    default the newest, read through a connection of its own), rebuilt first if it was written for another.
    Builds take turns on ``index/lock``."""
    if snapshot is None:
        snapshot, con = take(store), None
    path = index_path(store)
    path.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(path.parent / "lock"):
        return _ensure_index(store, con, snapshot)


def _ensure_index(store: Store, con: duckdb.DuckDBPyConnection | None, snapshot: Snapshot) -> Path:
    path = index_path(store)
    meta = path.with_suffix(".json")
    want = _manifest(snapshot)
    if path.exists() and days_path(store).exists() and meta.exists() and json.loads(meta.read_text()) == want:
        return path
    own = con is None
    con = con or store.connect(snapshot=snapshot)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = atomic.temp_path(path)
        con.execute(f"""
            COPY (SELECT ('0x' || left(subject, 16))::UBIGINT AS skey, actor, min(ts) AS first_ts
                  FROM events WHERE channel IN {sql_list(INSIDER_CHANNELS)}
                  GROUP BY ALL ORDER BY skey)
            TO {sql_text(str(tmp))} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)""")
        atomic.publish_file(tmp, path)
        days = days_path(store)
        tmp = atomic.temp_path(days)
        con.execute(f"""
            COPY (SELECT actor, date_trunc('day', first_ts) AS day, count(*) AS pairs
                  FROM read_parquet({sql_text(str(path))}) GROUP BY ALL ORDER BY actor, day)
            TO {sql_text(str(tmp))} (FORMAT parquet)""")
        atomic.publish_file(tmp, days)
        atomic.write_bytes(meta, json.dumps(want).encode())
    finally:
        if own:
            con.close()
    return path


# -- scoring --------------------------------------------------------------------------------------

def poisson_tail(k: int, lam: float) -> float:
    """P(X >= k) for X ~ Poisson(lam), accurate for tiny tails."""
    if k <= 0:
        return 1.0
    if lam <= 0:
        return 0.0
    log_term = -lam + k * math.log(lam) - math.lgamma(k + 1)
    total, j = 0.0, k
    while True:
        term = math.exp(log_term)
        total += term
        j += 1
        log_term += math.log(lam) - math.log(j)
        if term < total * 1e-12 or j > k + 1000:
            return min(total, 1.0)


def trace(store: Store, path: Path, listed_at: datetime, limit: int = 20,
          con: duckdb.DuckDBPyConnection | None = None) -> TraceResult:
    """Rank the accounts whose accesses before ``listed_at`` best explain the sample in ``path``."""
    records, rejected = read_sample(path)
    ps = store.pseudonymiser
    subjects: set[str] = set()
    for line, kind, value in records:
        try:
            subjects.add(ps.of_raw(kind, value))
        except InvalidIdentifier as exc:
            rejected.append((f"{path.name}:{line}", str(exc)))
    if not subjects:
        raise LeakInputError(f"{path}: no usable record ({len(rejected)} rejected)")
    own = con is None
    snapshot = take(store) if own else None  # a caller's connection: the index is of the newest state
    con = con or store.connect(snapshot=snapshot)
    try:
        rows, known = _score(store, con, sorted(subjects), listed_at, snapshot)
    finally:
        if own:
            con.close()
    named = canary.owners(store, sorted(subjects))
    if named:
        hits: dict[str, list[str]] = {}
        for subject, owner in named.items():
            hits.setdefault(owner, []).append(subject)
        rows = [r for r in rows if r["actor"] not in hits]
        rows = [{"actor": owner, "score": CANARY_SCORE, "matched": len(s), "expected": 0.0, "p_value": 0.0,
                 "canary": True, "first_access": None, "last_access": None} for owner, s in hits.items()] + rows
    for i, r in enumerate(rows, 1):
        r["rank"] = i
        r["sample"] = len(subjects)
    return TraceResult(rows[:limit], len(subjects), known, rejected)


def _score(store: Store, con: duckdb.DuckDBPyConnection, subjects: list[str],
           listed_at: datetime, snapshot: Snapshot | None) -> tuple[list[dict[str, Any]], int]:
    index = sql_text(str(ensure_index(store, con, snapshot)))
    keys = sorted({int(s[:16], 16) for s in subjects})
    # Raw SQL: this is an index lookup over a derived file, not a detector; Ibis adds nothing here.
    con.execute("CREATE OR REPLACE TEMP TABLE leak_keys AS SELECT unnest(?::UBIGINT[]) AS skey", [keys])
    hits = con.execute(f"""
        SELECT p.skey, p.actor, p.first_ts FROM read_parquet({index}) p JOIN leak_keys USING (skey)
        WHERE p.first_ts < ?""", [listed_at]).fetchall()
    if not hits:
        return [], 0
    # Account sizes n_a and the total T come from the small per-day table, counting pairs begun before
    # the listing day (the listing day itself is left out of the null model; matches use exact times).
    days = sql_text(str(days_path(store)))
    day = listed_at.replace(hour=0, minute=0, second=0, microsecond=0)
    actors = sorted({a for _, a, _ in hits})
    totals = dict(con.execute(f"""
        SELECT actor, sum(pairs)::BIGINT FROM read_parquet({days})
        WHERE day < ? AND actor IN (SELECT unnest(?::VARCHAR[])) GROUP BY actor""", [day, actors]).fetchall())
    pairs = con.execute(f"SELECT coalesce(sum(pairs), 0)::BIGINT FROM read_parquet({days}) WHERE day < ?",
                        [day]).fetchall()[0][0]
    pairs = max(pairs, len(hits))
    popularity: dict[int, int] = {}
    by_actor: dict[str, dict[int, datetime]] = {}
    for key, actor, first in hits:
        popularity[key] = popularity.get(key, 0) + 1
        by_actor.setdefault(actor, {})[key] = first
    rows = []
    for actor, matched in by_actor.items():
        n_a = max(totals.get(actor, 0), len(matched))
        llr, expected = 0.0, 0.0
        for key, k_s in popularity.items():
            p = -math.expm1(-n_a * k_s / pairs)
            p = min(max(p, 1e-12), 1 - 1e-9)
            expected += p
            llr += math.log10(RHO / p) if key in matched else math.log10((1 - RHO) / (1 - p))
        firsts = sorted(matched.values())
        rows.append({"actor": actor, "score": round(llr, 3), "matched": len(matched),
                     "expected": round(expected, 6), "p_value": poisson_tail(len(matched), expected),
                     "canary": False, "first_access": firsts[0], "last_access": firsts[-1],
                     "people_looked_up": n_a})
    rows.sort(key=lambda r: (-r["score"], -r["matched"], r["actor"]))
    return rows, len(popularity)
