"""TCAP (ITU-T Q.773): begin, continue, end, abort and unidirectional messages, their transaction
ids, the dialogue's application context and the components (invoke, result, error, reject).

Hand-written over ``ber`` for speed; a component's parameter is kept as bytes for the MAP layer.
"""

from __future__ import annotations

from typing import NamedTuple

from custodiet.ingest.signalling import ber

MESSAGE_TYPES = {0x61: "unidirectional", 0x62: "begin", 0x65: "continue", 0x64: "end", 0x67: "abort"}
COMPONENT_KINDS = {0xA1: "invoke", 0xA2: "result", 0xA7: "result", 0xA3: "error", 0xA4: "reject"}
DIALOGUE_PDUS = {0x60: "request", 0x61: "response", 0x64: "abort"}  # AARQ, AARE, ABRT
P_ABORT_CAUSES = {
    0: "unrecognizedMessageType", 1: "unrecognizedTransactionID", 2: "badlyFormattedTransactionPortion",
    3: "incorrectTransactionPortion", 4: "resourceLimitation",
}


class TcapError(ValueError):
    """A TCAP message that cannot be decoded."""


class Component(NamedTuple):
    kind: str  # invoke | result | error | reject
    invoke_id: int | None
    opcode: int | None  # invoke: the operation; result: the operation if the result carries one
    error_code: int | None  # error: the MAP error code
    parameter: bytes | None  # the BER parameter (whole TLV), if any
    last: bool = True  # False for returnResultNotLast


class TcapMessage(NamedTuple):
    type: str  # begin | continue | end | abort | unidirectional
    otid: str | None  # hex
    dtid: str | None  # hex
    app_context: str | None  # dotted OID from the dialogue portion
    dialogue: str | None  # request | response | abort | None
    dialogue_refused: bool  # AARE with result reject-permanent
    abort_cause: str | None  # p-abort cause name, or "user" for a u-abort
    components: tuple[Component, ...]
    user_info: bytes | None  # the dialogue's user-information (e.g. MAP-OpenInfo), as BER


def parse(data: bytes) -> TcapMessage:
    try:
        return _parse(data)
    except ber.BerError as exc:
        raise TcapError(f"TCAP: {exc}") from None


def _parse(data: bytes) -> TcapMessage:
    end = len(data)
    if end < 2:
        raise TcapError("TCAP: message shorter than a tag and length")
    mtag, vs, ve, _ = ber.tlv(data, 0, end)
    mtype = MESSAGE_TYPES.get(mtag)
    if mtype is None:
        raise TcapError(f"TCAP: unknown message tag 0x{mtag:02x} (ANSI TCAP or not TCAP)")
    otid = dtid = app_context = dialogue = abort_cause = None
    refused = False
    user_info = None
    components: list[Component] = []
    for tag, cs, ce in ber.children(data, vs, ve):
        if tag == 0x48:
            otid = data[cs:ce].hex()
        elif tag == 0x49:
            dtid = data[cs:ce].hex()
        elif tag == 0x4A:  # p-abort cause
            cause = ber.integer(data, cs, ce)
            abort_cause = P_ABORT_CAUSES.get(cause, f"p-abort {cause}")
        elif tag == 0x6B:
            raw = data[cs:ce]
            parsed = _DIALOGUE_CACHE.get(raw)
            if parsed is None:
                parsed = _dialogue(raw, 0, len(raw))
                if len(_DIALOGUE_CACHE) > 10_000:
                    _DIALOGUE_CACHE.clear()
                _DIALOGUE_CACHE[raw] = parsed
            app_context, dialogue, refused, user_info = parsed
        elif tag == 0x6C:
            for ctag, ps, pe in ber.children(data, cs, ce):
                components.append(_component(data, ctag, ps, pe))
    if mtype == "abort" and abort_cause is None:
        abort_cause = "user"
    return TcapMessage(mtype, otid, dtid, app_context, dialogue, refused, abort_cause, tuple(components),
                       user_info)


# dialogue portions repeat (same application context, same MAP-OpenInfo): decode each form once
_DIALOGUE_CACHE: dict[bytes, tuple[str | None, str | None, bool, bytes | None]] = {}


def _dialogue(data: bytes, start: int, end: int) -> tuple[str | None, str | None, bool, bytes | None]:
    """(application context, dialogue PDU kind, refused?, user-information) of a dialogue portion."""
    external = ber.find(data, start, end, 0x28)
    if external is None:
        return None, None, False, None
    single = ber.find(data, external[0], external[1], 0xA0)
    if single is None:
        return None, None, False, None
    for tag, ps, pe in ber.children(data, single[0], single[1]):
        kind = DIALOGUE_PDUS.get(tag)
        if kind is None:
            continue
        ac = None
        refused = False
        user_info = None
        for t, s, e in ber.children(data, ps, pe):
            if t == 0xA1:
                o = ber.find(data, s, e, 0x06)
                if o is not None:
                    ac = ber.oid(data, o[0], o[1])
            elif t == 0xA2 and kind == "response":
                r = ber.find(data, s, e, 0x02)
                refused = r is not None and ber.integer(data, r[0], r[1]) != 0
            elif t == 0xBE:
                user_info = data[s:e]
        return ac, kind, refused, user_info
    return None, None, False, None


def _component(data: bytes, ctag: int, start: int, end: int) -> Component:
    if ctag == 0xA1 and end - start >= 6 and data[start] == 0x02 and data[start + 1] == 1 \
            and data[start + 3] == 0x02 and data[start + 4] == 1:
        # Fast path, the usual invoke: one-octet invoke id and local opcode, then nothing or one argument
        # TLV that ends the component. Anything else (a linked id, long forms, an argument tagged like a
        # linked id, more TLVs) goes the general way below, which gives the same for this form.
        invoke_id, opcode, p = data[start + 2], data[start + 5], start + 6
        if p == end:
            return Component("invoke", invoke_id - 256 if invoke_id > 127 else invoke_id,
                             opcode - 256 if opcode > 127 else opcode, None, None, True)
        if data[p] != 0x80 and ber.tlv(data, p, end)[3] == end:
            return Component("invoke", invoke_id - 256 if invoke_id > 127 else invoke_id,
                             opcode - 256 if opcode > 127 else opcode, None, data[p:end], True)
    return _component_general(data, ctag, start, end)


def _component_general(data: bytes, ctag: int, start: int, end: int) -> Component:
    kind = COMPONENT_KINDS.get(ctag)
    if kind is None:
        raise TcapError(f"TCAP: unknown component tag 0x{ctag:02x}")
    kids = ber.children_at(data, start, end)
    integer = ber.integer
    invoke_id = None
    if kids and kids[0][0] == 0x02:
        s, e = kids[0][1], kids[0][2]
        invoke_id = int.from_bytes(data[s:e], "big", signed=True) if s < e else integer(data, s, e)
    if kind == "invoke":
        rest = [k for k in kids[1:] if k[0] != 0x80]  # skip linkedID
        if not rest or rest[0][0] not in (0x02, 0x06):
            raise TcapError("TCAP: invoke without an operation code")
        tag, s, e, _, _ = rest[0]
        opcode = (int.from_bytes(data[s:e], "big", signed=True) if s < e else integer(data, s, e)) \
            if tag == 0x02 else None
        param = data[rest[1][3] : rest[1][4]] if len(rest) > 1 else None  # the whole TLV of the argument
        return Component(kind, invoke_id, opcode, None, param, True)
    if kind == "result":
        opcode = param = None
        seq = next((k for k in kids[1:] if k[0] == 0x30), None)
        if seq is not None:
            inner = ber.children_at(data, seq[1], seq[2])
            if inner and inner[0][0] == 0x02:
                opcode = integer(data, inner[0][1], inner[0][2])
            if len(inner) > 1:
                param = data[inner[1][3] : inner[1][4]]
        return Component(kind, invoke_id, opcode, None, param, ctag == 0xA2)
    if kind == "error":
        if len(kids) < 2 or kids[1][0] not in (0x02, 0x06):
            raise TcapError("TCAP: returnError without an error code")
        code = integer(data, kids[1][1], kids[1][2]) if kids[1][0] == 0x02 else None
        param = data[kids[2][3] : kids[2][4]] if len(kids) > 2 else None
        return Component(kind, invoke_id, None, code, param, True)
    return Component(kind, invoke_id, None, None, None, True)
