"""GSMA FS.11 / FS.19 category 3: location plausibility (velocity).

What it catches: an updateLocation, updateGprsLocation or sendAuthenticationInfo (Diameter:
Update-Location, Authentication-Information) from a network in a country the subscriber cannot have
reached since it was last seen. A forged registration diverts calls and SMS (interception); forged
authentication requests harvest vectors. It needs no earlier registration: the subscriber's position is
the last *evidence* of it on any operation,

- a successful registration or authentication by its home network or a roaming partner (whose
  Visited-PLMN-Id, if any, is its own) that was itself plausible;
- the home network's own nodes acting for it: a request from a home VLR/MSC (or routed on point code
  inside the home network), our HLR's provideRoamingNumber / insertSubscriberData / provideSubscriberInfo
  to a VLR, our SMSC's mt-forwardSM to an MSC abroad (the subscriber is where that VLR/MSC is). An
  mt-forwardSM arriving at a home node is no evidence: with SMS home routing it reaches our SMS router
  wherever the subscriber is;

and, where none precedes it, its home network's country at the capture's start (for subscribers of ours:
requests addressed to our HLR/HSS). Such a finding says that no evidence existed and scores lower.

Reachable: the same or a neighbouring country (bundled borders: border towns flip between networks many
times a day); an international network (+881/+882/+883, MCC 901: ships and aircraft) to or from anywhere;
otherwise the great-circle distance between the countries' centroids, less both countries' radii (see
``custodiet.geo``), must be coverable at ``max_kmh`` in the time elapsed less ``airport_hours``. An
implausible event is flagged and does not move the subscriber, so a forged registration does not make the
genuine network's next message look impossible. Rejected requests are judged but never move it.

Known false positives: networks whose GTs are attributed to the wrong country; a border pair missing from
the bundled table; a capture that begins while the subscriber is already abroad, for the first message
of its visiting network (the no-evidence finding, low score; ``judge_without_evidence = false`` silences
it); subscribers' IMSIs shared by several devices (multi-SIM with one IMSI).

Tunables: ``max_kmh`` (default 1000: an airliner's ground speed with a tailwind; scheduled flights average
~900 km/h gate to gate), ``airport_hours`` (default 0.25: the least time between the last message before
boarding and the first after landing, taxiing included), ``slack_km`` (default 300: the least slack
between two countries, whatever their radii), ``judge_without_evidence`` (default true).
"""

from __future__ import annotations

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
REVISION = 2
JUDGED_MAP, JUDGED_DIAMETER = [UL, UGL, SAI], [ULR, AIR]
HOME_POINTS_TO = [PRN, ISD, PSI, MTFSM]  # home requests whose destination is where the subscriber is


def _params(ctx: DetectionContext) -> dict[str, Any]:
    return {"max_kmh": float(ctx.param(ID, "max_kmh", 1000.0)),
            "airport_hours": float(ctx.param(ID, "airport_hours", 0.25)),
            "slack_km": float(ctx.param(ID, "slack_km", 300.0)),
            "judge_without_evidence": bool(ctx.param(ID, "judge_without_evidence", True))}


def plausible(prev: str, cur: str, hours: float, p: dict[str, Any]) -> tuple[bool, float, float]:
    """(reachable?, km beyond the slack, km/h needed) from country ``prev`` to ``cur`` in ``hours``."""
    if prev == INTERNATIONAL or cur == INTERNATIONAL or adjacent(prev, cur):
        return True, 0.0, 0.0
    slack = max(p["slack_km"], radius_km(prev) + radius_km(cur))
    km = max(distance_km(prev, cur) - slack, 0.0)
    flying = max(hours - p["airport_hours"], 0.0)
    speed = km / max(hours, 1 / 60)
    return km <= p["max_kmh"] * flying, km, speed


def _events(ctx: DetectionContext) -> dict[str, list[Any]]:
    r = requests(ctx)
    r = r.filter(r.subject_kind == "imsi")
    judged = ~r.src_home & (((r.proto == "map") & r.code.isin(JUDGED_MAP))
                            | ((r.proto == "diameter") & r.code.isin(JUDGED_DIAMETER)))
    home_here = r.src_home & (r.dst_home | ((r.proto == "map") & r.code.isin([UL, UGL, SAI]))
                              | ((r.proto == "diameter") & r.code.isin([ULR, AIR])))
    home_there = r.src_home & ~r.dst_home & (r.proto == "map") & r.code.isin(HOME_POINTS_TO)
    sel = r.filter(judged | home_here | home_there)
    sel = sel.select(
        "event_id", "ts", "actor", "subject", "operation", "src", "src_network", "src_country", "proto",
        "dst_home", "ok",
        role=ibis.ifelse(judged, "judge", "evidence"),
        where=ibis.ifelse(home_there, sel.dst_country, ibis.ifelse(judged, sel.src_country, ibis.null("string"))),
        trusted=sel.src_home | (sel.src_roaming & sel.visited_ok.fill_null(True)),
    ).order_by(["subject", "ts", "event_id"])
    t = sel.to_pyarrow()
    return {c: t.column(c).to_pylist() for c in t.column_names}


def flagged_events(ctx: DetectionContext) -> list[dict[str, Any]]:
    """Implausible location events (FLAGGED_COLUMNS plus the journey's numbers)."""
    p = _params(ctx)
    home = _home_country(ctx)
    cols = _events(ctx)
    start = _capture_start(ctx)
    known = country_centroids()
    out: list[dict[str, Any]] = []
    last: tuple[str, datetime, str] | None = None  # (subject, ts, country)
    for i in range(len(cols["event_id"])):
        subject, ts, role = cols["subject"][i], cols["ts"][i], cols["role"][i]
        if last is not None and last[0] != subject:
            last = None
        where = cols["where"][i] if cols["where"][i] is not None or role == "judge" else home
        if where is None or (where not in known and where != INTERNATIONAL):
            continue
        if role == "evidence":
            last = (subject, ts, where)
            continue
        evidence = last is not None
        if last is None:
            if not (p["judge_without_evidence"] and cols["dst_home"][i] and home is not None and start is not None):
                if cols["ok"][i] and cols["trusted"][i]:
                    last = (subject, ts, where)
                continue
            prev_ts, prev = start, home
        else:
            prev_ts, prev = last[1], last[2]
        hours = (ts - prev_ts).total_seconds() / 3600
        ok, km, speed = plausible(prev, where, hours, p)
        if ok:
            if cols["ok"][i] and cols["trusted"][i]:
                last = (subject, ts, where)
            continue
        row = {c: cols[c][i] for c in cols}
        row["src_country"] = where
        minutes = (ts - prev_ts).total_seconds() / 60
        seen = (f"where it was seen {minutes:,.0f} min earlier" if evidence else
                f"its home country, assumed at the capture's start {minutes:,.0f} min earlier (no earlier "
                "evidence of where it was)")
        row.update(category="fs19-cat3" if row["proto"] == "diameter" else "fs11-cat3",
                   reason=f"{km:,.0f} km beyond the slack from {prev}, {seen}: {speed:,.0f} km/h",
                   km=km, minutes=minutes, kmh=speed, previous_country=prev, evidence=evidence, seen=seen)
        out.append(row)
    return out


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
                     f" ({cat} category 3), {e['km']:,.0f} km beyond the slack from {e['previous_country']}, "
                     f"{e['seen']}: {e['kmh']:,.0f} km/h, which no traveller reaches (flights at "
                     f"{p['max_kmh']:,.0f} km/h plus {p['airport_hours'] * 60:,.0f} min on the ground)."),
            event_ids=[e["event_id"]],
            details={"category": e["category"], "reason": e["reason"], "km": round(e["km"], 1),
                     "minutes": round(e["minutes"], 1), "kmh": round(e["kmh"], 1), "evidence": e["evidence"],
                     "previous_country": e["previous_country"], "country": e["src_country"],
                     "network": e["src_network"], "network_key": e["src"], "operations": [e["operation"]]},
        ))
    return out
