"""Diameter S6a exchanges at the border: our HSS with visited MMEs, and our MMEs with partners' HSSs."""

from __future__ import annotations

import sigdiam as D
from sigemit import Msg
from sigflows import Border
from sigmodel import Net, Sub


def mme(net: Net, i: int) -> str:
    return f"mme{i + 1}.{net.realm}"


def hss(net: Net) -> str:
    return f"hss1.{net.realm}"


class Dia:
    """Request/answer pairs on an IPX edge connection, with session ids and hop-by-hop ids."""

    def __init__(self, b: Border):
        self.b = b
        self.n = 0

    def exchange(self, t: float, net: Net, out: bool, cmd: int, req_host: str, req_realm: str, dest_realm: str,
                 ans_host: str, imsi: str, extra: bytes = b"", ans_extra: bytes = b"", result: int | None = 2001,
                 experimental: int | None = None, attack: dict | None = None, answered: bool = True) -> float:
        """One request (``out``: sent by us) and its answer; returns the answer's time."""
        b = self.b
        self.n += 1
        peer = net.links[0] % len(b.peers)
        hbh, e2e = b.rng.getrandbits(32), b.rng.getrandbits(32)
        session = f"{req_host};{int(t)};{self.n}"
        dest_host = hss(b.home) if (not out and b.rng.random() < 0.5) else None
        req = D.request(cmd, hbh, e2e, session, req_host, req_realm, dest_realm, imsi, extra, dest_host)
        b.msgs.append(Msg(t, False, peer, out, req, requests=1, attack=[attack] if attack else []))
        if not answered:
            return t
        t += b.rng.uniform(0.01, 0.2)
        ans = D.answer(cmd, hbh, e2e, session, ans_host, ans_host.split(".", 1)[1], result, experimental, ans_extra)
        b.msgs.append(Msg(t, False, peer, not out, ans))
        return t

    def register(self, t: float, s: Sub, net: Net, i: int, outcome: str, notify: bool) -> float:
        """AIR then ULR from a visited MME to our HSS (rejected ULR for barred or steered subscribers)."""
        b = self.b
        visited = D.plmn(net.mcc, net.mnc)
        host = mme(net, i)
        t = self.exchange(t, net, False, D.AIR, host, net.realm, b.home.realm, hss(b.home), s.imsi,
                          D.air_extra(visited, b.rng.randint(1, 3)), D.aia_extra(b.rng, 1))
        t += b.rng.uniform(0.3, 2.0)
        if outcome == "ok":
            sub_data = D.subscription_data(s.msisdn, b.rng.choice(["internet", "ims", "mms"]))
            t = self.exchange(t, net, False, D.ULR, host, net.realm, b.home.realm, hss(b.home), s.imsi,
                              D.ulr_extra(visited), D.u32(1406, 1, True) + sub_data)
            if notify:
                t = self.exchange(t + b.rng.uniform(1, 30), net, False, D.NOR, host, net.realm, b.home.realm,
                                  hss(b.home), s.imsi, D.u32(1443, 1, True))
            return t
        code = D.ROAMING_NOT_ALLOWED if outcome == "rna" else D.USER_UNKNOWN
        return self.exchange(t, net, False, D.ULR, host, net.realm, b.home.realm, hss(b.home), s.imsi,
                             D.ulr_extra(visited), experimental=code)

    def cancel(self, t: float, s: Sub, net: Net, i: int) -> float:
        b = self.b
        return self.exchange(t, net, True, D.CLR, hss(b.home), b.home.realm, net.realm, mme(net, i), s.imsi,
                             D.u32(1420, 0, True))

    def purge(self, t: float, s: Sub, net: Net, i: int) -> float:
        b = self.b
        return self.exchange(t, net, False, D.PUR, mme(net, i), net.realm, b.home.realm, hss(b.home), s.imsi,
                             D.u32(1635, 1, True))

    def insert(self, t: float, s: Sub, net: Net, i: int) -> float:
        """Our HSS changes a roamer's profile (new APN, bundle bought) with IDR."""
        b = self.b
        return self.exchange(t, net, True, D.IDR, hss(b.home), b.home.realm, net.realm, mme(net, i), s.imsi,
                             D.subscription_data(s.msisdn, "internet") + D.u32(1490, 0, True))

    def visitor(self, t: float, net: Net, imsi: str, msisdn: str, leave: float | None) -> None:
        """A partner's subscriber attaches to our MME: AIR/ULR outbound; later their HSS cancels us."""
        b = self.b
        visited = D.plmn(b.home.mcc, b.home.mnc)
        host = mme(b.home, b.rng.randrange(3))
        t = self.exchange(t, net, True, D.AIR, host, b.home.realm, net.realm, hss(net), imsi,
                          D.air_extra(visited, 1), D.aia_extra(b.rng, 1))
        t = self.exchange(t + 0.5, net, True, D.ULR, host, b.home.realm, net.realm, hss(net), imsi,
                          D.ulr_extra(visited), D.subscription_data(msisdn, "internet"))
        if leave is not None:
            self.exchange(leave, net, False, D.CLR, hss(net), net.realm, b.home.realm, host, imsi,
                          D.u32(1420, 0, True))
