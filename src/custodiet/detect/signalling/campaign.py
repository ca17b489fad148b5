"""Coordinated campaigns: several networks attacking overlapping subscribers the same way at the same time.

What it catches: groups of two or more sending networks whose *flagged* requests (categories 1-3,
FS.19, serving-only operations, sender identity mismatches) target overlapping sets of subscribers with
similar sequences of operations, in overlapping time windows: one actor renting several networks' global
titles, or several actors sharing target lists. Emits one finding with every member network's senders in
``actors``.

How: for each network, its flagged events give a subject set, the sequence of operations per subject
(e.g. ``sendRoutingInfoForSM>provideSubscriberInfo``) and a time window. Two networks are linked when
the Jaccard index of their subject sets is at least ``min_subject_overlap``, that of their operation
sequences at least ``min_sequence_similarity``, and their windows overlap (widened by ``slack_hours``).
Campaigns are the connected groups of linked networks (union-find over the pairs; a few dozen networks).

Known false positives: two unrelated attackers going after the same prominent subscriber with the same
common technique at the same time (raise ``min_subjects``); a network and its own second GT range when
the profile does not know them (both show up as members).

Tunables: ``min_networks`` (default 2), ``min_subjects`` (shared subjects, default 3),
``min_subject_overlap`` (default 0.25), ``min_sequence_similarity`` (default 0.5), ``slack_hours``
(default 6).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

from custodiet.detect.context import DetectionContext
from custodiet.detect.findings import Finding
from custodiet.detect.registry import detector
from custodiet.detect.signalling import fs11_cat1, fs11_cat2, fs19, location, serving, spoofing
from custodiet.detect.signalling.base import describe, flagged_rows, plural, span_text

ID = "signalling.campaign"
REVISION = 2


def flagged_union(ctx: DetectionContext) -> list[dict[str, Any]]:
    """Every event flagged by the per-message signalling detectors, each once."""
    seen: dict[str, dict[str, Any]] = {}
    for rows_ in (flagged_rows(fs11_cat1.flagged(ctx)), flagged_rows(fs11_cat2.flagged(ctx)),
                  flagged_rows(fs19.flagged(ctx)), flagged_rows(serving.flagged(ctx)),
                  location.flagged_events(ctx), spoofing.flagged_events(ctx)):
        for r in rows_:
            seen.setdefault(r["event_id"], r)
    return sorted(seen.values(), key=lambda r: (r["ts"], r["event_id"]))


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def _find(parent: dict[str, str], x: str) -> str:
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@detector(ID, revision=REVISION, severity="critical", channel="signalling")
def campaigns(ctx: DetectionContext) -> list[Finding]:
    """One finding per group of linked networks."""
    p = {k: ctx.param(ID, k, d) for k, d in (("min_networks", 2), ("min_subjects", 3),
                                             ("min_subject_overlap", 0.25),
                                             ("min_sequence_similarity", 0.5), ("slack_hours", 6))}
    events = flagged_union(ctx)
    by_net: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        by_net[e["src"]].append(e)
    profile: dict[str, dict[str, Any]] = {}
    for net, evs in by_net.items():
        per_subject: dict[str, list[str]] = defaultdict(list)
        for e in evs:
            per_subject[e["subject"]].append(e["operation"] or "?")
        profile[net] = {"subjects": set(per_subject), "first": evs[0]["ts"], "last": evs[-1]["ts"],
                        "sequences": {">".join(dict.fromkeys(ops)) for ops in per_subject.values()}}
    slack = timedelta(hours=float(p["slack_hours"]))
    nets = sorted(profile)
    parent = {n: n for n in nets}
    links: list[tuple[str, str, float, float]] = []
    for i, a in enumerate(nets):
        for b in nets[i + 1:]:
            pa, pb = profile[a], profile[b]
            shared = pa["subjects"] & pb["subjects"]
            if len(shared) < int(p["min_subjects"]):
                continue
            overlap = _jaccard(pa["subjects"], pb["subjects"])
            similar = _jaccard(pa["sequences"], pb["sequences"])
            in_time = pa["first"] - slack <= pb["last"] and pb["first"] - slack <= pa["last"]
            if overlap >= float(p["min_subject_overlap"]) and similar >= float(p["min_sequence_similarity"]) \
                    and in_time:
                links.append((a, b, overlap, similar))
                parent[_find(parent, a)] = _find(parent, b)
    groups: dict[str, list[str]] = defaultdict(list)
    for n in nets:
        groups[_find(parent, n)].append(n)
    out = []
    for members in groups.values():
        if len(members) < int(p["min_networks"]):
            continue
        out.append(_finding(members, by_net, profile, [x for x in links if x[0] in members]))
    return sorted(out, key=lambda f: f.window_start)


def _finding(members: list[str], by_net: dict[str, list[dict[str, Any]]], profile: dict[str, dict[str, Any]],
             links: list[tuple[str, str, float, float]]) -> Finding:
    evs = sorted((e for m in members for e in by_net[m]), key=lambda e: (e["ts"], e["event_id"]))
    actors = sorted({e["actor"] for e in evs})
    subjects = set().union(*(profile[m]["subjects"] for m in members))
    counts: dict[str, int] = defaultdict(int)
    for m in members:
        for s in profile[m]["subjects"]:
            counts[s] += 1
    shared = sum(1 for c in counts.values() if c >= 2)
    sequences = sorted(set().union(*(profile[m]["sequences"] for m in members)),
                       key=lambda s: (-sum(s in profile[m]["sequences"] for m in members), s))
    first, last = evs[0]["ts"], evs[-1]["ts"]
    heads = {m: by_net[m][0] for m in members}
    who = "; ".join(describe(heads[m]["src_network"], heads[m]["actor"], heads[m]["src_country"])
                    for m in sorted(members))
    overlap = sum(x[2] for x in links) / len(links) if links else 0.0
    return Finding(
        detector=ID, revision=REVISION, actor=actors[0], actors=actors, subjects=sorted(subjects),
        window_start=first, window_end=last, score=round(min(1.0, 0.5 + overlap / 2 + 0.05 * len(members)), 3),
        severity="critical",
        summary=(f"{len(members)} networks acted together {span_text(first, last)}: {who}; "
                 f"{plural(len(evs), 'flagged request')} on {len(subjects):,} subscriber identities (IMSI or MSISDN), "
                 f"{shared} targeted by two or more of them, most often as {sequences[0]}."),
        event_ids=[e["event_id"] for e in evs],
        details={"category": "campaign", "networks": sorted(members), "shared_subjects": shared,
                 "sequences": sequences[:5], "mean_subject_overlap": round(overlap, 3),
                 "countries": sorted({h["src_country"] or "?" for h in heads.values()})},
    )
