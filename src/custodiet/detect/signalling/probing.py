"""Probing: a network that looks up many subscribers and delivers nothing.

What it catches: sweeps of routing and location look-ups (sendRoutingInfoForSM, sendRoutingInfo,
anyTimeInterrogation, provideSubscriberInfo, sendIMSI, LCS; Diameter Sh / SLh look-ups) from one
network over many distinct subscribers in one burst, when the look-ups are not followed by deliveries
(mt-forwardSM) from that network. An SMS hub asking SRI-SM for every number it delivers to is normal; a
sender that collects IMSIs and serving MSCs for a hundred subscribers and never sends a message is
mapping the subscriber base. It also catches partners whose individual messages are all allowed.

How: look-ups of each sending network in time order are cut into bursts wherever two are more than
``max_gap_minutes`` apart (Ibis window functions); each burst's distinct subjects are compared with the
deliveries the same network sent during it (plus ``grace_minutes``).

Known false positives: number-portability or HLR-lookup services that query SRI-SM without delivering
(list them in ``allowed``); bulk SMS campaigns whose deliveries go through another network's SMSC.

Tunables: ``min_subjects`` (default 30), ``max_gap_minutes`` (default 30), ``grace_minutes`` (default 10),
``max_delivery_share`` (default 0.5), ``allowed`` (network names or GTs).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from custodiet.detect.context import DetectionContext
from custodiet.detect.findings import Finding
from custodiet.detect.registry import detector
from custodiet.detect.signalling.base import (
    ATI,
    MTFSM,
    PLR,
    PSI,
    PSL,
    RIR,
    SENDIMSI,
    SRI,
    SRILCS,
    SRISM,
    UDR,
    describe,
    plural,
    requests,
    rows,
    span_text,
)

ID = "signalling.probing"
REVISION = 1
MAP_LOOKUPS = [SRISM, SRI, ATI, PSI, SENDIMSI, SRILCS, PSL]
DIAMETER_LOOKUPS = [UDR, RIR, PLR]


def bursts(ctx: DetectionContext) -> ir.Table:
    """Per (network, burst): look-ups, distinct subjects, deliveries, first and last time."""
    gap = float(ctx.param(ID, "max_gap_minutes", 30))
    grace = float(ctx.param(ID, "grace_minutes", 10))
    r = requests(ctx)
    ext = r.filter(~r.src_home)
    look = ext.filter(((ext.proto == "map") & ext.code.isin(MAP_LOOKUPS))
                      | ((ext.proto == "diameter") & ext.code.isin(DIAMETER_LOOKUPS)))
    w = ibis.window(group_by=look.src, order_by=[look.ts, look.event_id])
    look = look.mutate(prev=look.ts.lag().over(w))
    look = look.mutate(new=ibis.ifelse(look.prev.isnull() | (look.ts - look.prev > ibis.interval(
        seconds=int(gap * 60))), 1, 0))
    look = look.mutate(burst=look.new.cumsum().over(w))
    per = look.group_by(["src", "burst"]).aggregate(
        lookups=look.count(), subjects=look.subject.nunique(), first=look.ts.min(), last=look.ts.max(),
        actor=look.actor.min(), actors=look.actor.nunique(), network=look.src_network.min(),
        country=look.src_country.min(), ops=look.operation.collect(distinct=True))
    dl = ext.filter((ext.proto == "map") & (ext.code == MTFSM)).select(d_src=ext.src, d_ts=ext.ts)
    j = per.left_join(dl, (per.src == dl.d_src) & (dl.d_ts >= per.first)
                      & (dl.d_ts <= per.last + ibis.interval(seconds=int(grace * 60))))
    return j.group_by([*per.columns]).aggregate(deliveries=j.d_ts.count())


@detector(ID, revision=REVISION, severity="medium", channel="signalling")
def probing(ctx: DetectionContext) -> list[Finding]:
    """One finding per burst of undelivered look-ups over at least ``min_subjects`` subscribers."""
    min_subjects = int(ctx.param(ID, "min_subjects", 30))
    share = float(ctx.param(ID, "max_delivery_share", 0.5))
    allowed = [str(a) for a in ctx.param(ID, "allowed", [])]
    b = bursts(ctx)
    b = b.filter((b.subjects >= min_subjects) & (b.deliveries < b.subjects * share))
    if allowed:
        b = b.filter(~b.src.isin(allowed) & ~b.actor.isin(allowed))
    r = requests(ctx)
    out = []
    for x in rows(b.order_by(["first", "src"])):
        ev = r.filter((r.src == x["src"]) & r.ts.between(x["first"], x["last"]) & r.operation.isin(x["ops"]))
        found = rows(ev.order_by(["ts", "event_id"]).select("event_id", "subject"))
        who = describe(x["network"], x["actor"], x["country"])
        hours = (x["last"] - x["first"]).total_seconds() / 3600
        out.append(Finding(
            detector=ID, revision=REVISION, actor=x["actor"], subjects=sorted({f["subject"] for f in found}),
            window_start=x["first"], window_end=x["last"],
            score=round(min(1.0, x["subjects"] / (x["subjects"] + min_subjects)), 3), severity="medium",
            summary=(f"{who} looked up {plural(x['subjects'], 'subscriber')} with {plural(x['lookups'], 'request')} "
                     f"({', '.join(sorted(x['ops']))}) in {hours:,.1f} h {span_text(x['first'], x['last'])} and "
                     f"delivered {x['deliveries']:,} messages: a sweep of the subscriber base."),
            event_ids=[f["event_id"] for f in found],
            details={"category": "probing", "subjects": x["subjects"], "lookups": x["lookups"],
                     "deliveries": x["deliveries"], "hours": round(hours, 2), "network": x["network"],
                     "network_key": x["src"], "country": x["country"], "operations": sorted(x["ops"])},
        ))
    return out
