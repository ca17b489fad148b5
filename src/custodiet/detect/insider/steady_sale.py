"""The quiet seller: a small, steady stream of strangers looked up for what sells, week after week.

What it catches: the officials "still offering to sell" after the first arrests. They fill a few orders a
day on some days: two to four people, location and call records for each, often outside office hours,
steady for weeks. No single day stands out (so :mod:`.volume` and :mod:`.bulk` stay quiet), and a buyer's
order is two kinds rather than the full package (so :mod:`.sale_bundle` does not see it).

A *sold-looking person* is one the account looked up with at least ``min_kinds`` sale kinds (location,
call records, IMEI, travel) and never with a case of its unit explaining it. People that many accounts look
up without a case (a wanted person, a politician in the news) weigh 1 / (those accounts), so a news event
does not make a seller. Per account this counts the weighted people and the days on which the stream ran,
and compares the count with what the account's own volume gives at its peers' rate: the median, over the
peers (same unit and role, :mod:`.peers`), of the share of their people that look sold. A surveillance
unit that pulls location and call records on unlisted associates all day has peers that do the same; and
a heavy analyst with ten such people among three hundred is at the rate of a quiet one with one among
thirty, while a seller with twenty-five among ninety is not (revision 1 compared counts, so a seller
among heavy peers stayed under their median count).

Two shapes raise the score: lookups made in hours when the rest of the unit hardly works
(:func:`.off_hours.rare_slots`, so a night-shift unit's nights are not rare), and lookups made in hours with
no casework by the account at all (a seller fills orders apart from the day's work; an associate is looked
up between the suspect's lookups).

Known false positives: an officer working an unloaded case alone for weeks (every subject looks
unexplained); a desk whose role is mislabelled in the actors table. Known misses: a seller who sells only
one kind per person, or who mixes sold people into lookups under a case that lists them.

Tunables (``ctx.params["insider.steady_sale"]``): ``min_kinds`` (2) sale kinds per person, ``min_people``
(8) weighted people, ``min_days`` (5) days with a new one, ``min_ratio`` (3.0) times the count expected at
the peers' rate (plus one).
"""

from __future__ import annotations

import math

import ibis

from custodiet.detect.context import DetectionContext
from custodiet.detect.findings import Finding
from custodiet.detect.insider.base import (
    SALE_KINDS,
    actors,
    evidence,
    first_subjects,
    fmt_int,
    named,
    pairs,
    popularity,
    rows,
    sale_kinds,
    severity_for,
    squash,
    unexplained_sales,
)
from custodiet.detect.insider.off_hours import cells, rare_slots
from custodiet.detect.insider.peers import peer_median
from custodiet.detect.registry import detector

ID = "insider.steady_sale"
REVISION = 2


@detector(ID, revision=REVISION, severity="high", channel="portal")
def steady_sale(ctx: DetectionContext) -> list[Finding]:
    """Accounts with a steady stream of strangers pulled with ``min_kinds`` sale kinds, well above peers."""
    p = ctx.params.get(ID, {})
    min_kinds, min_people = int(p.get("min_kinds", 2)), float(p.get("min_people", 8.0))
    min_days, min_ratio = int(p.get("min_days", 5)), float(p.get("min_ratio", 3.0))
    sale = unexplained_sales(ctx)
    # The pairs join only for the few people with enough kinds: those the account never looked up under
    # cover of a case (the shared pairs table knows).
    per_person = sale_kinds(sale, ["aid", "skey"], first=sale.ts.min(), day=sale.day.min())
    pr = pairs(ctx)
    sold = per_person.filter(per_person.kinds >= min_kinds)
    sold = sold.join(pr.filter(~pr.expl).select("aid", "skey"), ["aid", "skey"])
    spread = popularity(ctx).select("skey", "u_accounts")
    sold = sold.join(spread, "skey").mutate(weight=1.0 / ibis.greatest(ibis._.u_accounts, 1))
    # Rounded: a parallel sum of floats differs in its last bits from run to run, and findings must not.
    per = sold.group_by("aid").aggregate(people=sold.weight.sum().round(9), raw=sold.count(), days=sold.day.nunique(),
                                         first=sold.first.min(), last=sold.first.max())
    looked = pr.group_by("aid").aggregate(looked=pr.count())
    per = per.join(looked, "aid").mutate(rate=(ibis._.people / ibis._.looked).round(12))
    peer = peer_median(per, actors(ctx), "rate")
    cand = named(per, ctx).join(peer, "aid")
    cand = cand.mutate(expected=cand.peer_med * cand.looked)
    cand = cand.filter((cand.people >= min_people) & (cand.days >= min_days)
                       & (cand.people >= min_ratio * (cand.expected + 1)))
    found = rows(cand.order_by("actor"))
    if not found:
        return []
    flagged = ibis.memtable([{"aid": r["aid"]} for r in found])
    shape = _shape(ctx, sale.join(sold.select("aid", "skey"), ["aid", "skey"]).join(flagged, "aid"))
    listed = first_subjects(sold.join(flagged, "aid").select("aid", "skey", "first"))
    ev = evidence(ctx)
    out: list[Finding] = []
    for r in found:
        rare, apart = shape.get(r["aid"], (0.0, 0.0))
        ratio = r["people"] / (r["expected"] + 1)
        weeks = max((r["last"] - r["first"]).days / 7, 1.0)
        strength = math.log(ratio / min_ratio * math.e) * (r["days"] / min_days) ** 0.5 * (1 + rare) * (0.5 + apart)
        score = squash(strength, 1.5)
        out.append(ev.want(Finding(
            detector=ID, revision=REVISION, actor=r["actor"], subjects=[], window_start=r["first"],
            window_end=r["last"], score=score, severity=severity_for(score, "high"),
            summary=(f"pulled at least {min_kinds} of {'/'.join(SALE_KINDS)} on {fmt_int(r['raw'])} people on none "
                     f"of {r['org']}'s cases, on {r['days']} days over {weeks:.0f} weeks ({r['people']:.1f} weighted "
                     f"by how many accounts look them up) of the {fmt_int(r['looked'])} it looked up, {ratio:.1f}× "
                     f"the {r['expected']:.1f} its peers' rate ({r['peer_med']:.1%}) gives; "
                     f"{rare:.0%} at hours the unit hardly works, {apart:.0%} in hours with no casework"),
            event_ids=[],
            details={"people": r["raw"], "weighted_people": r["people"], "days": r["days"],
                     "looked_up": r["looked"], "peer_rate": r["peer_med"], "expected": r["expected"],
                     "ratio": ratio, "rare_hours_share": rare,
                     "apart_from_casework_share": apart},
        ), r["first"], r["last"], listed.get(r["aid"], [])))
    return out


def _shape(ctx: DetectionContext, lookups: ibis.Table) -> dict[int, tuple[float, float]]:
    """Per flagged account: the share of its sold-looking lookups at hours rare for its unit, and the share
    made in (day, hour) slots where it made no explained lookup at all."""
    rare = rare_slots(ctx).select("aid", "slot", rare=ibis.literal(1))
    c = cells(ctx)
    work = c.group_by(["aid", "day", "slot"]).aggregate(cased=(c.n - c.unexpl).sum())
    j = lookups.left_join(rare, ["aid", "slot"]).select("aid", "day", "slot", rare=ibis._.rare.fill_null(0))
    j = j.left_join(work, ["aid", "day", "slot"]).select(
        "aid", "rare", apart=(ibis._.cased.fill_null(0) == 0).cast("int32"))
    g = j.group_by("aid").aggregate(n=j.count(), rare=j.rare.sum(), apart=j.apart.sum())
    return {r["aid"]: (r["rare"] / r["n"], r["apart"] / r["n"]) for r in rows(g)}
