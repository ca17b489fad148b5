"""GSMA FS.11 / FS.19 category 3: location plausibility (velocity).

What it catches: an updateLocation, updateGprsLocation or sendAuthenticationInfo (Diameter:
Update-Location, Authentication-Information) from a network in a country the subscriber cannot have
reached since it was last seen: the great-circle distance between the two countries' centroids (bundled
``signalling_country_centroids.csv``), less a slack for borders and centroid error, over the time
elapsed, is faster than an airliner. A forged registration diverts calls and SMS (interception); forged
authentication requests harvest vectors.

How: location events of each subscriber in time order (from the home network, partners or anyone); each
message from another network is compared with the last *plausible, trusted* position. An implausible
event is flagged and does not move the subscriber, so a forged registration does not make the genuine
network's next message look impossible. Only the home network's own nodes, and roaming partners whose
Visited-PLMN-Id (if any) is their own, move the subscriber; the home network is never flagged.
The ordered scan is a small Python loop over the location events the engine selects and sorts.

Known false positives: subscribers near a border switching between neighbouring countries' networks
within minutes (raise ``slack_km`` for such borders); networks whose GTs are attributed to the wrong
country; a subscriber served over a satellite or maritime network.

Tunables: ``max_kmh`` (default 1000), ``slack_km`` (default 300), ``min_hours`` (time floor so that two
messages a second apart are not an infinite speed; default 1/60).
"""

from __future__ import annotations

from typing import Any

from custodiet.detect.context import DetectionContext
from custodiet.detect.findings import Finding
from custodiet.detect.registry import detector
from custodiet.detect.signalling.base import AIR, SAI, UGL, UL, ULR, describe, requests, short
from custodiet.detect.signalling.geo import country_centroids, distance_km

ID = "signalling.location"
REVISION = 1


def flagged_events(ctx: DetectionContext) -> list[dict[str, Any]]:
    """Implausible location events (FLAGGED_COLUMNS plus the journey's numbers)."""
    max_kmh = float(ctx.param(ID, "max_kmh", 1000.0))
    slack = float(ctx.param(ID, "slack_km", 300.0))
    min_hours = float(ctx.param(ID, "min_hours", 1 / 60))
    r = requests(ctx)
    loc = r.filter((((r.proto == "map") & r.code.isin([UL, UGL, SAI]))
                    | ((r.proto == "diameter") & r.code.isin([ULR, AIR]))) & r.src_country.notnull())
    loc = loc.select("event_id", "ts", "actor", "subject", "operation", "src", "src_network", "src_country",
                     "proto", "src_home", trusted=r.src_home | (r.src_roaming & r.visited_ok.fill_null(True)))
    loc = loc.order_by(["subject", "ts", "event_id"])
    t = loc.to_pyarrow()
    known = country_centroids()
    cols = {c: t.column(c).to_pylist() for c in t.column_names}
    out: list[dict[str, Any]] = []
    last_subject, last_ts, last_country = None, None, None
    for i in range(t.num_rows):
        subject, ts, country = cols["subject"][i], cols["ts"][i], cols["src_country"][i]
        if country not in known:
            continue
        trusted = cols["trusted"][i]
        if subject != last_subject:
            last_subject, last_ts, last_country = subject, None, None
        if last_ts is None or last_country is None or cols["src_home"][i]:
            if trusted:  # our own network's word is final; others' only if allowed to register
                last_ts, last_country = ts, country
            continue
        hours = max((ts - last_ts).total_seconds() / 3600, min_hours)
        km = distance_km(last_country, country)
        speed = max(km - slack, 0.0) / hours
        if speed <= max_kmh:
            if trusted:
                last_ts, last_country = ts, country
            continue
        row = {c: cols[c][i] for c in cols}
        row.update(category="fs19-cat3" if row["proto"] == "diameter" else "fs11-cat3",
                   reason=(f"{km:,.0f} km from {last_country}, where it was seen "
                           f"{(ts - last_ts).total_seconds() / 60:,.0f} min earlier: {speed:,.0f} km/h"),
                   km=km, minutes=(ts - last_ts).total_seconds() / 60, kmh=speed, previous_country=last_country)
        out.append(row)
    return out


@detector(ID, revision=REVISION, severity="high", channel="signalling")
def location_plausibility(ctx: DetectionContext) -> list[Finding]:
    """One finding per implausible location event."""
    max_kmh = float(ctx.param(ID, "max_kmh", 1000.0))
    out = []
    for e in flagged_events(ctx):
        who = describe(e["src_network"], e["actor"], e["src_country"])
        score = min(1.0, 0.6 + 0.4 * (1 - max_kmh / e["kmh"]))
        out.append(Finding(
            detector=ID, revision=REVISION, actor=e["actor"], subjects=[e["subject"]], window_start=e["ts"],
            window_end=e["ts"], score=round(score, 3), severity="high",
            summary=(f"{who} sent {e['operation']} for subscriber {short(e['subject'])} at {e['ts']:%Y-%m-%d %H:%M}Z, "
                     f"{e['km']:,.0f} km from {e['previous_country']} where it was seen {e['minutes']:,.0f} min "
                     f"earlier: {e['kmh']:,.0f} km/h, above the {max_kmh:,.0f} km/h any traveller can reach."),
            event_ids=[e["event_id"]],
            details={"category": e["category"], "reason": e["reason"], "km": round(e["km"], 1),
                     "minutes": round(e["minutes"], 1), "kmh": round(e["kmh"], 1),
                     "previous_country": e["previous_country"], "country": e["src_country"],
                     "network": e["src_network"], "network_key": e["src"], "operations": [e["operation"]]},
        ))
    return out
