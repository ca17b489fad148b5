"""Canaries: any access at all to a canary subject.

What it catches: whoever touches a planted fake person (:mod:`custodiet.canary`). Canaries belong to
nobody, so no legitimate case can need them; the one placed in an account's or unit's view and then
looked up shows that the account browsed (or a script enumerated) beyond its work. Every access is a
critical finding that names the account, on any channel.

Known false positives: none by construction, except an operator testing the canary itself (issue a
separate canary for tests).

Tunables: none.
"""

from __future__ import annotations

from custodiet.detect.context import DetectionContext
from custodiet.detect.findings import Finding
from custodiet.detect.insider.base import evidence, rows, subject_key
from custodiet.detect.registry import detector

ID = "insider.canary"


@detector(ID, revision=1, severity="critical", channel="portal")
def canary_touched(ctx: DetectionContext) -> list[Finding]:
    """One critical finding per (account, canary) touched."""
    ev = ctx.ibis.table("events")
    can = ctx.ibis.table("canaries")
    can = can.select(c_subject=can.subject, planted_for=can.actor.fill_null(can.org).fill_null("?"),
                     issued_at=can.issued_at)
    j = ev.join(can, ev.subject == can.c_subject)
    per = j.group_by("actor", "planted_for", skey=subject_key(j.subject)).aggregate(
        lookups=j.count(), first=j.ts.min(), last=j.ts.max(), channels=j.channel.nunique(),
        kinds=j.data_kind.nunique())
    ev = evidence(ctx)
    out: list[Finding] = []
    for r in rows(per.order_by(["actor", "first", "skey"])):
        out.append(ev.want(Finding(
            detector=ID, revision=1, actor=r["actor"], subjects=[], window_start=r["first"],
            window_end=r["last"], score=1.0, severity="critical",
            summary=(f"touched a canary subject planted for {r['planted_for']} {r['lookups']} time(s) from "
                     f"{r['first']:%Y-%m-%d %H:%M}Z; canaries belong to no real person"),
            event_ids=[],
            details={"lookups": r["lookups"], "planted_for": r["planted_for"]},
        ), r["first"], r["last"], [r["skey"]], channels=None))
    return out
