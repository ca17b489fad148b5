"""The data-for-sale pattern: bundles of location, call records, IMEI and travel on unexplained people.

What it catches: sellers filling orders. Data brokers sell a "full package" per target (where the phone
is, whom it calls, which handset, whether the person travelled), so a seller pulls several of those data
kinds in one sitting on people who are on none of the seller's unit's open cases. The package spans
identifiers (location by phone number, IMEI history by IMEI, travel by national ID or passport), which are
different pseudonyms, so a bundle is recognised per *session* (account and clock hour) rather than per
identifier: a session with ``min_kinds`` of the sale kinds among its unexplained lookups, most of whose
identifiers no other account ever looked up (people sold are strangers to the service; the contacts and
associates that casework pulls the same data on are usually shared with colleagues).

Known false positives: a unit working an unloaded case (every subject looks unexplained and gets the full
work-up); surveillance teams whose targets are tracked in another system; a session split by the hour
boundary is counted once on each side (or missed when each half has too few kinds).

The sale kinds are location, cdr, imei and travel (``base.SALE_KINDS``).

Tunables (``ctx.params["insider.sale_bundle"]``): ``min_kinds`` (4: the full package) sale kinds in one session,
``min_sessions`` (3) such sessions, ``min_ratio`` (3.0) times the peers' median count (plus one).
"""

from __future__ import annotations

import ibis

from custodiet.detect.context import DetectionContext
from custodiet.detect.findings import Finding
from custodiet.detect.insider.base import (
    SALE_KINDS,
    accesses,
    actors,
    evidence,
    first_subjects,
    fmt_int,
    kind_code,
    named,
    popularity,
    rows,
    severity_for,
    squash,
)
from custodiet.detect.insider.peers import peer_median
from custodiet.detect.registry import detector

ID = "insider.sale_bundle"


@detector(ID, revision=3, severity="high", channel="portal")
def sale_bundles(ctx: DetectionContext) -> list[Finding]:
    """Sessions in which an account pulled ``min_kinds`` sale kinds on people no open case explains."""
    p = ctx.params.get(ID, {})
    min_kinds, min_sessions = int(p.get("min_kinds", 4)), int(p.get("min_sessions", 3))
    min_ratio = float(p.get("min_ratio", 3.0))
    a = accesses(ctx)
    sale = a.filter(a.unexpl & a.kind.isin([kind_code(k) for k in SALE_KINDS]))
    accounts = popularity(ctx).select("skey", "accounts")
    sale = sale.mutate(hour=sale.day.cast("int64") * 24 + sale.slot % 24)  # hours since 1970 (UTC)
    pulled, sale = sale, sale.join(accounts, "skey")
    has = {k: (sale.kind == kind_code(k)).any().cast("int8") for k in SALE_KINDS}
    sessions = sale.group_by(["aid", "hour"]).aggregate(
        ids=sale.skey.approx_nunique(), solo=sale.skey.approx_nunique(where=sale.accounts == 1),
        first=sale.ts.min(), last=sale.ts.max(), **{f"has_{k}": v for k, v in has.items()})
    sessions = sessions.mutate(kinds=sum((sessions[f"has_{k}"] for k in SALE_KINDS[1:]),
                                         sessions[f"has_{SALE_KINDS[0]}"]))
    bundles = sessions.filter((sessions.kinds >= min_kinds) & (sessions.solo * 2 >= sessions.ids))
    # Fetch the bundle sessions once (small: sittings, not accesses): the statistics below and the listing
    # of subjects both use them, and left as an expression each use would redo the pass over the accesses
    # and the join with the popularity table.
    bundles = ibis.memtable(bundles.select("aid", "hour", "ids", "first", "last").to_pyarrow())
    per = bundles.group_by("aid").aggregate(sessions=bundles.count(), ids=bundles.ids.sum().cast("float64"),
                                            start=bundles.first.min(), end=bundles.last.max())
    peer = peer_median(per, actors(ctx), "sessions")
    hits = named(per, ctx).join(peer, "aid")
    hits = hits.filter((hits.sessions >= min_sessions) & (hits.sessions >= min_ratio * (hits.peer_med + 1)))
    ev = evidence(ctx)
    found = rows(hits.order_by("actor"))
    if not found:
        return []
    flagged = ibis.memtable([{"aid": r["aid"]} for r in found])
    mine = pulled.join(bundles.select("aid", "hour").join(flagged, "aid"), ["aid", "hour"])
    listed = first_subjects(mine.select("aid", "skey", first=mine.ts))
    out: list[Finding] = []
    for r in found:
        skeys = listed.get(r["aid"], [])
        ratio = r["sessions"] / (r["peer_med"] + 1)
        score = squash(ratio * (r["sessions"] / min_sessions) ** 0.5, 2.0)
        out.append(ev.want(Finding(
            detector=ID, revision=3, actor=r["actor"], subjects=[], window_start=r["start"],
            window_end=r["end"], score=score, severity=severity_for(score, "high"),
            summary=(f"pulled at least {min_kinds} of {'/'.join(SALE_KINDS)} in {fmt_int(r['sessions'])} "
                     f"sittings ({fmt_int(r['ids'])} identifiers, mostly looked up by no other account) on people "
                     f"on none "
                     f"of {r['org']}'s open cases, "
                     f"{ratio:.1f}× the peers' median ({r['peer_med']:.0f})"),
            event_ids=[],
            details={"sessions": r["sessions"], "identifiers": r["ids"], "peer_median": r["peer_med"]},
        ), r["start"], r["end"], skeys))
    return out
