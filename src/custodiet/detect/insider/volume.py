"""Volume against peers: accounts that look up far more people than the others in their unit and role.

What it catches: bulk sellers and harvesters, in any week of the history and over the last 30 days.
For every account and period (ISO week; the 30 days up to the newest event) it counts lookups and distinct
people, and compares ln(1 + people) with the median and MAD of the peers of the same unit and role in
the same period (:mod:`.peers`: small groups fall back to the role across units; the spread has a floor).

Busy is not abuse: volumes within a unit are heavy-tailed (a few officers do most of the work), so being
far above the peers' median is some officers' every week. Revision 2 therefore rates a period by two more
questions: is it also far above the account's *own* usual week (``min_self_ratio`` × the median of its
active weeks), and were most of its people on no case of the unit (``min_unexplained``)? With both, the
finding can be high; with one, at most medium; with neither, low.

Known false positives: an officer who covers for absent colleagues, a new large case, a unit whose roles
are mislabelled in the actors table (a verification analyst filed as an investigator).

Tunables (``ctx.params["insider.volume"]``): ``min_people`` (30) people in the period, ``min_ratio`` (3.0)
times the peer median, ``min_z`` (3.0) robust z, ``recent_days`` (30), ``min_self_ratio`` (2.0), ``min_unexplained``
(0.5) share of the period's people.
"""

from __future__ import annotations

import math
from datetime import timedelta

import ibis

from custodiet.detect.context import DetectionContext
from custodiet.detect.findings import Finding
from custodiet.detect.insider.base import (
    accesses,
    evidence,
    first_per_actor,
    fmt_int,
    named,
    pairs,
    rows,
    severity_for,
    squash,
    weekly,
)
from custodiet.detect.insider.peers import robust_z
from custodiet.detect.registry import detector

ID = "insider.volume"


REVISION = 2


@detector(ID, revision=REVISION, severity="high", channel="portal")
def volume_against_peers(ctx: DetectionContext) -> list[Finding]:
    """Lookups per account per week and over the last 30 days, against peers of the same unit and role.

    Flags a period when the account's distinct people reach ``min_people``, ``min_ratio`` × the peer
    median and a robust z of ``min_z``. One finding per account: its most extreme period.
    """
    if ctx.now is None:
        return []
    p = ctx.params.get(ID, {})
    min_people, min_ratio = int(p.get("min_people", 30)), float(p.get("min_ratio", 3.0))
    min_z, recent_days = float(p.get("min_z", 3.0)), int(p.get("recent_days", 30))
    min_self, min_unexpl = float(p.get("min_self_ratio", 2.0)), float(p.get("min_unexplained", 0.5))
    recent_start = ctx.now - timedelta(days=recent_days)
    w = weekly(ctx)
    a = accesses(ctx)
    r30 = a.filter(a.ts > recent_start)
    r30 = r30.group_by("aid").aggregate(lookups=r30.count())
    # Distinct people in the period from the shared pairs (a person was looked up in it iff the pair's last
    # lookup was): a count over the pairs instead of a distinct count over millions of accesses.
    pr = pairs(ctx)
    recent_pairs = pr.filter(pr.last > recent_start)
    r30 = r30.join(recent_pairs.group_by("aid").aggregate(people=recent_pairs.count(),
                                                          u_people=recent_pairs.count(where=~recent_pairs.expl)),
                   "aid")
    r30 = r30.mutate(period=ibis.literal(recent_start, type=w.week.type()),
                     weeks=ibis.literal(recent_days / 7.0))
    per = w.select("aid", "lookups", "people", "u_people", period=w.week, weeks=ibis.literal(1.0)).union(
        r30.select("aid", "lookups", "people", "u_people", "period", "weeks"))
    usual = w.group_by("aid").aggregate(usual=w.people.median())
    per = named(per, ctx).join(usual, "aid")
    per = per.mutate(lv=(per.people + 1).ln())
    scored = robust_z(per, ["org", "role", "period"], ["org", "period"], "lv")
    scored = scored.mutate(ratio=scored.people / ibis.greatest(scored.peer_med.exp() - 1, ibis.literal(1.0)))
    hits = scored.filter((scored.people >= min_people) & (scored.ratio >= min_ratio) & (scored.z >= min_z))
    ev = evidence(ctx)
    out: list[Finding] = []
    for r in first_per_actor(rows(hits.order_by([hits.actor, ibis.desc(hits.z), hits.period]))):
        recent = r["period"] == recent_start
        span = f"in the {recent_days} days to {ctx.now:%Y-%m-%d}" if recent else \
            f"in the week of {r['period']:%Y-%m-%d}"
        peer_med = math.exp(r["peer_med"]) - 1
        self_ratio = r["people"] / r["weeks"] / max(float(r["usual"]), 1.0)
        unexpl = min(r["u_people"] / r["people"], 1.0)
        departs, strangers = self_ratio >= min_self, unexpl >= min_unexpl
        ceiling = "high" if departs and strangers else "medium" if departs or strangers else "low"
        score = squash(r["z"] - min_z + math.log(r["ratio"]), 4.0)
        score *= (0.5 + 0.5 * min(self_ratio / min_self, 1.0)) * (0.5 + 0.5 * min(unexpl / min_unexpl, 1.0))
        start = recent_start if recent else r["period"]
        end = ctx.now if recent else r["period"] + timedelta(days=7)
        out.append(ev.want(Finding(
            detector=ID, revision=REVISION, actor=r["actor"], subjects=[], window_start=start, window_end=end,
            score=score, severity=severity_for(score, ceiling),
            summary=(f"looked up {fmt_int(r['people'])} people ({fmt_int(r['lookups'])} lookups) {span}, "
                     f"{r['ratio']:.1f}× the median of {fmt_int(r['peer_n'])} peers in {r['org']}/{r['role']} "
                     f"({peer_med:.0f}; robust z {r['z']:.1f}) and {self_ratio:.1f}× its own usual week; "
                     f"{unexpl:.0%} of them on no case of the unit"),
            event_ids=[],
            details={"people": r["people"], "lookups": r["lookups"], "ratio": r["ratio"], "z": r["z"],
                     "peer_median": peer_med, "peers": r["peer_n"], "period_start": start.isoformat(),
                     "self_ratio": self_ratio, "unexplained_share": unexpl},
        ), start, end))
    return out
