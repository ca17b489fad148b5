"""Legitimate border traffic: roaming management, calls, SMS, visitors (TS 29.002 / 29.272 procedures).

Each function puts one whole procedure on the wire through a ``Border`` (MAP) or ``Dia`` (Diameter).
"""

from __future__ import annotations

import sigmap as M
from sigdflows import Dia
from sigemit import Msg
from sigflows import Border
from sigmodel import COUNTRIES, Net, Sub, number
from sigwire import integer, tlv

WORDS = ("your code is", "meet at", "balance", "delivered", "call me", "see you", "thanks", "ok", "tomorrow",
         "boarding", "gate", "welcome to", "roaming rates", "verification", "parcel", "order")


def _text(rng, lo: int = 5, hi: int = 160) -> str:
    n = rng.randint(lo, hi)
    out = ""
    while len(out) < n:
        out += rng.choice(WORDS) + " " + str(rng.randrange(10000)) + " "
    return out[:n]


def _scts(t: float) -> bytes:
    import time

    g = time.gmtime(t)
    vals = (g.tm_year % 100, g.tm_mon, g.tm_mday, g.tm_hour, g.tm_min, g.tm_sec, 0)
    return bytes(((v % 10) << 4) | (v // 10) for v in vals)


def register(b: Border, d: Dia, t: float, s: Sub, net: Net, vlr: int, outcome: str = "ok") -> float:
    """Our subscriber appears in a partner's VLR: SAI, then UL with ISD segments (or a rejection)."""
    rng = b.rng
    link = b.link_of(net)
    hlr = b.ours("hlr")
    lte = s.lte and net.lte and net.kind not in ("maritime", "aero")
    if lte:
        t = d.register(t, s, net, vlr % 3, outcome, rng.random() < 0.3)
        if outcome != "ok" or rng.random() > b.p["sgs_share"]:
            return t
        t += rng.uniform(0.5, 3)
    use_mgt = rng.random() < b.p["mgt_share"]
    called = b.mgt(b.home, s.imsi) if use_mgt else hlr
    vlr_addr = b.addr(net, "vlr", vlr)
    if rng.random() < 0.8 and not lte:
        umts = rng.random() < 0.75
        n = rng.randint(1, 5)
        plmn = M.plmn_bytes(net.mcc, net.mnc) if rng.random() < 0.5 else None
        if net.map_v2:
            t = b.dialogue(t, link, False, called, vlr_addr, M.SAI, M.arg_sai_v2(s.imsi),
                           b.answer_kind(M.SAI, ("result", M.res_sai_v2(rng, n)), 0.01), resp_calling=hlr, version=2)
        else:
            t = b.dialogue(t, link, False, called, vlr_addr, M.SAI, M.arg_sai(s.imsi, n, plmn),
                           b.answer_kind(M.SAI, ("result", M.res_sai(rng, n, umts)), 0.01), resp_calling=hlr)
        t += rng.uniform(0.2, 2.0)
    err = None
    if outcome == "rna":
        err = (M.E_ROAMING_NA, tlv(0x30, integer(0x0A, 0 if not s.barred else 3)))
    elif outcome == "unknown":
        err = (M.E_UNKNOWN_SUB,)
    elif rng.random() < b.p["abort_rate"] / 2:
        err = ("abort",)
    isd = [M.arg_isd(0, None, s.msisdn), M.arg_isd(1, None, s.msisdn)]
    if rng.random() < 0.6:
        isd.append(M.arg_isd(2, None, s.msisdn))
    t = b.location_update(t, link, False, called, vlr_addr, hlr, M.UL,
                          M.arg_ul(s.imsi, net.gt("msc", vlr), net.gt("vlr", vlr), rng.randbytes(4)), isd,
                          M.res_ul(b.home.gt("hlr")), err, multi=rng.random() < b.p["multi_invoke"],
                          version=2 if net.map_v2 else None)
    if err is None and not lte and net.kind not in ("aero",) and rng.random() < 0.4:
        t += rng.uniform(1, 20)
        sgsn = net.gt("sgsn", vlr % 2)
        t = b.location_update(t, link, False, called, b.addr(net, "sgsn", vlr % 2), hlr, M.UGL,
                              M.arg_ugl(s.imsi, sgsn, bytes((10, rng.randrange(256), 0, 1))),
                              [M.arg_isd(0, None, s.msisdn)], M.res_ul(b.home.gt("hlr")))
    return t


def arrive(b: Border, d: Dia, t: float, s: Sub, net: Net, vlr: int, others: list[Net]) -> float:
    """Registration on arrival, with steering of roaming and barred subscribers' rejections and retries."""
    rng = b.rng
    if s.barred:
        for cand in [net, *rng.sample(others, min(len(others), 2))]:
            for _ in range(rng.randint(1, 3)):
                t = register(b, d, t, s, cand, vlr, "unknown" if rng.random() < 0.4 else "rna") + rng.uniform(5, 90)
        return t
    steer = [o for o in others if not o.preferred]
    if net.preferred and steer and rng.random() < b.p["sor_share"]:
        bad = rng.choice(steer)
        for _ in range(rng.randint(1, 4)):
            t = register(b, d, t, s, bad, vlr, "rna") + rng.uniform(3, 40)
    elif rng.random() < b.p["reject_rate"]:  # stale subscription data: rejected once, then fine elsewhere
        t = register(b, d, t, s, net, vlr, "rna" if rng.random() < 0.6 else "unknown") + rng.uniform(10, 120)
    return register(b, d, t, s, net, vlr)


def cancel(b: Border, d: Dia, t: float, s: Sub, net: Net, vlr: int) -> float:
    """Our HLR tells the old VLR the subscriber has moved (CancelLocation / CLR)."""
    if s.lte and net.lte and net.kind not in ("maritime", "aero"):
        t = d.cancel(t, s, net, vlr % 3)
        if b.rng.random() > b.p["sgs_share"]:
            return t
    arg = M.arg_cl_v2(s.imsi) if net.map_v2 else M.arg_cl(s.imsi, 0)
    return b.dialogue(t, b.link_of(net), True, b.addr(net, "vlr", vlr), b.ours("hlr"), M.CL, arg,
                      b.answer_kind(M.CL, ("result", None), 0.01), version=2 if net.map_v2 else None)


def purge(b: Border, d: Dia, t: float, s: Sub, net: Net, vlr: int) -> float:
    if s.lte and net.lte and net.kind not in ("maritime", "aero"):
        return d.purge(t, s, net, vlr % 3)
    if net.map_v2:
        return b.dialogue(t, b.link_of(net), False, b.ours("hlr"), b.addr(net, "vlr", vlr), M.PURGE,
                          M.arg_purge_v2(s.imsi, net.gt("vlr", vlr)), ("result", None), version=2)
    return b.dialogue(t, b.link_of(net), False, b.ours("hlr"), b.addr(net, "vlr", vlr), M.PURGE,
                      M.arg_purge(s.imsi, net.gt("vlr", vlr)), ("result", M.res_purge()))


def call(b: Border, t: float, s: Sub, where) -> None:
    """A call to our subscriber: our GMSC asks our HLR (point codes only); roaming: PRN to the visited MSC."""
    rng = b.rng
    gmsc, hlr = b.internal_pc("gmsc"), b.internal_pc("hlr")
    otid = b.tid()
    sls = otid & 0x0F
    b.put(t, b.internal, True, hlr, gmsc, M.begin(otid, M.aarq(M.SRI), [
        M.invoke(1, M.SRI, M.arg_sri(s.msisdn, b.home.gt("gmsc"), False))]), sls, 1)
    t += b.lat()
    if where is None:
        comps = [M.error(1, M.E_ABSENT)]
    elif where[0] is None:
        comps = [M.result(1, M.SRI, M.res_sri(s.imsi, b.home.cc + "9" + str(rng.randrange(10**7, 10**8))))]
    else:
        net, vlr = where
        msrn = net.gt_prefix + "9" + str(rng.randrange(1000, 9999))
        ans = b.answer_kind(M.PRN, ("result", M.res_prn(msrn)), 0.02)
        if rng.random() < 0.05:
            ans = ("error", M.E_ABSENT)
        t = b.dialogue(t, b.link_of(net), True, b.addr(net, "vlr", vlr), b.ours("hlr"), M.PRN,
                       M.arg_prn(s.imsi, net.gt("msc", vlr), s.msisdn, b.home.gt("gmsc")), ans) + b.lat()
        comps = ([M.result(1, M.SRI, M.res_sri(s.imsi, msrn))] if ans[0] == "result" else [M.error(1, M.E_ABSENT)])
    b.put(t, b.internal, False, gmsc, hlr, M.end(otid, comps, M.aare(M.SRI)), sls)


def optimal_sri(b: Border, t: float, s: Sub, net: Net, where) -> None:
    """A partner under an optimal-routing agreement asks our HLR directly for a call to our subscriber."""
    ans = ("result", M.res_sri(s.imsi, b.home.cc + "9" + str(b.rng.randrange(10**7, 10**8)))) if where else (
        "error", M.E_ABSENT)
    if where and where[0] is not None:
        ans = ("error", M.E_OR_NA) if b.rng.random() < 0.5 else ans
    b.dialogue(t, b.link_of(net), False, b.msisdn_addr(s.msisdn), b.addr(net, "gmsc"), M.SRI,
               M.arg_sri(s.msisdn, net.gt("gmsc"), True), b.answer_kind(M.SRI, ans), resp_calling=b.ours("hlr"))


def mt_sms(b: Border, t: float, s: Sub, sender: Net, where, lookup_only: bool = False) -> None:
    """A foreign SMSC or hub: SRI-SM to our HLR, then (for a subscriber at home) MT-ForwardSM to our MSC."""
    rng = b.rng
    link = b.link_of(sender)
    smsc = sender.gt("smsc", rng.randrange(3))
    if sender.kind == "hub":  # a hub's own GT on the wire, the originating network's SMSC in the MAP argument
        cc, _mcc, _la, _lo = rng.choice(list(COUNTRIES.values()))
        smsc = cc + str(rng.randrange(10**7, 10**8))
    hr = b.p["sms_home_routing"]
    if where is None or rng.random() < b.p["absent_rate"]:
        ans = ("error", M.E_ABSENT_SM)
    elif s.barred and rng.random() < 0.5:
        ans = ("error", rng.choice([M.E_CALL_BARRED, M.E_TELESERVICE_NP, M.E_UNKNOWN_SUB]))
    elif hr:  # SMS home routing: a correlation IMSI and our SMS router's address
        corr = b.home.mcc + b.home.mnc + "99" + f"{rng.randrange(10**8):08d}"
        ans = ("result", M.res_srism(corr[:15], b.home.gt("router")))
    else:
        net, vlr = where
        ans = ("result", M.res_srism(s.imsi, (net or b.home).gt("msc", vlr)))
    ans = b.answer_kind(M.SRISM, ans)
    v2 = 2 if sender.map_v2 else None
    t = b.dialogue(t, link, False, b.msisdn_addr(s.msisdn), b.addr(sender, "smsc"), M.SRISM,
                   M.arg_srism(s.msisdn, smsc), ans, resp_calling=b.ours("hlr"), version=v2)
    if lookup_only:
        return
    if ans[0] == "error" and ans[1] == M.E_ABSENT_SM:
        if rng.random() < 0.7:  # the SMSC asks to be alerted when the subscriber is back
            b.dialogue(t + rng.uniform(0.1, 2), link, False, b.ours("hlr"), b.addr(sender, "smsc"), M.RSMDS,
                       M.arg_rsmds(s.msisdn, smsc, 1), ("result", None))
            if rng.random() < 0.5:
                b.dialogue(t + rng.uniform(600, 20000), link, True, b.addr(sender, "smsc"), b.ours("hlr"),
                           M.ALERTSC, M.arg_alertsc(s.msisdn, smsc), ("result", None))
        return
    if ans[0] != "result" or not (hr or where[0] is None):
        return  # delivered abroad by the sender directly: not seen here
    dest = b.ours("router") if hr else b.ours("msc", where[1])
    tpdu = M.sms_deliver(rng.choice([sender.cc + str(rng.randrange(10**8, 10**9)), "BANK", "Courier", "OTP"]),
                         _text(rng), _scts(t))
    long_ = len(tpdu) > 120
    ok = b.answer_kind(M.MTFSM, ("result", None) if rng.random() > 0.04 else ("error", M.E_SM_FAIL))
    b.dialogue(t + rng.uniform(0.1, 3), link, False, dest, b.addr(sender, "smsc"), M.FSM_V2 if v2 else M.MTFSM,
               M.arg_mtfsm(s.imsi, smsc, tpdu), ok, empty_begin=long_ and rng.random() < b.p["empty_begin"],
               version=v2, ac_op=M.MTFSM)


def home_sms_to_roamer(b: Border, t: float, s: Sub, net: Net, vlr: int) -> None:
    """Our SMSC delivers to a roamer: SRI-SM inside (point codes), then MT-ForwardSM to the visited MSC."""
    rng = b.rng
    smsc_pc, hlr_pc = b.internal_pc("smsc"), b.internal_pc("hlr")
    otid = b.tid()
    b.put(t, b.internal, True, hlr_pc, smsc_pc, M.begin(otid, M.aarq(M.SRISM), [
        M.invoke(1, M.SRISM, M.arg_srism(s.msisdn, b.home.gt("smsc")))]), otid & 15, 1)
    t += b.lat()
    b.put(t, b.internal, False, smsc_pc, hlr_pc, M.end(otid, [M.result(1, M.SRISM, M.res_srism(
        s.imsi, net.gt("msc", vlr)))], M.aare(M.SRISM)), otid & 15)
    tpdu = M.sms_deliver(b.home.cc + str(rng.randrange(10**8, 10**9)), _text(rng), _scts(t))
    ans = b.answer_kind(M.MTFSM, ("result", None) if rng.random() > 0.05 else ("error", M.E_ABSENT_SM))
    b.dialogue(t + b.lat(), b.link_of(net), True, b.addr(net, "msc", vlr), b.ours("smsc"), M.MTFSM,
               M.arg_mtfsm(s.imsi, b.home.gt("smsc"), tpdu), ans,
               empty_begin=len(tpdu) > 120 and rng.random() < b.p["empty_begin"])


def mo_sms(b: Border, t: float, s: Sub, net: Net, vlr: int) -> None:
    rng = b.rng
    tpdu = M.sms_submit(b.home.cc + str(rng.randrange(10**8, 10**9)), _text(rng, 2, 120), rng.randrange(256))
    b.dialogue(t, b.link_of(net), False, b.ours("smsc"), b.addr(net, "msc", vlr), M.MOFSM,
               M.arg_mofsm(b.home.gt("smsc"), s.msisdn, tpdu, s.imsi), b.answer_kind(M.MOFSM, ("result", None)))


def ussd(b: Border, t: float, s: Sub, net: Net, vlr: int) -> None:
    res = tlv(0x30, tlv(0x04, b"\x0f") + tlv(0x04, M._pack("Balance 12.40 EUR. Roaming pass active")))
    b.dialogue(t, b.link_of(net), False, b.ours("hlr"), b.addr(net, "vlr", vlr), M.USSD,
               M.arg_ussd("*100#", s.msisdn), ("result", res), refs=(s.imsi, net.gt("vlr", vlr)))


def outbound_sms(b: Border, t: float, dest: Net) -> None:
    """Our SMSC sends to a foreign number: SRI-SM to its HLR (routed on the number), MT-ForwardSM to its MSC."""
    rng = b.rng
    msisdn = number(rng, dest)
    imsi = (dest.mcc + dest.mnc + f"{rng.randrange(10**10):010d}")[:15]
    vlr = rng.randrange(4)
    ok = rng.random() > 0.15
    ans = ("result", M.res_srism(imsi, dest.gt("msc", vlr))) if ok else ("error", M.E_ABSENT_SM)
    link = b.link_of(dest)
    if rng.random() < b.p["udts_rate"]:  # a number the far side cannot route: the request comes back as UDTS
        b.dialogue(t, link, True, b.msisdn_addr(msisdn), b.ours("smsc"), M.SRISM,
                   M.arg_srism(msisdn, b.home.gt("smsc")), ("none",))
        req = b.msgs[-1]
        b.msgs.append(Msg(t + b.lat(), True, link, False, req.payload, req.calling, req.called, req.sls,
                          udts=rng.choice([0, 1])))
        return
    t = b.dialogue(t, link, True, b.msisdn_addr(msisdn), b.ours("smsc"), M.SRISM,
                   M.arg_srism(msisdn, b.home.gt("smsc")), b.answer_kind(M.SRISM, ans),
                   resp_calling=b.addr(dest, "hlr"))
    if ok:
        tpdu = M.sms_deliver(b.home.cc + str(rng.randrange(10**8, 10**9)), _text(rng), _scts(t))
        b.dialogue(t + b.lat(), link, True, b.addr(dest, "msc", vlr), b.ours("smsc"), M.MTFSM,
                   M.arg_mtfsm(imsi, b.home.gt("smsc"), tpdu), b.answer_kind(M.MTFSM, ("result", None)),
                   empty_begin=len(tpdu) > 120 and rng.random() < b.p["empty_begin"])


def outbound_psi(b: Border, t: float, s: Sub, net: Net, vlr: int) -> None:
    """Our HLR (for our gsmSCF's location service) asks the visited VLR where our roamer is."""
    cell = M.cgi(net.mcc, net.mnc, b.rng.randrange(1, 60000), b.rng.randrange(1, 60000))
    b.dialogue(t, b.link_of(net), True, b.addr(net, "vlr", vlr), b.ours("hlr"), M.PSI, M.arg_psi(s.imsi),
               b.answer_kind(M.PSI, ("result", M.res_location(net.gt("vlr", vlr), cell, b.rng.randrange(60)))))


def visitor(b: Border, d: Dia, t: float, net: Net, imsi: str, msisdn: str, leave: float | None, calls: list[float],
            lte: bool) -> None:
    """A partner's subscriber in our network: our VLR registers it with their HLR; their HLR later cancels it."""
    rng = b.rng
    if lte and net.lte:
        d.visitor(t, net, imsi, msisdn, leave)
        return
    link = b.link_of(net)
    vlr = rng.randrange(4)
    their_hlr = b.addr(net, "hlr")
    called = b.mgt(net, imsi)
    t = b.dialogue(t, link, True, called, b.ours("vlr", vlr), M.SAI, M.arg_sai(imsi, 3),
                   ("result", M.res_sai(rng, 3, True)), resp_calling=their_hlr) + 0.5
    isd = [M.arg_isd(0, None, msisdn), M.arg_isd(1, None, msisdn)]
    b.location_update(t, link, True, called, b.ours("vlr", vlr), their_hlr, M.UL,
                      M.arg_ul(imsi, b.home.gt("msc", vlr), b.home.gt("vlr", vlr)), isd, M.res_ul(net.gt("hlr")))
    for c in calls:
        if leave is None or c < leave:
            b.dialogue(c, link, False, b.ours("vlr", vlr), their_hlr, M.PRN,
                       M.arg_prn(imsi, b.home.gt("msc", vlr), msisdn, net.gt("gmsc")),
                       ("result", M.res_prn(b.home.cc + "9" + str(rng.randrange(10**7, 10**8)))))
    stop = leave if leave is not None else t + 2 * 86400
    if rng.random() < 0.08:  # their HLR changes the profile, or their gsmSCF asks where their subscriber is
        when = rng.uniform(t, stop)
        if rng.random() < 0.5:
            b.dialogue(when, link, False, b.ours("vlr", vlr), their_hlr, M.ISD, M.arg_isd(1, imsi, msisdn),
                       ("result", M.res_isd()))
        else:
            cell = M.cgi(b.home.mcc, b.home.mnc, rng.randrange(1, 9000), rng.randrange(1, 60000))
            b.dialogue(when, link, False, b.ours("vlr", vlr), their_hlr, M.PSI, M.arg_psi(imsi),
                       ("result", M.res_location(b.home.gt("vlr", vlr), cell, rng.randrange(30))))
    if leave is not None:
        b.dialogue(leave, link, False, b.ours("vlr", vlr), their_hlr, M.CL, M.arg_cl(imsi, 0), ("result", None))
