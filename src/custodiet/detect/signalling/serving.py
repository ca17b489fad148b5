"""GSMA FS.11 / FS.19 category 3, operations only the subscriber's serving network may send.

What it catches: purgeMS, restoreData, readyForSM, noteMM-Event and the subscriber's own supplementary-service
requests relayed by its VLR (registerSS, eraseSS, activateSS, deactivateSS, interrogateSS, registerPassword,
processUnstructuredSS-Request; keyed by IMSI) (MAP), Purge-UE and Notify (Diameter)
about a subscriber from a network that does not serve it at that moment: the sender of its latest
*successful* registration (see ``state``; a subscriber of ours with no registration seen is served by
the home network, unless a roaming partner already authenticated it successfully, or our own HLR
addressed the subscriber's PRN / ISD / PSI / cancelLocation to the sender with no registration elsewhere in
between: a stay that began before the capture). A forged purge marks the subscriber absent (calls and SMS
fail: denial of service); a forged registerSS / activateSS of call forwarding diverts the subscriber's calls
(interception).
Also sendIdentification about a TMSI our VLR allocated, from a network the subscriber cannot just have
moved to: a roaming partner in a neighbouring country (or an international maritime / aeronautical
network) may ask, anyone else is harvesting IMSIs from TMSIs.

Known false positives: a purge from the previous serving network racing the new registration (raise
``grace_minutes``); a registration with the serving network that the capture does not hold (e.g. the
capture began after it): the serving network's purge then looks foreign.

Tunables: ``grace_minutes`` (default 5: a purge this soon after the sender stopped serving is still
explained, the VLR's inactivity timer and the new registration race).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

import ibis
import ibis.expr.types as ir

from custodiet.detect.context import DetectionContext
from custodiet.detect.findings import Finding
from custodiet.detect.registry import detector
from custodiet.detect.signalling.base import (
    AIR,
    CL,
    CLR,
    DSR,
    IDR,
    NOR,
    NOTEMM,
    PUR,
    PURGE,
    READYSM,
    RESTORE,
    SAI,
    SENDID,
    flagged_rows,
    group_findings,
    requests,
    rows,
)
from custodiet.detect.signalling.state import registrations, serving_explained, serving_registrations
from custodiet.geo import INTERNATIONAL, adjacent

ID = "signalling.serving"
REVISION = 3
# Supplementary-service and USSD operations the MS starts: its serving VLR relays them to our HLR
# (3GPP TS 24.010 / 29.002 section 11-12; FS.11 places them in category 3 with purgeMS).
REGISTER_SS, ERASE_SS, ACTIVATE_SS, DEACTIVATE_SS, INTERROGATE_SS, REGISTER_PASSWORD, PUSSR = 10, 11, 12, 13, 14, 17, 59
SS_OPS = [REGISTER_SS, ERASE_SS, ACTIVATE_SS, DEACTIVATE_SS, INTERROGATE_SS, REGISTER_PASSWORD, PUSSR]
MAP_SERVING_ONLY = [PURGE, RESTORE, READYSM, NOTEMM, *SS_OPS]
DIAMETER_SERVING_ONLY = [PUR, NOR]

WHY_MAP = "FS.11 category 3: only the network serving the subscriber may send this, and the sender does not serve it"
WHY_DIA = "FS.19 category 3: only the network serving the subscriber may send this, and the sender does not serve it"
WHY_TMSI = ("FS.11 category 3: IMSI asked for a TMSI of ours by a network the subscriber cannot just have moved "
            "to (not a roaming partner in a neighbouring country)")


def _previous_serving(r: ir.Table, cand: ir.Table, grace_minutes: float, implausible: ir.Table) -> ir.Table:
    """Event ids sent by a network that served the subject until at most ``grace_minutes`` earlier."""
    reg = serving_registrations(r, implausible)
    w = ibis.window(group_by=reg.subject, order_by=[reg.ts, reg.event_id])
    reg = reg.mutate(prev_src=reg.src.lag().over(w))
    moved = reg.filter(reg.prev_src.notnull() & (reg.prev_src != reg.src)).select(
        m_subject=reg.subject, m_ts=reg.ts, m_prev=reg.prev_src)
    c = cand.select("event_id", "ts", "subject", "src")
    j = c.join(moved, (c.subject == moved.m_subject) & (c.src == moved.m_prev) & (moved.m_ts <= c.ts)
               & (c.ts <= moved.m_ts + ibis.interval(seconds=int(grace_minutes * 60))))
    return j.select("event_id")


def _stay_before_capture(r: ir.Table, cand: ir.Table, implausible: ir.Table) -> ir.Table:
    """Event ids sent by a roaming partner that authenticated the subject successfully before, when no
    registration of the subject precedes the request: a stay that began before the capture."""
    auth = r.filter(r.src_roaming & r.ok & (((r.proto == "map") & (r.code == SAI))
                                            | ((r.proto == "diameter") & (r.code == AIR))))
    auth = auth.select(a_subject=auth.subject, a_src=auth.src, a_ts=auth.ts)
    reg = serving_registrations(r, implausible)
    first = reg.group_by(f_subject=reg.subject).aggregate(f_ts=reg.ts.min())
    c = cand.select("event_id", "ts", "subject", "src")
    c = c.left_join(first, c.subject == first.f_subject)
    c = c.filter(c.f_ts.isnull() | (c.f_ts > c.ts))
    j = c.join(auth, (c.subject == auth.a_subject) & (c.src == auth.a_src) & (auth.a_ts <= c.ts))
    return j.select("event_id").distinct()


def flagged(ctx: DetectionContext) -> ir.Table:
    """Event-level: serving-only operations from a network that does not serve the subject."""
    grace = float(ctx.param(ID, "grace_minutes", 5))
    r = requests(ctx)
    ext = r.filter(~r.src_home)
    cand = ext.filter(((ext.proto == "map") & ext.code.isin(MAP_SERVING_ONLY))
                      | ((ext.proto == "diameter") & ext.code.isin(DIAMETER_SERVING_ONLY)))
    # the serving state is kept per IMSI: an SS / USSD request keyed by MSISDN cannot be checked against it
    cand = cand.filter(~cand.code.isin(SS_OPS) | (cand.subject_kind == "imsi"))
    implausible = _implausible(ctx)
    ok = ibis.union(serving_explained(r, cand, implausible), _previous_serving(r, cand, grace, implausible),
                    _stay_before_capture(r, cand, implausible), distinct=True)
    bad = cand.anti_join(ok, "event_id")
    bad = bad.anti_join(_hlr_view(ctx, r, bad, implausible), "event_id")
    bad = bad.mutate(category=ibis.ifelse(bad.proto == "diameter", "fs19-cat3", "fs11-cat3"),
                     reason=ibis.ifelse(bad.proto == "diameter", WHY_DIA, WHY_MAP))
    sendid = ext.filter((ext.proto == "map") & (ext.code == SENDID))
    home_country = _home_country(ctx)
    near = [c for c in _countries(sendid) if c == INTERNATIONAL or (home_country and adjacent(c, home_country))]
    sendid = sendid.filter(~(sendid.src_roaming & sendid.src_country.isin(near or ["-"])))
    sendid = sendid.mutate(category=ibis.literal("fs11-cat3"), reason=ibis.literal(WHY_TMSI))
    return ibis.union(bad, sendid.select(*bad.columns))


IMPLAUSIBLE_TABLE = "custodiet_signalling_implausible"
# Our HLR's messages this soon after a network's registration attempt are its answer inside that dialogue
# (insertSubscriberData before the updateLocation result; MAP's operation timers are at most 30 s for it).
ECHO_SECONDS = 60
HLR_VIEW_TABLE = "custodiet_signalling_hlr_view"


def _hlr_view(ctx: DetectionContext, r: ir.Table, bad: ir.Table, implausible: ir.Table) -> ir.Table:
    """Event ids of ``bad`` sent by a network our own HLR treated as serving the subject: it sent the
    subject's PRN / ISD / PSI / cancelLocation (Diameter: IDR / DSR / CLR) to that network with no
    registration elsewhere in between
    (the registration itself may predate the capture). Messages that follow a forged registration attempt
    by that network (one without a roaming agreement, or an impossible journey) prove nothing: our HLR
    answers a forged registration like any other; nor do its answers inside a registration's dialogue
    (within ``ECHO_SECONDS``), which show that registration and not an earlier stay."""
    import pyarrow as pa

    c = rows(bad.select("event_id", "ts", "subject", "src"))
    subjects = sorted({x["subject"] for x in c})
    found: list[str] = []
    if subjects:
        hlr = r.filter(r.src_home & ~r.dst_home & r.ok & r.subject.isin(subjects)
                       & ((r.proto == "map") | r.code.isin([CLR, IDR, DSR])))
        told: dict[str, list[tuple[Any, str]]] = defaultdict(list)
        for x in rows(hlr.select("subject", "ts", "dst_key", "code", "proto")):
            # a cancelLocation follows the registration that replaced the network: it served until just before
            cancel = x["code"] == (CL if x["proto"] == "map" else CLR)
            told[x["subject"]].append((x["ts"] - timedelta(minutes=1) if cancel else x["ts"], x["dst_key"]))
        reg = serving_registrations(r, implausible)
        moves: dict[str, list[tuple[Any, str]]] = defaultdict(list)
        for x in rows(reg.filter(reg.subject.isin(subjects)).select("subject", "ts", "src")):
            moves[x["subject"]].append((x["ts"], x["src"]))
        # forged registration attempts (any outcome): from a network that may not register our subscribers,
        # or judged an impossible journey
        tried: dict[str, list[tuple[Any, str]]] = defaultdict(list)
        att = registrations(r)
        att = att.filter(att.subject.isin(subjects) & ~att.src_home)
        forged = att.filter(~att.src_roaming).select("subject", "ts", "src")
        forged = ibis.union(forged, att.semi_join(implausible, "event_id").select("subject", "ts", "src"))
        for x in rows(forged):
            tried[x["subject"]].append((x["ts"], x["src"]))
        # every attempt: our HLR's insertSubscriberData inside that registration's dialogue is its answer
        attempts: dict[str, list[tuple[Any, str]]] = defaultdict(list)
        for x in rows(att.select("subject", "ts", "src")):
            attempts[x["subject"]].append((x["ts"], x["src"]))
        echo = timedelta(seconds=ECHO_SECONDS)
        for x in c:
            for ts, key in told.get(x["subject"], ()):
                if any(t <= ts and k == key for t, k in tried.get(x["subject"], ())):
                    continue  # our HLR answering a forged registration in the capture, not an older stay
                if any(t <= ts <= t + echo and k == key for t, k in attempts.get(x["subject"], ())):
                    continue  # the answer to a registration in the capture, which is judged on its own
                lo, hi = min(ts, x["ts"]), max(ts, x["ts"])
                if ts > x["ts"] and any(lo < t < hi for t, _ in attempts.get(x["subject"], ())):
                    continue  # a later message follows a later registration: it shows that one, not this time
                if key == x["src"] and not any(lo < t < hi and k != key for t, k in moves.get(x["subject"], ())):
                    found.append(x["event_id"])
                    break
    ctx.con.register(HLR_VIEW_TABLE, pa.table({"event_id": pa.array(found, pa.string())}))
    return ctx.ibis.table(HLR_VIEW_TABLE)


def _implausible(ctx: DetectionContext) -> ir.Table:
    """Registrations the location detector judged impossible journeys (they make nobody the server)."""
    import pyarrow as pa

    from custodiet.detect.signalling import location

    ids = [e["event_id"] for e in location.flagged_events(ctx)]
    ctx.con.register(IMPLAUSIBLE_TABLE, pa.table({"event_id": pa.array(ids, pa.string())}))
    return ctx.ibis.table(IMPLAUSIBLE_TABLE)


def _countries(t: ir.Table) -> list[str]:
    return [x for x in t.select(c=t.src_country).distinct().to_pyarrow().column("c").to_pylist() if x]


def _home_country(ctx: DetectionContext) -> str | None:
    from custodiet.context.network import NetworkProfile

    profile = NetworkProfile.from_store(ctx.store)
    return profile.home.country if profile is not None else None


@detector(ID, revision=REVISION, severity="high", channel="signalling")
def serving_only(ctx: DetectionContext) -> list[Finding]:
    """One finding per (sending GT / host, subscriber, reason)."""
    return group_findings(flagged_rows(flagged(ctx)), ID, REVISION, "high", 0.8)
