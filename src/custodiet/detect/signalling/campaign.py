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

An operator's GTs are members by what they did (revision 4): GTs of one block that worked on the same people
are one member (``split_block``), GTs with other targets are another, so an operator whose GTs two campaigns
rent at once joins each campaign with its own GTs. Groups that are the same operators in two roles (look-ups
from one GT each, location requests from another, with nothing tying the numbers to the IMSIs) are joined
(``_join_roles``: ``min_operator_overlap``). A campaign's finding also takes in its GTs' requests that no
per-message detector flagged but that are its technique on its people in its window (``_more_of_the_same``:
a look-up through a member's optimal-routing GT).

Known false positives: two unrelated attackers going after the same prominent subscriber with the same
common technique at the same time (raise ``min_subjects``); a network and its own second GT range when
the profile does not know them (both show up as members); two unknown networks whose GTs share one block
(they are reported as one member); a member operator's own allowed request of the campaign's technique (an
SMS partner's SRI-SM before a delivery) about a campaign target, from a GT of the campaign, in its window.

Tunables: ``min_networks`` (default 2), ``min_subjects`` (shared subjects, default 3),
``min_subject_overlap`` (default 0.25), ``min_sequence_similarity`` (default 0.5), ``slack_hours``
(default 6), ``gt_block_digits`` (default: the shortest GT prefix of a network in the profile, else 7),
``min_operator_overlap`` (default 0.5: two groups of GTs are one campaign in two roles when most of their
operators are the same; two campaigns that rent one or two common operators among several each stay apart).
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
REVISION = 4
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


def split_block(key: str, evs: list[dict[str, Any]], min_overlap: float,
                slack_hours: float) -> dict[str, list[dict[str, Any]]]:
    """An operator's GT block as one or more campaign members: its global titles that worked on the same
    people in overlapping windows are one member (a look-up GT and a location GT of one attack, tied by the
    subscriber), GTs with disjoint targets are separate members. An operator whose GTs are rented by two
    campaigns at once (different GTs of one block, different target lists) thus joins each campaign with
    its own GTs instead of merging both campaigns into one.

    Two GTs of a block are tied when the people they share are at least ``min_overlap`` of the smaller
    GT's people (the campaign's ``min_subject_overlap``: the same share that ties two networks) and their
    windows, widened by ``slack_hours``, overlap. Events of one member keep their time order."""
    by_gt: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in evs:
        by_gt[str(e["actor"])].append(e)
    if len(by_gt) == 1:
        return {key: evs}
    gts = sorted(by_gt)
    people = {g: {e["person"] for e in by_gt[g]} for g in gts}
    slack = timedelta(hours=slack_hours)
    span = {g: (by_gt[g][0]["ts"] - slack, by_gt[g][-1]["ts"] + slack) for g in gts}
    parent = {g: g for g in gts}
    for i, a in enumerate(gts):
        for b in gts[i + 1:]:
            shared = people[a] & people[b]
            if shared and len(shared) / min(len(people[a]), len(people[b])) >= min_overlap \
                    and span[a][0] <= span[b][1] and span[b][0] <= span[a][1]:
                parent[_find(parent, a)] = _find(parent, b)
    groups: dict[str, list[str]] = defaultdict(list)
    for g in gts:
        groups[_find(parent, g)].append(g)
    if len(groups) == 1:
        return {key: evs}
    return {f"{key}{min(members)}": sorted((e for g in members for e in by_gt[g]),
                                           key=lambda e: (e["ts"], e["event_id"]))
            for members in groups.values()}


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
                                             ("min_sequence_similarity", 0.5), ("slack_hours", 6),
                                             ("min_operator_overlap", 0.5))}
    events = flagged_union(ctx)
    block = _block_digits(ctx)
    person = identities(ctx)
    by_block: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        by_block[network_of(e, block)].append({**e, "person": person.get(e["subject"], e["subject"])})
    by_net: dict[str, list[dict[str, Any]]] = {}
    block_of: dict[str, str] = {}  # member -> its operator (GT block or profile network)
    for key, evs in by_block.items():
        for member, mevs in split_block(key, evs, float(p["min_subject_overlap"]), float(p["slack_hours"])).items():
            by_net[member] = mevs
            block_of[member] = key
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
            if block_of[a] == block_of[b]:
                continue  # one operator's GTs are tied (or not) by ``split_block``
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
    for members in _join_roles(list(groups.values()), block_of, profile, slack,
                               float(p["min_operator_overlap"]), int(p["min_networks"])):
        if len({block_of[m] for m in members}) < int(p["min_networks"]):
            continue
        extra = _more_of_the_same(ctx, members, by_net, profile, block_of, person, block, slack)
        out.append(_finding(members, by_net, profile, [x for x in links if x[0] in members], block_of, extra))
    return sorted(out, key=lambda f: f.window_start)


def _more_of_the_same(ctx: DetectionContext, members: list[str], by_net: dict[str, list[dict[str, Any]]],
                      profile: dict[str, dict[str, Any]], block_of: dict[str, str], person: dict[str, str],
                      block: int, slack: timedelta) -> list[dict[str, Any]]:
    """Requests of the campaign's operators that no per-message detector flagged, but that are the campaign's
    technique on the campaign's people in its window: the same operation as the campaign's flagged requests,
    about a person two or more of its operators targeted, from a GT (or Diameter host) that sent flagged
    requests of the campaign (a look-up sent through a roaming partner's call-routing GT is allowed alone, and
    is the campaign's look-up when that GT is a member's). The operator's other GTs (its SMSC delivering to a
    campaign target) are not drawn in. Window widened by the campaign's ``slack_hours``."""
    counts: dict[str, set[str]] = defaultdict(set)
    for m in members:
        for s in profile[m]["subjects"]:
            counts[s].add(block_of[m])
    together = {s for s, ops in counts.items() if len(ops) >= 2}
    if not together:
        return []
    senders = {e["actor"] for m in members for e in by_net[m]}
    operations = {e["operation"] for m in members for e in by_net[m]}
    seen = {e["event_id"] for m in members for e in by_net[m]}
    first = min(profile[m]["first"] for m in members) - slack
    last = max(profile[m]["last"] for m in members) + slack
    subjects = sorted({s for s, root in person.items() if root in together} | together)
    r = requests(ctx)
    found = rows(r.filter(r.subject.isin(subjects), r.ts >= first, r.ts <= last,
                          r.operation.isin(sorted(o for o in operations if o)))
                 .select("event_id", "ts", "actor", "subject", "operation", "src", "src_network", "src_country"))
    out = []
    for e in found:
        if e["event_id"] in seen or e["actor"] not in senders:
            continue
        out.append({**e, "person": person.get(e["subject"], e["subject"]), "category": "campaign",
                    "reason": "the campaign's technique on its people from a member network"})
    return out


def _join_roles(groups: list[list[str]], block_of: dict[str, str], profile: dict[str, dict[str, Any]],
                slack: timedelta, min_operator_overlap: float, min_networks: int) -> list[list[str]]:
    """Join groups of linked GTs that are the same operators in two roles: a campaign's networks look numbers
    up from one GT each and locate from another, and when the look-ups were refused nothing ties the numbers
    to the IMSIs located, so the look-up GTs and the location GTs form two groups. Two groups are one campaign
    when they share at least ``min_networks`` operators and the Jaccard index of their operator sets is at
    least ``min_operator_overlap`` (0.5: most of the operators are the same; two campaigns that rent one or
    two common operators among several each stay apart), in overlapping windows (widened by the slack)."""
    ops = [{block_of[m] for m in g} for g in groups]
    first = [min(profile[m]["first"] for m in g) - slack for g in groups]
    last = [max(profile[m]["last"] for m in g) + slack for g in groups]
    parent = list(range(len(groups)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(groups)):
        for j in range(i + 1, len(groups)):
            shared = ops[i] & ops[j]
            if len(shared) >= min_networks and len(shared) / len(ops[i] | ops[j]) >= min_operator_overlap \
                    and first[i] <= last[j] and first[j] <= last[i]:
                parent[root(i)] = root(j)
    joined: dict[int, list[str]] = defaultdict(list)
    for i, g in enumerate(groups):
        joined[root(i)].extend(g)
    return list(joined.values())


def _finding(members: list[str], by_net: dict[str, list[dict[str, Any]]], profile: dict[str, dict[str, Any]],
             links: list[tuple[str, str, float, float]], block_of: dict[str, str],
             extra: list[dict[str, Any]]) -> Finding:
    operators_of: dict[str, set[str]] = defaultdict(set)
    for m in members:
        for s in profile[m]["subjects"]:
            operators_of[s].add(block_of[m])
    counts = {s: len(ops) for s, ops in operators_of.items()}
    # the campaign is what its members did to the people two or more of them targeted; a member's other
    # flagged requests (about people no other member touched) are its own findings, not coordination
    together = {s for s, c in counts.items() if c >= 2}
    evs = sorted([*(e for m in members for e in by_net[m] if e["person"] in together),
                  *(e for e in extra if e["person"] in together)], key=lambda e: (e["ts"], e["event_id"]))
    actors = sorted({e["actor"] for e in evs})
    subjects = {e["subject"] for e in evs}
    shared = len(together)
    sequences = sorted(set().union(*(profile[m]["sequences"] for m in members)),
                       key=lambda s: (-sum(s in profile[m]["sequences"] for m in members), s))
    first, last = evs[0]["ts"], evs[-1]["ts"]
    heads: dict[str, dict[str, Any]] = {}  # one first event per operator, whichever of its GTs sent it
    for m in sorted(members, key=lambda m: by_net[m][0]["ts"]):
        heads.setdefault(block_of[m], by_net[m][0])
    who = "; ".join(describe(heads[k]["src_network"], heads[k]["actor"], heads[k]["src_country"])
                    for k in sorted(heads))
    overlap = sum(x[2] for x in links) / len(links) if links else 0.0
    operators = len({block_of[m] for m in members})
    return Finding(
        detector=ID, revision=REVISION, actor=actors[0], actors=actors, subjects=sorted(subjects),
        window_start=first, window_end=last, score=round(min(1.0, 0.5 + overlap / 2 + 0.05 * operators), 3),
        severity="critical",
        summary=(f"{operators} networks acted together {span_text(first, last)}: {who}; "
                 f"{plural(len(evs), 'flagged request')} on {len(subjects):,} subscriber identities (IMSI or MSISDN), "
                 f"{shared} targeted by two or more of them, most often as {sequences[0]}."),
        event_ids=[e["event_id"] for e in evs],
        details={"category": "campaign", "networks": sorted(members), "shared_subjects": shared,
                 "sequences": sequences[:5], "mean_subject_overlap": round(overlap, 3),
                 "countries": sorted({h["src_country"] or "?" for h in heads.values()})},
    )
