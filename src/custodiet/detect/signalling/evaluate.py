"""Score the signalling detectors against a simulated world's truth (``custodiet simulate signalling``).

``custodiet evaluate --truth truth.json`` dispatches here when ``truth["world"] == "signalling"``.
Planted attacks are matched to events by provenance: the truth's ``event_key`` is ``<file>:<frame>``,
which is exactly the ``source`` the decoder gives the event of that frame's invoke or request.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from custodiet.detect import registry
from custodiet.detect.context import DetectionContext
from custodiet.detect.findings import Finding
from custodiet.detect.signalling import base
from custodiet.store import Store

CAMPAIGN_DETECTOR = "signalling.campaign"
TARGET_FOUND_SHARE = 0.99
TARGET_FALSE_ALARMS_PER_100K = 1.0
TARGET_CAMPAIGN_JACCARD = 0.75


def signalling_findings(store: Store, params: dict[str, dict[str, Any]] | None = None) -> list[Finding]:
    """Run every signalling detector over the store, in memory (nothing is written)."""
    chosen = sorted((d for d in registry.load_all() if d.channel == "signalling"), key=lambda d: d.id)
    ctx = DetectionContext.open(store, params)
    try:
        out: list[Finding] = []
        for det in chosen:
            out.extend(det.run(ctx))
        return out
    finally:
        base.forget(ctx)
        ctx.con.close()


def evaluate_signalling(store: Store, truth: dict[str, Any], findings: list[Finding] | None = None) -> dict[str, Any]:
    """Share of planted attacks found, false alarms per 100k legitimate messages, campaigns grouped.

    A planted attack is *found* when its event is among the event ids of any signalling finding. A *false
    alarm* is a finding none of whose events was planted; a *legitimate event in a finding* is any
    non-planted event among a finding's event ids (the target: at most 1 per 100,000 legitimate messages).
    A campaign is *grouped* when one campaign finding lists all of the campaign's sending GTs among its
    actors (``exact`` when it lists no others); ``jaccard`` is the best Jaccard index between the
    campaign's GTs and one campaign finding's actors (target: at least 0.75).
    """
    if truth.get("world") != "signalling":
        raise ValueError("truth is not from a signalling world (truth['world'] != 'signalling')")
    _check_truth(truth)
    if findings is None:
        findings = signalling_findings(store)
    con = store.connect()
    try:
        sources = dict(con.execute("SELECT source, event_id FROM events WHERE channel = 'signalling'").fetchall())
    finally:
        con.close()
    attacks = truth.get("attacks", [])
    planted_ids = {sources[a["event_key"]]: a for a in attacks if a["event_key"] in sources}
    flagged = {e for f in findings for e in f.event_ids}
    found = [a for eid, a in planted_ids.items() if eid in flagged]
    by_cat: dict[str, dict[str, int]] = {}
    planted_count = Counter(a["category"] for a in attacks)
    found_count = Counter(a["category"] for a in found)
    for cat in sorted(planted_count):
        by_cat[cat] = {"planted": planted_count[cat], "found": found_count[cat]}
    false_alarms = [f for f in findings if not any(e in planted_ids for e in f.event_ids)]
    legit = int(truth.get("legitimate_messages", 0))
    per_100k = (len(false_alarms) * 100_000 / legit) if legit else 0.0
    legit_in = len(flagged - set(planted_ids))
    legit_per_100k = (legit_in * 100_000 / legit) if legit else 0.0
    campaigns = _campaigns(truth.get("campaigns", []), findings)
    share = len(found) / len(attacks) if attacks else 1.0
    return {
        "world": "signalling", "seed": truth.get("seed"),
        "planted_attacks": len(attacks), "ingested_attacks": len(planted_ids), "found_attacks": len(found),
        "found_share": round(share, 4), "by_category": by_cat,
        "legitimate_messages": legit, "findings": len(findings), "false_alarms": len(false_alarms),
        "false_alarms_per_100k": round(per_100k, 3),
        "legitimate_events_in_findings": legit_in,
        "legitimate_events_in_findings_per_100k": round(legit_per_100k, 3),
        "false_alarm_examples": [f.summary for f in false_alarms[:5]],
        "missed_examples": [a for eid, a in planted_ids.items() if eid not in flagged][:5],
        "campaigns": campaigns,
        "targets": {"found_share>=0.99": share >= TARGET_FOUND_SHARE,
                    "false_alarms_per_100k<=1": per_100k <= TARGET_FALSE_ALARMS_PER_100K,
                    "legitimate_events_in_findings_per_100k<=1": legit_per_100k <= TARGET_FALSE_ALARMS_PER_100K,
                    "campaigns_grouped": all(c["grouped"] for c in campaigns),
                    "campaign_jaccard>=0.75": all(c["jaccard"] >= TARGET_CAMPAIGN_JACCARD for c in campaigns)},
    }


def _check_truth(truth: dict[str, Any]) -> None:
    """Every attack needs an ``event_key`` (``file:frame``) and a ``category``; say which one does not."""
    for i, a in enumerate(truth.get("attacks", [])):
        for key in ("event_key", "category"):
            if not isinstance(a, dict) or not isinstance(a.get(key), str):
                raise ValueError(f"truth attacks[{i}]: missing or non-text {key!r}")
    for i, c in enumerate(truth.get("campaigns", [])):
        if not isinstance(c, dict) or not isinstance(c.get("gts"), list):
            raise ValueError(f"truth campaigns[{i}]: missing list 'gts' (the member networks' global titles)")


def _campaigns(truth_campaigns: list[dict[str, Any]], findings: list[Finding]) -> list[dict[str, Any]]:
    found = [f for f in findings if f.detector == CAMPAIGN_DETECTOR]
    out = []
    for c in truth_campaigns:
        gts = set(c.get("gts", []))
        match = next((f for f in found if gts <= set(f.actors)), None)
        jaccard = max((len(gts & set(f.actors)) / len(gts | set(f.actors)) for f in found if gts | set(f.actors)),
                      default=0.0)
        out.append({"networks": c.get("networks", []), "gts": sorted(gts), "grouped": match is not None,
                    "jaccard": round(jaccard, 3),
                    "exact": match is not None and set(match.actors) == gts,
                    "finding_actors": sorted(match.actors) if match else []})
    return out
