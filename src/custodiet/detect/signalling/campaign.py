"""Coordinated campaigns: several networks attacking overlapping subscribers the same way at the same time.

What it catches: groups of two or more sending networks whose *flagged* requests (categories 1-3, FS.19,
serving-only operations, sender identity mismatches, look-ups followed by tracking) target overlapping sets
of subscribers with similar sequences of operations, in overlapping time windows: one actor renting several
networks' global titles, or several actors sharing target lists. Emits one finding with every member
network's senders in ``actors``.

How: for each network (a network of the profile, or the GT block of an unknown sender: the first
``gt_block_digits`` digits of its global title), its flagged events give a subject set, the sequence of
operations per subject (e.g. ``sendRoutingInfoForSM>provideSubscriberInfo``) and a time window. Two networks
are linked when the Jaccard index of their subject sets is at least ``min_subject_overlap``, that of their
operation sequences at least ``min_sequence_similarity``, and their windows overlap (widened by
``slack_hours``). Campaigns are the connected groups of linked networks (union-find over the pairs; a few
dozen networks).

Known false positives: two unrelated attackers going after the same prominent subscriber with the same
common technique at the same time (raise ``min_subjects``); a network and its own second GT range when
the profile does not know them (both show up as members); two unknown networks whose GTs share one block
(they are reported as one member).

Tunables: ``min_networks`` (default 2), ``min_subjects`` (shared subjects, default 3),
``min_subject_overlap`` (default 0.25), ``min_sequence_similarity`` (default 0.5), ``slack_hours``
(default 6), ``gt_block_digits`` (default: the shortest GT prefix of a network in the profile, else 7).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

from custodiet.detect.context import DetectionContext
from custodiet.detect.findings import Finding
from custodiet.detect.registry import detector
from custodiet.detect.signalling import fs11_cat1, fs11_cat2, fs19, location, probing, serving, spoofing
from custodiet.detect.signalling.base import describe, flagged_rows, plural, requests, rows, span_text

ID = "signalling.campaign"
REVISION = 3
DEFAULT_BLOCK_DIGITS = 7  # country code, national destination code and the operator's block (E.164 GTs)


def flagged_union(ctx: DetectionContext) -> list[dict[str, Any]]:
    """Every event flagged by the per-message signalling detectors, each once."""
    seen: dict[str, dict[str, Any]] = {}
    # the look-ups of the tracking pattern (a look-up its sender followed with a location request) are
    # flagged requests too; a sweep's are not campaign evidence (they touch everyone)
    tracking = [{**x, "category": "probing", "reason": "look-up followed by tracking"}
                for ep in probing.episodes(ctx) if "tracking" in ep for x in ep["events"]]
    for rows_ in (flagged_rows(fs11_cat1.flagged(ctx)), flagged_rows(fs11_cat2.flagged(ctx)),
                  flagged_rows(fs19.flagged(ctx)), flagged_rows(serving.flagged(ctx)),
                  location.flagged_events(ctx), spoofing.flagged_events(ctx), tracking):
        for r in rows_:
            seen.setdefault(r["event_id"], r)
    return sorted(seen.values(), key=lambda r: (r["ts"], r["event_id"]))


def _block_digits(ctx: DetectionContext) -> int:
    """Digits of a global title that name its operator's GT block: ``gt_block_digits``, or by default the
    shortest GT prefix the home network profile gives a network (how long an operator's block is in this
    operator's own interconnect data, IR.21), else ``DEFAULT_BLOCK_DIGITS``."""
    from custodiet.context.network import NetworkProfile

    given = ctx.param(ID, "gt_block_digits", None)
    if given is not None:
        return int(given)
    profile = NetworkProfile.from_store(ctx.store)
    lengths = [len(g) for net in (profile.networks if profile is not None else []) for g in net.gt_prefixes]
    return min(lengths) if lengths else DEFAULT_BLOCK_DIGITS


def network_of(e: dict[str, Any], block: int) -> str:
    """The sending network of a flagged event: the profile's network, else the GT block of an unknown
    sender's global title (an operator's HLR, MSC/VLR and SMSC have different GTs in one block: a campaign
    network that sends its look-ups from one GT and its location requests from another is one network)."""
    src = str(e["src"])
    if src.isdigit() and len(src) > block and e["src_network"] != src:
        return src[:block] + "…"
    return src


def identities(ctx: DetectionContext) -> dict[str, str]:
    """Subject pseudonym -> one pseudonym per person: an MSISDN and the IMSI that a request carried with it
    or that an answer gave for it (sendRoutingInfoForSM's result) are one subscriber, so a network that looks
    a number up and another that then locates its IMSI target the same person."""
    r = requests(ctx)
    pairs = rows(r.filter(r.link.notnull()).select("subject", "link").distinct())
    parent: dict[str, str] = {}
    for x in pairs:
        for v in (x["subject"], x["link"]):
            parent.setdefault(v, v)
        a, b = _find(parent, x["subject"]), _find(parent, x["link"])
        if a != b:
            parent[max(a, b)] = min(a, b)
    return {v: _find(parent, v) for v in parent}


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
    block = _block_digits(ctx)
    person = identities(ctx)
    by_net: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        by_net[network_of(e, block)].append({**e, "person": person.get(e["subject"], e["subject"])})
    profile: dict[str, dict[str, Any]] = {}
    for net, evs in by_net.items():
        per_subject: dict[str, list[str]] = defaultdict(list)
        for e in evs:
            per_subject[e["person"]].append(e["operation"] or "?")
        profile[net] = {"subjects": set(per_subject), "first": evs[0]["ts"], "last": evs[-1]["ts"],
                        "sequences": {">".join(dict.fromkeys(ops)) for ops in per_subject.values()},
                        "by_person": {k: ">".join(dict.fromkeys(ops)) for k, ops in per_subject.items()}}
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
            # an attacker network does more than one campaign: judge the pair on what they share, the
            # overlap against the smaller target set and the techniques used on the shared people
            overlap = len(shared) / min(len(pa["subjects"]), len(pb["subjects"]))
            similar = _jaccard({pa["by_person"][x] for x in shared}, {pb["by_person"][x] for x in shared})
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
    counts: dict[str, int] = defaultdict(int)
    for m in members:
        for s in profile[m]["subjects"]:
            counts[s] += 1
    # the campaign is what its members did to the people two or more of them targeted; a member's other
    # flagged requests (about people no other member touched) are its own findings, not coordination
    together = {s for s, c in counts.items() if c >= 2}
    evs = sorted((e for m in members for e in by_net[m] if e["person"] in together),
                 key=lambda e: (e["ts"], e["event_id"]))
    actors = sorted({e["actor"] for e in evs})
    subjects = {e["subject"] for e in evs}
    shared = len(together)
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
