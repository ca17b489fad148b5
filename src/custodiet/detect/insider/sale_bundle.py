"""The data-for-sale pattern: bundles of location, call records, IMEI and travel on unexplained people.

What it catches: sellers filling orders. Data brokers sell a "full package" per target (where the phone
is, whom it calls, which handset, whether the person travelled), so a seller pulls several of those data
kinds in one sitting on people who are on none of the seller's unit's open cases. The package spans
identifiers (location by phone number, IMEI history by IMEI, travel by national ID or passport), which are
different pseudonyms, so a bundle is recognised per *sitting* rather than per identifier. A sitting is a
burst of the account's unexplained sale-kind lookups with no pause longer than ``gap_minutes``, cut at each
clock hour (so a night-long harvest counts as several sittings, not one). A bundle is a sitting with
``min_kinds`` sale kinds pulled on identifiers no other account ever looked up, most of its identifiers
being such: people sold are strangers to the service, while the contacts and associates that casework
pulls the same data on are usually shared with colleagues.

Why bursts and not clock hours: an order is filled in one go, a few minutes for the whole package; a busy
analyst's hour of casework also touches a few people no case lists (a walk-in, a contact), one data kind or
two each, interleaved with case lookups, and over an hour those scatter across all four kinds. Counting
such hours as bundles gave every account of an intelligence unit a few "bundles" and buried a quiet seller
among them (the unit's median rose, the seller's ratio to it fell).

Known false positives: a unit working an unloaded case (every subject looks unexplained and gets the full
work-up); surveillance teams whose targets are tracked in another system. Known misses: a package spread
over longer pauses than ``gap_minutes``, or cut by a clock hour with too few kinds on each side; a package
on a person colleagues also looked up (e.g. another unit's suspect) does not count.

The sale kinds are location, cdr, imei and travel (``base.SALE_KINDS``).

Tunables (``ctx.params["insider.sale_bundle"]``): ``min_kinds`` (4: the full package) sale kinds in one
sitting, ``gap_minutes`` (10) the longest pause within a sitting, ``min_sessions`` (3) such sittings,
``min_ratio`` (3.0) times the peers' median count (plus one).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from custodiet.detect.context import DetectionContext
from custodiet.detect.findings import Finding
from custodiet.detect.insider.base import (
    SALE_KINDS,
    actors,
    epoch_us,
    evidence,
    first_subjects,
    fmt_int,
    named,
    popularity,
    rows,
    sale_kinds,
    severity_for,
    squash,
    unexplained_sales,
)
from custodiet.detect.insider.peers import peer_median
from custodiet.detect.registry import detector

ID = "insider.sale_bundle"


def sittings(sale: ir.Table, gap_us: int) -> ir.Table:
    """``sale`` (aid, hour, us, skey, ...) with ``burst``: the number of the sitting within the account's hour.

    A new sitting starts at each clock hour and after a pause longer than ``gap_us`` microseconds between
    the account's lookups (a running sum of the pauses numbers them).
    """
    keys, order = ["aid", "hour"], ["us", "skey"]
    pause = (sale.us - sale.us.lag().over(group_by=keys, order_by=order)) > gap_us
    sale = sale.mutate(pause=pause.fill_null(True).cast("int32"))
    return sale.mutate(burst=sale.pause.cumsum(group_by=keys, order_by=order))


@detector(ID, revision=4, severity="high", channel="portal")
def sale_bundles(ctx: DetectionContext) -> list[Finding]:
    """Sittings in which an account pulled ``min_kinds`` sale kinds on strangers no open case explains."""
    p = ctx.params.get(ID, {})
    min_kinds, min_sessions = int(p.get("min_kinds", 4)), int(p.get("min_sessions", 3))
    min_ratio = float(p.get("min_ratio", 3.0))
    gap_us = int(float(p.get("gap_minutes", 10.0)) * 60_000_000)
    sale = unexplained_sales(ctx)
    sale = sale.mutate(hour=sale.day.cast("int64") * 24 + sale.slot % 24)  # hours since 1970 (UTC)
    # Only hours in which the account pulled ``min_kinds`` kinds can hold a bundle (a sitting never spans two
    # hours): the popularity of the identifiers and the window functions that number sittings are then
    # needed for a small share of the lookups.
    hours = sale_kinds(sale, ["aid", "hour"])
    sale = sale.join(hours.filter(hours.kinds >= min_kinds).select("aid", "hour"), ["aid", "hour"])
    sale = sale.join(popularity(ctx).select("skey", "accounts"), "skey")
    sale = sale.mutate(us=epoch_us(sale.ts))
    pulled, sale = sale, sittings(sale, gap_us)
    sessions = sale_kinds(sale, ["aid", "hour", "burst"], only=sale.accounts == 1, ids=sale.skey.nunique(),
                      solo=sale.skey.nunique(where=sale.accounts == 1),
                      first=sale.ts.min(), last=sale.ts.max())
    bundles = sessions.filter((sessions.kinds >= min_kinds) & (sessions.solo * 2 >= sessions.ids))
    # Fetch the bundle sessions once (small: sittings, not accesses): the statistics below and the listing
    # of subjects both use them, and left as an expression each use would redo the pass over the accesses
    # and the join with the popularity table.
    bundles = ibis.memtable(bundles.select("aid", "burst", "hour", "ids", "first", "last").to_pyarrow())
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
    # Sittings are numbered per account and hour, so numbering only the flagged accounts' gives the same ids.
    pulled = sittings(pulled.join(flagged, "aid"), gap_us)
    mine = pulled.join(bundles.select("aid", "burst", "hour").join(flagged, "aid"), ["aid", "burst", "hour"])
    listed = first_subjects(mine.select("aid", "skey", first=mine.ts))
    out: list[Finding] = []
    for r in found:
        skeys = listed.get(r["aid"], [])
        ratio = r["sessions"] / (r["peer_med"] + 1)
        score = squash(ratio * (r["sessions"] / min_sessions) ** 0.5, 2.0)
        out.append(ev.want(Finding(
            detector=ID, revision=4, actor=r["actor"], subjects=[], window_start=r["start"],
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
