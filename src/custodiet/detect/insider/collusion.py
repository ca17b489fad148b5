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

Known false positives: a two-person team that divides its work by data kind on an operation whose case
file is not loaded. Known misses: an order split by people rather than by kinds (each half is then a
smaller seller of its own), or a split where both accounts also pull a kind in common.

Tunables (``ctx.params["insider.collusion"]``): ``min_shared`` (6) split people.
"""

from __future__ import annotations

import ibis

from custodiet.detect.context import DetectionContext
from custodiet.detect.findings import Finding
from custodiet.detect.insider.base import (
    SALE_KINDS,
    accesses,
    actors,
    evidence,
    first_subjects,
    fmt_int,
    kind_code,
    popularity,
    rows,
    sale_kinds,
    severity_for,
    squash,
)
from custodiet.detect.registry import detector

ID = "insider.collusion"
REVISION = 1


@detector(ID, revision=REVISION, severity="high", channel="portal")
def collusion(ctx: DetectionContext) -> list[Finding]:
    """Pairs of accounts holding complementary sale kinds on ``min_shared`` people nobody else looked up."""
    min_shared = int(ctx.params.get(ID, {}).get("min_shared", 6))
    pop = popularity(ctx)
    two = pop.filter((pop.accounts == 2) & (pop.u_accounts == 2)).select("skey")
    a = accesses(ctx)
    sale = a.filter(a.unexpl & a.kind.isin([kind_code(k) for k in SALE_KINDS])).join(two, "skey")
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
    if not found:
        return []
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
    return out
