"""Protected subjects: ministers, journalists, judges and the like looked up without a covering case.

What it catches: VIP snooping and the curious officer. A lookup of a protected subject (context table
``protected``) counts when it is not explained by an open case of the account's unit and its cited case
(if any) does not list the subject. Each subject weighs 1 / (accounts that looked it up unexplained), so
a public figure that half the service looked up on the day of a scandal weighs less than a judge that only
one officer looked at.

Known false positives: protection details and liaison officers whose duties are not in the case files;
the protected list including people who are also ordinary suspects of an unloaded case.

Tunables (``ctx.params["insider.protected"]``): ``min_weight`` (0.34) summed subject weight to report.
"""

from __future__ import annotations

from custodiet.detect.context import DetectionContext
from custodiet.detect.findings import Finding
from custodiet.detect.insider.base import accesses, evidence, named, rows, severity_for, squash, subject_key
from custodiet.detect.registry import detector

ID = "insider.protected"


@detector(ID, revision=1, severity="high", channel="portal")
def protected_subjects(ctx: DetectionContext) -> list[Finding]:
    """Unexplained lookups of protected subjects, per account, weighted by how many accounts did it."""
    min_weight = float(ctx.params.get(ID, {}).get("min_weight", 0.34))
    a = accesses(ctx)
    prot = ctx.ibis.table("protected")
    prot = prot.group_by(skey=subject_key(prot.subject)).aggregate(category=prot.category.min())
    hits = a.filter(a.unexpl).join(prot, "skey")
    pair = hits.group_by(["aid", "skey", "category"]).aggregate(
        lookups=hits.count(), first=hits.ts.min(), last=hits.ts.max())
    spread = pair.group_by("skey").aggregate(accounts=pair.aid.nunique())
    pair = named(pair.join(spread, "skey"), ctx)
    found: dict[str, list[dict]] = {}
    for r in rows(pair.order_by(["actor", "first", "skey"])):
        found.setdefault(r["actor"], []).append(r)
    ev = evidence(ctx)
    out: list[Finding] = []
    for actor, items in found.items():
        weight = sum(1.0 / r["accounts"] for r in items)
        if weight < min_weight:
            continue
        cats: dict[str, int] = {}
        for r in items:
            cats[r["category"]] = cats.get(r["category"], 0) + 1
        score = squash(weight, 1.0)
        skeys = [r["skey"] for r in items]
        start, end = min(r["first"] for r in items), max(r["last"] for r in items)
        lookups = sum(r["lookups"] for r in items)
        shared = sum(1 for r in items if r["accounts"] > 1)
        cat_text = ", ".join(f"{n} {c}" for c, n in sorted(cats.items()))
        out.append(ev.want(Finding(
            detector=ID, revision=1, actor=actor, subjects=[], window_start=start, window_end=end,
            score=score, severity=severity_for(score, "high"),
            summary=(f"looked up {len(items)} protected people ({cat_text}) {lookups} times without a "
                     f"covering case of {items[0]['org']}; {len(items) - shared} of them looked up by no "
                     f"other account"),
            event_ids=[],
            details={"protected_people": len(items), "lookups": lookups, "categories": cats,
                     "weight": weight},
        ), start, end, skeys))
    return out
