"""Diameter (RFC 6733) messages and the AVPs Custodiet needs, for S6a/S6d (TS 29.272), Sh
(TS 29.328/329), Cx/Dx (TS 29.228/229), Rx (TS 29.214), SLh/SLg (TS 29.173/172), S6c/SGd (TS 29.338)
and, for context, Gx/Gy Credit-Control.

Hand-written: header, then a flat walk of top-level AVPs (and the few grouped AVPs we look into).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from custodiet.ingest.signalling.ber import tbcd

COMMANDS: dict[int, tuple[str, str]] = {  # command code -> (name, data_kind)
    316: ("Update-Location", "registration"), 317: ("Cancel-Location", "registration"),
    318: ("Authentication-Information", "auth_vectors"), 319: ("Insert-Subscriber-Data", "intercept"),
    320: ("Delete-Subscriber-Data", "intercept"), 321: ("Purge-UE", "registration"),
    322: ("Reset", "registration"), 323: ("Notify", "registration"), 324: ("ME-Identity-Check", "imei"),
    306: ("User-Data", "subscriber"), 307: ("Profile-Update", "subscriber"),
    308: ("Subscribe-Notifications", "location"), 309: ("Push-Notification", "subscriber"),
    8388620: ("Provide-Location", "location"), 8388621: ("Location-Report", "location"),
    8388622: ("LCS-Routing-Info", "location"),
    300: ("User-Authorization", "registration"), 301: ("Server-Assignment", "registration"),
    302: ("Location-Info", "call_route"), 303: ("Multimedia-Auth", "auth_vectors"),
    304: ("Registration-Termination", "registration"), 305: ("Push-Profile", "subscriber"),
    8388645: ("MO-Forward-Short-Message", "sms"), 8388646: ("MT-Forward-Short-Message", "sms"),
    8388647: ("Send-Routing-Info-for-SM", "sms_route"), 8388648: ("Alert-Service-Centre", "sms_route"),
    272: ("Credit-Control", "service"), 265: ("AA", "service"), 258: ("Re-Auth", "service"),
    271: ("Accounting", "service"), 274: ("Abort-Session", "service"), 275: ("Session-Termination", "service"),
}
PEER_COMMANDS = {257: "Capabilities-Exchange", 280: "Device-Watchdog", 282: "Disconnect-Peer"}
APPLICATIONS = {0: "base", 4: "Gy", 16777238: "Gx", 16777251: "S6a/S6d", 16777217: "Sh", 16777291: "SLh",
                16777255: "SLg", 16777252: "S13", 16777216: "Cx/Dx", 16777236: "Rx", 16777265: "SWx",
                16777272: "S6b", 16777250: "STa", 16777264: "SWm", 16777312: "S6c", 16777313: "SGd",
                16777308: "S6t", 16777345: "S6m"}
# Result codes by which the server refused the request: outcome "denied".
DENIAL_RESULTS = frozenset({5003, 5004, 5421, 5490, 4100, 5100, 5101})

AVP_USER_NAME, AVP_SESSION_ID, AVP_ORIGIN_HOST, AVP_ORIGIN_REALM = 1, 263, 264, 296
AVP_DESTINATION_HOST, AVP_DESTINATION_REALM, AVP_RESULT_CODE, AVP_EXPERIMENTAL_RESULT = 293, 283, 268, 297
AVP_EXPERIMENTAL_RESULT_CODE = 298
AVP_SUBSCRIPTION_ID, AVP_SUBSCRIPTION_ID_TYPE, AVP_SUBSCRIPTION_ID_DATA = 443, 450, 444
AVP_VISITED_PLMN_ID, AVP_MSISDN, AVP_USER_IDENTITY, AVP_PUBLIC_IDENTITY = 1407, 701, 700, 601
# UTF8String / DiameterIdentity AVPs kept as they are, by the field name they get in ``DiameterMessage.avps``
TEXT_AVPS = {AVP_ORIGIN_HOST: "origin_host", AVP_ORIGIN_REALM: "origin_realm", AVP_USER_NAME: "user_name",
             AVP_DESTINATION_REALM: "destination_realm", AVP_DESTINATION_HOST: "destination_host",
             AVP_SESSION_ID: "session_id"}


class DiameterError(ValueError):
    """A malformed Diameter message."""


@dataclass(slots=True)
class DiameterMessage:
    request: bool
    command_code: int
    application_id: int
    hop_by_hop: int
    end_to_end: int
    raw: bytes
    avps: dict[str, str] = field(default_factory=dict)  # the fields we keep, as text
    result_code: int | None = None  # Result-Code, or else the Experimental-Result-Code
    experimental_result_code: int | None = None  # Experimental-Result's code, when the answer has one

    @property
    def command_name(self) -> str:
        known = COMMANDS.get(self.command_code)
        if known:
            return known[0]
        return PEER_COMMANDS.get(self.command_code, f"command-{self.command_code}")


def plmn_id(data: bytes) -> str | None:
    """MCC-MNC ("310-260") of a 3-octet PLMN identity (TS 24.008 encoding), or None."""
    if len(data) != 3:
        return None
    mcc = f"{data[0] & 0x0F}{data[0] >> 4}{data[1] & 0x0F}"
    mnc3 = data[1] >> 4
    mnc = f"{data[2] & 0x0F}{data[2] >> 4}" + ("" if mnc3 == 0x0F else str(mnc3))
    if not (mcc + mnc).isdigit():
        return None
    return f"{mcc}-{mnc}"


def parse(raw: bytes) -> DiameterMessage:
    if len(raw) < 20:
        raise DiameterError(f"Diameter: message of {len(raw)} bytes is shorter than its header")
    if raw[0] != 1:
        raise DiameterError(f"Diameter: version {raw[0]} (expected 1)")
    length = int.from_bytes(raw[1:4], "big")
    if length != len(raw) or length % 4:
        raise DiameterError(f"Diameter: header length {length} does not match the message ({len(raw)} bytes)")
    flags = raw[4]
    code = int.from_bytes(raw[5:8], "big")
    app, hbh, e2e = struct.unpack_from("!III", raw, 8)
    msg = DiameterMessage(bool(flags & 0x80), code, app, hbh, e2e, raw)
    avps = msg.avps
    for avp_code, data in _avps(raw, 20, length):
        name = TEXT_AVPS.get(avp_code)
        if name is not None:
            avps[name] = _text(data)
        elif avp_code == AVP_VISITED_PLMN_ID:
            plmn = plmn_id(data)
            if plmn:
                avps["visited_plmn_id"] = plmn
        elif avp_code == AVP_MSISDN:
            avps["msisdn"] = tbcd(data)
        elif avp_code == AVP_PUBLIC_IDENTITY:  # Cx/Dx: the IMPU at the top level
            avps.setdefault("public_identity", _text(data))
        elif avp_code == AVP_USER_IDENTITY:
            for sub_code, sub in _avps(data, 0, len(data)):
                if sub_code == AVP_MSISDN:
                    avps["msisdn"] = tbcd(sub)
                elif sub_code == AVP_PUBLIC_IDENTITY:
                    avps["public_identity"] = _text(sub)
        elif avp_code == AVP_SUBSCRIPTION_ID:
            kind = value = None
            for sub_code, sub in _avps(data, 0, len(data)):
                if sub_code == AVP_SUBSCRIPTION_ID_TYPE and len(sub) == 4:
                    kind = int.from_bytes(sub, "big")
                elif sub_code == AVP_SUBSCRIPTION_ID_DATA:
                    value = _text(sub)
            if value and kind == 0:
                avps.setdefault("msisdn", value)
            elif value and kind == 1:
                avps.setdefault("subscription_imsi", value)
        elif avp_code == AVP_RESULT_CODE and len(data) == 4:
            msg.result_code = int.from_bytes(data, "big")
        elif avp_code == AVP_EXPERIMENTAL_RESULT:
            for sub_code, sub in _avps(data, 0, len(data)):
                if sub_code == AVP_EXPERIMENTAL_RESULT_CODE and len(sub) == 4:
                    msg.experimental_result_code = int.from_bytes(sub, "big")
    if msg.result_code is None:
        msg.result_code = msg.experimental_result_code
    return msg


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _avps(buf: bytes, off: int, end: int) -> list[tuple[int, bytes]]:
    out = []
    while off + 8 <= end:
        code = int.from_bytes(buf[off : off + 4], "big")
        flags = buf[off + 4]
        alen = int.from_bytes(buf[off + 5 : off + 8], "big")
        head = 12 if flags & 0x80 else 8
        if alen < head or off + alen > end:
            raise DiameterError(f"Diameter: AVP {code} at offset {off} has a bad length {alen}")
        out.append((code, buf[off + head : off + alen]))
        off += (alen + 3) & ~3
    if off < end and end - off >= 4:
        raise DiameterError(f"Diameter: {end - off} trailing bytes after the last AVP")
    return out
