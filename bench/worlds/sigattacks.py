"""Attacks at the border, as GSMA FS.11 / FS.19 and public reporting describe them.

Every attack request carries a truth record (category, technique, source network, operation, time); answers
and the HLR's own reactions are not attacks. ``plant`` spends a budget of attack requests over techniques.
"""

from __future__ import annotations

import time

import sigdiam as D
import sigmap as M
from sigdflows import Dia, hss, mme
from sigflows import Border
from sigmodel import SMALL, Net, Sub, km, number

TECHNIQUES = ("tracking", "identity", "interception", "dos", "fraud", "campaign", "spoofing", "low_and_slow",
              "diameter")
CAT = {M.SRISM: "fs11-cat2", M.PSI: "fs11-cat2", M.ATI: "fs11-cat1", M.SRI: "fs11-cat2", M.SENDIMSI: "fs11-cat1",
       M.SENDID: "fs11-cat3", M.UL: "fs11-cat3", M.SAI: "fs11-cat3", M.PURGE: "fs11-cat3", M.ISD: "fs11-cat2",
       M.REGSS: "fs11-cat2", M.CL: "fs11-cat2", M.DSD: "fs11-cat2", M.PRN: "fs11-cat2"}
DCAT = {D.IDR: "fs19-cat2", D.CLR: "fs19-cat2", D.DSR: "fs19-cat2", D.PUR: "fs19-cat3", D.AIR: "fs19-cat3",
        D.ULR: "fs19-cat3", D.UDR: "fs19-cat1", D.RIR: "fs19-cat1"}


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1e6) % 1_000_000:06d}Z"


class Attacks:
    def __init__(self, b: Border, d: Dia, subs: list[Sub], sources: list[Net], partners: list[Net], t0: float,
                 days: int):
        self.b, self.d, self.subs, self.sources, self.partners = b, d, subs, sources, partners
        self.t0, self.days = t0, days
        self.rng = b.rng
        self.spent = 0
        self.campaigns: list[dict] = []
        self.homebodies = [s for s in subs if not s.stays and not s.barred] or subs
        self.stalked = False  # the first tracking target is hit tens of times, later ones a few times
        self.roamers = [(s, st) for s in subs if not s.barred for st in s.stays if st[2] is not None
                        and t0 < st[0] < t0 + days * 86400 and st[2].kind not in ("maritime", "aero")]

    def label(self, s: Sub, t: float, op: int, technique: str, src: Net, category: str | None = None) -> dict:
        """The truth record of one attack request (the writer adds file, frame and the calling GT)."""
        self.spent += 1
        name = M.OP_NAMES.get(op) or D.CMD_NAMES[op]
        out = {"category": category or CAT.get(op) or DCAT[op], "technique": technique,
               "source_network": src.name, "source_country": src.iso, "operation": name, "ts": _iso(t),
               "subject_imsi": s.imsi, "subject_msisdn": s.msisdn}
        if op not in M.OP_NAMES:
            out["origin_realm"] = src.realm
        return out

    def when(self, lo: float = 0.0, hi: float | None = None) -> float:
        hi = self.days if hi is None else hi
        return self.t0 + self.rng.uniform(lo, hi) * 86400

    def not_served_by(self, src: Net) -> tuple[Sub, float]:
        """A subscriber and a time at which ``src`` is not the network serving it."""
        while True:
            s, t = self.rng.choice(self.subs), self.when()
            where = s.where(t)
            if where is None or where[0] is not src:
                return s, t

    def reply(self, ok: tuple) -> tuple:
        """Unscreened nodes answer; a screening firewall returns an error, rejects, or stays silent."""
        r = self.rng.random()
        block = self.b.p["firewall_block"]
        if r < block * 0.4:
            return ("error", self.rng.choice([M.E_UNEXPECTED, M.E_FACILITY_NS, M.E_SYSFAIL, M.E_DATA_MISSING]))
        if r < block * 0.6:
            return ("reject",)
        if r < block * 0.8:
            return ("none",)
        if r < block:
            return ("abort",)
        return ok

    # -- single requests ------------------------------------------------------------------------------
    def srism(self, t, s: Sub, src: Net, tech: str, link=None, opc=None, cat=None) -> float:
        b = self.b
        where = s.where(t)
        vlr = where[1] if where else 0
        ok = ("result", M.res_srism(s.imsi, ((where[0] if where else None) or b.home).gt("msc", vlr)))
        return b.dialogue(t, link if link is not None else b.link_of(src), False, b.msisdn_addr(s.msisdn),
                          b.addr(src, "smsc"), M.SRISM, M.arg_srism(s.msisdn, src.gt("smsc")), self.reply(ok),
                          resp_calling=b.ours("hlr"), attack=self.label(s, t, M.SRISM, tech, src, cat), opc=opc)

    def locate(self, t, s: Sub, src: Net, tech: str, op: int, link=None, opc=None, cat=None) -> float:
        """PSI to our VLR (needs the IMSI, from an SRI-SM), or ATI to our HLR (needs only the number)."""
        b = self.b
        vlr = (s.where(t) or (None, 0))[1]
        cell = M.cgi(b.home.mcc, b.home.mnc, self.rng.randrange(1, 9000), self.rng.randrange(1, 60000))
        ok = ("result", M.res_location(b.home.gt("vlr", vlr), cell, self.rng.randrange(30)))
        link = link if link is not None else b.link_of(src)
        lab = self.label(s, t, op, tech, src, cat)
        if op == M.PSI:
            return b.dialogue(t, link, False, b.ours("vlr", vlr), b.addr(src, "hlr"), M.PSI, M.arg_psi(s.imsi),
                              self.reply(ok), attack=lab, opc=opc)
        if op == M.SRI:
            return b.dialogue(t, link, False, b.msisdn_addr(s.msisdn), b.addr(src, "gmsc"), M.SRI,
                              M.arg_sri(s.msisdn, src.gt("gmsc"), False),
                              self.reply(("result", M.res_sri(s.imsi, b.home.cc + "9" + str(10**7 + s.idx)))),
                              resp_calling=b.ours("hlr"), attack=lab, opc=opc)
        called = b.msisdn_addr(s.msisdn) if self.rng.random() < 0.5 else b.ours("hlr")
        ok = ("error", M.E_ATI_NA) if self.rng.random() < 0.5 else ok
        return b.dialogue(t, link, False, called, b.addr(src, "scf"), M.ATI, M.arg_ati(s.msisdn, src.gt("scf")),
                          self.reply(ok), resp_calling=b.ours("hlr"), attack=lab, opc=opc)

    # -- techniques -----------------------------------------------------------------------------------
    def tracking(self) -> None:
        """SRI-SM then PSI (or ATI / SRI, with or without the SRI-SM) on one subscriber, over days, via one source."""
        src, s = self.rng.choice(self.sources), self.rng.choice(self.homebodies)
        hits = self.rng.randint(10, 45) if not self.stalked else self.rng.randint(2, 8)
        self.stalked = True
        op = self.rng.choice([M.PSI, M.PSI, M.ATI, M.SRI])
        first = op == M.PSI or self.rng.random() < 0.5  # PSI needs the IMSI; ATI and SRI need only the number
        for t in sorted(self.when() for _ in range(hits)):
            if first:
                t = self.srism(t, s, src, "tracking") + self.rng.uniform(0.5, 30)
            self.locate(t, s, src, "tracking", op)

    def identity(self) -> None:
        b = self.b
        src = self.rng.choice(self.sources)
        for _ in range(self.rng.randint(1, 6)):
            s, t = self.rng.choice(self.subs), self.when()
            if self.rng.random() < 0.5:
                b.dialogue(t, b.link_of(src), False, b.msisdn_addr(s.msisdn), b.addr(src, "vlr"), M.SENDIMSI,
                           M.arg_sendimsi(s.msisdn), self.reply(("result", M.res_sendimsi(s.imsi))),
                           resp_calling=b.ours("hlr"), attack=self.label(s, t, M.SENDIMSI, "identity", src))
            else:
                vlr = (s.where(t) or (None, 0))[1]
                b.dialogue(t, b.link_of(src), False, b.ours("vlr", vlr), b.addr(src, "vlr"), M.SENDID,
                           M.arg_sendid(s.tmsi), self.reply(("result", M.res_sendid(s.imsi))),
                           attack=self.label(s, t, M.SENDID, "identity", src))

    def interception(self) -> None:
        """A fake VLR registers our subscriber (UL), then sets call forwarding (RegisterSS) or CAMEL (ISD)."""
        b = self.b
        src, s, t = self.rng.choice(self.sources), self.rng.choice(self.homebodies), self.when()
        vlr = b.addr(src, "vlr")
        link = b.link_of(src)
        if self.rng.random() < 0.8:
            ok = self.rng.random() > b.p["firewall_block"]
            err = None if ok else (M.E_UNEXPECTED,)
            t = b.location_update(t, link, False, b.ours("hlr"), vlr, b.ours("hlr"), M.UL,
                                  M.arg_ul(s.imsi, src.gt("msc"), src.gt("vlr")),
                                  [M.arg_isd(0, None, s.msisdn), M.arg_isd(1, None, s.msisdn)],
                                  M.res_ul(b.home.gt("hlr")), err,
                                  attack=self.label(s, t, M.UL, "interception", src)) + self.rng.uniform(2, 120)
        fwd = number(self.rng, src)
        if self.rng.random() < 0.5:
            b.dialogue(t, link, False, b.ours("hlr"), vlr, M.REGSS, M.arg_regss(fwd),
                       self.reply(("result", None)), refs=(s.imsi, src.gt("vlr")),
                       attack=self.label(s, t, M.REGSS, "interception", src))
        else:
            home_vlr = (s.where(t) or (None, 0))[1]
            b.dialogue(t, link, False, b.ours("vlr", home_vlr), b.addr(src, "hlr"), M.ISD,
                       M.arg_isd(2, s.imsi, s.msisdn, cf_to=fwd if self.rng.random() < 0.5 else None,
                                 scf=src.gt("scf")),
                       self.reply(("result", M.res_isd())), attack=self.label(s, t, M.ISD, "interception", src))

    def dos(self) -> None:
        b = self.b
        src = self.rng.choice(self.sources)
        for _ in range(self.rng.randint(1, 5)):
            s, t = self.not_served_by(src)
            where = s.where(t) or (None, 0)
            kind = self.rng.choice([M.CL, M.PURGE, M.DSD])
            if kind == M.PURGE or where[0] is not None:  # roaming: only the HLR side is reachable from here
                b.dialogue(t, b.link_of(src), False, b.ours("hlr"), b.addr(src, "vlr"), M.PURGE,
                           M.arg_purge(s.imsi, src.gt("vlr")), self.reply(("result", M.res_purge())),
                           attack=self.label(s, t, M.PURGE, "dos", src))
            elif kind == M.CL:
                b.dialogue(t, b.link_of(src), False, b.ours("vlr", where[1]), b.addr(src, "hlr"), M.CL,
                           M.arg_cl(s.imsi, 1), self.reply(("result", None)), attack=self.label(s, t, M.CL, "dos", src))
            else:
                b.dialogue(t, b.link_of(src), False, b.ours("vlr", where[1]), b.addr(src, "hlr"), M.DSD,
                           M.arg_dsd(s.imsi), self.reply(("result", None)), attack=self.label(s, t, M.DSD, "dos", src))

    def fraud(self) -> None:
        """SAI or UL from a partner the roamer cannot have reached since its last registration."""
        b = self.b
        if not self.roamers:
            return
        for _ in range(self.rng.randint(1, 6)):
            s, (start, _end, net, _v) = self.rng.choice(self.roamers)
            far = [p for p in self.partners if p.roaming and p.kind in ("roaming", "neighbour") and p.iso != net.iso]
            far = sorted(far, key=lambda p: -km(p, net))[:4] or far
            src = self.rng.choice(far)
            t = start + self.rng.uniform(600, 3 * 3600)
            vlr = b.addr(src, "vlr", 1)
            if self.rng.random() < 0.6:
                b.dialogue(t, b.link_of(src), False, b.ours("hlr"), vlr, M.SAI, M.arg_sai(s.imsi, 5),
                           self.reply(("result", M.res_sai(self.rng, 5, True))), resp_calling=b.ours("hlr"),
                           attack=self.label(s, t, M.SAI, "fraud", src))
            else:
                b.location_update(t, b.link_of(src), False, b.ours("hlr"), vlr, b.ours("hlr"), M.UL,
                                  M.arg_ul(s.imsi, src.gt("msc", 1), src.gt("vlr", 1)),
                                  [M.arg_isd(0, None, s.msisdn)], M.res_ul(b.home.gt("hlr")),
                                  attack=self.label(s, t, M.UL, "fraud", src))

    def campaign(self) -> None:
        """3-5 networks (often leased GTs) run the same sequence on the same subscribers in overlapping windows."""
        if len(self.campaigns) >= 2:  # a world has at most two campaigns
            return
        small = [x for x in self.sources if x.kind != "unlisted" or x.iso in SMALL]
        pool = small if len(small) >= 5 else self.sources
        members = self.rng.sample(pool, min(len(pool), self.rng.randint(3, 5)))
        subjects = self.rng.sample(self.homebodies, min(len(self.homebodies), self.rng.randint(4, 15)))
        seq = self.rng.choice([(M.SRISM, M.PSI), (M.SENDIMSI, M.ATI), (M.SRISM, M.ATI), (M.SRI, M.PSI)])
        start = self.rng.uniform(0, max(0.1, self.days - 2.5))
        for src in members:
            lo = start + self.rng.uniform(0, 0.8)
            for s in subjects:
                if self.rng.random() < 0.15:
                    continue
                t = self.when(lo, min(self.days, lo + self.rng.uniform(0.5, 2.0)))
                for op in seq:
                    if op == M.SRISM:
                        t = self.srism(t, s, src, "campaign")
                    elif op == M.SENDIMSI:
                        t = self.b.dialogue(t, self.b.link_of(src), False, self.b.msisdn_addr(s.msisdn),
                                            self.b.addr(src, "vlr"), M.SENDIMSI, M.arg_sendimsi(s.msisdn),
                                            self.reply(("result", M.res_sendimsi(s.imsi))),
                                            resp_calling=self.b.ours("hlr"),
                                            attack=self.label(s, t, M.SENDIMSI, "campaign", src))
                    else:
                        t = self.locate(t, s, src, "campaign", op)
                    t += self.rng.uniform(1, 60)
        node = {M.SRISM: "smsc", M.SENDIMSI: "vlr", M.PSI: "hlr", M.ATI: "scf", M.SRI: "gmsc"}
        self.campaigns.append({"networks": [m.name for m in members],
                               "gts": sorted({m.gt(node[op]) for m in members for op in seq}),
                               "subjects": len(subjects), "technique": "campaign",
                               "operations": [M.OP_NAMES[op] for op in seq]})

    def spoofing(self) -> None:
        """A roaming partner's GT arriving on another carrier's link, or with a point code that is not its own."""
        b = self.b
        victim = self.rng.choice([p for p in self.partners if p.kind in ("roaming", "neighbour", "sms")])
        other = [i for i in range(len(b.links)) if i != b.internal and i not in victim.links]
        for _ in range(self.rng.randint(1, 8)):
            s, t = self.rng.choice(self.homebodies), self.when()
            if other and self.rng.random() < 0.6:
                link, opc = self.rng.choice(other), None
            else:
                link, opc = self.rng.choice(victim.links), self.rng.randrange(9000, 16000)
            if self.rng.random() < 0.6:
                t = self.srism(t, s, victim, "spoofing", link, opc, "spoofing")
            if self.rng.random() < 0.7:
                self.locate(t + self.rng.uniform(1, 20), s, victim, "spoofing", M.PSI, link, opc, "spoofing")

    def low_and_slow(self) -> None:
        src = self.rng.choice(self.sources)
        op = self.rng.choice([M.ATI, M.PSI, M.SRI])
        for day in range(self.days):
            for _ in range(self.rng.randint(1, 3)):
                s, t = self.rng.choice(self.homebodies), self.when(day, day + 1)
                if op == M.PSI:
                    t = self.srism(t, s, src, "low_and_slow") + self.rng.uniform(1, 90)
                self.locate(t, s, src, "low_and_slow", op)

    def diameter(self) -> None:
        """S6a twins: IDR/CLR/DSR to our MME, PUR/AIR/ULR to our HSS, from realms that do not serve the subject."""
        b, d = self.b, self.d
        src = self.rng.choice(self.sources)
        host = mme(src, 0)
        for _ in range(self.rng.randint(1, 6)):
            s, t = self.not_served_by(src)
            cmd = self.rng.choice([D.IDR, D.CLR, D.PUR, D.AIR, D.ULR, D.IDR, D.DSR, D.UDR, D.RIR])
            lab = self.label(s, t, cmd, "diameter", src)
            visited = D.plmn(src.mcc[:3], src.mnc)
            answered = self.rng.random() > b.p["firewall_block"] / 2
            if cmd in (D.UDR, D.RIR):  # location of our subscriber from the HSS (Sh) or its serving node (SLh)
                gmlc = f"gmlc1.{src.realm}"
                d.exchange(t, src, False, cmd, gmlc, src.realm, b.home.realm, hss(b.home),
                           "" if cmd == D.UDR else s.imsi,
                           D.sh_user(s.msisdn, self.rng.choice([13, 14])) if cmd == D.UDR
                           else D.avp(701, D.tbcd(s.msisdn), True),
                           attack=lab, answered=answered, result=5012 if self.rng.random() < 0.5 else 2001)
            elif cmd in (D.IDR, D.CLR, D.DSR):
                extra = {D.IDR: D.u32(1490, 0x08, True), D.CLR: D.u32(1420, 2, True),
                         D.DSR: D.u32(1421, 0x01, True)}[cmd]
                d.exchange(t, src, False, cmd, hss(src), src.realm, b.home.realm, mme(b.home, 0), s.imsi, extra,
                           attack=lab, answered=answered)
            else:
                extra = {D.PUR: D.u32(1635, 1, True), D.AIR: D.air_extra(visited, 5),
                         D.ULR: D.ulr_extra(visited)}[cmd]
                d.exchange(t, src, False, cmd, host, src.realm, b.home.realm, hss(b.home), s.imsi, extra,
                           attack=lab, answered=answered, experimental=D.ROAMING_NOT_ALLOWED
                           if self.rng.random() < 0.5 else None)


def plant(a: Attacks, budget: int, techniques: list[str]) -> dict[str, float]:
    """Spend about ``budget`` attack requests over the chosen techniques (each at least once, then by weight)."""
    weights = {t: round(a.rng.uniform(0.2, 1.0), 3) for t in techniques}
    for tech in techniques:
        getattr(a, tech)()
    guard = 0
    while a.spent < budget and guard < 10_000:
        getattr(a, a.rng.choices(techniques, [weights[t] for t in techniques])[0])()
        guard += 1
    return weights

