"""GSMA FS.11 / FS.19 category 3: location plausibility (velocity).

What it catches: an updateLocation, updateGprsLocation or sendAuthenticationInfo (Diameter:
Update-Location, Authentication-Information) from a network in a country the subscriber cannot have
reached since it was last seen, or from which it cannot have reached where our own network sees it next.
A forged registration diverts calls and SMS (interception); forged authentication requests harvest
vectors. It needs no earlier registration: positions are the *evidence* of the subscriber on any
operation,

- our own network's word: a request from a home VLR/MSC (or routed on point code inside the home
  network), our HLR's provideRoamingNumber / insertSubscriberData / provideSubscriberInfo to a VLR, our
  SMSC's mt-forwardSM to an MSC abroad (the subscriber is where that VLR/MSC is), only while that network
  has not tried to register the subscriber earlier in the capture: after a registration attempt they are
  our HLR's echo of it (a forged updateLocation is answered like any other) and the registration itself is
  judged; a foreign SMSC's mt-forwardSM delivered to our MSC (at home),
  unless more than ``home_routing_share`` of those deliveries reach us while the subscriber is registered
  abroad: then SMS home routing sends every delivery to our SMS router and they place nobody;
- a successful registration or authentication by a roaming partner (whose Visited-PLMN-Id, if any, is
  its own) that was itself plausible.

Each request is judged forward, from the last position, and backward, to our own network's next evidence.
With neither, a network that goes on serving the subscriber later in the capture is a stay that began
before it; otherwise (a lone request for one of our subscribers) it is judged against the home country at
the capture's start, and the finding says that no evidence existed (half score, medium severity).

Reachable: the same or a neighbouring country (bundled borders: border towns flip between networks many
times a day); an international network (+881/+882/+883, MCC 901: ships and aircraft) to or from anywhere;
otherwise the great-circle distance between the countries' centroids, less both countries' radii (see
``custodiet.geo``), must be coverable at ``max_kmh`` in the time elapsed less ``airport_hours``. An
implausible event is flagged and does not move the subscriber, so a forged registration does not make the
genuine network's next message look impossible. Rejected requests are judged but never move it.

Known false positives: networks whose GTs are attributed to the wrong country; a border pair missing from
the bundled table; a lone request from a visited network
early in a capture that began while the subscriber was abroad (``judge_without_evidence = false``
silences those); IMSIs shared by several devices.

Tunables: ``max_kmh`` (default 1000: an airliner's ground speed with a tailwind; scheduled flights average
~900 km/h gate to gate), ``airport_hours`` (default 0.25: the least time between the last message before
boarding and the first after landing, taxiing included), ``slack_km`` (default 300: the least slack
between two countries, whatever their radii), ``judge_without_evidence`` (default true),
``mtfsm_evidence`` (default "auto"; true or false to force), ``home_routing_share`` (default 0.05: a few
deliveries during a roaming registration happen anyway, around landings and departures).
"""

from __future__ import annotations

import bisect
from datetime import datetime
from typing import Any

import ibis

from custodiet.detect.context import DetectionContext
from custodiet.detect.findings import Finding
from custodiet.detect.registry import detector
from custodiet.detect.signalling.base import (
    AIR,
    ISD,
    MTFSM,
    PRN,
    PSI,
    SAI,
    UGL,
    UL,
    ULR,
    describe,
    requests,
    short,
)
from custodiet.geo import INTERNATIONAL, adjacent, country_centroids, distance_km, radius_km

ID = "signalling.location"
REVISION = 3
JUDGED_MAP, JUDGED_DIAMETER = [UL, UGL, SAI], [ULR, AIR]
HOME_POINTS_TO = [PRN, ISD, PSI, MTFSM]  # home requests whose destination is where the subscriber is


def _params(ctx: DetectionContext) -> dict[str, Any]:
    return {"max_kmh": float(ctx.param(ID, "max_kmh", 1000.0)),
            "airport_hours": float(ctx.param(ID, "airport_hours", 0.25)),
            "slack_km": float(ctx.param(ID, "slack_km", 300.0)),
            "judge_without_evidence": bool(ctx.param(ID, "judge_without_evidence", True)),
            "mtfsm_evidence": ctx.param(ID, "mtfsm_evidence", "auto"),
            "home_routing_share": float(ctx.param(ID, "home_routing_share", 0.05))}


def plausible(prev: str, cur: str, hours: float, p: dict[str, Any]) -> tuple[bool, float, float]:
    """(reachable?, km beyond the slack, km/h needed) from country ``prev`` to ``cur`` in ``hours``."""
    if prev == INTERNATIONAL or cur == INTERNATIONAL or adjacent(prev, cur):
        return True, 0.0, 0.0
    slack = max(p["slack_km"], radius_km(prev) + radius_km(cur))
    km = max(distance_km(prev, cur) - slack, 0.0)
    flying = max(hours - p["airport_hours"], 0.0)
    speed = km / max(hours, 1 / 60)
    return km <= p["max_kmh"] * flying, km, speed


def _events(ctx: DetectionContext, mtfsm_evidence: bool) -> dict[str, list[Any]]:
    r = requests(ctx)
    r = r.filter(r.subject_kind == "imsi")
    judged = ~r.src_home & (((r.proto == "map") & r.code.isin(JUDGED_MAP))
                            | ((r.proto == "diameter") & r.code.isin(JUDGED_DIAMETER)))
    home_here = r.src_home & (r.dst_home | ((r.proto == "map") & r.code.isin([UL, UGL, SAI]))
                              | ((r.proto == "diameter") & r.code.isin([ULR, AIR])))
    home_there = r.src_home & ~r.dst_home & r.ok & (r.proto == "map") & r.code.isin(HOME_POINTS_TO)
    delivered_here = ~r.src_home & r.dst_home & r.ok & (r.proto == "map") & (r.code == MTFSM)
    if not mtfsm_evidence:
        delivered_here = ibis.literal(False)
    attempt = ((r.proto == "map") & r.code.isin([UL, UGL])) | ((r.proto == "diameter") & (r.code == ULR))
    registered = r.ok & attempt
    sel = r.filter(judged | home_here | home_there | delivered_here)
    sel = sel.mutate(registered=registered, delivery=delivered_here, attempt=attempt, told=home_there)
    sel = sel.select(
        "event_id", "ts", "actor", "subject", "operation", "src", "src_network", "src_country", "proto",
        "dst_home", "ok", "dst_key", "code", "registered", "delivery", "attempt", "told",
        role=ibis.ifelse(judged, "judge", "evidence"),
        where=ibis.ifelse(home_there, sel.dst_country, ibis.ifelse(judged, sel.src_country, ibis.null("string"))),
        trusted=sel.src_home | (sel.src_roaming & sel.visited_ok.fill_null(True)),
    ).order_by(["subject", "ts", "event_id"])
    t = sel.to_pyarrow()
    return {c: t.column(c).to_pylist() for c in t.column_names}


def _home_routed(cols: dict[str, list[Any]]) -> float:
    """Share of deliveries to our nodes made while the subscriber was registered abroad (by a successful
    registration from a roaming partner): near 0 where SMS go to the serving MSC, high with SMS home routing."""
    abroad, during, total = None, 0, 0
    for i in range(len(cols["event_id"])):
        if i == 0 or cols["subject"][i] != cols["subject"][i - 1]:
            abroad = None
        if cols["registered"][i] and cols["trusted"][i]:
            abroad = not cols["dst_home"][i] or cols["role"][i] == "judge"
        if cols["delivery"][i]:
            total += 1
            during += bool(abroad)
    return during / total if total else 0.0


def _groups(subjects: list[str]) -> list[tuple[int, int]]:
    """(start, end) index ranges of equal consecutive subjects."""
    out, i = [], 0
    while i < len(subjects):
        j = i
        while j < len(subjects) and subjects[j] == subjects[i]:
            j += 1
        out.append((i, j))
        i = j
    return out


def _echoes(cols: dict[str, list[Any]], lo: int, hi: int) -> set[int]:
    """Indexes of our HLR's / SMSC's messages to a network that registered the subject earlier in the capture.

    Our HLR sends insertSubscriberData, provideRoamingNumber and provideSubscriberInfo to the VLR its last
    registration named, and our SMSC delivers to the MSC the HLR gave it: they repeat what the registration
    claimed and place the subscriber only when that registration lies before the capture. After a
    registration in the capture they are its echo (a forged updateLocation is answered with
    insertSubscriberData like any other), and the registration itself is what gets judged."""
    out: set[int] = set()
    registered: set[str] = set()
    for i in range(lo, hi):
        if cols["attempt"][i]:
            registered.add(cols["src"][i])
        elif cols["told"][i] and cols["dst_key"][i] in registered:
            out.add(i)
    return out


def flagged_events(ctx: DetectionContext) -> list[dict[str, Any]]:
    """Implausible location events (FLAGGED_COLUMNS plus the journey's numbers)."""
    p = _params(ctx)
    home = _home_country(ctx)
    cols = _events(ctx, p["mtfsm_evidence"] is not False)
    if p["mtfsm_evidence"] == "auto" and _home_routed(cols) > p["home_routing_share"]:
        cols = _events(ctx, False)  # SMS home routing: deliveries reach our router wherever the subscriber is
    start = _capture_start(ctx)
    known = country_centroids()
    out: list[dict[str, Any]] = []
    n = len(cols["event_id"])
    where_of = [cols["where"][i] if cols["where"][i] is not None or cols["role"][i] == "judge" else home
                for i in range(n)]
    usable = [w is not None and (w in known or w == INTERNATIONAL) for w in where_of]
    for lo, hi in _groups(cols["subject"]):
        echoes = _echoes(cols, lo, hi)
        anchors = [i for i in range(lo, hi) if usable[i] and cols["role"][i] == "evidence" and i not in echoes]
        anchor_ts = [cols["ts"][i] for i in anchors]
        last: tuple[datetime, str] | None = None
        forged: set[str] = set()  # networks whose registrations for this subject were implausible
        for i in range(lo, hi):
            if not usable[i] or i in echoes:
                continue
            ts, where = cols["ts"][i], str(where_of[i])
            if cols["role"][i] == "evidence":
                if cols["dst_key"][i] not in forged:  # our HLR following a forged registration proves nothing
                    last = (ts, where)
                continue
            k = bisect.bisect_right(anchor_ts, ts)
            nxt = (anchor_ts[k], str(where_of[anchors[k]])) if k < len(anchors) else None
            verdict = _judge(last, nxt, ts, where, p)
            if verdict is None and last is None and nxt is None:
                later_same = any(cols["src"][j] == cols["src"][i] for j in range(i + 1, hi))
                if later_same or not (p["judge_without_evidence"] and cols["dst_home"][i] and home and start):
                    verdict = None  # a stay that goes on: the subscriber was there before the capture
                else:
                    ok, km, speed = plausible(home, where, (ts - start).total_seconds() / 3600, p)
                    minutes = (ts - start).total_seconds() / 60
                    verdict = None if ok else (km, speed, minutes, home, False,
                                               f"its home country, assumed at the capture's start {minutes:,.0f} "
                                               "min earlier (no evidence of where it was before or after)")
            if verdict is None:
                if cols["ok"][i] and cols["trusted"][i]:
                    last = (ts, where)
                continue
            km, speed, minutes, other, evidence, seen = verdict
            forged.add(cols["src"][i])
            row = {c: cols[c][i] for c in cols}
            row["src_country"] = where
            row.update(category="fs19-cat3" if row["proto"] == "diameter" else "fs11-cat3",
                       reason=f"{km:,.0f} km beyond the slack between {where} and {other}, {seen}: {speed:,.0f} km/h",
                       km=km, minutes=minutes, kmh=speed, previous_country=other, evidence=evidence, seen=seen)
            out.append(row)
    return sorted(out, key=lambda e: (e["ts"], e["event_id"]))


def _judge(last: tuple[datetime, str] | None, nxt: tuple[datetime, str] | None, ts: datetime, where: str,
           p: dict[str, Any]) -> tuple[float, float, float, str, bool, str] | None:
    """None when reachable from the last position and the next home evidence can follow; else the numbers
    (km beyond the slack, km/h, minutes, the other country, True, how it was seen)."""
    if last is not None:
        ok, km, speed = plausible(last[1], where, (ts - last[0]).total_seconds() / 3600, p)
        if not ok:
            minutes = (ts - last[0]).total_seconds() / 60
            return km, speed, minutes, last[1], True, f"where it was seen {minutes:,.0f} min earlier"
    if nxt is not None:
        ok, km, speed = plausible(where, nxt[1], (nxt[0] - ts).total_seconds() / 3600, p)
        if not ok:
            minutes = (nxt[0] - ts).total_seconds() / 60
            return km, speed, minutes, nxt[1], True, f"where our own network saw it {minutes:,.0f} min later"
    return None


def _home_country(ctx: DetectionContext) -> str | None:
    from custodiet.context.network import NetworkProfile

    profile = NetworkProfile.from_store(ctx.store)
    return profile.home.country if profile is not None else None


def _capture_start(ctx: DetectionContext) -> datetime | None:
    got = ctx.con.execute("SELECT min(ts) FROM events WHERE channel = 'signalling'").fetchall()
    return got[0][0] if got else None


@detector(ID, revision=REVISION, severity="high", channel="signalling")
def location_plausibility(ctx: DetectionContext) -> list[Finding]:
    """One finding per implausible location event."""
    p = _params(ctx)
    out = []
    for e in flagged_events(ctx):
        who = describe(e["src_network"], e["actor"], e["src_country"])
        score = min(1.0, 0.6 + 0.4 * (1 - p["max_kmh"] / max(e["kmh"], p["max_kmh"])))
        if not e["evidence"]:
            score *= 0.5
        cat = "FS.19" if e["category"] == "fs19-cat3" else "FS.11"
        out.append(Finding(
            detector=ID, revision=REVISION, actor=e["actor"], subjects=[e["subject"]], window_start=e["ts"],
            window_end=e["ts"], score=round(score, 3), severity="high" if e["evidence"] else "medium",
            summary=(f"{who} sent {e['operation']} for subscriber {short(e['subject'])} at {e['ts']:%Y-%m-%d %H:%M}Z"
                     f" ({cat} category 3) from {e['src_country']}, {e['km']:,.0f} km beyond the slack from "
                     f"{e['previous_country']}, "
                     f"{e['seen']}: {e['kmh']:,.0f} km/h, which no traveller reaches (flights at "
                     f"{p['max_kmh']:,.0f} km/h plus {p['airport_hours'] * 60:,.0f} min on the ground)."),
            event_ids=[e["event_id"]],
            details={"category": e["category"], "reason": e["reason"], "km": round(e["km"], 1),
                     "minutes": round(e["minutes"], 1), "kmh": round(e["kmh"], 1), "evidence": e["evidence"],
                     "previous_country": e["previous_country"], "country": e["src_country"],
                     "network": e["src_network"], "network_key": e["src"], "operations": [e["operation"]]},
        ))
    return out
