"""New client addresses or devices: an account suddenly used from somewhere it never worked from.

What it catches: stolen or shared credentials (a hijacked account used from a home connection or a VPN)
and officers running lookups from unofficial devices. A client (``attrs.client_ip``, else
``attrs.device``) is *new* for an account when the account first uses it after its first
``baseline_days`` of activity, and no other account of the unit used it before. Lookups from new clients
that are mostly unexplained score higher, but a new address alone is low severity. When most of them also
fall at hours the rest of the unit never works (:func:`.off_hours.rare_slots`), the pattern is an account
takeover and the finding is high. So is a new client on the internet (an address outside the private
ranges) for an account that otherwise works only from internal addresses, when ``min_outside_unexplained``
of its lookups are unexplained (revision 3): a citizen-data portal is reached from the agency's network, and
credentials used from a home connection or a hosting provider are the hijacker's, whatever the hour.

Known false positives: new workstations, office moves, DHCP pools (group addresses by subnet at ingest if
the site uses dynamic addressing), VPN concentrators that change.

Tunables (``ctx.params["insider.new_client"]``): ``baseline_days`` (14), ``min_lookups`` (10) from the
new client, ``min_unexplained`` (0.5) share of unexplained lookups from it, ``min_outside_unexplained`` (0.8) for an
internet address to make a takeover (an officer's approved remote access still serves his cases).
"""

from __future__ import annotations

import ipaddress
import json
from datetime import datetime, timedelta

import ibis

from custodiet.detect.context import DetectionContext
from custodiet.detect.findings import Finding
from custodiet.detect.insider.base import (
    accesses,
    evidence,
    fmt_int,
    insider_events,
    named,
    rows,
    severity_for,
    squash,
)
from custodiet.detect.insider.off_hours import cells, rare_slots
from custodiet.detect.registry import detector

ID = "insider.new_client"


REVISION = 3


@detector(ID, revision=REVISION, severity="high", channel="portal")
def new_client(ctx: DetectionContext) -> list[Finding]:
    """Clients first used after the account's baseline, unknown to the unit, with unexplained lookups."""
    p = ctx.params.get(ID, {})
    baseline = timedelta(days=int(p.get("baseline_days", 14)))
    min_lookups, min_unexpl = int(p.get("min_lookups", 10)), float(p.get("min_unexplained", 0.5))
    min_outside_unexpl = float(p.get("min_outside_unexplained", 0.8))
    # Per (account, client) from the shared per-(account, day, slot, client) cells: a few million rows
    # instead of a pass over every access.
    c = cells(ctx).filter(lambda t: t.client.notnull())
    rare = rare_slots(ctx).select("aid", "slot", rare=ibis.literal(True))
    c = c.left_join(rare, ["aid", "slot"]).mutate(rare=ibis._.rare.fill_null(False))
    use = c.group_by(["aid", "client"]).aggregate(
        n=c.n.sum(), first=c.first.min(), last=c.last.max(), unexpl=c.unexpl.sum(),
        at_rare=c.n.sum(where=c.rare).fill_null(0))
    # The (account, client) rows are few, so they are fetched once and the account's first activity and the
    # unit's first use of each client are derived from them.
    use = ibis.memtable(named(use, ctx).to_pyarrow())
    since = use.group_by("aid").aggregate(active_from=use.first.min())
    unit_first = use.group_by(["org", "client"]).aggregate(unit_first=use.first.min(), users=use.aid.nunique())
    j = use.join(since, "aid").join(unit_first, ["org", "client"])
    new = j.filter((j.first > j.active_from + baseline) & ((j.users == 1) | (j.unit_first >= j.first)))
    new = new.filter((new.n >= min_lookups) & (new.unexpl >= min_unexpl * new.n))
    ev = evidence(ctx)
    found = rows(new.order_by(["actor", "first", "client"]))
    # Every client of the flagged accounts, by its first use (few rows): were they all on the intranet?
    flagged = ibis.memtable([{"aid": r["aid"]} for r in found], schema={"aid": "int32"})
    theirs = rows(use.join(flagged, "aid").select("actor", "client", "first")) if found else []
    texts = _client_texts(ctx, [(r["actor"], r["first"]) for r in theirs])
    inside: dict[str, list[bool]] = {}
    for r in theirs:
        text = texts.get((r["actor"], r["first"]))
        if text is not None:
            inside.setdefault(r["actor"], []).append(_internal(text))
    people = _people(ctx, [(r["aid"], r["client"]) for r in found])
    out: list[Finding] = []
    for r in found:
        unexpl, rare_share = r["unexpl"] / r["n"], r["at_rare"] / r["n"]
        client = texts.get((r["actor"], r["first"]), "?")
        n_people = people[r["aid"], r["client"]]
        # From the internet, for an account that otherwise works only from internal addresses.
        mine = inside.get(r["actor"], [])
        outside = not _internal(client) and client != "?" and mine.count(False) == 1 and len(mine) > 1
        takeover = rare_share >= 0.5 or (outside and unexpl >= min_outside_unexpl)
        score = squash(unexpl * (r["n"] / min_lookups) ** 0.5 * (1 + 2 * max(rare_share, float(outside))), 1.5)
        ceiling = "high" if takeover else "low"  # a new address alone is weak evidence
        out.append(ev.want(Finding(
            detector=ID, revision=REVISION, actor=r["actor"], subjects=[], window_start=r["first"],
            window_end=r["last"], score=score, severity=severity_for(score, ceiling),
            summary=(f"used a client never seen in {r['org']} ({client}) from {r['first']:%Y-%m-%d} for "
                     f"{fmt_int(r['n'])} lookups of {fmt_int(n_people)} people, {unexpl:.0%} unexplained, "
                     f"{rare_share:.0%} at hours the rest of the unit almost never works"
                     + ("; from an internet address, while the account otherwise works only from internal ones"
                        if outside else "")
                     + ("; looks like an account takeover" if takeover else "")),
            event_ids=[],
            details={"client": client, "lookups": r["n"], "unexplained_share": unexpl, "rare_hours_share": rare_share,
                     "people": n_people, "internet_address": outside},
        ), r["first"], r["last"]))
    return out


def _internal(text: str) -> bool:
    """Whether a client address is on an internal network (RFC 1918 / RFC 4193, loopback, link-local); a
    device name or anything that is not an address counts as internal (nothing says otherwise)."""
    try:
        addr = ipaddress.ip_address(text.strip())
    except ValueError:
        return True
    return addr.is_private or addr.is_loopback or addr.is_link_local


def _people(ctx: DetectionContext, used: list[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """Distinct people looked up by each flagged (account, client), counted exactly, in one query."""
    if not used:
        return {}
    a = accesses(ctx)
    want = ibis.memtable([{"aid": aid, "client": client} for aid, client in used])
    want = want.mutate(aid=want.aid.cast(a.aid.type()), client=want.client.cast(a.client.type()))
    j = a.join(want, ["aid", "client"])
    got = rows(j.group_by(["aid", "client"]).aggregate(people=j.skey.nunique()))
    return {(r["aid"], r["client"]): r["people"] for r in got}


def _client_texts(ctx: DetectionContext, firsts: list[tuple[str, datetime]]) -> dict[tuple[str, datetime], str]:
    """The client address as written in each account's first event from it (the shared table keeps only a
    hash), for all flagged accounts in one query."""
    if not firsts:
        return {}
    ev = insider_events(ctx)
    want = ibis.memtable([{"w_actor": a, "w_ts": t} for a, t in firsts])
    want = want.mutate(w_ts=want.w_ts.cast(ev.ts.type()))
    j = ev.join(want, (ev.actor == want.w_actor) & (ev.ts == want.w_ts)).select("actor", "ts", "attrs")
    out: dict[tuple[str, datetime], str] = {}
    for r in rows(j):
        attrs = json.loads(r["attrs"]) if r["attrs"] else {}
        text = attrs.get("client_ip") or attrs.get("device")
        if text:
            out.setdefault((r["actor"], r["ts"]), str(text))
    return out
