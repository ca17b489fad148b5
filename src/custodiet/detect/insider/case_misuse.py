"""Case misuse: lookups that cite a case id which does not list the person looked up.

What it catches: an officer who borrows a real case number (or invents one) to give unrelated lookups
an air of legitimacy. Stronger than an unexplained lookup: the officer asserted an authority that the
case file contradicts. A cited id that exists is "misused"; one that exists nowhere is "unknown".

Known false positives: a case file missing a subject that was added later (context tables out of date);
typing errors in the case id (these are usually few and spread out — hence ``min_people`` and the
comparison with peers).

Tunables (``ctx.params["insider.case_misuse"]``): ``min_people`` (4) distinct people, ``min_ratio`` (3.0)
times the peers' median count (plus one).
"""

from __future__ import annotations

from custodiet.detect.context import DetectionContext
from custodiet.detect.findings import Finding
from custodiet.detect.insider.base import accesses, actors, evidence, fmt_int, named, rows, severity_for, squash
from custodiet.detect.registry import detector

ID = "insider.case_misuse"


@detector(ID, revision=1, severity="high", channel="portal")
def case_misuse(ctx: DetectionContext) -> list[Finding]:
    """Distinct people looked up under a cited case that does not list them, against peers."""
    p = ctx.params.get(ID, {})
    min_people, min_ratio = int(p.get("min_people", 4)), float(p.get("min_ratio", 3.0))
    a = accesses(ctx)
    bad = a.filter(a.cited & ~a.cited_covers)
    per = bad.group_by("aid").aggregate(
        people=bad.skey.nunique(), lookups=bad.count(), cases=bad.case.nunique(),
        unknown=bad.count(where=~bad.cited_known), start=bad.ts.min(), end=bad.ts.max())
    dim = actors(ctx)
    full = dim.left_join(per, "aid").select("org", "role", n=per.people.fill_null(0))
    peer = full.group_by(["org", "role"]).aggregate(peer_med=full.n.median())
    hits = named(per, ctx).join(peer, ["org", "role"])
    hits = hits.filter((hits.people >= min_people) & (hits.people >= min_ratio * (hits.peer_med + 1)))
    ev = evidence(ctx)
    out: list[Finding] = []
    for r in rows(hits.order_by("actor")):
        q = bad.filter(bad.aid == r["aid"]).group_by("skey").aggregate(first=bad.ts.min())
        skeys = [x["skey"] for x in rows(q.order_by("first").limit(100))]
        score = squash(r["people"] / (r["peer_med"] + 1), 8.0)
        kind = (f"{fmt_int(r['unknown'])} of them citing ids that exist on no case"
                if r["unknown"] else "all citing real case ids")
        out.append(ev.want(Finding(
            detector=ID, revision=1, actor=r["actor"], subjects=[], window_start=r["start"],
            window_end=r["end"], score=score, severity=severity_for(score, "high"),
            summary=(f"cited {fmt_int(r['cases'])} case id(s) for {fmt_int(r['people'])} people those cases do "
                     f"not list ({fmt_int(r['lookups'])} lookups, {kind}); peers in {r['org']}/{r['role']}: "
                     f"median {r['peer_med']:.0f}"),
            event_ids=[],
            details={"people": r["people"], "lookups": r["lookups"], "cases": r["cases"],
                     "unknown_case_lookups": r["unknown"], "peer_median": r["peer_med"]},
        ), r["start"], r["end"], skeys))
    return out
