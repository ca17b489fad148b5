"""Unexplained access: accounts looking up many people who are on none of their unit's open cases.

What it catches: officers who look up people unrelated to their work (sellers, snoops), measured as the
share of distinct people in a period (each ISO week, and the whole history) with no access explained by
an open case of the account's unit (:mod:`.base`). The share is compared with the median share of peers of
the same unit and role (a verification cell legitimately looks up strangers all day, so its own peers set
its baseline) using a binomial z: (u - n·p0) / sqrt(n·p0·(1 - p0)), p0 clipped to [``p_floor``, 0.98].

Each week is judged in the unit the account worked in that week (the events' unit), and the whole history
is the whole time in one unit (revision 2): officers move desks, and a moved officer's weeks in a
verification cell are compared with the cell, not with the investigation unit the actors table lists now.
The week of the move itself belongs to the unit of most of its lookups (revision 3; it went to the unit
with the higher id, so a verifier who moved to an investigation unit on a Friday had the week's strangers
judged against investigators).

Known false positives: case files not loaded or out of date in the context tables; an officer who works
for another unit's case; links through contacts (k hops) are not yet modelled, so a suspect's relatives
look unexplained.

Tunables (``ctx.params["insider.unexplained"]``): ``min_people`` (15) unexplained people, ``min_excess``
(0.25) above the peers' share, ``min_z`` (4.0), ``p_floor`` (0.03).
"""

from __future__ import annotations

import math

import ibis

from custodiet.detect.context import DetectionContext
from custodiet.detect.findings import Finding
from custodiet.detect.insider.base import (
    actors,
    day_start,
    evidence,
    first_per_actor,
    first_subjects,
    fmt_int,
    pairs,
    rows,
    severity_for,
    squash,
    unit_names,
    week_of_day,
    weekly,
)
from custodiet.detect.insider.peers import robust_z
from custodiet.detect.registry import detector

ID = "insider.unexplained"
ALL = "whole history"


REVISION = 3


@detector(ID, revision=REVISION, severity="high", channel="portal")
def unexplained_access(ctx: DetectionContext) -> list[Finding]:
    """Share of people looked up without a covering case, per week and overall, against peers."""
    p = ctx.params.get(ID, {})
    min_people, min_excess = int(p.get("min_people", 15)), float(p.get("min_excess", 0.25))
    min_z, p_floor = float(p.get("min_z", 4.0)), float(p.get("p_floor", 0.03))
    # Per account and person: explained if any of the account's accesses to the person was.
    per_subject = pairs(ctx).select("aid", "skey", "expl", "first", "last", "day")
    # Aggregate first, then label: the weekly rows and the whole-history rows are unioned once small. Each
    # person counts in the week of the first lookup, so the whole history is the sum of the weeks (one pass
    # over the pairs, not two); weeks are grouped as integers (cheaper than truncating timestamps).
    wk = per_subject.mutate(wk=week_of_day(per_subject.day))
    by_week = wk.group_by(["aid", "wk"]).aggregate(
        n=wk.count(), u=wk.count(where=~wk.expl), start=wk.first.min(), end=wk.last.max())
    # Each week belongs to the unit the account worked in that week, and the "whole history" is the whole
    # time in one unit: officers move desks, and a verification cell's weeks are judged against the cell.
    units = weekly(ctx).select("aid", "wk", unit="w_oid")
    by_week = by_week.join(units, ["aid", "wk"])
    per_week = by_week.select("aid", "unit", "n", "u", "start", "end",
                              period=day_start(by_week.wk, per_subject.first).cast("string"))
    whole = by_week.group_by(["aid", "unit"]).aggregate(
        n=by_week.n.sum(), u=by_week.u.sum(), start=by_week.start.min(), end=by_week.end.max())
    whole = whole.select("aid", "unit", "n", "u", "start", "end", period=ibis.literal(ALL))
    per = per_week.union(whole)
    per = per.join(actors(ctx).select("aid", "actor", "role"), "aid")
    per = per.mutate(share=per.u.cast("float64") / per.n)
    scored = robust_z(per, ["unit", "role", "period"], ["unit", "period"], "share", floor=0.05)
    p0 = scored.peer_med.clip(lower=p_floor, upper=0.98)
    scored = scored.mutate(p0=p0, bz=(scored.u - scored.n * p0) / (scored.n * p0 * (1 - p0)).sqrt())
    hits = scored.filter((scored.u >= min_people) & (scored.share - scored.p0 >= min_excess)
                         & (scored.bz >= min_z))
    ev = evidence(ctx)
    best = first_per_actor(rows(hits.order_by([hits.actor, ibis.desc(hits.bz), hits.period, hits.unit])))
    if not best:
        return []
    names = unit_names(ctx)
    spans = ibis.memtable([{"aid": r["aid"], "w_start": r["start"], "w_end": r["end"]} for r in best])
    q = per_subject.filter(~per_subject.expl).join(spans, "aid")
    listed = first_subjects(q.filter(q.first.between(q.w_start, q.w_end)).select("aid", "skey", "first"))
    out: list[Finding] = []
    for r in best:
        skeys = listed.get(r["aid"], [])
        org = names.get(r["unit"], "?")
        span = f"in its whole time in {org}" if r["period"] == ALL else f"in the week of {r['period'][:10]}"
        score = squash((r["share"] - r["p0"]) * math.log1p(r["bz"]), 0.6)
        out.append(ev.want(Finding(
            detector=ID, revision=REVISION, actor=r["actor"], subjects=[], window_start=r["start"],
            window_end=r["end"], score=score, severity=severity_for(score, "high"),
            summary=(f"{r['share']:.0%} of {fmt_int(r['n'])} people looked up {span} "
                     f"({fmt_int(r['u'])}) were on no open case of {org}; peers in {org}/{r['role']} "
                     f"{r['p0']:.0%} (binomial z {r['bz']:.1f})"),
            event_ids=[],
            details={"people": r["n"], "unexplained": r["u"], "share": r["share"], "peer_share": r["p0"],
                     "z": r["bz"], "period": r["period"], "unit": org},
        ), r["start"], r["end"], skeys))
    return out
