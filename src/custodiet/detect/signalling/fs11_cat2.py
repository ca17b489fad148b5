"""GSMA FS.11 category 2: MAP operations legitimate only from the subscriber's home network or the
network serving it now, or only from partners with the matching agreement.

What it catches, from any network other than the home network:
- provideSubscriberInfo, insertSubscriberData, deleteSubscriberData, cancelLocation and
  provideRoamingNumber about a subscriber, unless the sender is that subscriber's home network (an
  inbound roamer's HLR: known from its registration, see ``state``, or from the IMSI's MCC-MNC, which the
  decoder gives as ``imsi_plmn``, being one of the sender's). These are HLR-to-VLR operations: the network serving the
  subscriber never sends them, and nobody abroad may send them about our own subscribers (our HLR does):
  location tracking, interception via a changed profile, denial of service. An insertSubscriberData whose
  subject is unknown (its dialogue began outside the capture) from a foreign GT is reported as an
  interception candidate;
- sendRoutingInfo (call routing: the home GMSC asks, nobody else) unless the sender is listed in
  ``sri_allowed`` (optimal routing agreements), or is a roaming partner whose look-ups are routine (many
  subscribers over several days, answered): an optimal-routing agreement that the profile cannot list;
- sendRoutingInfoForSM from a network without an SMS agreement (``sms = true`` in the profile): the first
  step of tracking, it returns the IMSI and the serving MSC;
- updateLocation, updateGprsLocation, sendAuthenticationInfo and purgeMS from a network without a roaming
  agreement.
An SRI-SM followed by a PSI is caught at both steps.

Operations only the *serving* network may send (purgeMS, restoreData, readyForSM, sendIdentification)
are checked in ``serving`` (FS.11 category 3).

Known false positives: an inbound roamer whose registration with its home HLR was not captured (its HLR's
ISD/PSI/PRN/CL look unexplained); networks missing from the profile; optimal routing partners not listed
in ``sri_allowed``; the first ISD segments of a dialogue that began just before the capture started.

Tunables: ``sri_allowed`` (list of network names or GTs, default empty), ``sri_habit_days`` (3) and
``sri_habit_subscribers`` (20): a roaming partner's routine call routing.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from custodiet.detect.context import DetectionContext
from custodiet.detect.findings import Finding
from custodiet.detect.registry import detector
from custodiet.detect.signalling.base import (
    CL,
    DSD,
    ISD,
    PRN,
    PSI,
    PURGE,
    SAI,
    SRI,
    SRISM,
    UGL,
    UL,
    flagged_rows,
    group_findings,
    requests,
)
from custodiet.detect.signalling.state import home_explained

ID = "signalling.fs11_cat2"
REVISION = 4
STATEFUL = [PSI, ISD, DSD, CL, PRN]
ROAMING_ONLY = [UL, UGL, SAI, PURGE]

WHY_STATE = "FS.11 category 2: only the subscriber's home network (its HLR) may send this, and the sender is not it"
WHY_UNKNOWN = ("FS.11 category 2: interception candidate: subscriber data inserted by a foreign network in a "
               "dialogue that began outside the capture (subscriber unknown)")
WHY_SRI = "FS.11 category 2: call routing information asked from outside the home network"
WHY_SMS = "FS.11 category 2: routing info for SMS from a network without an SMS agreement"
WHY_ROAMING = "FS.11 category 2: mobility management from a network without a roaming agreement"


def flagged(ctx: DetectionContext) -> ir.Table:
    """Event-level category 2 violations, each with its reason."""
    r = requests(ctx)
    ext = r.filter((r.proto == "map") & ~r.src_home)
    stateful = ext.filter(ext.code.isin(STATEFUL))
    bad_state = stateful.anti_join(home_explained(r, stateful), "event_id")
    # The sender's own subscriber (an inbound roamer): the IMSI's PLMN is one of the sender's.
    own = bad_state.filter(bad_state.imsi_plmn.notnull() & bad_state.src_plmns.notnull())
    own = own.filter(own.src_plmns.split(";").contains(own.imsi_plmn)).select("event_id")
    bad_state = bad_state.anti_join(own, "event_id")
    bad_state = bad_state.mutate(reason=ibis.ifelse((bad_state.subject_kind == "unknown") & (bad_state.code == ISD),
                                                    WHY_UNKNOWN, WHY_STATE))
    allowed = [str(x) for x in ctx.param(ID, "sri_allowed", [])]
    sri = ext.filter(ext.code == SRI)
    if allowed:
        sri = sri.filter(~sri.src.isin(allowed) & ~sri.actor.isin(allowed))
    sri = sri.anti_join(_habitual_sri(ctx, sri), "src").mutate(reason=ibis.literal(WHY_SRI))
    sms = ext.filter((ext.code == SRISM) & ~ext.src_sms).mutate(reason=ibis.literal(WHY_SMS))
    roaming = ext.filter(ext.code.isin(ROAMING_ONLY) & ~ext.src_roaming).mutate(reason=ibis.literal(WHY_ROAMING))
    out = ibis.union(bad_state, sri, sms, roaming)
    return out.mutate(category=ibis.literal("fs11-cat2"))


def _habitual_sri(ctx: DetectionContext, sri: ir.Table) -> ir.Table:
    """Roaming partners whose call-routing look-ups are their routine: an optimal-routing agreement that the
    profile does not list (``src``). Routine means on ``sri_habit_days`` days or more, about
    ``sri_habit_subscribers`` subscribers or more, most of them answered with a result: a tracker asks about a
    few people, or is refused."""
    days = int(ctx.param(ID, "sri_habit_days", 3))
    people = int(ctx.param(ID, "sri_habit_subscribers", 20))
    mine = sri.filter(sri.src_roaming)
    per = mine.group_by("src").aggregate(days=mine.ts.date().nunique(), people=mine.subject.nunique(),
                                         ok=(mine.outcome == "allowed").mean())
    return per.filter((per.days >= days) & (per.people >= people) & (per.ok >= 0.8)).select("src")


@detector(ID, revision=REVISION, severity="high", channel="signalling")
def fs11_category2(ctx: DetectionContext) -> list[Finding]:
    """One finding per (sending GT, subscriber, reason)."""
    return group_findings(flagged_rows(flagged(ctx)), ID, REVISION, "high", 0.8)
