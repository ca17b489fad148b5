"""The data-for-sale pattern: bundles of location, call records, IMEI and travel on unexplained people.

What it catches: sellers filling orders. Data brokers sell a "full package" per target (where the phone
is, whom it calls, which handset, whether the person travelled), so a seller pulls several of those data
kinds on the same person, who is on none of the seller's unit's cases, within a few days.

Known false positives: a unit working an unloaded case (every subject looks unexplained and gets the full
work-up); surveillance teams whose targets are tracked in another system.

The sale kinds are location, cdr, imei and travel (``base.SALE_KINDS``).

Tunables (``ctx.params["insider.sale_bundle"]``): ``min_kinds`` (3) of the sale kinds on one person,
``within_days`` (7) from the first to the last of them, ``min_people`` (2)
bundled people, ``min_ratio`` (3.0) times the peers' median count (plus one).
"""

from __future__ import annotations

from custodiet.detect.context import DetectionContext
from custodiet.detect.findings import Finding
from custodiet.detect.insider.base import (
    SALE_KINDS,
    actors,
    evidence,
    fmt_int,
    named,
    pairs,
    rows,
    severity_for,
    squash,
)
from custodiet.detect.registry import detector

ID = "insider.sale_bundle"


@detector(ID, revision=1, severity="high", channel="portal")
def sale_bundles(ctx: DetectionContext) -> list[Finding]:
    """People on whom an account pulled ``min_kinds`` of the sale kinds without a covering case."""
    p = ctx.params.get(ID, {})
    min_kinds, within = int(p.get("min_kinds", 3)), int(p.get("within_days", 7))
    min_people, min_ratio = int(p.get("min_people", 2)), float(p.get("min_ratio", 3.0))
    pair = pairs(ctx)
    span = pair.sale_last.epoch_seconds() - pair.sale_first.epoch_seconds()
    kinds = sum((pair[f"s_{k}"].cast("int8") for k in SALE_KINDS[1:]), pair[f"s_{SALE_KINDS[0]}"].cast("int8"))
    bundles = pair.filter((kinds >= min_kinds) & (span <= within * 86400))
    per = bundles.group_by("aid").aggregate(
        people=bundles.count(), start=bundles.sale_first.min(), end=bundles.sale_last.max())
    dim = actors(ctx)
    full = dim.left_join(per, "aid").select("org", "role", n=per.people.fill_null(0))
    peer = full.group_by(["org", "role"]).aggregate(peer_med=full.n.median())
    hits = named(per, ctx).join(peer, ["org", "role"])
    hits = hits.filter((hits.people >= min_people) & (hits.people >= min_ratio * (hits.peer_med + 1)))
    ev = evidence(ctx)
    out: list[Finding] = []
    for r in rows(hits.order_by("actor")):
        q = bundles.filter(bundles.aid == r["aid"]).order_by("sale_first").select("skey").limit(100)
        skeys = [x["skey"] for x in rows(q)]
        score = squash(r["people"] / (r["peer_med"] + 1), 4.0)
        out.append(ev.want(Finding(
            detector=ID, revision=1, actor=r["actor"], subjects=[], window_start=r["start"],
            window_end=r["end"], score=score, severity=severity_for(score, "high"),
            summary=(f"pulled at least {min_kinds} of {'/'.join(SALE_KINDS)} within {within} days on "
                     f"{fmt_int(r['people'])} people on none of {r['org']}'s open cases; peers in "
                     f"{r['org']}/{r['role']}: median {r['peer_med']:.0f}"),
            event_ids=[],
            details={"bundled_people": r["people"], "peer_median": r["peer_med"]},
        ), r["start"], r["end"], skeys))
    return out
