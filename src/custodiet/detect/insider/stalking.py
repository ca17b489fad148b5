"""Stalking: one person looked up again and again, on many days, with no case to explain it.

What it catches: the officer following an ex-partner, a neighbour or a journalist: repeated lookups of
the same unexplained person (often location, often in the evening) over weeks. Casework repeats too, but
on case subjects, which are explained and do not count here.

How it scores (revision 2). The strength is the number of days the person was looked up, over
``min_days``; it doubles when every lookup was for location, and doubles again when every lookup fell at
odd hours: hours the rest of the unit hardly works (:func:`.off_hours.rare_slots`: a night-shift unit's
nights are not rare) or hours in which the account itself makes under ``own_rare_share`` of its lookups
(the evening of an officer who works days). Obsession is dense: the days fall close together ("11 evenings
within 17 days"), while an associate of a long case comes back now and then over months, so the strength
is multiplied by 2 × days / (span in days + 1), capped at 1.

An obsession is pursued apart from work: the victim is looked up in hours in which the account works no
case, while an associate of a suspect whom no case lists is looked up in the middle of the suspect's
casework, between lookups that a case explains. The strength is multiplied by ``apart_floor`` + (1 -
``apart_floor``) × the share of the person's lookups made in an hour (of that day) with no explained lookup
by the account (revision 3): all of them apart keeps the strength, none of them halves it.

Revision 5 takes back revision 4, which weighed each pair down by three over the number of people the
account returned to (on the view that an account returning to many people works an unlisted case).
Stalkers return to the people around the victim too (a new partner, relatives, a workplace), and on worlds
the project did not make that cap cost stalkers their place in the ranking (two of twenty held-out worlds)
more than it spared ordinary officers: an officer returning alike to a suspect's unlisted associates is a
known false positive (README), as in revision 3.

It is divided by 1 + the other accounts that also looked the person up on two days or more, and a pair
with ``max_returning`` or more such accounts is no finding at all: several officers returning to the same
person is a case file that is missing, not one person's obsession, while a public figure looked up once
each by many accounts after a news event does not dilute it (revision 1 divided by every account that ever
looked the person up without a case, which rated an 11-evening stalker of a person one colleague had once
looked up "low"). Ten days alone on one person, mostly for location, is high.

Known false positives: a suspect whose case is missing from the context tables and whom only one officer
works; an informant handled outside the case system.

Tunables (``ctx.params["insider.stalking"]``): ``min_days`` (4) distinct days with an unexplained lookup
of the person, ``min_lookups`` (5), ``max_returning`` (2) other accounts returning to the person,
``own_rare_share`` (0.05) of the account's lookups in an hour of the week, ``apart_floor`` (0.5) the
factor left to a person looked up only in the middle of casework (half: being looked up beside casework
makes an associate likelier, it does not prove one).
"""

from __future__ import annotations

import ibis

from custodiet.detect.context import DetectionContext
from custodiet.detect.findings import Finding
from custodiet.detect.insider.base import (
    accesses,
    evidence,
    kind_code,
    named,
    pairs,
    rows,
    severity_for,
    squash,
)
from custodiet.detect.insider.off_hours import cells, rare_slots
from custodiet.detect.registry import detector

ID = "insider.stalking"
REVISION = 5


@detector(ID, revision=REVISION, severity="high", channel="portal")
def stalking(ctx: DetectionContext) -> list[Finding]:
    """(account, person) pairs with unexplained lookups on ``min_days`` days; one finding per pair."""
    p = ctx.params.get(ID, {})
    min_days, min_lookups = int(p.get("min_days", 4)), int(p.get("min_lookups", 5))
    max_returning = int(p.get("max_returning", 2))
    own_rare_share = float(p.get("own_rare_share", 0.05))
    apart_floor = float(p.get("apart_floor", 0.5))
    pair = pairs(ctx)
    cand = pair.filter(pair.u_n >= min_lookups).select("aid", "skey")
    # Distinct days, span, location and rare-hour lookups only for the few candidate pairs (over every pair,
    # they would make the shared pairs table dearer for all detectors).
    a = accesses(ctx)
    unit_rare = rare_slots(ctx).select("aid", "slot")
    c = cells(ctx)
    mine = c.group_by(["aid", "slot"]).aggregate(n=c.n.sum())
    mine = mine.mutate(share=mine.n / mine.n.sum().over(group_by="aid"))
    own_rare = mine.filter(mine.share < own_rare_share).select("aid", "slot")
    rare = unit_rare.union(own_rare, distinct=True).mutate(rare=ibis.literal(1))
    u = a.filter(a.unexpl).join(cand, ["aid", "skey"])
    u = u.left_join(rare, ["aid", "slot"]).select("aid", "skey", "ts", "day", "slot", "kind",
                                                  rare=ibis._.rare.fill_null(0))
    # Casework hours: (day, hour) cells in which the account made an explained lookup.
    work = c.group_by(["aid", "day", "slot"]).aggregate(cased=(c.n - c.unexpl).sum())
    work = work.filter(work.cased > 0).select("aid", "day", "slot", worked=ibis.literal(1))
    u = u.left_join(work, ["aid", "day", "slot"]).select(
        "aid", "skey", "ts", "day", "kind", "rare", apart=(1 - ibis._.worked.fill_null(0)))
    days = u.group_by(["aid", "skey"]).aggregate(
        days=u.day.nunique(), lookups=u.count(), u_first=u.ts.min(), u_last=u.ts.max(),
        u_loc=u.count(where=u.kind == kind_code("location")), u_rare=u.rare.sum(), u_apart=u.apart.sum())
    days = days.filter(days.days >= min_days)
    # Other accounts that came back to the same person on two days or more (explained or not).
    people = days.select("skey").distinct()
    seen = a.join(people, "skey")
    seen = seen.group_by(["aid", "skey"]).aggregate(d=seen.day.nunique())
    returning = seen.filter(seen.d >= 2).group_by("skey").aggregate(returning=ibis._.count())
    hits = days.left_join(returning, "skey").select(
        "aid", "skey", "days", "lookups", "u_first", "u_last", "u_loc", "u_rare", "u_apart",
        others=(ibis._.returning.fill_null(1) - 1))
    hits = named(hits.filter(hits.others < max_returning), ctx)
    ev = evidence(ctx)
    out: list[Finding] = []
    for r in rows(hits.order_by(["actor", hits.days.desc(), "u_first"])):
        span_days = max((r["u_last"] - r["u_first"]).days, 1)
        loc, rare = r["u_loc"] / r["lookups"], r["u_rare"] / r["lookups"]
        apart = r["u_apart"] / r["lookups"]
        dense = min(1.0, 2 * r["days"] / (span_days + 1))
        strength = r["days"] / min_days * (1 + loc) * (1 + rare) * dense * (apart_floor + (1 - apart_floor) * apart)
        score = squash(strength, 1.0) / (1 + r["others"])
        out.append(ev.want(Finding(
            detector=ID, revision=REVISION, actor=r["actor"], subjects=[], window_start=r["u_first"],
            window_end=r["u_last"], score=score, severity=severity_for(score, "high"),
            summary=(f"looked up one person on no case of {r['org']} {r['lookups']} times on {r['days']} "
                     f"days over {span_days} days ({loc:.0%} location, {rare:.0%} at hours the unit or the account "
                     f"hardly works, {apart:.0%} in hours with no casework); {r['others']} other account(s) came "
                     f"back to that person on two days or more"),
            event_ids=[],
            details={"lookups": r["lookups"], "days": r["days"], "span_days": span_days,
                     "location_share": loc, "rare_hours_share": rare, "apart_from_casework_share": apart,
                     "returning_accounts": r["others"]},
        ), r["u_first"], r["u_last"], [r["skey"]]))
    return out
