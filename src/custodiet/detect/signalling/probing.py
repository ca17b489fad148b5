"""Probing: a network that looks up many more subscribers than it normally does, and follows the look-ups
with nothing that legitimately follows them; and look-ups followed by tracking.

What it catches:
- *sweeps*: routing and location look-ups (sendRoutingInfoForSM, sendRoutingInfo, anyTimeInterrogation,
  provideSubscriberInfo, sendIMSI, LCS; Diameter Sh / SLh look-ups) from one network over many distinct
  subscribers in a few hours, far above that network's own baseline and its peers', most of them not
  followed by what legitimately follows them: an SRI-SM by an mt-forwardSM from the same network within
  ``grace_minutes`` (one delivery explains one look-up), or, when it was answered with an error (absent
  subscriber), by the same network's delivered retry within ``retry_hours``; an SRI by our HLR's
  provideRoamingNumber (call set-up). An inbound roamer's HLR locating its own subscriber is no look-up.
  Look-ups by an operation the network has no business sending (SRI-SM without an SMS agreement, SRI
  without an optimal-routing agreement, the category 1 look-ups) are never explained;
- *tracking*: a look-up of a subscriber, not legitimately followed, then followed (within
  ``tracking_hours`` from the same network, ``tracking_other_minutes`` from another whose look-ups are
  usually followed, i.e. not an HLR-lookup service) by
  provideSubscriberInfo, anyTimeInterrogation or LCS from abroad that its home network did not send, or
  by an updateLocation from a network without a roaming agreement (the IMSI of an SRI-SM's subscriber is
  matched through requests that carry both identities), or, for an SRI-SM, by the same network's
  sendRoutingInfo that FS.11 category 2 flags (call routing without an agreement returns the serving
  MSC/VLR: the SMS look-up and the call-routing look-up together locate the subscriber; revision 4).

How: per network, each hour's distinct subscribers looked up without a legitimate follow-up (U). The
network's baseline is the ``baseline_quantile`` of its U over every hour of the capture (zeros included),
its peers' the median of the other networks' baselines; an hour is anomalous when U exceeds ``factor``
times the larger of the two and ``min_per_hour``. Consecutive anomalous hours form an episode (with the
sweep's run into the hours around it: look-ups at most ``chain_minutes`` apart), reported when it holds
at least ``min_subjects`` such subscribers and under ``max_delivery_share`` of its look-ups were
followed. Call routing (SRI then PRN, call set-up over ISUP/SIP, never an SMS), failed deliveries, SMS
home routing and HLR-lookup services under agreement are the network's baseline, not a sweep.

Known false positives: the sweeping network's own ordinary look-ups that fall inside the sweep's run (they
look the same: roamers' SMS are delivered past our border); a bulk SMS campaign to a list on which fewer
than ``max_delivery_share`` of the numbers are live, from a partner that is otherwise quiet; an HLR-lookup
service's first day (no baseline: its peers' applies). Known misses: a sweep no faster than the network's
own baseline (low and slow; the per-message categories may still catch it); a sweep by a network whose
baseline is itself a sweep.

Tunables: ``grace_minutes`` (10), ``retry_hours`` (12: SMSC retry schedules give up within hours),
``min_subjects`` (30), ``min_per_hour`` (10), ``baseline_quantile`` (0.9: a sweep shorter than a tenth of
the capture stays out of the baseline), ``baseline_hours`` (24: a shorter capture has no own baseline, its
sweep would be its baseline; peers' and ``min_per_hour`` apply), ``factor`` (3: above the busy hour of a
diurnal pattern), ``max_delivery_share`` (0.2: a sweep wants the IMSI and the serving MSC, not the SMS, and
delivers almost nothing; a bulk SMS campaign to a stale list still delivers to its live numbers, and a list
on which fewer than one number in five is live is not one anyone pays to send to), ``tracking_hours`` (6),
``chain_minutes`` (10: a sweep's cadence is minutes, a quiet partner's ordinary look-ups are further apart),
``tracking_other_minutes`` (2: a tracked subscriber's ordinary undelivered SMS look-ups by others are not
the pattern; tooling chains an accomplice's look-up and the location request within seconds), ``allowed``
(network names or GTs never reported as sweeps), ``sri_allowed`` (as ``signalling.fs11_cat2``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from statistics import median
from typing import Any

import ibis

from custodiet.detect.context import DetectionContext
from custodiet.detect.findings import Finding
from custodiet.detect.registry import detector
from custodiet.detect.signalling import fs11_cat2
from custodiet.detect.signalling.base import (
    ATI,
    MTFSM,
    PLR,
    PRN,
    PSI,
    PSL,
    RIR,
    SENDIMSI,
    SRI,
    SRILCS,
    SRISM,
    UDR,
    UGL,
    UL,
    describe,
    flagged_rows,
    plural,
    requests,
    rows,
    span_text,
)
from custodiet.detect.signalling.state import home_explained

ID = "signalling.probing"
REVISION = 4
MAP_LOOKUPS = [SRISM, SRI, ATI, PSI, SENDIMSI, SRILCS, PSL]
DIAMETER_LOOKUPS = [UDR, RIR, PLR]
TRACKING = [PSI, ATI, SRILCS, PSL]
HOUR = timedelta(hours=1)
# MAP errors after which an SMSC retries: absentSubscriberSM, absentSubscriber, busy, SM delivery failure
ABSENT = frozenset({6, 27, 31, 32})


def _p(ctx: DetectionContext) -> dict[str, Any]:
    d = {"grace_minutes": 10, "min_subjects": 30, "min_per_hour": 10, "baseline_quantile": 0.9, "factor": 3,
         "max_delivery_share": 0.2, "tracking_hours": 6, "baseline_hours": 24, "retry_hours": 12,
         "tracking_other_minutes": 2, "chain_minutes": 10}
    out: dict[str, Any] = {k: float(ctx.param(ID, k, v)) for k, v in d.items()}
    out["allowed"] = {str(a) for a in ctx.param(ID, "allowed", [])}
    out["sri_allowed"] = {str(a) for a in ctx.param("signalling.fs11_cat2", "sri_allowed", [])}
    return out


def _lookups(ctx: DetectionContext) -> list[dict[str, Any]]:
    r = requests(ctx)
    ext = r.filter(~r.src_home)
    look = ext.filter(((ext.proto == "map") & ext.code.isin(MAP_LOOKUPS))
                      | ((ext.proto == "diameter") & ext.code.isin(DIAMETER_LOOKUPS)))
    psi = look.filter((look.proto == "map") & (look.code == PSI))
    look = look.anti_join(home_explained(r, psi), "event_id")  # an inbound roamer's HLR locating its own
    return rows(look.select("event_id", "ts", "actor", "subject", "operation", "proto", "code", "src",
                            "src_network", "src_country", "src_sms", "error_code").order_by(["ts", "event_id"]))


def _match(looks: list[tuple[datetime, str]], follow_ups: list[datetime], grace: timedelta) -> set[str]:
    """Ids of look-ups ``(ts, id)`` matched one-to-one to a follow-up within ``grace`` after them, each
    follow-up to the latest unmatched look-up before it (deliveries follow their SRI-SM within seconds)."""
    out: set[str] = set()
    stack: list[tuple[datetime, str]] = []
    i = 0
    for t in follow_ups:
        while i < len(looks) and looks[i][0] <= t:
            stack.append(looks[i])
            i += 1
        while stack and stack[-1][0] < t - grace:
            stack.clear()  # everything left is older still
        if stack:
            out.add(stack.pop()[1])
    return out


def _followed(ctx: DetectionContext, looks: list[dict[str, Any]], p: dict[str, Any]) -> set[str]:
    """Look-ups followed by what legitimately follows them (one follow-up explains one look-up)."""
    r = requests(ctx)
    m = r.filter(r.proto == "map")
    fsm = rows(m.filter(~m.src_home & (m.code == MTFSM)).select("src", "ts").order_by("ts"))
    prn = [x["ts"] for x in rows(m.filter(m.src_home & (m.code == PRN)).select("ts").order_by("ts"))]
    grace = timedelta(minutes=p["grace_minutes"])
    deliveries: dict[str, list[datetime]] = defaultdict(list)
    for x in fsm:
        deliveries[x["src"]].append(x["ts"])
    sms: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    calls: list[tuple[datetime, str]] = []
    for x in looks:
        if x["proto"] != "map":
            continue
        if x["code"] == SRISM and x["src_sms"]:
            sms[x["src"]].append((x["ts"], x["event_id"]))
        elif x["code"] == SRI and ({x["src"], x["actor"], x["src_network"]} & p["sri_allowed"]):
            calls.append((x["ts"], x["event_id"]))
    out = _match(calls, prn, grace)
    for net, xs in sms.items():
        out |= _match(xs, deliveries.get(net, []), grace)
    # a look-up answered with an error (absent subscriber) that the same network retried and delivered later
    retry = timedelta(hours=p["retry_hours"])
    delivered: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    for x in looks:
        if x["event_id"] in out and x["code"] == SRISM:
            delivered[(x["src"], x["subject"])].append(x["ts"])
    for x in looks:
        if x["code"] == SRISM and x["error_code"] in ABSENT and x["event_id"] not in out and any(
                x["ts"] < t <= x["ts"] + retry for t in delivered.get((x["src"], x["subject"]), ())):
            out.add(x["event_id"])
    return out


def _tracking(ctx: DetectionContext, looks: list[dict[str, Any]], followed: set[str],
              p: dict[str, Any]) -> dict[str, str]:
    """Look-up event id -> the tracking operation that followed it (look-ups not legitimately followed)."""
    r = requests(ctx)
    ext = r.filter(~r.src_home)
    loc = ext.filter((ext.proto == "map") & ext.code.isin(TRACKING))
    loc = loc.anti_join(home_explained(r, loc), "event_id")
    ul = ext.filter((ext.proto == "map") & ext.code.isin([UL, UGL]) & ~ext.src_roaming)
    follow = rows(ibis.union(loc, ul).select("subject", "ts", "operation", "src").order_by("ts"))
    # call routing asked from outside the home network without an agreement (FS.11 category 2, flagged
    # there) returns the serving MSC/VLR: after an SRI-SM that no delivery followed it is the location step
    routing = [{k: x[k] for k in ("subject", "ts", "operation", "src")}
               for x in flagged_rows(fs11_cat2.flagged(ctx)) if x["operation"] == "sendRoutingInfo"]
    pairs = rows(r.filter(r.link.notnull()).select("subject", "link").distinct())
    alias: dict[str, set[str]] = defaultdict(set)
    for x in pairs:
        alias[x["subject"]].add(x["link"])
        alias[x["link"]].add(x["subject"])
    after: dict[str, list[tuple[datetime, str, str]]] = defaultdict(list)
    for x in sorted([*follow, *routing], key=lambda x: x["ts"]):
        for s in {x["subject"], *alias.get(x["subject"], ())}:
            after[s].append((x["ts"], x["operation"], x["src"]))
    window = timedelta(hours=p["tracking_hours"])
    others = timedelta(minutes=p["tracking_other_minutes"])
    total: Counter[str] = Counter(x["src"] for x in looks)
    done: Counter[str] = Counter(x["src"] for x in looks if x["event_id"] in followed)
    delivers = {net for net in total if done[net] >= 0.5 * total[net]}  # its look-ups usually lead somewhere
    out: dict[str, str] = {}
    for x in looks:
        if (x["code"] in TRACKING and x["proto"] == "map") or x["event_id"] in followed:
            continue  # the follow-up itself, or a look-up that led to a delivery
        for ts, op, src in after.get(x["subject"], []):
            if op == "sendRoutingInfo" and (x["code"] != SRISM or src != x["src"]):
                continue  # call routing is the location step of the same network's SMS look-up only
            if src != x["src"] and x["src"] not in delivers:
                continue  # an HLR-lookup service's look-up says nothing about someone else's location request
            if x["ts"] < ts <= x["ts"] + (window if src == x["src"] else others):
                out[x["event_id"]] = op
                break
    return out


def episodes(ctx: DetectionContext) -> list[dict[str, Any]]:
    """Sweeps: per network, runs of hours far above its baseline (see the module docstring)."""
    p = _p(ctx)
    looks = _lookups(ctx)
    if not looks:
        return []
    followed = _followed(ctx, looks, p)
    start = looks[0]["ts"].replace(minute=0, second=0, microsecond=0)
    hours = int((looks[-1]["ts"] - start) / HOUR) + 1
    per_net: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for x in looks:
        per_net[x["src"]].append(x)
    unexplained: dict[str, list[set[str]]] = {}
    for net, xs in per_net.items():
        bins: list[set[str]] = [set() for _ in range(hours)]
        for x in xs:
            if x["event_id"] not in followed:
                bins[int((x["ts"] - start) / HOUR)].add(x["subject"])
        unexplained[net] = bins
    base = {net: _quantile(sorted(len(b) for b in bins), p["baseline_quantile"]) if hours >= p["baseline_hours"]
            else 0.0 for net, bins in unexplained.items()}
    out = []
    for net, bins in unexplained.items():
        if net in p["allowed"] or per_net[net][0]["actor"] in p["allowed"]:
            continue
        peers = [v for k, v in base.items() if k != net]
        level = max(base[net], median(peers) if peers else 0.0)
        limit = max(p["min_per_hour"], p["factor"] * level)
        h = 0
        while h < hours:
            if len(bins[h]) <= limit:
                h += 1
                continue
            end = h
            while end + 1 < hours and len(bins[end + 1]) > limit:
                end += 1
            lo, hi = start + h * HOUR, start + (end + 1) * HOUR
            evs = [x for x in per_net[net] if lo <= x["ts"] < hi]
            bad = [x for x in evs if x["event_id"] not in followed]
            bad = _edges(per_net[net], bad, followed, lo, hi, timedelta(minutes=p["chain_minutes"]))
            if bad:
                evs = [x for x in per_net[net] if bad[0]["ts"] <= x["ts"] <= bad[-1]["ts"]]
            subjects = {x["subject"] for x in bad}
            share = 1 - len(bad) / len(evs)
            if len(subjects) >= p["min_subjects"] and share < p["max_delivery_share"]:
                out.append({"src": net, "events": bad, "subjects": subjects, "lookups": len(evs),
                            "followed": len(evs) - len(bad), "baseline": base[net], "peers": level, "limit": limit})
            h = end + 1
    tracked = _tracking(ctx, looks, followed, p)
    if tracked:
        by = {x["event_id"]: x for x in looks}
        groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for eid, op in tracked.items():
            groups[(by[eid]["src"], by[eid]["subject"])].append({**by[eid], "then": op})
        for (net, _subject), evs in groups.items():
            out.append({"src": net, "events": sorted(evs, key=lambda e: (e["ts"], e["event_id"])),
                        "subjects": {e["subject"] for e in evs}, "tracking": sorted({e["then"] for e in evs})})
    return out


def _edges(xs: list[dict[str, Any]], core: list[dict[str, Any]], followed: set[str], lo: datetime, hi: datetime,
           gap: timedelta) -> list[dict[str, Any]]:
    """The core hours' unexplained look-ups plus the sweep's run into the hours around them: earlier and
    later unexplained look-ups (within an hour) each at most ``gap`` from the next one inward."""
    if not core:
        return core
    before = [x for x in xs if lo - HOUR <= x["ts"] < lo and x["event_id"] not in followed]
    after = [x for x in xs if hi <= x["ts"] < hi + HOUR and x["event_id"] not in followed]
    head, tail = [], []
    edge = core[0]["ts"]
    for x in reversed(before):
        if edge - x["ts"] > gap:
            break
        head.append(x)
        edge = x["ts"]
    edge = core[-1]["ts"]
    for x in after:
        if x["ts"] - edge > gap:
            break
        tail.append(x)
        edge = x["ts"]
    return [*reversed(head), *core, *tail]


def _quantile(values: list[int], q: float) -> float:
    if not values:
        return 0.0
    return float(values[min(len(values) - 1, int(q * len(values)))])


@detector(ID, revision=REVISION, severity="medium", channel="signalling")
def probing(ctx: DetectionContext) -> list[Finding]:
    """One finding per sweep episode, and one per (network, subscriber) look-ups followed by tracking."""
    p = _p(ctx)
    out = []
    for x in sorted(episodes(ctx), key=lambda e: (e["events"][0]["ts"], e["src"])):
        evs = x["events"]
        head, first, last = evs[0], evs[0]["ts"], evs[-1]["ts"]
        who = describe(head["src_network"], head["actor"], head["src_country"])
        ops = sorted({e["operation"] or "?" for e in evs})
        n = len(x["subjects"])
        if "tracking" in x:
            summary = (f"{who} looked up subscriber {next(iter(x['subjects']))[:10]}… ({', '.join(ops)}) "
                       f"{span_text(first, last)}, then it was located with {', '.join(x['tracking'])} within "
                       f"{p['tracking_hours']:,.0f} h: the tracking pattern (FS.11 category 2 follow-up).")
            score, details = 0.8, {"category": "probing", "pattern": "tracking", "then": x["tracking"]}
        else:
            hours = (last - first).total_seconds() / 3600
            summary = (f"{who} looked up {plural(n, 'subscriber')} with {plural(len(evs), 'request')} "
                       f"({', '.join(ops)}) in {hours:,.1f} h {span_text(first, last)} that nothing legitimate "
                       f"followed ({x['followed']:,} of its {x['lookups']:,} look-ups then were), over "
                       f"{x['limit']:,.0f} an hour where its baseline is {x['baseline']:,.0f} and its peers' "
                       f"{x['peers']:,.0f}: a sweep of the subscriber base.")
            score = round(min(1.0, n / (n + p["min_subjects"])), 3)
            details = {"category": "probing", "pattern": "sweep", "subjects": n, "lookups": x["lookups"],
                       "followed": x["followed"], "baseline_per_hour": x["baseline"],
                       "limit_per_hour": round(x["limit"], 1), "hours": round(hours, 2)}
        details.update(network=head["src_network"], network_key=x["src"], country=head["src_country"], operations=ops)
        out.append(Finding(
            detector=ID, revision=REVISION, actor=head["actor"], subjects=sorted(x["subjects"]),
            window_start=first, window_end=last, score=score, severity="medium", summary=summary,
            event_ids=[e["event_id"] for e in evs], details=details))
    return out
