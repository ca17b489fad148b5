"""Per-subscriber state from what the networks *did*, not what they claimed, shared by the checks of
operations that only a subscriber's home network or its serving network may send (MAP and Diameter).

- *serving network* at time t, per domain (circuit-switched: updateLocation; packet-switched:
  updateGprsLocation, Diameter Update-Location): the sender of the subscriber's latest **successful** registration
  (updateLocation, updateGprsLocation, Diameter Update-Location) at or before t, counting only senders
  allowed to register (the home network and roaming partners). A registration that was rejected (MAP
  ReturnError, TCAP abort, refused dialogue; Diameter Result-Code / Experimental-Result outside 2xxx) does
  not make its sender the serving network. A subscriber of ours with no registration seen is served by the
  home network.
- *home network* of an inbound roamer: the network the home network registered the subscriber with (a
  registration sent by a home node to a foreign HLR/HSS: the IMSI routes it to its home, whatever the
  answer). When that registration names no destination (a Diameter request without Destination-Realm or
  Destination-Host), the IMSI's MCC-MNC decides if the decoder gave it (``imsi_plmn``); otherwise the home
  is the first roaming partner that acted as home for that subscriber afterwards (sent a home-only
  operation) - one network, not every partner.

``home_explained`` and ``serving_explained`` return the event ids among candidate requests that the state
explains.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from custodiet.detect.signalling.base import CL, CLR, UGL, UL, ULR

UNKNOWN_HOME = "?"
# A cancelLocation this soon after the same network's registration is for its previous VLR / MME (a move
# inside that network): the HLR cancels the old node right after the new one registers.
CANCEL_GRACE_SECONDS = 300


def registrations(r: ir.Table) -> ir.Table:
    return r.filter(((r.proto == "map") & r.code.isin([UL, UGL])) | ((r.proto == "diameter") & (r.code == ULR)))


def serving_registrations(r: ir.Table, implausible: ir.Table | None = None) -> ir.Table:
    """Successful registrations by the home network or a roaming partner, less the ``implausible`` ones
    (event ids of registrations judged impossible journeys: a forged registration serves nobody)."""
    reg = registrations(r)
    reg = reg.filter((reg.src_home | reg.src_roaming) & reg.ok & (reg.dst_home | reg.src_home))
    return reg.anti_join(implausible, "event_id") if implausible is not None else reg


def serving_explained(r: ir.Table, candidates: ir.Table, implausible: ir.Table | None = None) -> ir.Table:
    """Event ids among ``candidates`` sent by a network serving the subject at that time (by outcome), in
    either domain: a subscriber is registered at once in a VLR (circuit-switched: updateLocation) and in an
    SGSN or MME (packet-switched: updateGprsLocation, Diameter Update-Location), often of different
    networks, and a registration in one domain does not end the other (3GPP TS 23.012, TS 23.401). A
    cancelLocation / Cancel-Location from our HLR / HSS to that network after its registration ends it (in
    both domains: the subscriber has left it), unless it came within ``CANCEL_GRACE_SECONDS`` of that
    registration (the old node of a move inside the network)."""
    reg = serving_registrations(r, implausible)
    cs = (reg.proto == "map") & (reg.code == UL)
    cancel = r.filter(r.src_home & ~r.dst_home & r.ok & (((r.proto == "map") & (r.code == CL))
                                                         | ((r.proto == "diameter") & (r.code == CLR))))
    cancel = cancel.select(k_subject=cancel.subject, k_ts=cancel.ts, k_dst=cancel.dst_key)
    grace = ibis.interval(seconds=CANCEL_GRACE_SECONDS)
    out = []
    for domain in (reg.filter(cs), reg.filter(~cs)):
        serving = domain.select(s_subject=domain.subject, s_ts=domain.ts, serving=domain.src)
        c = candidates.select("event_id", "ts", "subject", "src")
        by_serving = c.asof_join(serving, on=c.ts >= serving.s_ts, predicates=c.subject == serving.s_subject)
        hit = by_serving.filter(by_serving.serving == by_serving.src)
        hit = hit.select("event_id", "ts", "subject", "src", "s_ts")
        # our HLR / HSS cancelled that network since (in either domain): it serves no longer
        ended = hit.join(cancel, (hit.subject == cancel.k_subject) & (hit.src == cancel.k_dst)
                         & (cancel.k_ts > hit.s_ts + grace) & (cancel.k_ts <= hit.ts)).select("event_id")
        out.append(hit.select("event_id").anti_join(ended, "event_id"))
    return ibis.union(*out, distinct=True)


def _homes(r: ir.Table) -> ir.Table:
    """(subject, home network key) of inbound roamers; ``?`` where the registration named no destination."""
    reg = registrations(r)
    out = reg.filter(reg.src_home & ~reg.dst_home)
    return out.select(h_subject=out.subject, home_key=out.dst_key.fill_null(UNKNOWN_HOME),
                      h_ts=out.ts, h_plmn=out.imsi_plmn)


def home_explained(r: ir.Table, candidates: ir.Table) -> ir.Table:
    """Event ids among ``candidates`` sent by the subject's home network (inbound roamers only)."""
    homes = _homes(r)
    c = candidates.select("event_id", "ts", "subject", "src", "src_roaming", "src_plmns")
    j = c.join(homes, c.subject == homes.h_subject)
    known = j.filter(j.home_key == j.src).select("event_id")
    # no destination named: the IMSI's PLMN if known, else the first roaming partner acting as home
    unknown = j.filter((j.home_key == UNKNOWN_HOME) & j.src_roaming & (j.ts >= j.h_ts))
    by_plmn = unknown.filter(unknown.h_plmn.notnull() & unknown.src_plmns.fill_null("").contains(
        unknown.h_plmn.re_replace(r"^(\d{3})-?0*(\d+)$", r"\1-\2"))).select("event_id")
    guess = unknown.filter(unknown.h_plmn.isnull())
    w = ibis.window(group_by=guess.subject, order_by=[guess.ts, guess.event_id])
    guess = guess.mutate(first_src=guess.src.first().over(w))
    by_first = guess.filter(guess.src == guess.first_src).select("event_id")
    return ibis.union(known, by_plmn, by_first, distinct=True)

