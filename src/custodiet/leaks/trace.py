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

Two more pieces of evidence weigh each match, each as a likelihood ratio of the same two explanations:

- *what was pulled*. A seller pulls what sells (location, call records, IMEI, travel: ``SALE_KINDS``), or,
  when the listing names what it sells (an optional ``data_kind`` column), those kinds. Under *source* a
  matched person was pulled that way with probability ``Q_SOURCE``; under *chance* with the account's own
  share of people it pulled that way (q_a). An account that mostly runs identity checks and matched by an
  identity check loses weight; a seller that matched by location lookups gains it.
- *whether a case explains it*. Sold records are looked up without a case (``U_SOURCE`` of them); under
  *chance* the account's own share of people it looked up with no covering case (u_a). A lookup its case
  explains weighs less than an unexplained one, measured against the account's own habit, so a
  verification cell that looks up strangers all day gains nothing from that.

``score`` is the log10 likelihood ratio, Σ_matched log10(ρ/p) + Σ_unmatched log10((1-ρ)/(1-p)) plus the two
terms above over matched people. Rare people (small k_s) weigh most, so 5–6 records single out a seller
even among heavy users; busy accounts are discounted through n_a. ``expected`` is Σ p (matches expected
by chance) and ``p_value`` the Poisson tail P(X ≥ matched | expected). ``decided_by`` names the term that
set the top account apart from the next one. A canary in the sample names the account or unit it was
issued to outright (score 1000, p-value 0).

"Explained" is exactly the detectors' notion (:func:`custodiet.detect.insider.base.accesses`): the person
is on an open case of the account's unit, or the cited case lists the person.

Speed. Scanning every event for each trace would be slow, so an access index of (subject key, account,
data kind, first access, first unexplained access) rows — subject key = the detectors' 64-bit key of the
pseudonym — and a per-account, per-day count of new pairs are kept under ``<home>/index/`` and rebuilt
when the ledger's segments or the context tables change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from custodiet import canary
from custodiet.events import DATA_KINDS, sql_text
from custodiet.identifiers import InvalidIdentifier
from custodiet.leaks.index import days_path, ensure_index
from custodiet.leaks.sample import LeakInputError, read_sample
from custodiet.ledger.snapshot import Snapshot, take
from custodiet.store import Store
from custodiet.vocabulary import SALE_KINDS

RHO = 0.9
# Sellers sell what sells (the listing sites price location, call records, travel and IMEI details), so
# nearly every sold person was pulled with one of those kinds; a few listings add identity copies.
Q_SOURCE = 0.85
# When the listing says what it sells, the seller pulled that kind for nearly every record of it.
Q_NAMED = 0.9
# Sold people are looked up without a case; a seller may sell a case subject now and then.
U_SOURCE = 0.9
# An account's own shares are clipped so that one habit never makes a match infinitely (un)likely.
SHARE_CLIP = (0.02, 0.98)
CANARY_SCORE = 1000.0


@dataclass
class TraceResult:
    rows: list[dict[str, Any]]
    sample: int  # distinct people in the sample
    known: int  # of those, people somebody looked up before the listing
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (file:line, reason)


_REASONS = {
    "llr_people": "the people it matched (more of them, or rarer ones)",
    "llr_kinds": "what it pulled on them",
    "llr_unexplained": "that no case explained its lookups of them",
}


def verdict(result: TraceResult, name: str, listed_at: datetime) -> str:
    """The trace in plain words, for an investigator who reads one sentence."""
    if not result.rows:
        return f"No account looked up any of the {result.sample} people in {name} before {listed_at:%Y-%m-%d}."
    top = result.rows[0]
    if top["canary"]:
        return (f"{name} contains a canary issued to {top['actor']}: that account's data was sold "
                f"({top['matched']} canary record(s) in the sample).")
    sold = "the kinds the listing names" if top["kinds_named"] else "location, call records, IMEI or travel"
    text = (f"{name} was most likely sold from account {top['actor']}: it looked up {top['matched']} of the "
            f"{result.sample} people in the sample before {listed_at:%Y-%m-%d}, where chance would give "
            f"{top['expected']:.2g} (p = {top['p_value']:.1g}); it pulled {sold} on {top['matched_sold_kinds']} "
            f"of them, {top['matched_unexplained']} with no case explaining the lookup")
    if len(result.rows) < 2 or result.rows[1]["canary"]:
        return text + "."
    runner = result.rows[1]
    return (text + f". The next account, {runner['actor']} (score {runner['score']:.1f} against "
            f"{top['score']:.1f}; {runner['matched']} matched, {runner['matched_sold_kinds']} by {sold}, "
            f"{runner['matched_unexplained']} unexplained), falls behind mainly on "
            f"{_REASONS[top['decided_by']]}.")


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
    subjects: dict[str, set[str]] = {}  # pseudonym -> the data kinds the listing says it sells of that person
    for line, kind, value, sold in records:
        try:
            named = subjects.setdefault(ps.of_raw(kind, value), set())
        except InvalidIdentifier as exc:
            rejected.append((f"{path.name}:{line}", str(exc)))
            continue
        if sold:
            named.add(sold)
    if not subjects:
        first = f"; first: {rejected[0][0]}: {rejected[0][1]}" if rejected else ""
        raise LeakInputError(f"{path}: no usable record ({len(rejected)} rejected{first})")
    own = con is None
    snapshot = take(store) if own else None  # a caller's connection: the index is of the newest state
    con = con or store.connect(snapshot=snapshot)
    try:
        rows, known = _score(store, con, {s: frozenset(k) for s, k in subjects.items()}, listed_at, snapshot)
    finally:
        if own:
            con.close()
    named_owners = canary.owners(store, sorted(subjects))
    if named_owners:
        hits: dict[str, list[str]] = {}
        for subject, owner in named_owners.items():
            hits.setdefault(owner, []).append(subject)
        rows = [r for r in rows if r["actor"] not in hits]
        rows = [{"actor": owner, "score": CANARY_SCORE, "matched": len(s), "expected": 0.0, "p_value": 0.0,
                 "canary": True, "first_access": None, "last_access": None, "decided_by": "canary"}
                for owner, s in hits.items()] + rows
    elif rows:
        rows[0]["decided_by"] = _decided_by(rows[0], rows[1] if len(rows) > 1 else None)
    for i, r in enumerate(rows, 1):
        r["rank"] = i
        r["sample"] = len(subjects)
    return TraceResult(rows[:limit], len(subjects), known, rejected)


TERMS = ("llr_people", "llr_kinds", "llr_unexplained")


def _decided_by(top: dict[str, Any], runner: dict[str, Any] | None) -> str:
    """Which term of the score set the top account apart from the next one (the largest lead)."""
    if runner is None:
        return "llr_people"
    return max(TERMS, key=lambda t: (top[t] - runner[t], t == "llr_people"))


def _share(part: int, whole: int) -> float:
    return min(max(part / whole, SHARE_CLIP[0]), SHARE_CLIP[1]) if whole else 0.5


def _ratio_term(hit: bool, source: float, chance: float) -> float:
    """log10 of P(observation | source) / P(observation | chance) for a yes/no observation."""
    return math.log10(source / chance) if hit else math.log10((1 - source) / (1 - chance))


def _score(store: Store, con: duckdb.DuckDBPyConnection, subjects: dict[str, frozenset[str]],
           listed_at: datetime, snapshot: Snapshot | None) -> tuple[list[dict[str, Any]], int]:
    index = sql_text(str(ensure_index(store, snapshot)))
    keyed = _subject_keys(con, sorted(subjects))
    # Raw SQL: this is an index lookup over a derived file, not a detector; Ibis adds nothing here.
    con.execute("CREATE OR REPLACE TEMP TABLE leak_keys AS SELECT unnest(?::BIGINT[]) AS skey", [sorted(keyed)])
    hits = con.execute(f"""
        SELECT p.skey, p.actor, p.kind, p.unexpl_ts IS NOT NULL AND p.unexpl_ts < ?, p.first_ts
        FROM read_parquet({index}) p JOIN leak_keys USING (skey) WHERE p.first_ts < ?""",
                       [listed_at, listed_at]).fetchall()
    if not hits:
        return [], 0
    # Account sizes n_a and the total T come from the small per-day table, counting pairs begun before
    # the listing day (the listing day itself is left out of the null model; matches use exact times).
    days = sql_text(str(days_path(store)))
    day = listed_at.replace(hour=0, minute=0, second=0, microsecond=0)
    actors = sorted({hit[1] for hit in hits})
    totals = dict(con.execute(f"""
        SELECT actor, sum(pairs)::BIGINT FROM read_parquet({days})
        WHERE day < ? AND actor IN (SELECT unnest(?::VARCHAR[])) GROUP BY actor""", [day, actors]).fetchall())
    pairs = con.execute(f"SELECT coalesce(sum(pairs), 0)::BIGINT FROM read_parquet({days}) WHERE day < ?",
                        [day]).fetchall()[0][0]
    named_all = sorted(set().union(*subjects.values()))
    habits = _habits(con, index, actors, listed_at, named_all)
    seen: dict[str, dict[int, tuple[set[int], bool]]] = {}  # actor -> skey -> (kinds pulled, unexplained)
    span: dict[str, tuple[datetime, datetime]] = {}  # actor -> its first and last matching access
    for key, actor, kind, unexplained, first in hits:
        kinds, unexpl = seen.setdefault(actor, {}).get(key, (set(), False))
        kinds.add(kind)
        seen[actor][key] = (kinds, unexpl or bool(unexplained))
        lo, hi = span.get(actor, (first, first))
        span[actor] = (min(lo, first), max(hi, first))
    popularity: dict[int, int] = {}
    for matched in seen.values():
        for key in matched:
            popularity[key] = popularity.get(key, 0) + 1
    pairs = max(pairs, sum(popularity.values()))
    sale_codes = {DATA_KINDS.index(k) for k in SALE_KINDS}
    rows = []
    for actor, matched in seen.items():
        n_a = max(totals.get(actor, 0), len(matched))
        people, expected = 0.0, 0.0
        for key, k_s in popularity.items():
            p = min(max(-math.expm1(-n_a * k_s / pairs), 1e-12), 1 - 1e-9)
            expected += p
            people += _ratio_term(key in matched, RHO, p)
        looked, sale_share, named_share, unexpl_share = habits.get(actor, (len(matched), 0, 0, 0))
        kinds_llr = unexpl_llr = 0.0
        sold_hits = unexpl_hits = 0
        for key, (kinds, unexplained) in matched.items():
            named = subjects[keyed[key]]
            if named:
                hit = bool(kinds & {DATA_KINDS.index(k) for k in named})
                kinds_llr += _ratio_term(hit, Q_NAMED, _share(named_share, looked))
            else:
                hit = bool(kinds & sale_codes)
                kinds_llr += _ratio_term(hit, Q_SOURCE, _share(sale_share, looked))
            sold_hits += hit
            unexpl_hits += unexplained
            unexpl_llr += _ratio_term(unexplained, U_SOURCE, _share(unexpl_share, looked))
        rows.append({"actor": actor, "score": round(people + kinds_llr + unexpl_llr, 3), "matched": len(matched),
                     "expected": round(expected, 6), "p_value": poisson_tail(len(matched), expected),
                     "canary": False, "people_looked_up": n_a,
                     "llr_people": round(people, 3), "llr_kinds": round(kinds_llr, 3),
                     "llr_unexplained": round(unexpl_llr, 3), "matched_sold_kinds": sold_hits,
                     "matched_unexplained": unexpl_hits, "kinds_named": bool(named_all)})
    for r in rows:
        r["first_access"], r["last_access"] = span[r["actor"]]
    rows.sort(key=lambda r: (-r["score"], -r["matched"], r["actor"]))
    return rows, len(popularity)


def _subject_keys(con: duckdb.DuckDBPyConnection, subjects: list[str]) -> dict[int, str]:
    """The detectors' 64-bit key of each pseudonym (:func:`custodiet.detect.insider.base.subject_key`)."""
    import ibis

    from custodiet.detect.insider.base import subject_key

    t = ibis.memtable({"s": subjects})
    got = ibis.duckdb.from_connection(con).to_pyarrow(t.select(k=subject_key(t.s), s=t.s)).to_pylist()
    return {r["k"]: r["s"] for r in got}


def _habits(con: duckdb.DuckDBPyConnection, index: str, actors: list[str], listed_at: datetime,
            named: list[str]) -> dict[str, tuple[int, int, int, int]]:
    """Per account, before the listing: people looked up, of them pulled a sale kind, pulled a kind the
    listing names, and looked up with no covering case (the *chance* side of the two extra terms)."""
    sale = [DATA_KINDS.index(k) for k in SALE_KINDS]
    named_codes = [DATA_KINDS.index(k) for k in named] or [-1]
    got = con.execute(f"""
        SELECT actor, count(DISTINCT skey), count(DISTINCT skey) FILTER (WHERE kind IN (SELECT unnest(?::INT[]))),
               count(DISTINCT skey) FILTER (WHERE kind IN (SELECT unnest(?::INT[]))),
               count(DISTINCT skey) FILTER (WHERE unexpl_ts < ?)
        FROM read_parquet({index})
        WHERE first_ts < ? AND actor IN (SELECT unnest(?::VARCHAR[])) GROUP BY actor""",
                      [sale, named_codes, listed_at, listed_at, actors]).fetchall()
    return {a: (n, s, k, u) for a, n, s, k, u in got}
