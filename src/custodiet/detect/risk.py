"""Risk per actor (account or network): the findings about it, combined so that strength beats numbers.

Each finding has a severity tier (info 0 .. critical 4) and a score in [0, 1]. An actor's risk is

    tier of its strongest finding + 0.5 × that finding's score + 0.5 × corroboration

where corroboration in [0, 1) is 1 - Π(1 - w·score) over the strongest finding of each *other* detector,
with w = 0.6 × (tier + 1) / (top tier + 1). Since every term after the tier stays below 1, one finding of
a higher tier outranks any number of findings of lower tiers; within a tier, a stronger top finding and
more independent detectors agreeing rank higher, and fifty findings from one detector count once. The
reported ``risk`` is that sum divided by 5, in [0, 1).

The same function ranks accounts (channel "portal": portal, gateway and console detectors) and foreign
networks (channel "signalling"); a finding with several ``actors`` counts for each of them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from custodiet.detect.findings import SEVERITIES

TIERS = {name: tier for tier, name in enumerate(SEVERITIES)}  # info 0 .. critical 4
MAX_TIER = len(SEVERITIES) - 1


def combine(findings: Iterable[Mapping[str, Any]]) -> float:
    """The risk in [0, 1) of one actor from its findings (each with detector, severity, score)."""
    best: dict[str, tuple[int, float]] = {}
    for f in findings:
        key = (TIERS[f["severity"]], float(f["score"]))
        if f["detector"] not in best or key > best[f["detector"]]:
            best[f["detector"]] = key
    if not best:
        return 0.0
    ordered = sorted(best.values(), reverse=True)
    top_tier, top_score = ordered[0]
    rest = 1.0
    for tier, score in ordered[1:]:
        rest *= 1.0 - 0.6 * min(max(score, 0.0), 1.0) * (tier + 1) / (top_tier + 1)
    raw = top_tier + 0.5 * min(max(top_score, 0.0), 1.0) + 0.5 * (1.0 - rest)
    return min(raw, top_tier + 0.999) / (MAX_TIER + 1)


def rank(findings: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per actor in descending risk: actor, risk, top severity, detectors, findings (sentences).

    Sentences are ordered strongest first; ties in risk break on the number of detectors, then the name.
    """
    by_actor: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for f in findings:
        for actor in f.get("actors") or [f["actor"]]:
            by_actor[actor].append(f)
    out = []
    for actor, fs in by_actor.items():
        fs = sorted(fs, key=lambda f: (TIERS[f["severity"]], f["score"]), reverse=True)
        out.append({
            "actor": actor,
            "risk": round(combine(fs), 6),
            "severity": fs[0]["severity"],
            "detectors": sorted({f["detector"] for f in fs}),
            "findings": [f"[{f['severity']}] {f['detector']}: {f['summary']}" for f in fs],
            "finding_ids": [f["finding_id"] for f in fs],
        })
    out.sort(key=lambda r: (-r["risk"], -len(r["detectors"]), r["actor"]))
    for i, r in enumerate(out, 1):
        r["rank"] = i
    return out
