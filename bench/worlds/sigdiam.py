"""Diameter (RFC 6733) and S6a/S6d (3GPP TS 29.272) encoding for the independent signalling world.

``request``/``answer`` build whole messages; the ``avp_*`` helpers build AVPs (3GPP AVPs carry vendor 10415).
"""

from __future__ import annotations

import struct

from sigwire import tbcd

S6A = 16777251
VENDOR = 10415
ULR, CLR, AIR, IDR, DSR, PUR, NOR = 316, 317, 318, 319, 320, 321, 323
CER, DWR = 257, 280
UDR, RIR = 306, 8388622  # Sh User-Data, SLh LCS-Routing-Info: never legitimate across the interconnect here
CMD_NAMES = {ULR: "Update-Location", CLR: "Cancel-Location", AIR: "Authentication-Information",
             IDR: "Insert-Subscriber-Data", DSR: "Delete-Subscriber-Data", PUR: "Purge-UE", NOR: "Notify",
             UDR: "User-Data", RIR: "LCS-Routing-Info"}
APP = {UDR: 16777217, RIR: 16777291}  # Sh, SLh; everything else S6a/S6d

# experimental result codes (TS 29.272 §7.4.3)
USER_UNKNOWN, ROAMING_NOT_ALLOWED, UNKNOWN_EPS_SUBSCRIPTION, RAT_NOT_ALLOWED = 5001, 5004, 5420, 5421


def avp(code: int, data: bytes, vendor: bool = False, mandatory: bool = True) -> bytes:
    flags = (0x80 if vendor else 0) | (0x40 if mandatory else 0)
    head = struct.pack("!IB", code, flags) + (8 + len(data) + (4 if vendor else 0)).to_bytes(3, "big")
    if vendor:
        head += struct.pack("!I", VENDOR)
    return head + data + b"\x00" * (-len(data) % 4)


def u32(code: int, value: int, vendor: bool = False) -> bytes:
    return avp(code, struct.pack("!I", value), vendor)


def utf8(code: int, text: str, vendor: bool = False) -> bytes:
    return avp(code, text.encode(), vendor)


def _common(session: str, host: str, realm: str, dest_realm: str, dest_host: str | None, app: int) -> bytes:
    out = utf8(263, session)
    out += avp(260, u32(266, VENDOR) + u32(258, app))  # Vendor-Specific-Application-Id
    out += u32(277, 1)  # Auth-Session-State NO_STATE_MAINTAINED
    out += utf8(264, host) + utf8(296, realm)
    if dest_host:
        out += utf8(293, dest_host)
    return out + utf8(283, dest_realm)


def header(cmd: int, request: bool, app: int, hbh: int, e2e: int, body: bytes, proxiable: bool = True) -> bytes:
    flags = (0x80 if request else 0) | (0x40 if proxiable else 0)
    return struct.pack("!B", 1) + (20 + len(body)).to_bytes(3, "big") + struct.pack(
        "!B", flags) + cmd.to_bytes(3, "big") + struct.pack("!III", app, hbh, e2e) + body


def request(cmd: int, hbh: int, e2e: int, session: str, host: str, realm: str, dest_realm: str,
            imsi: str, extra: bytes = b"", dest_host: str | None = None) -> bytes:
    """A request naming its subject by User-Name (IMSI); Sh names it by User-Identity, given in ``extra``."""
    app = APP.get(cmd, S6A)
    body = _common(session, host, realm, dest_realm, dest_host, app) + (utf8(1, imsi) if imsi else b"") + extra
    return header(cmd, True, app, hbh, e2e, body)


def answer(cmd: int, hbh: int, e2e: int, session: str, host: str, realm: str, result: int | None = 2001,
           experimental: int | None = None, extra: bytes = b"") -> bytes:
    app = APP.get(cmd, S6A)
    body = utf8(263, session) + avp(260, u32(266, VENDOR) + u32(258, app)) + u32(277, 1)
    if experimental:
        body += avp(297, u32(266, VENDOR) + u32(298, experimental))
    elif result is not None:
        body += u32(268, result)
    body += utf8(264, host) + utf8(296, realm) + extra
    return header(cmd, False, app, hbh, e2e, body)


def sh_user(msisdn: str, data_reference: int = 14) -> bytes:
    """Sh UDR body: User-Identity (MSISDN) and Data-Reference (14 = UserState; 13 = LocationInformation)."""
    return avp(700, avp(701, tbcd(msisdn), True), True) + u32(703, data_reference, True)


def plmn(mcc: str, mnc: str) -> bytes:
    d = mcc + (mnc if len(mnc) == 3 else mnc + "F")
    return bytes((int(d[1]) << 4 | int(d[0]), int(d[5], 16) << 4 | int(d[2]), int(d[4]) << 4 | int(d[3])))


def ulr_extra(visited: bytes, flags: int = 0x22) -> bytes:
    return u32(1032, 1004, True) + u32(1405, flags, True) + avp(1407, visited, True)


def air_extra(visited: bytes, vectors: int) -> bytes:
    req = avp(1408, u32(1410, vectors, True) + u32(1412, 0, True), True)
    return req + avp(1407, visited, True)


def aia_extra(rng, vectors: int) -> bytes:
    vecs = b"".join(avp(1414, u32(1419, i + 1, True) + avp(1447, rng.randbytes(16), True)
                        + avp(1448, rng.randbytes(8), True) + avp(1449, rng.randbytes(16), True)
                        + avp(1450, rng.randbytes(32), True), True) for i in range(vectors))
    return avp(1413, vecs, True)


def subscription_data(msisdn: str, apn: str) -> bytes:
    """Subscription-Data: MSISDN, status, access mode, AMBR and one APN configuration."""
    ambr = avp(1435, u32(516, 50_000_000, True) + u32(515, 150_000_000, True), True)
    qos = avp(1431, u32(1028, 9, True) + avp(1034, u32(1046, 8, True) + u32(1047, 1, True)
                                                + u32(1048, 0, True), True), True)
    apn_conf = avp(1430, u32(1423, 1, True) + u32(1456, 0, True) + utf8(493, apn) + qos + ambr, True)
    profile = avp(1429, u32(1423, 1, True) + u32(1428, 0, True) + apn_conf, True)
    return avp(1400, avp(701, tbcd(msisdn), True) + u32(1424, 0, True) + u32(1417, 2, True) + ambr + profile,
               True)


def cer(request_: bool, host: str, realm: str, hbh: int, e2e: int, ip: bytes) -> bytes:
    """Capabilities-Exchange request or answer advertising S6a."""
    body = (u32(268, 2001) if not request_ else b"") + utf8(264, host) + utf8(296, realm)
    body += avp(257, b"\x00\x01" + ip) + u32(266, 0) + avp(269, b"border-dea", mandatory=False)
    body += avp(260, u32(266, VENDOR) + u32(258, S6A))
    return header(CER, request_, 0, hbh, e2e, body, proxiable=False)


def dwr(request_: bool, host: str, realm: str, hbh: int, e2e: int) -> bytes:
    """Device-Watchdog request or answer."""
    body = (u32(268, 2001) if not request_ else b"") + utf8(264, host) + utf8(296, realm)
    return header(DWR, request_, 0, hbh, e2e, body, proxiable=False)
