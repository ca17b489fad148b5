"""Legitimate signalling traffic: registrations at home, travellers roaming through partner networks (MAP
or Diameter), SMS interworking, inbound roamers served by the home network, and home-internal queries.

Each message is a ``Msg`` (one request; its answer is written by the pcap builder). Travel obeys a speed
limit well below the location-plausibility detector's threshold (``TRAVEL_KMH`` plus a fixed overhead), so
plausible roaming is never an impossible journey.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from custodiet.simulate.signalling.world import SimNetwork, World, distance_km, home_subscriber, roamer_identity

TRAVEL_KMH = 700.0
TRAVEL_OVERHEAD_H = 2.0
HOUR = 3600.0
DAY = 86400.0

# MAP opcodes and Diameter command codes used here.
UL, CL, PRN, ISD, DSD, SRI, UGL, MTFSM, SRISM, SAI, SENDIMSI, PURGE, PSI, ATI, SRILCS = (
    2, 3, 4, 7, 8, 22, 23, 44, 45, 56, 58, 67, 70, 71, 85)
ULR, CLR, AIR, IDR, DSR, PUR, NOR, UDR, RIR = 316, 317, 318, 319, 320, 321, 323, 306, 8388622
# Which node answers each MAP operation (SSN 6 HLR, 7 VLR, 8 MSC).
MAP_TARGET = {UL: ("hlr", 6), CL: ("vlr", 7), PRN: ("vlr", 7), ISD: ("vlr", 7), DSD: ("vlr", 7),
              SRI: ("hlr", 6), UGL: ("hlr", 6), MTFSM: ("gmsc", 8), SRISM: ("hlr", 6), SAI: ("hlr", 6),
              SENDIMSI: ("hlr", 6), PURGE: ("hlr", 6), PSI: ("vlr", 7), ATI: ("hlr", 6), SRILCS: ("hlr", 6)}
SOURCE_NODE = {UL: ("vlr", 7), CL: ("hlr", 6), PRN: ("hlr", 6), ISD: ("hlr", 6), DSD: ("hlr", 6),
               SRI: ("gmsc", 8), UGL: ("sgsn", 149), MTFSM: ("smsc", 8), SRISM: ("smsc", 8), SAI: ("vlr", 7),
               SENDIMSI: ("vlr", 7), PURGE: ("vlr", 7), PSI: ("hlr", 6), ATI: ("gsmscf", 147),
               SRILCS: ("gsmscf", 147)}


@dataclass
class Msg:
    """One request between two networks. ``proto`` is "map" or "diameter"; ``op`` opcode or command."""

    ts: float
    proto: str
    op: int
    src: SimNetwork
    dst: SimNetwork
    imsi: str = ""
    msisdn: str = ""
    error: int = 0  # MAP error code / Diameter non-2001 result in the answer; 0 = success
    visited_plmn: str = ""
    attack: dict[str, Any] | None = None
    node: str = ""  # source node override (e.g. "hlr" for a PSI pretending to come from an HLR)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Subscriber:
    index: int
    imsi: str
    msisdn: str
    # (start, end, network) of stays away from home; the home network serves all other times
    stays: list[tuple[float, float, SimNetwork]] = field(default_factory=list)
    lte: bool = False
    away: tuple[float, float] | None = None  # (left home, back home); in between: abroad or in transit
    evidence: list[tuple[float, str]] = field(default_factory=list)  # (ts, country) of location events

    def serving(self, ts: float) -> SimNetwork | None:
        for start, end, net in self.stays:
            if start <= ts < end:
                return net
        return None


class Legit:
    """Generates the legitimate traffic of a world; keeps subscribers' itineraries for attack planting."""

    def __init__(self, world: World, rng: random.Random, t0: float, days: int, subscribers: int):
        self.world, self.rng, self.t0, self.span = world, rng, t0, days * DAY
        self.subs = [Subscriber(i, *home_subscriber(i)) for i in range(subscribers)]
        self.msgs: list[Msg] = []

    def _add(self, msg: Msg, evidence_of: Subscriber | None = None) -> None:
        self.msgs.append(msg)
        if evidence_of is not None:
            evidence_of.evidence.append((msg.ts, msg.src.country))

    def generate(self) -> list[Msg]:
        for sub in self.subs:
            self._home_registration(sub)
        for sub in self.rng.sample(self.subs, int(len(self.subs) * 0.35)):
            self._travel(sub)
        for sub in self.subs:
            self._home_presence(sub)
        self._sms()
        self._inbound_roamers()
        self._home_calls()
        return self.msgs

    # -- home subscribers --------------------------------------------------------------------------
    def _home_registration(self, sub: Subscriber) -> None:
        home = self.world.home
        self._add(Msg(self.t0 + self.rng.uniform(0, 2 * HOUR), "map", UL, home, home, imsi=sub.imsi), sub)

    def _home_presence(self, sub: Subscriber) -> None:
        """Authentication requests from the home VLR while the subscriber is at home (~1.5 a day)."""
        home = self.world.home
        t = self.t0 + 2 * HOUR
        while True:
            t += self.rng.expovariate(1.5 / DAY)
            if t >= self.t0 + self.span:
                break
            if sub.away is None or not sub.away[0] <= t < sub.away[1]:
                self._add(Msg(t, "map", SAI, home, home, imsi=sub.imsi), sub)

    def _travel(self, sub: Subscriber) -> None:
        rng, world = self.rng, self.world
        sub.lte = rng.random() < 0.3
        countries = sorted({p.country for p in world.partners if p.roaming})
        here, t = world.home.country, self.t0 + rng.uniform(4 * HOUR, self.span * 0.5)
        left = t
        for _ in range(rng.choice((1, 1, 2, 3))):
            dest = rng.choice([c for c in countries if c != here])
            t += (distance_km(here, dest) / TRAVEL_KMH + TRAVEL_OVERHEAD_H) * HOUR
            stay = rng.uniform(0.8, 3.5) * DAY
            net = rng.choice(world.partners_in(dest))
            end = min(t + stay, self.t0 + self.span)
            if t >= end:
                break
            sub.stays.append((t, end, net))
            self._stay(sub, net, t, end)
            here, t = dest, end
        if not sub.stays:
            return
        t_home = t + (distance_km(here, world.home.country) / TRAVEL_KMH + TRAVEL_OVERHEAD_H) * HOUR
        sub.away = (left, t_home)
        if t_home < self.t0 + self.span:
            home = world.home
            self._add(Msg(t_home, "map", UL, home, home, imsi=sub.imsi), sub)
            self._add(Msg(t_home + 0.4, "map", CL, home, sub.stays[-1][2], imsi=sub.imsi))

    def _stay(self, sub: Subscriber, net: SimNetwork, start: float, end: float) -> None:
        rng, home = self.rng, self.world.home
        if sub.lte:
            self._add(Msg(start, "diameter", AIR, net, home, imsi=sub.imsi, visited_plmn=net.mcc_mnc), sub)
            self._add(Msg(start + 1.5, "diameter", ULR, net, home, imsi=sub.imsi, visited_plmn=net.mcc_mnc), sub)
            self._add(Msg(start + 30, "diameter", NOR, net, home, imsi=sub.imsi))
        else:
            self._add(Msg(start, "map", UL, net, home, imsi=sub.imsi), sub)
            self._add(Msg(start + 0.3, "map", ISD, home, net, imsi=sub.imsi, msisdn=sub.msisdn))
            if rng.random() < 0.6:
                self._add(Msg(start + rng.uniform(20, 600), "map", UGL, net, home, imsi=sub.imsi), sub)
        t = start
        while True:
            t += rng.expovariate(3.0 / DAY)
            if t >= end:
                break
            if sub.lte:
                self._add(Msg(t, "diameter", AIR, net, home, imsi=sub.imsi, visited_plmn=net.mcc_mnc), sub)
            else:
                self._add(Msg(t, "map", SAI, net, home, imsi=sub.imsi), sub)
        if end < self.t0 + self.span and rng.random() < 0.4:
            op = PUR if sub.lte else PURGE
            self._add(Msg(end - rng.uniform(60, 1800), sub.lte and "diameter" or "map", op, net, home,
                          imsi=sub.imsi))

    # -- SMS interworking --------------------------------------------------------------------------
    def _sms(self) -> None:
        """Partner SMSCs ask routing info, then deliver: SRI-SM followed within seconds by MT-ForwardSM."""
        rng, home = self.rng, self.world.home
        senders = [p for p in self.world.partners if p.sms]
        for _ in range(len(self.subs) * 3):
            sub, smsc = rng.choice(self.subs), rng.choice(senders)
            t = self.t0 + rng.uniform(0, self.span - 60)
            self._add(Msg(t, "map", SRISM, smsc, home, msisdn=sub.msisdn))
            self._add(Msg(t + rng.uniform(0.3, 4.0), "map", MTFSM, smsc, home, imsi=sub.imsi))

    # -- inbound roamers served by the home network -------------------------------------------------
    def _inbound_roamers(self) -> None:
        rng, home = self.rng, self.world.home
        nets = [p for p in self.world.partners if p.roaming]
        for i in range(max(10, len(self.subs) * 3 // 10)):
            net = rng.choice(nets)
            imsi, msisdn = roamer_identity(net, i)
            start = self.t0 + rng.uniform(0, self.span * 0.8)
            end = start + rng.uniform(0.5, 5) * DAY
            if rng.random() < 0.3:  # LTE roamer: our MME registers with their HSS, their HSS updates us
                self._add(Msg(start, "diameter", ULR, home, net, imsi=imsi, visited_plmn=home.mcc_mnc))
                self._add(Msg(start + 0.5, "diameter", IDR, net, home, imsi=imsi))
                if end < self.t0 + self.span:
                    self._add(Msg(end, "diameter", CLR, net, home, imsi=imsi))
                continue
            self._add(Msg(start, "map", UL, home, net, imsi=imsi))
            self._add(Msg(start + 0.3, "map", ISD, net, home, imsi=imsi, msisdn=msisdn))
            for _ in range(rng.choice((0, 0, 1, 2))):  # their HLR locates its subscriber for a call / service
                t = rng.uniform(start + 60, min(end, self.t0 + self.span) - 1)
                self._add(Msg(t, "map", rng.choice((PSI, PRN)), net, home, imsi=imsi))
            if end < self.t0 + self.span:
                self._add(Msg(end, "map", CL, net, home, imsi=imsi))

    def _home_calls(self) -> None:
        """The home GMSC asks the home HLR where to route calls (home-internal, never suspicious)."""
        home = self.world.home
        for _ in range(len(self.subs) * 2):
            sub = self.rng.choice(self.subs)
            self._add(Msg(self.t0 + self.rng.uniform(0, self.span), "map", SRI, home, home, msisdn=sub.msisdn))
