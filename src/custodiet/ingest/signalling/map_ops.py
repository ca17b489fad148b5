"""MAP (3GPP TS 29.002): operation and error names, what each operation reveals (data_kind), and
fast extraction of the few parameters Custodiet needs (IMSI, MSISDN, VLR/MSC/SGSN numbers, ...).

Parameters are found by tag paths that hold for MAP v1/v2 and v3 alike (where a version differs,
e.g. sendAuthenticationInfo v2's bare IMSI, both forms are listed). Operations not listed here fall
back to pycrate's full ASN.1 decode (``map_full``), off the hot path.
"""

from __future__ import annotations

from custodiet.ingest.signalling import ber

OPERATIONS: dict[int, str] = {
    2: "updateLocation", 3: "cancelLocation", 4: "provideRoamingNumber", 5: "noteSubscriberDataModified",
    6: "resumeCallHandling", 7: "insertSubscriberData", 8: "deleteSubscriberData", 9: "sendParameters",
    10: "registerSS", 11: "eraseSS", 12: "activateSS", 13: "deactivateSS", 14: "interrogateSS",
    15: "authenticationFailureReport", 17: "registerPassword", 18: "getPassword",
    19: "processUnstructuredSS-Data", 20: "releaseResources", 21: "mt-ForwardSM-VGCS",
    22: "sendRoutingInfo", 23: "updateGprsLocation", 24: "sendRoutingInfoForGprs", 25: "failureReport",
    26: "noteMsPresentForGprs", 28: "performHandover", 29: "sendEndSignal",
    30: "performSubsequentHandover", 31: "provideSIWFSNumber", 32: "sIWFSSignallingModify",
    33: "processAccessSignalling", 34: "forwardAccessSignalling", 35: "noteInternalHandover",
    36: "cancelVcsgLocation", 37: "reset", 38: "forwardCheckSS-Indication", 39: "prepareGroupCall",
    40: "sendGroupCallEndSignal", 41: "processGroupCallSignalling", 42: "forwardGroupCallSignalling",
    43: "checkIMEI", 44: "mt-ForwardSM", 45: "sendRoutingInfoForSM", 46: "mo-ForwardSM",
    47: "reportSM-DeliveryStatus", 48: "noteSubscriberPresent", 49: "alertServiceCentreWithoutResult",
    50: "activateTraceMode", 51: "deactivateTraceMode", 52: "traceSubscriberActivity",
    53: "updateVcsgLocation", 54: "beginSubscriberActivity", 55: "sendIdentification",
    56: "sendAuthenticationInfo", 57: "restoreData", 58: "sendIMSI", 59: "processUnstructuredSS-Request",
    60: "unstructuredSS-Request", 61: "unstructuredSS-Notify", 62: "anyTimeSubscriptionInterrogation",
    63: "informServiceCentre", 64: "alertServiceCentre", 65: "anyTimeModification", 66: "readyForSM",
    67: "purgeMS", 68: "prepareHandover", 69: "prepareSubsequentHandover", 70: "provideSubscriberInfo",
    71: "anyTimeInterrogation", 72: "ss-InvocationNotification", 73: "setReportingState",
    74: "statusReport", 75: "remoteUserFree", 76: "registerCC-Entry", 77: "eraseCC-Entry",
    78: "secureTransportClass1", 79: "secureTransportClass2", 80: "secureTransportClass3",
    81: "secureTransportClass4", 83: "provideSubscriberLocation", 84: "sendGroupCallInfo",
    85: "sendRoutingInfoForLCS", 86: "subscriberLocationReport", 87: "ist-Alert", 88: "ist-Command",
    89: "noteMM-Event",
}
V2_NAMES = {46: "forwardSM"}  # MAP v1/v2 name where it differs

ERRORS: dict[int, str] = {
    1: "unknownSubscriber", 3: "unknownMSC", 5: "unidentifiedSubscriber", 6: "absentSubscriberSM",
    7: "unknownEquipment", 8: "roamingNotAllowed", 9: "illegalSubscriber", 10: "bearerServiceNotProvisioned",
    11: "teleserviceNotProvisioned", 12: "illegalEquipment", 13: "callBarred", 14: "forwardingViolation",
    15: "cug-Reject", 16: "illegalSS-Operation", 17: "ss-ErrorStatus", 18: "ss-NotAvailable",
    19: "ss-SubscriptionViolation", 20: "ss-Incompatibility", 21: "facilityNotSupported",
    22: "ongoingGroupCall", 25: "noHandoverNumberAvailable", 26: "subsequentHandoverFailure",
    27: "absentSubscriber", 28: "incompatibleTerminal", 29: "shortTermDenial", 30: "longTermDenial",
    31: "subscriberBusyForMT-SMS", 32: "sm-DeliveryFailure", 33: "messageWaitingListFull",
    34: "systemFailure", 35: "dataMissing", 36: "unexpectedDataValue", 37: "pw-RegistrationFailure",
    38: "negativePW-Check", 39: "noRoamingNumberAvailable", 40: "tracingBufferFull",
    42: "targetCellOutsideGroupCallArea", 43: "numberOfPW-AttemptsViolation", 44: "numberChanged",
    45: "busySubscriber", 46: "noSubscriberReply", 47: "forwardingFailed", 48: "or-NotAllowed",
    49: "ati-NotAllowed", 50: "noGroupCallNumberAvailable", 51: "resourceLimitation",
    52: "unauthorizedRequestingNetwork", 53: "unauthorizedLCSClient", 54: "positionMethodFailure",
    58: "unknownOrUnreachableLCSClient", 59: "mm-EventNotSupported", 60: "atsi-NotAllowed",
    61: "atm-NotAllowed", 62: "informationNotAvailable", 71: "unknownAlphabet", 72: "ussd-Busy",
}
# Errors by which the receiver refused the request (outcome "denied" rather than "error").
DENIAL_ERRORS = frozenset({8, 13, 29, 30, 48, 49, 52, 53, 60, 61})

_KINDS = {
    "location": (24, 70, 71, 83, 85, 86, 89),
    "call_route": (4, 6, 22),
    "sms_route": (45, 47, 63, 64, 66),
    "sms": (21, 44, 46),
    "auth_vectors": (15, 55, 56),
    "subscriber": (5, 9, 57, 58, 62),
    "imei": (43,),
    "intercept": (7, 8, 50, 65),
    "registration": (2, 3, 23, 25, 26, 36, 37, 53, 67),
}
DATA_KIND: dict[int, str] = {op: kind for kind, ops in _KINDS.items() for op in ops}
FORWARDING_SS_OPS = frozenset({10, 12})  # registerSS / activateSS of call forwarding: intercept


def op_name(opcode: int | None, ac_version: int | None = None) -> str:
    if opcode is None:
        return "unknown"
    if ac_version is not None and ac_version <= 2 and opcode in V2_NAMES:
        return V2_NAMES[opcode]
    return OPERATIONS.get(opcode, f"op{opcode}")


def data_kind(opcode: int | None, fields: dict[str, str]) -> str:
    if opcode in FORWARDING_SS_OPS:
        code = fields.get("ss_code", "")
        return "intercept" if code[:1] == "2" and len(code) == 2 else "service"  # 0x20-0x2F: forwarding
    return DATA_KIND.get(opcode, "service") if opcode is not None else "service"


# -- parameters ---------------------------------------------------------------------------------
Path = tuple[tuple[int, int], ...]  # (tag, occurrence) steps from the argument's value; () = bare
BARE: Path = ()

_SM_RP: dict[str, list[Path]] = {"imsi": [((0x80, 0),)], "msisdn": [((0x82, 0),)], "smsc": [((0x84, 0),)]}
_SUBSCRIBER_ID_A0: dict[str, list[Path]] = {"imsi": [((0xA0, 0), (0x80, 0))], "msisdn": [((0xA0, 0), (0x81, 0))]}
PARAMETERS: dict[int, dict[str, list[Path]]] = {
    2: {"imsi": [((0x04, 0),)], "msc": [((0x81, 0),)], "vlr": [((0x04, 1),)]},
    3: {"imsi": [((0x04, 0),), ((0x30, 0), (0x04, 0)), (BARE)]},
    4: {"imsi": [((0x80, 0),)], "msc": [((0x81, 0),)], "msisdn": [((0x82, 0),)]},
    5: {"imsi": [((0x04, 0),)], "msisdn": [((0x04, 1),)]},
    7: {"imsi": [((0x80, 0),)], "msisdn": [((0x81, 0),)]},
    8: {"imsi": [((0x80, 0),)]},
    9: {"imsi": [((0xA0, 0), (0x80, 0)), ((0x80, 0),)]},
    10: {"ss_code": [((0x04, 0),)], "forwarded_to": [((0x84, 0),)]},
    11: {"ss_code": [((0x04, 0),)]},
    12: {"ss_code": [((0x04, 0),)]},
    13: {"ss_code": [((0x04, 0),)]},
    14: {"ss_code": [((0x04, 0),)]},
    15: {"imsi": [((0x04, 0),)]},
    22: {"msisdn": [((0x80, 0),)], "gmsc": [((0x86, 0),)]},
    23: {"imsi": [((0x04, 0),)], "sgsn": [((0x04, 1),)]},
    24: {"imsi": [((0x80, 0),)]},
    25: {"imsi": [((0x80, 0),)]},
    26: {"imsi": [((0x80, 0),)]},
    43: {"imei": [BARE, ((0x04, 0),)]},
    44: _SM_RP,
    45: {"msisdn": [((0x80, 0),)], "smsc": [((0x82, 0),)], "imsi": [((0x86, 0),)]},
    46: _SM_RP,
    47: {"msisdn": [((0x04, 0),)], "smsc": [((0x04, 1),)]},
    50: {"imsi": [((0x80, 0),)]},
    55: {"tmsi": [BARE, ((0x04, 0),)]},  # sendIdentification: the TMSI (v2 bare, v3 first in a SEQUENCE)
    56: {"imsi": [BARE, ((0x80, 0),)]},
    57: {"imsi": [((0x04, 0),)]},
    58: {"msisdn": [BARE]},
    59: {"msisdn": [((0x80, 0),)]},
    60: {"msisdn": [((0x80, 0),)]},
    61: {"msisdn": [((0x80, 0),)]},
    62: _SUBSCRIBER_ID_A0,
    65: _SUBSCRIBER_ID_A0,
    66: {"imsi": [((0x80, 0),)]},
    67: {"imsi": [((0x04, 0),)], "vlr": [((0x80, 0),)], "sgsn": [((0x81, 0),)]},
    70: {"imsi": [((0x80, 0),)]},
    71: {**_SUBSCRIBER_ID_A0, "gsmscf": [((0x83, 0),)]},
    72: {"imsi": [((0x80, 0),)], "msisdn": [((0x81, 0),)]},
    73: {"imsi": [((0x80, 0),)], "msisdn": [((0x81, 0),)]},
    74: {"imsi": [((0x80, 0),)]},
    83: {"mlc": [((0x04, 0),)], "imsi": [((0x82, 0),)], "msisdn": [((0x83, 0),)]},
    85: {"mlc": [((0x80, 0),)], "imsi": [((0xA1, 0), (0x80, 0))], "msisdn": [((0xA1, 0), (0x81, 0))]},
    86: {"msisdn": [((0x80, 0),)], "imsi": [((0x81, 0),)]},
    89: {"imsi": [((0x81, 0),)], "msisdn": [((0x82, 0),)]},
}
KNOWN_PARAMETERS = frozenset(PARAMETERS)
# Identities in a result: sendRoutingInfoForSM's RoutingInfoForSM-Res starts with the subscriber's IMSI,
# sendIMSI's result is the IMSI itself (3GPP TS 29.002). They tie the MSISDN asked about to its IMSI.
RESULT_PARAMETERS: dict[int, dict[str, list[Path]]] = {
    45: {"imsi": [((0x04, 0),)]},
    58: {"imsi": [BARE]},
}
IDENTIFIER_FIELDS = ("imsi", "msisdn", "imei", "tmsi")  # the subscriber identities, in order of preference
TBCD_FIELDS = frozenset({"imsi", "imei"})  # TBCD-STRING; other addresses are AddressString
HEX_FIELDS = frozenset({"tmsi", "ss_code"})  # OCTET STRINGs kept as hex


def extract(opcode: int | None, parameter: bytes | None) -> dict[str, str]:
    """Digits of the listed parameters of an invoke's argument (absent ones are left out).

    Raises ``ber.BerError`` when the argument is not well-formed BER.
    """
    return _extract(PARAMETERS.get(opcode) if opcode is not None else None, parameter)


def extract_result(opcode: int | None, parameter: bytes | None) -> dict[str, str]:
    """Digits of the identities in a result's parameter (``RESULT_PARAMETERS``); raises ``ber.BerError``."""
    return _extract(RESULT_PARAMETERS.get(opcode) if opcode is not None else None, parameter)


def _extract(spec: dict[str, list[Path]] | None, parameter: bytes | None) -> dict[str, str]:
    if not spec or not parameter:
        return {}
    tag, vs, ve, _ = ber.tlv(parameter, 0, len(parameter))
    constructed = bool((tag >> 16 if tag > 0xFF else tag) & 0x20)
    out: dict[str, str] = {}
    for name, paths in spec.items():
        for path in paths:
            if not path:
                if constructed or tag != 0x04:
                    continue
                span: tuple[int, int] | None = (vs, ve)
            elif not constructed:
                continue
            else:
                span = _walk(parameter, vs, ve, path)
            if span is None:
                continue
            raw = parameter[span[0] : span[1]]
            if name in TBCD_FIELDS:
                out[name] = ber.tbcd(raw)
            elif name in HEX_FIELDS:
                out[name] = raw.hex()
            else:
                out[name] = ber.address_digits(raw)
            break
    return out


def _walk(buf: bytes, start: int, end: int, path: Path) -> tuple[int, int] | None:
    """Value span at the end of ``path``; TLVs are read only up to each step's match, as BER allows."""
    tlv = ber.tlv
    for tag, nth in path:
        seen = -1
        found = None
        off = start
        while off < end:
            if off + 2 <= end:  # the fast path of ``ber.tlv``, inline
                t, length = buf[off], buf[off + 1]
                if length < 0x80 and t & 0x1F != 0x1F and off + 2 + length <= end:
                    vs, off = off + 2, off + 2 + length
                    if t == tag:
                        seen += 1
                        if seen == nth:
                            found = (vs, off)
                            break
                    continue
            t, vs, ve, off = tlv(buf, off, end)
            if t == tag:
                seen += 1
                if seen == nth:
                    found = (vs, ve)
                    break
        if found is None:
            return None
        start, end = found
    return start, end


def open_info(user_info: bytes | None) -> dict[str, str]:
    """MAP-OpenInfo references from a dialogue's user-information: destination / origination."""
    if not user_info:
        return {}
    try:
        span = _walk(user_info, 0, len(user_info), ((0x28, 0), (0xA0, 0), (0xA0, 0)))
        if span is None:
            return {}
        out = {}
        for tag, name in ((0x80, "destination_reference"), (0x81, "origination_reference")):
            ref = _walk(user_info, span[0], span[1], ((tag, 0),))
            if ref is not None:
                out[name] = ber.address_digits(user_info[ref[0] : ref[1]])
        return out
    except ber.BerError:
        return {}
