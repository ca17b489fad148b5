"""Collusion: two accounts splitting one order between them.

What it catches: a buyer's order shared out so that neither account looks like a seller: one officer pulls
the location of each target, the other the call records (or the IMEI history, or the travel record). Each
account then holds one sale kind per person, which :mod:`.steady_sale` and :mod:`.sale_bundle` need two or
four of. Together they hold the package. A *split person* is one that exactly two accounts ever looked up,
both without a case explaining it, each pulling sale kinds the other did not. Two accounts that share
``min_shared`` split people are one finding naming both (``actors``).

Casework shares people too, but differently: colleagues working the same unloaded case pull the same kinds
on the same suspects, their associates are looked up by more than two accounts, and most of it is
explained. Only the complementary kinds on strangers to everyone else count here.

An order is also split by *people* (revision 2): each account pulls the whole package (two sale kinds or
more) on its half of the targets. Each half is then a small seller of its own, but the two halves are filled
together: each account's *private package people* (unexplained, two sale kinds or more, and looked up by no
other account at all) crowd into one ``window_days`` window holding ``min_order_share`` of all it ever pulled
so (an order, not a habit), at least ``min_half`` of them, and the two windows start within ``max_lag_days``
of each other, with neither half more than ``max_half_ratio`` times the other. One finding names both.

Known false positives: a two-person team that divides its work by data kind on an operation whose case
file is not loaded; two sellers of their own who happen to start in the same days. Known misses: a split
where both accounts also pull a kind in common; a split by people whose halves are smaller than
``min_half`` (an ordinary officer's associates nobody else looks up reach eight in two weeks in the
project's own simulator).

Tunables (``ctx.params["insider.collusion"]``): ``min_shared`` (6) split people; for splits by people
``window_days`` (14: an order is filled within two weeks; listings appear days to weeks after the lookups),
``min_half`` (10: above the busiest ordinary account of the project's own simulator, eight), ``min_order_share``
(0.75: most of what the account ever pulled so falls in the order's window), ``max_lag_days`` (4: the buyer
hands both lists at once; within a working week), ``max_half_ratio`` (2.0: an order is shared roughly evenly;
a big seller starting beside a small one is two sellers).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import ibis

from custodiet.detect.context import DetectionContext
from custodiet.detect.findings import Finding
from custodiet.detect.insider.base import (
    SALE_KINDS,
    actors,
    evidence,
    first_subjects,
    fmt_int,
    popularity,
    rows,
    sale_kinds,
    severity_for,
    squash,
    unexplained_sales,
)
from custodiet.detect.registry import detector

ID = "insider.collusion"
REVISION = 2


@detector(ID, revision=REVISION, severity="high", channel="portal")
def collusion(ctx: DetectionContext) -> list[Finding]:
    """Pairs of accounts holding complementary sale kinds on ``min_shared`` people nobody else looked up."""
    p = ctx.params.get(ID, {})
    min_shared = int(p.get("min_shared", 6))
    pop = popularity(ctx)
    two = pop.filter((pop.accounts == 2) & (pop.u_accounts == 2)).select("skey")
    sale = unexplained_sales(ctx).join(two, "skey")
    held = sale_kinds(sale, ["aid", "skey"], first=sale.ts.min(), last=sale.ts.max())
    other = held.view()
    both = held.join(other, [held.skey == other.skey, held.aid < other.aid])
    overlap = ibis.or_(*((both[f"has_{k}"] * both[f"has_{k}_right"]) > 0 for k in SALE_KINDS))
    split = both.filter(~overlap).select(
        aid=both.aid, mate=both.aid_right, skey=both.skey,
        first=ibis.least(both.first, both.first_right), last=ibis.greatest(both.last, both.last_right))
    per = split.group_by(["aid", "mate"]).aggregate(shared=split.count(), start=split.first.min(),
                                                   end=split.last.max())
    dim = actors(ctx)
    mates = dim.select(mate=dim.aid, mate_actor=dim.actor, mate_org=dim.org)
    hits = per.filter(per.shared >= min_shared).join(dim, "aid").join(mates, "mate")
    found = rows(hits.order_by(["actor", "mate_actor"]))
    by_people = _split_by_people(ctx, p)
    if not found:
        return by_people
    flagged = ibis.memtable([{"aid": r["aid"], "mate": r["mate"]} for r in found])
    listed = first_subjects(split.join(flagged, ["aid", "mate"]).select("aid", "skey", "first"))
    ev = evidence(ctx)
    out: list[Finding] = []
    for r in found:
        score = squash(r["shared"] / min_shared, 0.5)
        out.append(ev.want(Finding(
            detector=ID, revision=REVISION, actor=r["actor"], actors=[r["actor"], r["mate_actor"]], subjects=[],
            window_start=r["start"], window_end=r["end"], score=score, severity=severity_for(score, "high"),
            summary=(f"{r['actor']} ({r['org']}) and {r['mate_actor']} ({r['mate_org']}) split {fmt_int(r['shared'])} "
                     f"people nobody else looked up: each pulled sale kinds the other did not "
                     f"({'/'.join(SALE_KINDS)}), and no case explained either"),
            event_ids=[],
            details={"shared": r["shared"], "accounts": [r["actor"], r["mate_actor"]]},
        ), r["start"], r["end"], listed.get(r["aid"], [])))
    named_pairs = {tuple(f.actors) for f in out}
    return out + [f for f in by_people if tuple(f.actors) not in named_pairs]


def _split_by_people(ctx: DetectionContext, p: dict[str, Any]) -> list[Finding]:
    """Pairs of accounts that each fill half of one order: private package people crowded into windows
    that start together (see the module's docstring)."""
    window, min_half = int(p.get("window_days", 14)), int(p.get("min_half", 10))
    min_order_share, max_lag = float(p.get("min_order_share", 0.75)), int(p.get("max_lag_days", 4))
    max_ratio = float(p.get("max_half_ratio", 2.0))
    pop = popularity(ctx)
    alone = pop.filter(pop.accounts == 1).select("skey")
    sale = unexplained_sales(ctx).join(alone, "skey")
    held = sale_kinds(sale, ["aid", "skey"], day=sale.day.min(), first=sale.ts.min(), last=sale.ts.max())
    package = held.filter(held.kinds >= 2)
    days: dict[int, list[int]] = defaultdict(list)
    for r in rows(package.select("aid", "day")):
        days[r["aid"]].append(int(r["day"]))
    halves: dict[int, tuple[int, int]] = {}  # aid -> (people in the densest window, its first day)
    for aid, ds in days.items():
        if len(ds) < min_half:
            continue
        ds.sort()
        best, start, j = 0, ds[0], 0
        for i in range(len(ds)):
            while ds[i] - ds[j] >= window:
                j += 1
            if i - j + 1 > best:
                best, start = i - j + 1, ds[j]
        if best >= min_half and best >= min_order_share * len(ds):
            halves[aid] = (best, start)
    order = sorted(halves)
    pairs = [(x, y) for i, x in enumerate(order) for y in order[i + 1:]
             if abs(halves[x][1] - halves[y][1]) <= max_lag
             and max(halves[x][0], halves[y][0]) <= max_ratio * min(halves[x][0], halves[y][0])]
    if not pairs:
        return []
    dim = {r["aid"]: r for r in rows(actors(ctx))}
    involved = sorted({aid for pair in pairs for aid in pair})
    sel = package.filter(package.aid.isin(involved))
    span = {r["aid"]: r for r in rows(sel.group_by("aid").aggregate(first=sel.first.min(), last=sel.last.max()))}
    listed = first_subjects(sel.select("aid", "skey", "first"))
    ev = evidence(ctx)
    out: list[Finding] = []
    for x, y in sorted(pairs, key=lambda q: (dim[q[0]]["actor"], dim[q[1]]["actor"])):
        (nx, _), (ny, _) = halves[x], halves[y]
        one, two = dim[x], dim[y]
        start = min(span[x]["first"], span[y]["first"])
        end = max(span[x]["last"], span[y]["last"])
        score = squash(min(nx, ny) / min_half, 0.5)
        out.append(ev.want(Finding(
            detector=ID, revision=REVISION, actor=one["actor"], actors=[one["actor"], two["actor"]], subjects=[],
            window_start=start, window_end=end, score=score, severity=severity_for(score, "high"),
            summary=(f"{one['actor']} ({one['org']}) and {two['actor']} ({two['org']}) each pulled the package "
                     f"(two or more of {'/'.join(SALE_KINDS)}) on people nobody else looked up, {fmt_int(nx)} "
                     f"and {fmt_int(ny)} of them, within {window} days starting together: one order split by "
                     f"people, and no case explained either"),
            event_ids=[],
            details={"split": "people", "halves": [nx, ny], "accounts": [one["actor"], two["actor"]]},
        ), start, end, listed.get(x, [])))
    return out
