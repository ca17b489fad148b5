"""TCAP/MAP messages encoded with pycrate's ASN.1 (TCAP_MAPv2v3), and Diameter S6a/Sh/SLh messages.

pycrate costs ~0.4 ms per ``to_ber``; a world has tens of thousands of messages. So each MAP operation is
encoded once by pycrate as a *template* with sentinel values, the byte offsets of the sentinels are found,
and every message is that template with its own fixed-length values (transaction id, IMSI, MSISDN, node
addresses) written in place. The bytes are exactly what pycrate would produce for those values (all
identifiers of one kind have one length), which a test checks by decoding them back with pycrate.

Diameter is a simple TLV format and is built directly (RFC 6733 header and AVPs, 3GPP TS 29.272 AVPs).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from custodiet.simulate.signalling.pcap import isdn_address, tbcd

IMSI_LEN, MSISDN_LEN, GT_LEN = 15, 12, 12
_SENTINEL_OTID = b"\xfa\xce\xb0\x0c"
_SENTINEL_IMSI = "909192939495969"
_SENTINEL_MSISDN = "818283848586"
_SENTINEL_GT = "727374757677"
_DIALOGUE_AS_ID = (0, 0, 17, 773, 1, 1, 1)
_REQUESTED_INFO = {"locationInformation": 0, "subscriberState": 0}


@dataclass(frozen=True)
class MapOp:
    opcode: int
    name: str
    app_context: int  # X in 0.4.0.0.1.0.X.v
    version: int
    arg_type: tuple[str, str]  # (ASN.1 module, type) of the invoke argument
    build: Callable[[bytes, bytes, bytes], Any]  # (imsi TBCD, msisdn ISDN, node ISDN) -> argument value
    needs: tuple[str, ...]  # which identities the argument carries: imsi, msisdn, gt


MAP_OPS: dict[int, MapOp] = {op.opcode: op for op in [
    MapOp(2, "updateLocation", 1, 3, ("MAP-MS-DataTypes", "UpdateLocationArg"),
          lambda i, m, g: {"imsi": i, "msc-Number": g, "vlr-Number": g}, ("imsi", "gt")),
    MapOp(3, "cancelLocation", 2, 3, ("MAP-MS-DataTypes", "CancelLocationArg"),
          lambda i, m, g: {"identity": ("imsi", i), "cancellationType": "updateProcedure"}, ("imsi",)),
    MapOp(4, "provideRoamingNumber", 3, 3, ("MAP-CH-DataTypes", "ProvideRoamingNumberArg"),
          lambda i, m, g: {"imsi": i, "msc-Number": g}, ("imsi", "gt")),
    MapOp(7, "insertSubscriberData", 16, 3, ("MAP-MS-DataTypes", "InsertSubscriberDataArg"),
          lambda i, m, g: {"imsi": i, "msisdn": m}, ("imsi", "msisdn")),
    MapOp(8, "deleteSubscriberData", 16, 3, ("MAP-MS-DataTypes", "DeleteSubscriberDataArg"),
          lambda i, m, g: {"imsi": i, "regionalSubscriptionIdentifier": b"\x00\x01"}, ("imsi",)),
    MapOp(22, "sendRoutingInfo", 5, 3, ("MAP-CH-DataTypes", "SendRoutingInfoArg"),
          lambda i, m, g: {"msisdn": m, "interrogationType": "basicCall", "gmsc-OrGsmSCF-Address": g},
          ("msisdn", "gt")),
    MapOp(23, "updateGprsLocation", 32, 3, ("MAP-MS-DataTypes", "UpdateGprsLocationArg"),
          lambda i, m, g: {"imsi": i, "sgsn-Number": g, "sgsn-Address": b"\x04\x0a\x00\x00\x01"}, ("imsi", "gt")),
    MapOp(44, "mt-forwardSM", 25, 3, ("MAP-SM-DataTypes", "MT-ForwardSM-Arg"),
          lambda i, m, g: {"sm-RP-DA": ("imsi", i), "sm-RP-OA": ("serviceCentreAddressOA", g),
                           "sm-RP-UI": bytes.fromhex("040b919999999999f90000522030000000000548656c6c6f")},
          ("imsi", "gt")),
    MapOp(45, "sendRoutingInfoForSM", 20, 3, ("MAP-SM-DataTypes", "RoutingInfoForSM-Arg"),
          lambda i, m, g: {"msisdn": m, "sm-RP-PRI": True, "serviceCentreAddress": g}, ("msisdn", "gt")),
    MapOp(56, "sendAuthenticationInfo", 14, 3, ("MAP-MS-DataTypes", "SendAuthenticationInfoArg"),
          lambda i, m, g: {"imsi": i, "numberOfRequestedVectors": 3}, ("imsi",)),
    MapOp(58, "sendIMSI", 26, 2, ("MAP-CommonDataTypes", "ISDN-AddressString"), lambda i, m, g: m, ("msisdn",)),
    MapOp(67, "purgeMS", 27, 3, ("MAP-MS-DataTypes", "PurgeMS-Arg"),
          lambda i, m, g: {"imsi": i, "vlr-Number": g}, ("imsi", "gt")),
    MapOp(70, "provideSubscriberInfo", 28, 3, ("MAP-MS-DataTypes", "ProvideSubscriberInfoArg"),
          lambda i, m, g: {"imsi": i, "requestedInfo": _REQUESTED_INFO}, ("imsi",)),
    MapOp(71, "anyTimeInterrogation", 29, 3, ("MAP-MS-DataTypes", "AnyTimeInterrogationArg"),
          lambda i, m, g: {"subscriberIdentity": ("msisdn", m), "requestedInfo": _REQUESTED_INFO,
                           "gsmSCF-Address": g}, ("msisdn", "gt")),
    MapOp(85, "sendRoutingInfoForLCS", 37, 3, ("MAP-LCS-DataTypes", "RoutingInfoForLCS-Arg"),
          lambda i, m, g: {"mlcNumber": g, "targetMS": ("msisdn", m)}, ("msisdn", "gt")),
]}
MAP_OP_BY_NAME = {op.name: op for op in MAP_OPS.values()}


def message_codec() -> Any:
    from pycrate_asn1dir import TCAP_MAPv2v3

    return TCAP_MAPv2v3.TCAP_MAP_Messages.TCAP_MAP_Message


def acn(op: MapOp) -> tuple[int, ...]:
    return (0, 4, 0, 0, 1, 0, op.app_context, op.version)


@dataclass(frozen=True)
class _Template:
    data: bytes
    offsets: dict[str, list[int]]


def _locate(data: bytes, needles: dict[str, bytes]) -> dict[str, list[int]]:
    """Every offset of every sentinel (a node address may appear twice, e.g. MSC and VLR number)."""
    offsets: dict[str, list[int]] = {}
    for name, needle in needles.items():
        at = data.find(needle)
        while at >= 0:
            offsets.setdefault(name, []).append(at)
            at = data.find(needle, at + len(needle))
    return offsets


_NEEDLES = {"tid": _SENTINEL_OTID, "imsi": tbcd(_SENTINEL_IMSI), "msisdn": isdn_address(_SENTINEL_MSISDN),
            "gt": isdn_address(_SENTINEL_GT)}


@cache
def _invoke_template(opcode: int) -> _Template:
    op = MAP_OPS[opcode]
    arg = op.build(tbcd(_SENTINEL_IMSI), isdn_address(_SENTINEL_MSISDN), isdn_address(_SENTINEL_GT))
    dialogue = {"direct-reference": _DIALOGUE_AS_ID, "encoding": ("single-ASN1-type", ("DialoguePDU", (
        "dialogueRequest", {"protocol-version": (1, 1), "application-context-name": acn(op)})))}
    invoke = {"invokeId": ("present", 1), "opcode": ("local", opcode), "argument": (op.arg_type, arg)}
    codec = message_codec()
    codec.set_val(("begin", {"otid": _SENTINEL_OTID, "dialoguePortion": dialogue,
                             "components": [("basicROS", ("invoke", invoke))]}))
    data = codec.to_ber()
    offsets = _locate(data, _NEEDLES)
    missing = {"tid", *op.needs} - set(offsets)
    if missing:
        raise AssertionError(f"{op.name}: sentinels {sorted(missing)} not found in the template")
    return _Template(data, offsets)


@cache
def _answer_template(opcode: int, error_code: int) -> _Template:
    op = MAP_OPS[opcode]
    dialogue = {"direct-reference": _DIALOGUE_AS_ID, "encoding": ("single-ASN1-type", ("DialoguePDU", (
        "dialogueResponse", {"protocol-version": (1, 1), "application-context-name": acn(op),
                             "result": "accepted", "result-source-diagnostic": ("dialogue-service-user", "null")})))}
    component: tuple[str, Any]
    if error_code:
        component = ("returnError", {"invokeId": ("present", 1), "errcode": ("local", error_code)})
    else:
        component = ("returnResult", {"invokeId": ("present", 1)})
    codec = message_codec()
    codec.set_val(("end", {"dtid": _SENTINEL_OTID, "dialoguePortion": dialogue,
                           "components": [("basicROS", component)]}))
    data = codec.to_ber()
    return _Template(data, _locate(data, {"tid": _SENTINEL_OTID}))


def _fill(template: _Template, values: dict[str, bytes]) -> bytes:
    out = bytearray(template.data)
    for name, ats in template.offsets.items():
        value = values[name]
        for at in ats:
            out[at:at + len(value)] = value
    return bytes(out)


def map_invoke(opcode: int, tid: int, imsi: str = "", msisdn: str = "", node_gt: str = "") -> bytes:
    """TCAP Begin with one MAP invoke. ``node_gt`` is the address inside the argument (VLR, SMSC, gsmSCF)."""
    op = MAP_OPS[opcode]
    values = {"tid": struct.pack("!I", tid)}
    if "imsi" in op.needs:
        values["imsi"] = tbcd(_check(imsi, IMSI_LEN, "imsi"))
    if "msisdn" in op.needs:
        values["msisdn"] = isdn_address(_check(msisdn, MSISDN_LEN, "msisdn"))
    if "gt" in op.needs:
        values["gt"] = isdn_address(_check(node_gt, GT_LEN, "node_gt"))
    return _fill(_invoke_template(opcode), values)


def map_answer(opcode: int, tid: int, error_code: int = 0) -> bytes:
    """TCAP End answering ``tid``: returnResult, or returnError with a MAP error code."""
    return _fill(_answer_template(opcode, error_code), {"tid": struct.pack("!I", tid)})


def _check(value: str, length: int, what: str) -> str:
    if len(value) != length or not value.isdigit():
        raise ValueError(f"{what} {value!r} must be {length} digits (templates have fixed lengths)")
    return value


# -- Diameter ------------------------------------------------------------------------------------------
VENDOR_3GPP = 10415
APP_S6A, APP_SH, APP_SLH = 16777251, 16777217, 16777291
DIAMETER_COMMANDS = {316: ("Update-Location", APP_S6A), 317: ("Cancel-Location", APP_S6A),
                     318: ("Authentication-Information", APP_S6A), 319: ("Insert-Subscriber-Data", APP_S6A),
                     320: ("Delete-Subscriber-Data", APP_S6A), 321: ("Purge-UE", APP_S6A),
                     323: ("Notify", APP_S6A), 306: ("User-Data", APP_SH),
                     8388622: ("LCS-Routing-Info", APP_SLH)}


def avp(code: int, data: bytes, vendor: int = 0, mandatory: bool = True) -> bytes:
    flags = (0x80 if vendor else 0) | (0x40 if mandatory else 0)
    head_len = 12 if vendor else 8
    length = head_len + len(data)
    head = struct.pack("!IB", code, flags) + length.to_bytes(3, "big")
    if vendor:
        head += struct.pack("!I", vendor)
    return head + data + b"\x00" * (-length % 4)


def _u32(code: int, value: int, vendor: int = 0) -> bytes:
    return avp(code, struct.pack("!I", value), vendor)


def plmn_id(mcc_mnc: str) -> bytes:
    """3GPP PLMN identity (TS 24.008 10.5.1.3) of ``"MCC-MNC"``."""
    mcc, mnc = mcc_mnc.split("-")
    mnc3 = mnc[2] if len(mnc) == 3 else "F"
    return bytes([int(mcc[1]) << 4 | int(mcc[0]), int(mnc3, 16) << 4 | int(mcc[2]), int(mnc[1]) << 4 | int(mnc[0])])


def diameter_message(command: int, request: bool, hop: int, origin_host: str, origin_realm: str,
                     dest_realm: str, imsi: str = "", msisdn: str = "", visited_plmn: str = "",
                     result_code: int = 2001) -> bytes:
    """One Diameter request (or its answer) with the AVPs a home network's edge would see."""
    _, app = DIAMETER_COMMANDS[command]
    session = f"{origin_host};{hop};{command}".encode()
    avps = [avp(263, session), _u32(277, 1), avp(264, origin_host.encode()), avp(296, origin_realm.encode())]
    if request:
        avps.append(avp(283, dest_realm.encode()))
        if imsi:
            avps.append(avp(1, imsi.encode()))
        if command in (306, 8388622) and msisdn:
            identity = avp(701, tbcd(msisdn), VENDOR_3GPP)
            avps.append(avp(700, identity, VENDOR_3GPP) if command == 306 else identity)
        if command == 316:
            avps += [_u32(1032, 1004, VENDOR_3GPP), _u32(1405, 0x22, VENDOR_3GPP)]
        if command in (316, 318) and visited_plmn:
            avps.append(avp(1407, plmn_id(visited_plmn), VENDOR_3GPP))
        if command == 318:
            avps.append(avp(1408, _u32(1410, 1, VENDOR_3GPP), VENDOR_3GPP))
        if command == 317:
            avps.append(_u32(1420, 0, VENDOR_3GPP))  # MME_UPDATE_PROCEDURE
        if command == 319:
            avps.append(avp(1400, _u32(1424, 0, VENDOR_3GPP), VENDOR_3GPP))  # Subscriber-Status SERVICE_GRANTED
        if command == 306:
            avps.append(_u32(703, 14, VENDOR_3GPP))  # Data-Reference: LocationInformation
    else:
        avps.append(_u32(268, result_code))
    avps.append(_u32(258, app))
    body = b"".join(avps)
    length = 20 + len(body)
    flags = 0xC0 if request else 0x40  # R, P
    return (bytes([1]) + length.to_bytes(3, "big") + bytes([flags]) + command.to_bytes(3, "big")
            + struct.pack("!III", app, hop, hop ^ 0x5A5A5A5A) + body)
