"""GSMA FS.11 category 1: MAP operations that must never arrive over interconnect.

What it catches: anyTimeInterrogation, sendIMSI, provideSubscriberLocation, sendRoutingInfoForLCS,
anyTimeSubscriptionInterrogation and anyTimeModification sent to the home network by any other network,
partner or not. They reveal location or identity (or change the profile) and are only ever used inside
the home network; screening on the operation alone is enough. A request with no calling global title
(routed on point code and SSN) is home-internal: interconnect traffic always carries a GT.

Known false positives: a partner with a bilateral agreement for one of these (e.g. an LCS roaming
agreement for sendRoutingInfoForLCS): list its opcodes in ``allowed`` for that network.

Tunables (``ctx.param("signalling.fs11_cat1", ...)``): ``opcodes`` (list of MAP opcodes, default
71, 58, 83, 85, 62, 65); ``allowed`` (dict network name or GT -> list of opcodes it may send).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from custodiet.detect.context import DetectionContext
from custodiet.detect.findings import Finding
from custodiet.detect.registry import detector
from custodiet.detect.signalling.base import (
    ATI,
    ATM,
    ATSI,
    PSL,
    SENDIMSI,
    SRILCS,
    flagged_rows,
    group_findings,
    requests,
)

ID = "signalling.fs11_cat1"
REVISION = 2
NEVER = [ATI, SENDIMSI, PSL, SRILCS, ATSI, ATM]


def flagged(ctx: DetectionContext) -> ir.Table:
    """Event-level: every category 1 operation from outside the home network."""
    r = requests(ctx)
    opcodes = [int(x) for x in ctx.param(ID, "opcodes", NEVER)]
    cond = (r.proto == "map") & r.code.isin(opcodes) & ~r.src_home
    allowed: dict[str, list[int]] = ctx.param(ID, "allowed", {})
    for who, ops in allowed.items():
        cond &= ~(((r.src == who) | (r.actor == who)) & r.code.isin([int(o) for o in ops]))
    return r.filter(cond).mutate(
        category=ibis.literal("fs11-cat1"),
        reason=ibis.literal("FS.11 category 1: this operation must never arrive over interconnect"))


@detector(ID, revision=REVISION, severity="high", channel="signalling")
def fs11_category1(ctx: DetectionContext) -> list[Finding]:
    """One finding per (sending GT, subscriber) of category 1 operations."""
    return group_findings(flagged_rows(flagged(ctx)), ID, REVISION, "high", 0.9)
