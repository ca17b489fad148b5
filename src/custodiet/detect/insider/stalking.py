"""Stalking: one person looked up again and again, on many days, with no case to explain it.

What it catches: the officer following an ex-partner, a neighbour or a journalist: repeated lookups of
the same unexplained person (often location) over weeks. Casework repeats too, but on case subjects,
which are explained and do not count here.

Known false positives: a suspect whose case is missing from the context tables; an informant handled
outside the case system.

Tunables (``ctx.params["insider.stalking"]``): ``min_days`` (4) distinct days with an unexplained lookup
of the person, ``min_lookups`` (5).
"""

from __future__ import annotations

from custodiet.detect.context import DetectionContext
from custodiet.detect.findings import Finding
from custodiet.detect.insider.base import (
    accesses,
    evidence,
    kind_code,
    named,
    pairs,
    popularity,
    rows,
    severity_for,
    squash,
)
from custodiet.detect.registry import detector

ID = "insider.stalking"


@detector(ID, revision=1, severity="high", channel="portal")
def stalking(ctx: DetectionContext) -> list[Finding]:
    """(account, person) pairs with unexplained lookups on ``min_days`` days; one finding per pair."""
    p = ctx.params.get(ID, {})
    min_days, min_lookups = int(p.get("min_days", 4)), int(p.get("min_lookups", 5))
    pair = pairs(ctx)
    u = pair.filter(pair.u_n > 0)
    cand = u.filter(u.u_n >= min_lookups).select("aid", "skey")
    # Distinct days, span and location lookups only for the few candidate pairs (over every pair, they
    # would make the shared pairs table dearer for all detectors).
    a = accesses(ctx)
    days = a.filter(a.unexpl).join(cand, ["aid", "skey"])
    days = days.group_by(["aid", "skey"]).aggregate(
        days=days.day.nunique(), u_first=days.ts.min(), u_last=days.ts.max(),
        u_loc=days.count(where=days.kind == kind_code("location")))
    # How many accounts looked the same person up without a case: many means a public figure or a
    # missing case file, not one person's obsession.
    spread = popularity(ctx).select("skey", accounts="u_accounts")
    hits = u.join(days, ["aid", "skey"]).join(spread, "skey")
    hits = named(hits.filter(hits.days >= min_days), ctx).select(
        "actor", "org", "skey", "accounts", "days", lookups=hits.u_n, first=hits.u_first,
        last=hits.u_last, location=hits.u_loc)
    ev = evidence(ctx)
    out: list[Finding] = []
    for r in rows(hits.order_by(["actor", hits.days.desc(), "first", "skey"])):
        span_days = max((r["last"] - r["first"]).days, 1)
        score = squash(r["days"] / min_days - 1 + r["lookups"] / 20, 1.0) / r["accounts"]
        out.append(ev.want(Finding(
            detector=ID, revision=1, actor=r["actor"], subjects=[], window_start=r["first"],
            window_end=r["last"], score=score, severity=severity_for(score, "high"),
            summary=(f"looked up one person on no open case of {r['org']} {r['lookups']} times on {r['days']} "
                     f"days over {span_days} days ({r['location']} location lookups); "
                     f"{r['accounts'] - 1} other account(s) looked that person up without a case"),
            event_ids=[],
            details={"lookups": r["lookups"], "days": r["days"], "span_days": span_days,
                     "location_lookups": r["location"], "accounts": r["accounts"]},
        ), r["first"], r["last"], [r["skey"]]))
    return out
