"""GSMA FS.19, the Diameter equivalents of FS.11 categories 1 and 2 (S6a/S6d, Sh, SLh/SLg).

What it catches, from any Diameter peer outside the home network:
- category 1: Sh User-Data / Subscribe-Notifications and SLh/SLg LCS-Routing-Info / Provide-Location:
  interfaces internal to the home network (or its contracted location services), never interconnect;
- category 2: Insert-Subscriber-Data, Delete-Subscriber-Data and Cancel-Location about a subscriber,
  unless the sender is the subscriber's home network (an inbound roamer's HSS; the same per-subscriber
  state as the MAP check, see ``state``): the serving MME never sends them;
- category 2: Update-Location, Authentication-Information, Purge-UE and Notify from a network without a
  roaming agreement, or whose Visited-PLMN-Id names a PLMN other than the sender's own (a spoofed
  serving network).
Category 3 (implausible Update-Location / Authentication-Information) is in ``location``; Purge-UE and
Notify from a network that does not serve the subscriber in ``serving``.

Known false positives: roaming hubs / IPX proxies that rewrite Origin-Realm (the sender then looks like
the hub): list the hub's realm PLMNs in the partner's ``mcc_mnc``; inbound roamers whose registration was
not captured.

Tunables: ``never_commands`` (list of command codes, default 306, 308, 8388620, 8388622).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from custodiet.detect.context import DetectionContext
from custodiet.detect.findings import Finding
from custodiet.detect.registry import detector
from custodiet.detect.signalling.base import (
    AIR,
    CLR,
    DSR,
    IDR,
    NOR,
    PLR,
    PUR,
    RIR,
    SNR,
    UDR,
    ULR,
    flagged_rows,
    group_findings,
    requests,
)
from custodiet.detect.signalling.state import home_explained

ID = "signalling.fs19"
REVISION = 2
NEVER = [UDR, SNR, PLR, RIR]
STATEFUL = [IDR, DSR, CLR]
ROAMING_ONLY = [ULR, AIR, PUR, NOR]

WHY_NEVER = "FS.19 category 1: this interface must never be reached over interconnect"
WHY_STATE = "FS.19 category 2: only the subscriber's home network (its HSS) may send this, and the sender is not it"
WHY_ROAMING = "FS.19 category 2: mobility management from a network without a roaming agreement"
WHY_PLMN = "FS.19 category 2: Visited-PLMN-Id names a network other than the sender's own"


def flagged(ctx: DetectionContext) -> ir.Table:
    """Event-level Diameter violations with their FS.19 category and reason."""
    r = requests(ctx)
    ext = r.filter((r.proto == "diameter") & ~r.src_home)
    never = [int(x) for x in ctx.param(ID, "never_commands", NEVER)]
    cat1 = ext.filter(ext.code.isin(never)).mutate(category=ibis.literal("fs19-cat1"),
                                                  reason=ibis.literal(WHY_NEVER))
    stateful = ext.filter(ext.code.isin(STATEFUL))
    bad_state = stateful.anti_join(home_explained(r, stateful), "event_id").mutate(reason=ibis.literal(WHY_STATE))
    mobility = ext.filter(ext.code.isin(ROAMING_ONLY))
    no_roaming = mobility.filter(~mobility.src_roaming).mutate(reason=ibis.literal(WHY_ROAMING))
    spoofed = mobility.filter(mobility.src_roaming & (mobility.visited_ok == False))  # noqa: E712 (SQL)
    spoofed = spoofed.mutate(reason=ibis.literal(WHY_PLMN))
    cat2 = ibis.union(bad_state, no_roaming, spoofed).mutate(category=ibis.literal("fs19-cat2"))
    return ibis.union(cat1, cat2.select(*cat1.columns))


@detector(ID, revision=REVISION, severity="high", channel="signalling")
def fs19_diameter(ctx: DetectionContext) -> list[Finding]:
    """One finding per (Origin-Host, subscriber, reason)."""
    return group_findings(flagged_rows(flagged(ctx)), ID, REVISION, "high", 0.85)
