"""Enumeration and bulk harvesting: many people, each looked up once, in one day.

What it catches: scripts and harvesters walking through identifier ranges or a purchased target list.
Per account and day it counts the people the account looked up that day and never again, with no open
case of its unit explaining them, and compares the account's busiest day with its peers' busiest days
(same unit and role). Enumeration of sequential numbers also hits many identifiers that belong to nobody,
so the share of empty answers (``records = 0`` or outcome not ``allowed``) that day raises the score.

Sequential identifiers themselves cannot be seen here: subjects are keyed pseudonyms, so numeric
neighbourhood is hidden by design (see the report on ingest-side support).

Volumes are heavy-tailed: in a verification cell a few operators check a thousand strangers every day,
far above their peers' median every day. Revision 3 also measures the busiest day against the account's
*own* usual day (the median of its days with one-off people): a harvest or an enumeration is a burst, so
only a busiest day at least ``min_self_ratio`` times the usual one can be high; a habit stays medium. And
a harvest is of something: what sells (location, call records, IMEI, travel) or, when a script walks
through a range, numbers that belong to nobody (empty answers). A day of identity checks on strangers
that all exist is a verification desk's day (or an officer's from the desk he came from): low at most
(revision 6; medium before) unless it is an enumeration (below) or ``min_sale_or_empty`` of its people were
pulled for a sale kind *beyond the unit's routine*: the share of the unit's lookups (in the unit the account
worked in that day) that are of a sale kind is subtracted (revision 5: a border desk checks travel all day,
an investigation unit pulls call records and locations on its suspects, so half of a busy day there being
"what sells" is the routine, not a harvest).

Empty answers are judged against the unit's routine too (revision 6): most people have no criminal record,
so a day of record checks is a third empty without anyone enumerating, while a script walking a range of
national ids that all exist in part hits few empty answers in absolute terms (a quarter) but many times what
the same kinds of lookup return empty in the unit. The day's *expected* empty answers are the sum over its
lookups of the unit's empty share for that data kind; the day counts as an enumeration when at least
``min_empty_share`` of its people came back empty and that is ``min_empty_ratio`` times the expected share
(empty answers no longer count towards ``min_sale_or_empty``: a day of record checks on strangers, mostly
empty as every such day in the unit, is no enumeration).
A day of one-off strangers that is neither (the unit's own kinds, as empty as the unit's) is the unit's routine
at a higher pace, the mark of a heavy worker in a heavy-tailed desk: low at most (revision 6; it was medium,
and a verification desk's busiest operators outranked targeted abuse). A burst that is an enumeration or a
harvest is then as strong as the larger of its two ratios (peers' busiest
day, the account's own usual day): a script run once by an officer of a busy unit is as far from his own
routine as a harvest in a quiet one.

Peers and the account's own usual day are taken in the unit it worked in that week (the events' unit;
revision 5): an officer who moved from a verification cell to an investigation unit is judged on his
verification days against the cell, not against his new unit.

Known false positives: a verification cell's mass check on a list it was handed (its peers do the same,
so the peer comparison absorbs the routine), data-quality sweeps.

Tunables (``ctx.params["insider.bulk"]``): ``min_people`` (40) in one day, ``min_ratio`` (4.0) times the
peers' median busiest day (plus one), ``min_self_ratio`` (4.0) times the account's own usual day,
``min_sale_or_empty`` (0.3) share of the day's people; ``min_empty_share`` (0.1: one person in ten belonging
to nobody is no typing slip) and ``min_empty_ratio`` (5.0: five times what the unit's lookups of the same kinds
return empty; routine variation between officers of one unit stays within a factor of two or three).
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from statistics import median

import ibis
import ibis.expr.types as ir

from custodiet.detect.context import DetectionContext
from custodiet.detect.findings import Finding
from custodiet.detect.insider.base import (
    accesses,
    actors,
    day_start,
    evidence,
    first_per_actor,
    first_subjects,
    fmt_int,
    is_sale,
    pairs,
    presence,
    rows,
    severity_for,
    squash,
    unit_names,
    week_of_day,
    weekly,
)
from custodiet.detect.insider.peers import peer_median_at
from custodiet.detect.registry import detector

ID = "insider.bulk"
# A colleague's empty share of a kind counts towards the unit's routine from this many lookups of it on (from
# fewer, the share moves in steps of 20% or more).
_MIN_KIND_LOOKUPS = 5


REVISION = 6


@detector(ID, revision=REVISION, severity="high", channel="portal")
def bulk_harvesting(ctx: DetectionContext) -> list[Finding]:
    """The account's busiest day of one-off unexplained people, against its peers' busiest days."""
    p = ctx.params.get(ID, {})
    min_people, min_ratio = int(p.get("min_people", 40)), float(p.get("min_ratio", 4.0))
    min_self = float(p.get("min_self_ratio", 4.0))
    min_sale_or_empty = float(p.get("min_sale_or_empty", 0.3))
    min_empty_share, min_empty_ratio = float(p.get("min_empty_share", 0.1)), float(p.get("min_empty_ratio", 5.0))
    pair = pairs(ctx)
    once = pair.filter((pair.n == 1) & ~pair.expl)
    # ``day``: the epoch day of the one lookup (an integer: cheaper to group than truncated timestamps)
    daily = once.group_by(["aid", "day"]).aggregate(people=once.count(), empty=once.count(where=once.empty),
                                                    sale=once.count(where=once.sale))
    # Each day belongs to the unit the account worked in that week (officers move desks).
    wk = weekly(ctx).select("aid", "wk", oid="w_oid")
    daily = daily.mutate(wk=week_of_day(daily.day)).join(wk, ["aid", "wk"]).drop("wk")
    busiest = daily.group_by(["aid", "oid"]).aggregate(top=daily.people.max(), usual=daily.people.median())
    peer = peer_median_at(busiest, presence(ctx), actors(ctx), "top")
    days = daily.join(actors(ctx).select("aid", "actor"), "aid").join(peer, ["aid", "oid"]).join(
        busiest.select("aid", "oid", "usual"), ["aid", "oid"])
    days = days.filter((days.people >= min_people) & (days.people >= min_ratio * (days.peer_med + 1)))
    days = days.mutate(day_ts=day_start(days.day, once.first))
    ev = evidence(ctx)
    all_days = rows(days.order_by(["actor", days.people.desc(), "day"]))
    count = Counter(r["actor"] for r in all_days)
    best = first_per_actor(all_days)
    if not best:
        return []
    names = unit_names(ctx)
    # What the unit pulls anyway: the share of its lookups of a kind that sells (a border desk checks travel
    # all day), so that only a day well beyond the unit's routine counts as a harvest of what sells.
    a = accesses(ctx)
    picked_units = ibis.memtable({"oid": sorted({r["oid"] for r in best})}, schema={"oid": "int32"})
    u = a.join(picked_units, "oid")
    routine = {r["oid"]: r["sale"] / r["n"] for r in rows(u.group_by("oid").aggregate(
        n=u.count(), sale=u.count(where=is_sale(u.kind))))}
    picked = ibis.memtable([{"aid": r["aid"], "day": r["day"]} for r in best])
    picked = picked.mutate(day=picked.day.cast(once.day.type()))
    expected = _expected_empty(a, u, once, picked)
    listed = first_subjects(once.join(picked, ["aid", "day"]).select("aid", "skey", "first"))
    out: list[Finding] = []
    for r in best:
        start, end = r["day_ts"], r["day_ts"] + timedelta(days=1)
        skeys = listed.get(r["aid"], [])
        n_days = count[r["actor"]]
        ratio = r["people"] / (r["peer_med"] + 1)
        empty_share = r["empty"] / r["people"]
        self_ratio = r["people"] / max(float(r["usual"]), 1.0)
        sale_share = r["sale"] / r["people"]
        unit_sale = routine.get(r["oid"], 0.0)
        routine_empty = expected.get((r["aid"], r["day"]), 0.0) / r["people"]
        enumeration = empty_share >= max(min_empty_share, min_empty_ratio * routine_empty)
        harvest = enumeration or sale_share - unit_sale >= min_sale_or_empty
        burst = max(ratio, self_ratio) if harvest and self_ratio >= min_self else ratio
        # A burst of harvest is high; a habit of harvesting medium; strangers of the unit's own kinds low.
        ceiling = ("high" if self_ratio >= min_self else "medium") if harvest else "low"
        score = squash(burst * n_days ** 0.5 * (1 + empty_share), 10.0) * (0.5 + 0.5 * min(self_ratio / min_self, 1))
        out.append(ev.want(Finding(
            detector=ID, revision=REVISION, actor=r["actor"], subjects=[], window_start=start, window_end=end,
            score=score, severity=severity_for(score, ceiling),
            summary=(f"looked up {fmt_int(r['people'])} people once each on {start:%Y-%m-%d} with no "
                     f"covering case ({sale_share:.0%} for kinds that sell against {unit_sale:.0%} in the unit's "
                     f"lookups, {empty_share:.0%} empty answers against {routine_empty:.0%} for the same kinds "
                     f"in the unit), "
                     f"{ratio:.1f}× the busiest "
                     f"day of peers in {names.get(r['oid'], '?')} and {self_ratio:.1f}× its own usual day; "
                     f"{n_days} such day(s) in all"),
            event_ids=[],
            details={"people": r["people"], "empty": r["empty"], "peer_median_top": r["peer_med"],
                     "days": n_days, "self_ratio": self_ratio, "sale_share": sale_share,
                     "unit_sale_share": unit_sale, "routine_empty_share": routine_empty,
                     "enumeration": enumeration},
        ), start, end, skeys))
    return out


def _expected_empty(a: ir.Table, unit_accesses: ir.Table, once: ir.Table,
                    picked: ir.Table) -> dict[tuple[int, int], float]:
    """Per picked (aid, day): the empty answers its one-off people would get at the unit's routine rate for each
    kind: the median of the empty shares of the unit's *other* accounts with at least ``_MIN_KIND_LOOKUPS``
    lookups of that kind (an enumerator would otherwise set his unit's routine himself, and two enumerators
    in one unit each other's; a typical colleague is the routine)."""
    u = unit_accesses
    per = rows(u.group_by(["oid", "aid", "kind"]).aggregate(n=u.count(), e=u.count(where=u.empty)))
    shares: dict[tuple[int, int], list[tuple[int, float]]] = {}
    for r in per:
        if r["n"] >= _MIN_KIND_LOOKUPS:
            shares.setdefault((r["oid"], r["kind"]), []).append((r["aid"], r["e"] / r["n"]))
    day = a.join(picked, ["aid", "day"]).join(once.select("aid", "skey"), ["aid", "skey"])
    got: dict[tuple[int, int], float] = {}
    for r in rows(day.group_by(["aid", "day", "oid", "kind"]).aggregate(n=day.count())):
        others = [share for aid, share in shares.get((r["oid"], r["kind"]), []) if aid != r["aid"]]
        rate = float(median(others)) if others else 0.0
        got[(r["aid"], r["day"])] = got.get((r["aid"], r["day"]), 0.0) + r["n"] * rate
    return got
