"""Planted attacks, each a ``Msg`` carrying its truth: category, technique and source network. Categories:
``fs11-cat1`` (operations never allowed over interconnect), ``fs11-cat2`` (allowed only from the
subscriber's home or serving network), ``fs11-cat3`` (implausible location updates, purges by networks
that do not serve the subscriber), ``fs19-cat1`` / ``fs19-cat2`` / ``fs19-cat3`` (their Diameter
equivalents), ``probing`` (a sweep of routing-info requests that never deliver anything), and a
coordinated campaign of several hostile networks (its messages are also ``fs11-cat2``; the campaign lists
the member networks).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from custodiet.simulate.signalling.traffic import (
    ATI,
    CL,
    CLR,
    DAY,
    DSD,
    DSR,
    HOUR,
    IDR,
    ISD,
    PRN,
    PSI,
    PUR,
    PURGE,
    RIR,
    SAI,
    SENDIMSI,
    SRI,
    SRILCS,
    SRISM,
    UDR,
    UL,
    ULR,
    Legit,
    Msg,
    Subscriber,
)
from custodiet.simulate.signalling.world import SimNetwork, World, distance_km

# The plausibility detector's defaults; planted impossible journeys exceed them at least threefold.
DETECTOR_MAX_KMH = 1000.0
DETECTOR_SLACK_KM = 300.0


@dataclass
class Planted:
    msgs: list[Msg] = field(default_factory=list)
    campaigns: list[dict[str, Any]] = field(default_factory=list)


class Planter:
    def __init__(self, world: World, legit: Legit, rng: random.Random):
        self.world, self.legit, self.rng = world, legit, rng
        self.t0, self.span = legit.t0, legit.span
        self.out = Planted()
        self.home = world.home

    def net(self, name: str) -> SimNetwork:
        return self.world.by_name[name]

    def _t(self, lo: float = 0.05, hi: float = 0.95) -> float:
        return self.t0 + self.rng.uniform(lo, hi) * self.span

    def _at_home(self, t: float) -> Subscriber:
        """A subscriber at home at time t (not travelling)."""
        while True:
            sub = self.rng.choice(self.legit.subs)
            if sub.away is None or not sub.away[0] <= t < sub.away[1]:
                return sub

    def plant(self, category: str, technique: str, msg: Msg) -> None:
        msg.attack = {"category": category, "technique": technique, "source_network": msg.src.name}
        if self.rng.random() < 0.3:  # some are blocked by the home network's screening
            msg.error = 21 if msg.proto == "map" else 5012
        self.out.msgs.append(msg)

    def all(self) -> Planted:
        self.category1()
        self.category2()
        self.category3()
        self.diameter()
        self.probing()
        self.campaign()
        return self.out

    # -- FS.11 category 1 --------------------------------------------------------------------------
    def category1(self) -> None:
        zm, pg, eg = self.net("Copperbelt Signalling"), self.net("Coral Sea Telecom"), self.net("Nile Mobile")
        victim = self._at_home(self.t0 + self.span / 2)
        for i in range(25):  # one subscriber tracked all week through one hostile network
            t = self.t0 + (i + self.rng.random()) * self.span / 25
            self.plant("fs11-cat1", "ati-location", Msg(t, "map", ATI, zm, self.home, msisdn=victim.msisdn))
            if i % 5 != 4:
                self.plant("fs11-cat2", "psi-location", Msg(t + 40, "map", PSI, zm, self.home, imsi=victim.imsi))
        for _ in range(8):
            t = self._t()
            self.plant("fs11-cat1", "ati-location", Msg(t, "map", ATI, zm, self.home,
                                                        msisdn=self._at_home(t).msisdn))
        for _ in range(6):
            t = self._t()
            self.plant("fs11-cat1", "send-imsi", Msg(t, "map", SENDIMSI, pg, self.home,
                                                     msisdn=self._at_home(t).msisdn))
        for _ in range(4):
            t = self._t()
            self.plant("fs11-cat1", "sri-lcs-location", Msg(t, "map", SRILCS, pg, self.home,
                                                            msisdn=self._at_home(t).msisdn))
        for _ in range(3):  # a roaming partner sending what no partner may send
            t = self._t()
            self.plant("fs11-cat1", "ati-location", Msg(t, "map", ATI, eg, self.home,
                                                        msisdn=self._at_home(t).msisdn))

    # -- FS.11 category 2 --------------------------------------------------------------------------
    def category2(self) -> None:
        ht, ke, it = self.net("Caribe Transit"), self.net("Savanna Tel"), self.net("Tevere Mobile")
        for op, technique, count in [(ISD, "isd-intercept", 5), (CL, "cl-dos", 4), (PRN, "prn-call-intercept", 4),
                                     (DSD, "dsd-profile-change", 3), (PSI, "psi-location", 3)]:
            for _ in range(count):
                t = self._t()
                sub = self._at_home(t)
                self.plant("fs11-cat2", technique, Msg(t, "map", op, ht, self.home, imsi=sub.imsi,
                                                       msisdn=sub.msisdn))
        for _ in range(5):
            t = self._t()
            self.plant("fs11-cat2", "sri-location", Msg(t, "map", SRI, ht, self.home,
                                                        msisdn=self._at_home(t).msisdn))
        for _ in range(8):  # a partner with no SMS agreement asking where to deliver SMS
            t = self._t()
            self.plant("fs11-cat2", "sri-sm-imsi", Msg(t, "map", SRISM, ke, self.home,
                                                       msisdn=self._at_home(t).msisdn))
        roaming = [s for s in self.legit.subs if s.stays and not s.lte]
        for sub in self.rng.sample(roaming, min(3, len(roaming))):  # partner that neither serves nor homes them
            start, end, net = sub.stays[0]
            if net.name == it.name:
                continue
            t = self.rng.uniform(start, end)
            self.plant("fs11-cat2", "isd-intercept", Msg(t, "map", ISD, it, self.home, imsi=sub.imsi,
                                                         msisdn=sub.msisdn))

    # -- FS.11 category 3 --------------------------------------------------------------------------
    def _impossible(self, source: SimNetwork, count: int) -> list[tuple[float, Subscriber]]:
        """(time, subscriber) pairs where a message from ``source`` would be an impossible journey."""
        out: list[tuple[float, Subscriber]] = []
        candidates = [s for s in self.legit.subs if len(s.evidence) >= 2]
        for _ in range(count * 50):
            if len(out) >= count:
                break
            sub = self.rng.choice(candidates)
            ev = sorted(sub.evidence)
            ts, _country = self.rng.choice(ev[1:])
            t = ts + self.rng.uniform(300, 2400)
            if any(a - DAY <= t <= b + DAY for a, b in sub.at_sea):
                continue  # a ship's network can be anywhere: no journey from it is impossible
            last_t, last_c = max(e for e in ev if e[0] <= t)
            hours = (t - last_t) / HOUR
            if distance_km(last_c, source.country) - DETECTOR_SLACK_KM >= 3 * DETECTOR_MAX_KMH * hours:
                out.append((t, sub))
        return out

    def category3(self) -> None:
        tr, ae = self.net("Bosphorus GSM"), self.net("Dune Telecom")
        for _ in range(5):  # a roaming partner purges subscribers it does not serve: they stop receiving calls
            t = self._t()
            self.plant("fs11-cat3", "purge-dos", Msg(t, "map", PURGE, tr, self.home, imsi=self._at_home(t).imsi))
        for _ in range(3):
            t = self._t()
            self.plant("fs19-cat3", "pur-dos", Msg(t, "diameter", PUR, ae, self.home, imsi=self._at_home(t).imsi))
        eg, jp = self.net("Nile Mobile"), self.net("Sakura Tsushin")
        for t, sub in self._impossible(eg, 6):
            self.plant("fs11-cat3", "ul-velocity", Msg(t, "map", UL, eg, self.home, imsi=sub.imsi))
        for t, sub in self._impossible(jp, 5):
            self.plant("fs11-cat3", "sai-velocity", Msg(t, "map", SAI, jp, self.home, imsi=sub.imsi))

    # -- FS.19 (Diameter) --------------------------------------------------------------------------
    def diameter(self) -> None:
        pg, ht, br = self.net("Coral Sea Telecom"), self.net("Caribe Transit"), self.net("Sertao Movel")
        for cmd, technique, count in [(UDR, "sh-udr-location", 4), (RIR, "slh-lcs-routing", 4)]:
            for _ in range(count):
                t = self._t()
                self.plant("fs19-cat1", technique, Msg(t, "diameter", cmd, pg, self.home,
                                                       msisdn=self._at_home(t).msisdn))
        for cmd, technique, count in [(IDR, "idr-intercept", 4), (CLR, "clr-dos", 3), (DSR, "dsr-profile-change", 2)]:
            for _ in range(count):
                t = self._t()
                self.plant("fs19-cat2", technique, Msg(t, "diameter", cmd, ht, self.home,
                                                       imsi=self._at_home(t).imsi))
        spoofed = self.net("Lutetia Mobile").mcc_mnc
        for _ in range(3):
            t = self._t()
            self.plant("fs19-cat2", "ulr-plmn-spoof", Msg(t, "diameter", ULR, br, self.home,
                                                          imsi=self._at_home(t).imsi, visited_plmn=spoofed))
        for t, sub in self._impossible(br, 4):
            self.plant("fs19-cat3", "ulr-velocity", Msg(t, "diameter", ULR, br, self.home, imsi=sub.imsi,
                                                        visited_plmn=br.mcc_mnc))

    # -- probing -----------------------------------------------------------------------------------
    def probing(self) -> None:
        """An SMS partner sweeps many subscribers with SRI-SM and never delivers a message."""
        sg = self.net("Merlion Mobile")
        targets = self.rng.sample(self.legit.subs, max(40, min(120, len(self.legit.subs) // 3)))
        start = self._t(0.2, 0.4)
        for i, sub in enumerate(targets):
            t = start + i * (3 * HOUR / len(targets)) + self.rng.uniform(0, 30)
            self.plant("probing", "sri-sm-sweep", Msg(t, "map", SRISM, sg, self.home, msisdn=sub.msisdn))

    # -- coordinated campaign ----------------------------------------------------------------------
    def campaign(self) -> None:
        members = [self.net(n) for n in ("Mekong Relay", "Steppe Link", "Altiplano Net")]
        base = self.t0 + self.span * 0.55
        targets = [self._at_home(base) for _ in range(15)]
        targets = list({s.imsi: s for s in targets}.values())
        before = len(self.out.msgs)
        for k, net in enumerate(members):
            window = base + k * 2 * HOUR
            for sub in self.rng.sample(targets, max(2, len(targets) * 3 // 4)):
                t = window + self.rng.uniform(0, 8 * HOUR)
                self.plant("fs11-cat2", "sri-sm-imsi", Msg(t, "map", SRISM, net, self.home, msisdn=sub.msisdn))
                self.plant("fs11-cat2", "psi-location", Msg(t + self.rng.uniform(10, 120), "map", PSI, net,
                                                            self.home, imsi=sub.imsi))
        for m in self.out.msgs[before:]:
            assert m.attack is not None
            m.attack["campaign"] = 0
        self.out.campaigns.append({"networks": [n.name for n in members], "gts": [hostile_gt(n) for n in members],
                                   "subjects": len(targets)})


def hostile_gt(net: SimNetwork) -> str:
    """Hostile networks send everything from one leased global title, whatever node they pretend to be."""
    return net.gt("gsmscf")
