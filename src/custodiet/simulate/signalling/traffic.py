"""Legitimate signalling traffic: registrations at home, travellers roaming through partner networks (MAP
or Diameter), SMS interworking, inbound roamers served by the home network, and home-internal queries.

Besides the happy paths, the behaviour real borders show (see the project's description of real
behaviour): flights at airliner speed with little time on the ground; travellers near a border flipping
between two countries' networks many times a day; cruise passengers served by a maritime network (+882)
who land far from where they boarded; registrations rejected (roaming not allowed) by a second network of
the same country, then retried on the first; the serving VLR purging the subscriber after inactivity;
calls routed by our own GMSC (SRI, then our HLR's PRN to the serving VLR, no SMS ever follows); SRI-SM
without a delivery (absent subscribers, failed deliveries; for roamers the delivery goes straight to the
visited MSC, past our border); an HLR-lookup service that never delivers; a bulk SMS campaign from a hub;
and subscribers already abroad when the capture begins.

Each message is a ``Msg`` (one request; its answer is written by the pcap builder). Travel obeys a speed
limit below the location-plausibility detector's threshold (``TRAVEL_KMH`` plus an overhead on the
ground), so plausible roaming is never an impossible journey.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from custodiet.geo import adjacent
from custodiet.simulate.signalling.world import SimNetwork, World, distance_km, home_subscriber, roamer_identity

TRAVEL_KMH = (650.0, 880.0)  # gate-to-gate average speed of a flight, drawn per journey
TRAVEL_OVERHEAD_H = (0.5, 2.5)  # from the last message before boarding to the first after landing
ROAMING_NOT_ALLOWED, SYSTEM_FAILURE, ABSENT_SUBSCRIBER_SM = 8, 34, 6
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
    at_sea: list[tuple[float, float]] = field(default_factory=list)  # (start, end) served by a maritime network

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
        abroad = set(self.rng.sample(range(len(self.subs)), int(len(self.subs) * 0.04)))
        for sub in self.subs:
            if sub.index in abroad:
                self._abroad_at_start(sub)
            else:
                self._home_registration(sub)
        for sub in self.rng.sample([s for s in self.subs if s.index not in abroad], int(len(self.subs) * 0.35)):
            self._travel(sub)
        for sub in self.subs:
            self._home_presence(sub)
        self._sms()
        self._hlr_lookup_service()
        self._bulk_campaign()
        self._inbound_roamers()
        self._home_calls()
        return self.msgs

    def _abroad_at_start(self, sub: Subscriber) -> None:
        """Already roaming when the capture begins (its registration there is not in the capture): the
        visited network authenticates it now and then, then it flies home."""
        rng, world, home = self.rng, self.world, self.world.home
        net = rng.choice([p for p in world.partners if p.roaming and not p.international])
        end = self.t0 + rng.uniform(0.2, 3.0) * DAY
        sub.stays.append((self.t0 - DAY, end, net))
        t = self.t0
        while True:
            t += rng.expovariate(3.0 / DAY)
            if t >= end:
                break
            self._add(Msg(t, "map", SAI, net, home, imsi=sub.imsi), sub)
        if rng.random() < 0.3:
            self._add(Msg(end - rng.uniform(60, 1800), "map", PURGE, net, home, imsi=sub.imsi))
        t_home = end + self._flight_hours(net.country, world.home.country) * HOUR
        sub.away = (self.t0 - 2 * DAY, t_home)
        if t_home < self.t0 + self.span:
            self._add(Msg(t_home, "map", UL, home, home, imsi=sub.imsi), sub)
            self._add(Msg(t_home + 0.4, "map", CL, home, net, imsi=sub.imsi))

    def _flight_hours(self, a: str, b: str) -> float:
        return distance_km(a, b) / self.rng.uniform(*TRAVEL_KMH) + self.rng.uniform(*TRAVEL_OVERHEAD_H)

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
        countries = sorted({p.country for p in world.partners if p.roaming and not p.international})
        here, t = world.home.country, self.t0 + rng.uniform(4 * HOUR, self.span * 0.5)
        left = t
        cruise = not sub.lte and rng.random() < 0.08
        for leg in range(rng.choice((1, 1, 2, 3))):
            dest = rng.choice([c for c in countries if c != here])
            if cruise and leg == 1:
                dest = rng.choice([c for c in countries if c != here and distance_km(here, c) < 3000] or [dest])
            if cruise and leg == 1:  # from the port of the first leg to another port, by sea
                end = min(t + rng.uniform(0.7, 2.0) * DAY, self.t0 + self.span)
                sea = world.maritime
                self._stay(sub, sea, t + rng.uniform(0.2, 1.0) * HOUR, end, evidence=False)
                sub.at_sea.append((t, end))
                t = end + rng.uniform(0.2, 1.0) * HOUR  # docked: the first land network after an hour
            else:
                t += self._flight_hours(here, dest) * HOUR
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
        t_home = t + self._flight_hours(here, world.home.country) * HOUR
        sub.away = (left, t_home)
        if t_home < self.t0 + self.span:
            home = world.home
            self._add(Msg(t_home, "map", UL, home, home, imsi=sub.imsi), sub)
            self._add(Msg(t_home + 0.4, "map", CL, home, sub.stays[-1][2], imsi=sub.imsi))

    def _stay(self, sub: Subscriber, net: SimNetwork, start: float, end: float, evidence: bool = True) -> None:
        rng, home = self.rng, self.world.home
        who = sub if evidence else None
        others = [p for p in self.world.partners_in(net.country) if p is not net]
        if not sub.lte and rng.random() < 0.25:  # first tried elsewhere and rejected, then registered here
            other = others[0] if others else net
            code = ROAMING_NOT_ALLOWED if others else SYSTEM_FAILURE
            self._add(Msg(start - rng.uniform(5, 40), "map", UL, other, home, imsi=sub.imsi, error=code))
        if sub.lte:
            self._add(Msg(start, "diameter", AIR, net, home, imsi=sub.imsi, visited_plmn=net.mcc_mnc), who)
            self._add(Msg(start + 1.5, "diameter", ULR, net, home, imsi=sub.imsi, visited_plmn=net.mcc_mnc), who)
            self._add(Msg(start + 30, "diameter", NOR, net, home, imsi=sub.imsi))
        else:
            self._add(Msg(start, "map", UL, net, home, imsi=sub.imsi), who)
            self._add(Msg(start + 0.3, "map", ISD, home, net, imsi=sub.imsi, msisdn=sub.msisdn))
            if rng.random() < 0.6:
                self._add(Msg(start + rng.uniform(20, 600), "map", UGL, net, home, imsi=sub.imsi), who)
        flip = self._border_flips(sub, net, start, end) if not sub.lte and evidence and rng.random() < 0.3 else []
        t = start
        while True:
            t += rng.expovariate(3.0 / DAY)
            if t >= end:
                break
            if any(a <= t < b for a, b in flip):
                continue
            if sub.lte:
                self._add(Msg(t, "diameter", AIR, net, home, imsi=sub.imsi, visited_plmn=net.mcc_mnc), who)
            else:
                self._add(Msg(t, "map", SAI, net, home, imsi=sub.imsi), who)
            if rng.random() < 0.5:  # a call: our GMSC asks our HLR, our HLR asks the serving VLR for a number
                self._add(Msg(t + 60, "map", SRI, home, home, msisdn=sub.msisdn))
                self._add(Msg(t + 60.2, "map", PRN, home, net, imsi=sub.imsi))
            if not sub.lte and others and rng.random() < 0.1:  # lost signal: the other network tries, refused
                self._add(Msg(t + 120, "map", UL, others[0], home, imsi=sub.imsi, error=ROAMING_NOT_ALLOWED))
        if end < self.t0 + self.span and rng.random() < 0.4:
            op = PUR if sub.lte else PURGE
            self._add(Msg(end - rng.uniform(60, 1800), sub.lte and "diameter" or "map", op, net, home,
                          imsi=sub.imsi))

    def _border_flips(self, sub: Subscriber, net: SimNetwork, start: float, end: float) -> list[tuple[float, float]]:
        """A traveller near a border: several times a day the neighbouring country's network takes over for
        a while (updateLocation there, our cancelLocation to the other), then the first one again."""
        near = [p for p in self.world.partners if p.roaming and not p.international and p.country != net.country
                and adjacent(p.country, net.country)]
        if not near:
            return []
        rng, home, other = self.rng, self.world.home, self.rng.choice(near)
        spans: list[tuple[float, float]] = []
        t = start + rng.uniform(1, 3) * HOUR
        while t < end - 2 * HOUR:
            back = min(t + rng.uniform(0.2, 2.5) * HOUR, end - HOUR)
            self._add(Msg(t, "map", UL, other, home, imsi=sub.imsi), sub)
            self._add(Msg(t + 0.4, "map", CL, home, net, imsi=sub.imsi))
            self._add(Msg(back, "map", UL, net, home, imsi=sub.imsi), sub)
            self._add(Msg(back + 0.4, "map", CL, home, other, imsi=sub.imsi))
            spans.append((t, back + 1))
            t = back + rng.uniform(1, 8) * HOUR
        return spans

    # -- SMS interworking --------------------------------------------------------------------------
    def _sms(self) -> None:
        """Partner SMSCs ask routing info, then deliver: SRI-SM followed within seconds by MT-ForwardSM."""
        rng, home = self.rng, self.world.home
        senders = [p for p in self.world.partners if p.sms]
        for _ in range(len(self.subs) * 3):
            sub, smsc = rng.choice(self.subs), rng.choice(senders)
            t = self.t0 + rng.uniform(0, self.span - 60)
            if sub.away is not None and sub.away[0] <= t < sub.away[1]:
                # roaming: the SMSC delivers straight to the visited MSC (not through our border); in the air:
                # absent subscriber, and no retry reaches it before the landing
                flying = sub.serving(t) is None
                self._add(Msg(t, "map", SRISM, smsc, home, msisdn=sub.msisdn,
                              error=ABSENT_SUBSCRIBER_SM if flying else 0))
                continue
            undelivered = rng.random() < 0.12  # absent subscriber, memory full, home-routed elsewhere
            absent = undelivered and rng.random() < 0.5
            self._add(Msg(t, "map", SRISM, smsc, home, msisdn=sub.msisdn, error=ABSENT_SUBSCRIBER_SM if absent else 0))
            if absent and rng.random() < 0.8 and t + 2 * HOUR < self.t0 + self.span:  # the SMSC retries
                t += rng.uniform(5, 90) * 60
                self._add(Msg(t, "map", SRISM, smsc, home, msisdn=sub.msisdn))
                undelivered = False
            if not undelivered:
                self._add(Msg(t + rng.uniform(0.3, 4.0), "map", MTFSM, smsc, home, imsi=sub.imsi))

    def _hlr_lookup_service(self) -> None:
        """An SMS partner runs an HLR-lookup (number validation) service: SRI-SM all day, never a delivery."""
        rng, home = self.rng, self.world.home
        service = next(p for p in self.world.partners if p.name == "Polder Telecom")
        t = self.t0
        while True:
            hour = ((t - self.t0) % DAY) / HOUR
            rate = (12 if 7 <= hour < 22 else 3) / HOUR  # look-ups per second: office hours heavier
            t += rng.expovariate(rate)
            if t >= self.t0 + self.span:
                break
            self._add(Msg(t, "map", SRISM, service, home, msisdn=rng.choice(self.subs).msisdn))

    def _bulk_campaign(self) -> None:
        """An SMS hub pushes a marketing campaign: hundreds of subscribers in an hour, most delivered."""
        rng, home = self.rng, self.world.home
        hub = next(p for p in self.world.partners if p.name == "Iberia Celular")
        start = self.t0 + rng.uniform(0.1, 0.9) * self.span
        for sub in rng.sample(self.subs, min(len(self.subs), 300)):
            t = start + rng.uniform(0, HOUR)
            self._add(Msg(t, "map", SRISM, hub, home, msisdn=sub.msisdn))
            roaming = sub.away is not None and sub.away[0] <= t < sub.away[1]  # delivered abroad, past our border
            if not roaming and rng.random() < 0.8:
                self._add(Msg(t + rng.uniform(0.3, 4.0), "map", MTFSM, hub, home, imsi=sub.imsi))

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
