"""TCAP (ITU-T Q.773) and MAP (3GPP TS 29.002) encoding for the independent signalling world.

``begin``/``cont``/``end``/``abort`` build TCAP messages; ``invoke``/``result``/``error``/``reject`` build
components; the ``arg_*``/``res_*`` functions build MAP operation parameters in BER, written from the ASN.1
of TS 29.002 (MAP-MS-DataTypes, MAP-SM-DataTypes, MAP-CH-DataTypes, MAP-SS-DataTypes).
"""

from __future__ import annotations

from sigwire import integer, isdn, pack7, tbcd, tlv

# operation codes
UL, CL, PRN, ISD, DSD, REGSS, SRI, UGL, MTFSM, SRISM, MOFSM, RSMDS = 2, 3, 4, 7, 8, 10, 22, 23, 44, 45, 46, 47
FSM_V2 = 46  # MAP v2 forwardSM: the same opcode as mo-forwardSM, carrying MT short messages too
SENDID, SAI, SENDIMSI, USSD, PURGE, PSI, ATI, ALERTSC = 55, 56, 58, 59, 67, 70, 71, 64

# application context (0.4.0.0.1.0.X.v) and version per operation, as a sender of that operation uses it
AC = {UL: (1, 3), CL: (2, 3), PRN: (3, 3), ISD: (16, 3), DSD: (16, 3), REGSS: (18, 2), SRI: (5, 3),
      UGL: (32, 3), MTFSM: (25, 3), SRISM: (20, 3), MOFSM: (21, 3), RSMDS: (20, 3), SENDID: (15, 2),
      SAI: (14, 3), SENDIMSI: (26, 2), USSD: (19, 2), PURGE: (27, 3), PSI: (28, 3), ATI: (29, 3),
      ALERTSC: (23, 2)}

OP_NAMES = {UL: "updateLocation", CL: "cancelLocation", PRN: "provideRoamingNumber", ISD: "insertSubscriberData",
            DSD: "deleteSubscriberData", REGSS: "registerSS", SRI: "sendRoutingInfo", UGL: "updateGprsLocation",
            MTFSM: "mt-forwardSM", SRISM: "sendRoutingInfoForSM", MOFSM: "mo-forwardSM",
            RSMDS: "reportSM-DeliveryStatus", SENDID: "sendIdentification", SAI: "sendAuthenticationInfo",
            SENDIMSI: "sendIMSI", USSD: "processUnstructuredSS-Request", PURGE: "purgeMS",
            PSI: "provideSubscriberInfo", ATI: "anyTimeInterrogation", ALERTSC: "alertServiceCentre"}

# MAP error codes used here
E_UNKNOWN_SUB, E_ABSENT_SM, E_ROAMING_NA, E_TELESERVICE_NP, E_CALL_BARRED = 1, 6, 8, 11, 13
E_FACILITY_NS, E_ABSENT, E_SM_FAIL, E_SYSFAIL, E_DATA_MISSING, E_UNEXPECTED, E_OR_NA, E_ATI_NA = (
    21, 27, 32, 34, 35, 36, 44, 49)

_DIALOGUE_AS = bytes.fromhex("00118605010101")  # 0.0.17.773.1.1.1
_MAP_DIALOGUE_AS = bytes.fromhex("04000001010101")


def _acn(op: int, version: int | None = None) -> bytes:
    ac, v = AC[op]
    return tlv(0x06, bytes((4, 0, 0, 1, 0, ac, version or v)))


def _dialogue(apdu: bytes) -> bytes:
    return tlv(0x6B, tlv(0x28, tlv(0x06, _DIALOGUE_AS) + tlv(0xA0, apdu)))


def aarq(op: int, dest_ref: str | None = None, orig_ref: str | None = None, version: int | None = None) -> bytes:
    """Dialogue portion of a TC-BEGIN: AARQ with the application context and, optionally, MAP-OpenInfo."""
    body = b"\x80\x02\x07\x80" + tlv(0xA1, _acn(op, version))
    if dest_ref or orig_ref:
        refs = (tlv(0x80, isdn(dest_ref, 0x91)) if dest_ref else b"") + (
            tlv(0x81, isdn(orig_ref)) if orig_ref else b"")
        body += tlv(0xBE, tlv(0x28, tlv(0x06, _MAP_DIALOGUE_AS) + tlv(0xA0, tlv(0xA0, refs))))
    return _dialogue(tlv(0x60, body))


def aare(op: int, accepted: bool = True, version: int | None = None) -> bytes:
    """Dialogue portion of the first answer: AARE accepted, or rejected (application context not supported)."""
    result = b"\xa2\x03\x02\x01\x00" if accepted else b"\xa2\x03\x02\x01\x01"
    diag = b"\xa3\x05\xa1\x03\x02\x01\x00" if accepted else b"\xa3\x05\xa1\x03\x02\x01\x02"
    return _dialogue(tlv(0x61, b"\x80\x02\x07\x80" + tlv(0xA1, _acn(op, version)) + result + diag))


def _components(comps: list[bytes]) -> bytes:
    return tlv(0x6C, b"".join(comps)) if comps else b""


def begin(otid: int, dialogue: bytes, comps: list[bytes]) -> bytes:
    return tlv(0x62, tlv(0x48, otid.to_bytes(4, "big")) + dialogue + _components(comps))


def cont(otid: int, dtid: int, comps: list[bytes], dialogue: bytes = b"") -> bytes:
    return tlv(0x65, tlv(0x48, otid.to_bytes(4, "big")) + tlv(0x49, dtid.to_bytes(4, "big")) + dialogue
               + _components(comps))


def end(dtid: int, comps: list[bytes], dialogue: bytes = b"") -> bytes:
    return tlv(0x64, tlv(0x49, dtid.to_bytes(4, "big")) + dialogue + _components(comps))


def abort(dtid: int, cause: int | None = None, dialogue: bytes = b"") -> bytes:
    """TC-ABORT: a P-Abort cause (e.g. 1 unrecognised transaction id), or a dialogue portion (U-Abort)."""
    return tlv(0x67, tlv(0x49, dtid.to_bytes(4, "big")) + (tlv(0x4A, bytes((cause,))) if cause is not None
                                                            else dialogue))


def u_abort() -> bytes:
    return _dialogue(tlv(0x64, b"\x80\x01\x00"))


def invoke(iid: int, op: int, param: bytes) -> bytes:
    return tlv(0xA1, integer(0x02, iid) + integer(0x02, op) + param)


def result(iid: int, op: int, param: bytes | None) -> bytes:
    body = integer(0x02, iid)
    if param is not None:
        body += tlv(0x30, integer(0x02, op) + param)
    return tlv(0xA2, body)


def error(iid: int, code: int, param: bytes = b"") -> bytes:
    return tlv(0xA3, integer(0x02, iid) + integer(0x02, code) + param)


def reject(iid: int, problem: int = 1) -> bytes:
    """Reject an invoke (invoke problem: 0 duplicate, 1 unrecognised operation, 2 mistyped parameter)."""
    return tlv(0xA4, integer(0x02, iid) + integer(0x81, problem))


# -- MAP parameters --------------------------------------------------------------------------------------

def _imsi(tag: int, imsi: str) -> bytes:
    return tlv(tag, tbcd(imsi))


def arg_ul(imsi: str, msc: str, vlr: str, lmsi: bytes | None = None) -> bytes:
    body = _imsi(0x04, imsi) + tlv(0x81, isdn(msc)) + tlv(0x04, isdn(vlr))
    if lmsi:
        body += tlv(0x8A, lmsi)
    body += tlv(0xA6, b"\x80\x02\x05\xe0")  # vlr-Capability: supportedCamelPhases 1-3
    return tlv(0x30, body)


def res_ul(hlr: str) -> bytes:
    return tlv(0x30, tlv(0x04, isdn(hlr)))


def arg_ugl(imsi: str, sgsn: str, sgsn_ip: bytes) -> bytes:
    return tlv(0x30, _imsi(0x04, imsi) + tlv(0x04, isdn(sgsn)) + tlv(0x04, b"\x04" + sgsn_ip))


def arg_cl(imsi: str, ctype: int = 0) -> bytes:
    """CancelLocationArg (v3, [3] SEQUENCE): cancellationType 0 updateProcedure, 1 subscriptionWithdraw."""
    return tlv(0xA3, _imsi(0x04, imsi) + integer(0x0A, ctype))


def arg_cl_v2(imsi: str) -> bytes:
    """CancelLocationArg in MAP v2: the Identity CHOICE, here the IMSI."""
    return _imsi(0x04, imsi)


def arg_purge_v2(imsi: str, vlr: str) -> bytes:
    return tlv(0x30, _imsi(0x04, imsi) + tlv(0x04, isdn(vlr)))


def arg_purge(imsi: str, vlr: str) -> bytes:
    return tlv(0xA3, _imsi(0x04, imsi) + tlv(0x80, isdn(vlr)))


def res_purge() -> bytes:
    return tlv(0x30, b"")


def arg_sai(imsi: str, vectors: int, plmn: bytes | None = None, immediate: bool = True) -> bytes:
    """SendAuthenticationInfoArg (v3): IMSI, vectors, immediateResponsePreferred, requestingNodeType/PLMN-Id."""
    body = _imsi(0x80, imsi) + integer(0x02, vectors) + (b"\x81\x00" if immediate else b"")
    if plmn:
        body += integer(0x83, 0) + tlv(0x84, plmn)
    return tlv(0x30, body)


def arg_sai_v2(imsi: str) -> bytes:
    """SendAuthenticationInfoArg in MAP v2: the IMSI alone."""
    return _imsi(0x04, imsi)


def res_sai_v2(rng, vectors: int) -> bytes:
    """SendAuthenticationInfoRes in MAP v2: a SEQUENCE OF AuthenticationSet (RAND, SRES, Kc)."""
    return tlv(0x30, b"".join(tlv(0x30, tlv(0x04, rng.randbytes(16)) + tlv(0x04, rng.randbytes(4))
                                        + tlv(0x04, rng.randbytes(8))) for _ in range(vectors)))


def res_sai(rng, vectors: int, umts: bool) -> bytes:
    sets = []
    for _ in range(vectors):
        if umts:
            sets.append(tlv(0x30, tlv(0x04, rng.randbytes(16)) + tlv(0x04, rng.randbytes(8))
                            + tlv(0x04, rng.randbytes(16)) + tlv(0x04, rng.randbytes(16))
                            + tlv(0x04, rng.randbytes(16))))
        else:
            sets.append(tlv(0x30, tlv(0x04, rng.randbytes(16)) + tlv(0x04, rng.randbytes(4))
                            + tlv(0x04, rng.randbytes(8))))
    return tlv(0xA3, tlv(0xA1 if umts else 0xA0, b"".join(sets)))


def arg_isd(seg: int, imsi: str | None, msisdn: str, cf_to: str | None = None, scf: str | None = None) -> bytes:
    """InsertSubscriberDataArg: segment 0 identity and status, 1 services, 2 supplementary services / CAMEL."""
    body = _imsi(0x80, imsi) if imsi else b""
    if seg == 0:
        body += tlv(0x81, isdn(msisdn)) + tlv(0x82, b"\x0a") + integer(0x83, 0)
    elif seg == 1:
        body += tlv(0xA4, tlv(0x04, b"\x10")) + tlv(0xA6, tlv(0x04, b"\x11") + tlv(0x04, b"\x21")
                                                  + tlv(0x04, b"\x22"))
    else:
        if cf_to:  # forwardingInfo: CFU active towards cf_to
            ss = tlv(0xA0, tlv(0x04, b"\x21") + tlv(0x30, tlv(0x30, tlv(0x84, b"\x07") + tlv(0x85, isdn(cf_to)))))
        else:  # ss-Data: CLIP and call waiting provisioned
            ss = tlv(0xA3, tlv(0x04, b"\x11") + tlv(0x84, b"\x05")) + tlv(0xA3, tlv(0x04, b"\x41")
                                                                         + tlv(0x84, b"\x05"))
        body += tlv(0xA7, ss)
        if scf:  # vlrCamelSubscriptionInfo [13]: o-CSI with the gsmSCF address
            tdp = tlv(0x30, integer(0x0A, 2) + integer(0x02, 1) + tlv(0x80, isdn(scf)) + integer(0x81, 0))
            body += tlv(0xAD, tlv(0xA0, tlv(0x30, tdp)))
    return tlv(0x30, body)


def res_isd() -> bytes:
    return tlv(0x30, b"")


def arg_dsd(imsi: str) -> bytes:
    return tlv(0x30, _imsi(0x80, imsi) + tlv(0xA1, tlv(0x83, b"\x11")))


def arg_regss(cf_to: str) -> bytes:
    return tlv(0x30, tlv(0x04, b"\x21") + tlv(0x83, b"\x10") + tlv(0x84, isdn(cf_to)))


def arg_prn(imsi: str, msc: str, msisdn: str, gmsc: str) -> bytes:
    return tlv(0x30, _imsi(0x80, imsi) + tlv(0x81, isdn(msc)) + tlv(0x82, isdn(msisdn))
               + tlv(0x88, isdn(gmsc)))


def res_prn(msrn: str) -> bytes:
    return tlv(0x30, tlv(0x04, isdn(msrn)))


def arg_sri(msisdn: str, gmsc: str, optimal: bool) -> bytes:
    body = tlv(0x80, isdn(msisdn)) + integer(0x83, 0)
    if optimal:
        body += tlv(0x84, b"") + integer(0x85, 1)
    return tlv(0x30, body + tlv(0x86, isdn(gmsc)))


def res_sri(imsi: str, msrn: str) -> bytes:
    return tlv(0xA3, _imsi(0x89, imsi) + tlv(0x04, isdn(msrn)))


def arg_srism(msisdn: str, smsc: str) -> bytes:
    return tlv(0x30, tlv(0x80, isdn(msisdn)) + tlv(0x81, b"\xff") + tlv(0x82, isdn(smsc)))


def res_srism(imsi: str, msc: str) -> bytes:
    return tlv(0x30, _imsi(0x04, imsi) + tlv(0xA0, tlv(0x81, isdn(msc))))


def sms_deliver(oa: str, text: str, ts: bytes) -> bytes:
    """SMS-DELIVER TPDU (TS 23.040): numeric or alphanumeric originator, 7-bit text."""
    if oa.isdigit():
        addr = bytes((len(oa), 0x91)) + tbcd(oa)
    else:
        packed = pack7(oa)
        addr = bytes((len(packed) * 2, 0xD0)) + packed
    return b"\x04" + addr + b"\x00\x00" + ts + bytes((len(text),)) + pack7(text)


def sms_submit(da: str, text: str, mr: int) -> bytes:
    return b"\x01" + bytes((mr & 0xFF, len(da), 0x91)) + tbcd(da) + b"\x00\x00" + bytes((len(text),)) + pack7(text)


def arg_mtfsm(imsi: str, smsc: str, tpdu: bytes, more: bool = False) -> bytes:
    return tlv(0x30, _imsi(0x80, imsi) + tlv(0x84, isdn(smsc)) + tlv(0x04, tpdu) + (b"\x05\x00" if more else b""))


def arg_mofsm(smsc: str, msisdn: str, tpdu: bytes, imsi: str) -> bytes:
    return tlv(0x30, tlv(0x84, isdn(smsc)) + tlv(0x82, isdn(msisdn)) + tlv(0x04, tpdu) + _imsi(0x04, imsi))


def arg_rsmds(msisdn: str, smsc: str, outcome: int) -> bytes:
    return tlv(0x30, tlv(0x04, isdn(msisdn)) + tlv(0x04, isdn(smsc)) + integer(0x0A, outcome))


def arg_alertsc(msisdn: str, smsc: str) -> bytes:
    return tlv(0x30, tlv(0x04, isdn(msisdn)) + tlv(0x04, isdn(smsc)))


def arg_ussd(text: str, msisdn: str) -> bytes:
    return tlv(0x30, tlv(0x04, b"\x0f") + tlv(0x04, _pack(text)) + tlv(0x80, isdn(msisdn)))


def _pack(text: str) -> bytes:
    return pack7(text)


def arg_sendimsi(msisdn: str) -> bytes:
    return tlv(0x04, isdn(msisdn))


def res_sendimsi(imsi: str) -> bytes:
    return _imsi(0x04, imsi)


def arg_sendid(tmsi: bytes) -> bytes:
    return tlv(0x04, tmsi)


def res_sendid(imsi: str) -> bytes:
    return tlv(0x30, _imsi(0x04, imsi))


def _requested_info() -> bytes:
    return tlv(0x80, b"") + tlv(0x81, b"")


def arg_psi(imsi: str) -> bytes:
    return tlv(0x30, _imsi(0x80, imsi) + tlv(0xA2, _requested_info()))


def arg_ati(msisdn: str, scf: str) -> bytes:
    return tlv(0x30, tlv(0xA0, tlv(0x81, isdn(msisdn))) + tlv(0xA1, _requested_info()) + tlv(0x83, isdn(scf)))


def res_location(vlr: str, cgi: bytes, age: int) -> bytes:
    """ProvideSubscriberInfoRes / AnyTimeInterrogationRes: location (VLR, cell) and state assumedIdle."""
    loc = integer(0x02, age) + tlv(0x81, isdn(vlr)) + tlv(0xA3, tlv(0x80, cgi))
    return tlv(0x30, tlv(0x30, tlv(0xA0, loc) + tlv(0xA1, b"\x80\x00")))


def plmn_bytes(mcc: str, mnc: str) -> bytes:
    """PLMN-Id: MCC and MNC in the 3-octet TBCD layout of TS 24.008."""
    d = mcc + (mnc if len(mnc) == 3 else mnc + "F")
    return bytes((int(d[1]) << 4 | int(d[0]), int(d[5], 16) << 4 | int(d[2]), int(d[4]) << 4 | int(d[3])))


def cgi(mcc: str, mnc: str, lac: int, ci: int) -> bytes:
    return plmn_bytes(mcc, mnc) + lac.to_bytes(2, "big") + ci.to_bytes(2, "big")
