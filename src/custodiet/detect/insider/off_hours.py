"""Unusual hours: lookups at hours when the account's unit (without the account) hardly ever works.

What it catches: a hijacked account used at night, an officer harvesting on Sunday mornings when nobody
is watching. Each lookup falls in one of 48 slots (hour of day × weekday/weekend, UTC). A slot is *rare*
for an account when the other accounts of its unit put less than ``rare_share`` of their lookups there
(the account itself is left out, so its own night work does not make the night normal). The account's
rare lookups are compared with what its own volume would give at the unit's rate, and must be a
departure from the account's own habit: they fall on at most ``max_habit`` of the account's active days
(an officer who always works the late shift alone is routine, a sudden night session is not).

Known false positives: an officer on a late shift that nobody else in the unit works, who only
sometimes works it; time zones of accounts working abroad; clock errors at the source.

Tunables (``ctx.params["insider.off_hours"]``): ``rare_share`` (0.01), ``min_lookups`` (15) rare lookups,
``min_ratio`` (5.0) times the expected count, ``max_habit`` (0.25) share of active days.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from custodiet.detect.context import DetectionContext
from custodiet.detect.findings import Finding
from custodiet.detect.insider.base import (
    accesses,
    evidence,
    fmt_int,
    materialise,
    named,
    rows,
    severity_for,
    squash,
)
from custodiet.detect.registry import detector

ID = "insider.off_hours"


def cells(ctx: DetectionContext) -> ir.Table:
    """One small table per (account, day, slot, client): lookups, unexplained ones, first and last.

    Accounts work from one or two clients, so keeping the
    client costs few rows, and :mod:`.new_client` reads its per-client counts from here instead of making
    its own pass over the accesses."""
    def build() -> ir.Table:
        a = accesses(ctx)  # ``slot`` (hour of day, +24 at weekends; UTC) and ``day`` are its columns
        return named(a.group_by(["aid", "day", "slot", "client"]).aggregate(
            n=a.count(), unexpl=a.count(where=a.unexpl), first=a.ts.min(), last=a.ts.max()), ctx)
    return materialise(ctx, "off_hours_cells", build)


def rare_slots(ctx: DetectionContext, rare_share: float = 0.01) -> ir.Table:
    """(aid, slot, n, others_share, mine_total) for every slot the account used where the rest of its unit
    puts less than ``rare_share`` of its lookups."""
    c = cells(ctx)
    mine = c.group_by(["aid", "org", "slot"]).aggregate(n=c.n.sum().cast("float64"))
    unit = mine.group_by(["org", "slot"]).aggregate(unit_n=mine.n.sum())
    tot_mine = mine.group_by("aid").aggregate(mine_total=mine.n.sum())
    tot_unit = unit.group_by("org").aggregate(unit_total=unit.unit_n.sum())
    j = mine.join(unit, ["org", "slot"]).join(tot_mine, "aid").join(tot_unit, "org")
    others = j.unit_total - j.mine_total
    j = j.mutate(others_share=ibis.ifelse(others > 0, (j.unit_n - j.n) / others, 0.0))
    return j.filter(j.others_share < rare_share).select("aid", "slot", "n", "others_share", "mine_total")


@detector(ID, revision=1, severity="medium", channel="portal")
def off_hours(ctx: DetectionContext) -> list[Finding]:
    """Lookups in slots where the rest of the unit does under ``rare_share`` of its work."""
    p = ctx.params.get(ID, {})
    rare_share, min_lookups = float(p.get("rare_share", 0.01)), int(p.get("min_lookups", 15))
    min_ratio, max_habit = float(p.get("min_ratio", 5.0)), float(p.get("max_habit", 0.25))
    c, rare = cells(ctx), rare_slots(ctx, rare_share)
    per = rare.group_by(["aid", "mine_total"]).aggregate(
        rare_n=rare.n.sum(), expected=(rare.others_share * rare.mine_total).sum().round(9))  # same bits every run
    per = per.mutate(ratio=per.rare_n / ibis.greatest(per.expected, 0.5))
    hits = per.filter((per.rare_n >= min_lookups) & (per.ratio >= min_ratio))
    hits = hits.select("aid", "rare_n", "ratio", "expected")
    in_rare = c.join(rare.select("aid", "slot"), ["aid", "slot"]).join(hits, "aid")
    stats = in_rare.group_by(["aid", "actor", "org", "rare_n", "ratio", "expected"]).aggregate(
        first=in_rare.first.min(), last=in_rare.last.max(), unexpl=in_rare.unexpl.sum().cast("float64"),
        days=in_rare.day.nunique(), slots=in_rare.slot.collect(distinct=True))
    active = c.group_by("aid").aggregate(active_days=c.day.nunique())
    stats = stats.join(active, "aid")
    ev = evidence(ctx)
    out: list[Finding] = []
    for r in rows(stats.order_by("actor")):
        if r["days"] > max_habit * r["active_days"]:
            continue  # the account's routine, not a departure from it
        unexpl = r["unexpl"] / r["rare_n"]
        score = squash(r["ratio"] / min_ratio * (0.5 + unexpl) * (r["rare_n"] / min_lookups) ** 0.5, 4.0)
        hours = sorted({s % 24 for s in r["slots"]})
        out.append(ev.want(Finding(
            detector=ID, revision=1, actor=r["actor"], subjects=[], window_start=r["first"],
            window_end=r["last"], score=score, severity=severity_for(score, "medium"),
            summary=(f"made {fmt_int(r['rare_n'])} lookups ({unexpl:.0%} unexplained) on {r['days']} day(s) at "
                     f"hours the rest of {r['org']} almost never works ({', '.join(f'{h:02d}h' for h in hours)} "
                     f"UTC), {r['ratio']:.0f}× the unit's rate; {r['days']} of its {r['active_days']} active days"),
            event_ids=[],
            details={"rare_lookups": r["rare_n"], "expected": r["expected"], "unexplained_share": unexpl,
                     "hours": hours, "days": r["days"], "active_days": r["active_days"]},
        ), r["first"], r["last"]))
    return out
