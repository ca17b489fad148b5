"""Per-subscriber state from location registrations, shared by the category 2 checks (MAP and Diameter).

- *serving network* at time t: the sender of the subscriber's latest registration (updateLocation,
  updateGprsLocation, Diameter Update-Location) at or before t, counting only senders allowed to register
  (the home network and roaming partners);
- *home network* of an inbound roamer: the network the home network registered the subscriber with
  (a registration sent by a home node to a foreign HLR/HSS). A Diameter registration whose destination
  realm is not recorded marks the subscriber as a roamer of "some partner" (``?``).

An operation that only a subscriber's home or serving network may send is explained by
:func:`explained` when its sender is one of them.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from custodiet.detect.signalling.base import UGL, UL, ULR


def registrations(r: ir.Table) -> ir.Table:
    return r.filter(((r.proto == "map") & r.code.isin([UL, UGL])) | ((r.proto == "diameter") & (r.code == ULR)))


def explained(r: ir.Table, candidates: ir.Table) -> ir.Table:
    """Event ids among ``candidates`` (rows of ``requests``) sent by the subject's home or serving network."""
    reg = registrations(r)
    serving = reg.filter(reg.src_home | reg.src_roaming).select(
        s_subject=reg.subject, s_ts=reg.ts, serving=reg.src)
    c = candidates.select("event_id", "ts", "subject", "src", "src_roaming")
    by_serving = c.asof_join(serving, on=c.ts >= serving.s_ts, predicates=c.subject == serving.s_subject)
    by_serving = by_serving.filter(by_serving.serving == by_serving.src).select("event_id")
    roam = reg.filter(reg.src_home & ~reg.dst_home).select(
        h_subject=reg.subject, home_key=reg.dst_key.fill_null("?")).distinct()
    j = c.join(roam, c.subject == roam.h_subject)
    by_home = j.filter((j.home_key == j.src) | ((j.home_key == "?") & j.src_roaming)).select("event_id")
    return ibis.union(by_serving, by_home, distinct=True)
