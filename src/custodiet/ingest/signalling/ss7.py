"""SS7 over IP or on MTP links: M3UA DATA, M2PA and M2UA (MTP3 inside) and bare MTP3 down to SCCP;
SCCP UDT/XUDT/LUDT and their service variants, with GT/SSN addresses and XUDT segment reassembly
(ITU-T Q.713).

``mtp3_user(protocol, payload)`` gives the SCCP message bytes and their route (OPC, DPC, M3UA routing
context), or a skip reason, and ``Sccp.decode(data, frame)`` gives an ``SccpMessage`` once all
segments are in.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import NamedTuple

from custodiet.ingest.signalling.ber import tbcd
from custodiet.ingest.signalling.transport import DecodeError

_H = struct.Struct("!H")
_I = struct.Struct("!I")
_II = struct.Struct("!II")

SI_SCCP = 3
UDT, UDTS, XUDT, XUDTS, LUDT, LUDTS = 0x09, 0x0A, 0x11, 0x12, 0x13, 0x14
SERVICE_TYPES = frozenset({UDTS, XUDTS, LUDTS})
KIND = {UDT: "udt", UDTS: "udts", XUDT: "xudt", XUDTS: "xudts", LUDT: "ludt", LUDTS: "ludts"}


Route = tuple[int | None, int | None, int | None]  # (OPC, DPC, M3UA routing context)


def mtp3_user(protocol: str, payload: bytes) -> tuple[bytes, Route] | str:
    """SCCP bytes carried by an M3UA DATA, M2PA User Data or M2UA Data message, or by an MTP3 message
    (protocol "mtp3": it starts at the SIO), with the route they came by; or a skip reason. Protocol
    "sccp" is a link that carries SCCP alone (no route)."""
    if protocol == "m3ua":
        if len(payload) < 8 or payload[0] != 1:
            raise DecodeError("M3UA: bad common header")
        mclass, mtype = payload[2], payload[3]
        length = _I.unpack_from(payload, 4)[0]
        if mclass != 1 or mtype != 1:
            return f"m3ua management (class {mclass} type {mtype})"
        end = min(length, len(payload))
        off = 8
        context = None
        while off + 4 <= end:
            tag, plen = _H.unpack_from(payload, off)[0], _H.unpack_from(payload, off + 2)[0]
            if plen < 4 or off + plen > end:
                raise DecodeError(f"M3UA: parameter 0x{tag:04x} has a bad length {plen}")
            if tag == 0x0210:  # Protocol Data: OPC, DPC, SI, NI, MP, SLS, user data
                if plen < 16:
                    raise DecodeError("M3UA: Protocol Data shorter than its routing label")
                si = payload[off + 12]
                if si != SI_SCCP:
                    return f"mtp3 user {si} (not SCCP)"
                opc, dpc = _II.unpack_from(payload, off + 4)
                return payload[off + 16 : off + plen], (opc, dpc, context)
            if tag == 0x0006 and plen >= 8:  # Routing Context (the first, if it lists several)
                context = _I.unpack_from(payload, off + 4)[0]
            off += (plen + 3) & ~3
        raise DecodeError("M3UA: DATA message without Protocol Data")
    if protocol == "m2pa":
        if len(payload) < 16 or payload[0] != 1 or payload[2] != 11:
            raise DecodeError("M2PA: bad common header")
        if payload[3] != 1:
            return "m2pa link status"
        length = _I.unpack_from(payload, 4)[0]
        data = payload[16 : min(length, len(payload))]
        if not data:
            return "m2pa (no user data)"
        return _mtp3(data[1:])  # one priority octet, then the MTP3 message
    if protocol == "mtp3":
        return _mtp3(payload)
    if protocol == "m2ua":
        return _m2ua(payload)
    if protocol == "sccp":  # a capture of SCCP alone: no routing label
        return payload, (None, None, None)
    return f"{protocol} (not SS7)"


def _mtp3(data: bytes) -> tuple[bytes, Route] | str:
    """SCCP of an MTP3 message: SIO, then the ITU routing label (DPC 14 bits, OPC 14 bits, SLS 4 bits,
    least significant first), then the user part."""
    if len(data) < 5:
        raise DecodeError("MTP3: message shorter than SIO and routing label")
    si = data[0] & 0x0F
    if si != SI_SCCP:
        return f"mtp3 user {si} (not SCCP)" if si > 2 else "mtp3 network management"
    label = data[1] | (data[2] << 8) | (data[3] << 16) | (data[4] << 24)
    return data[5:], (label >> 14 & 0x3FFF, label & 0x3FFF, None)


def _m2ua(payload: bytes) -> tuple[bytes, Route] | str:
    """SCCP of an M2UA (RFC 3331) Data message: Protocol Data 1 holds the MTP3 message from its SIO,
    Protocol Data 2 (TTC) from a length-indicator octet before it."""
    if len(payload) < 8 or payload[0] != 1:
        raise DecodeError("M2UA: bad common header")
    mclass, mtype = payload[2], payload[3]
    if mclass != 6 or mtype != 1:
        return f"m2ua management (class {mclass} type {mtype})"
    end = min(_I.unpack_from(payload, 4)[0], len(payload))
    off = 8
    while off + 4 <= end:
        tag, plen = _H.unpack_from(payload, off)[0], _H.unpack_from(payload, off + 2)[0]
        if plen < 4 or off + plen > end:
            raise DecodeError(f"M2UA: parameter 0x{tag:04x} has a bad length {plen}")
        if tag == 0x0300:
            return _mtp3(payload[off + 4 : off + plen])
        if tag == 0x0301:
            return _mtp3(payload[off + 5 : off + plen])
        off += (plen + 3) & ~3
    raise DecodeError("M2UA: DATA message without Protocol Data")


class Address(NamedTuple):
    """An SCCP party address (ITU format)."""

    ssn: int | None
    gt: str | None  # global title digits
    pc: int | None
    raw: bytes


_ADDRESS_CACHE: dict[bytes, Address] = {}


def parse_address(data: bytes) -> Address:
    """An SCCP party address; cached by its bytes (a network has few distinct addresses)."""
    hit = _ADDRESS_CACHE.get(data)
    if hit is None:
        hit = _parse_address(data)
        if len(_ADDRESS_CACHE) > 100_000:
            _ADDRESS_CACHE.clear()
        _ADDRESS_CACHE[bytes(data)] = hit
    return hit


def _parse_address(data: bytes) -> Address:
    if not data:
        raise DecodeError("SCCP: empty party address")
    ind = data[0]
    off = 1
    pc = ssn = None
    if ind & 0x01:
        if off + 2 > len(data):
            raise DecodeError("SCCP: address truncated in point code")
        pc = int.from_bytes(data[off : off + 2], "little") & 0x3FFF
        off += 2
    if ind & 0x02:
        if off >= len(data):
            raise DecodeError("SCCP: address truncated in SSN")
        ssn = data[off]
        off += 1
    gti = (ind >> 2) & 0x0F
    gt = None
    if gti:
        if gti == 1:  # nature of address (bit 8: odd number of digits)
            odd, off = bool(data[off] & 0x80) if off < len(data) else False, off + 1
        elif gti == 2:  # translation type only
            odd, off = False, off + 1
        elif gti == 3:  # TT, numbering plan + encoding scheme
            odd, off = (data[off + 1] & 0x0F) == 1 if off + 1 < len(data) else False, off + 2
        elif gti == 4:  # TT, NP + ES, nature of address
            odd, off = (data[off + 1] & 0x0F) == 1 if off + 1 < len(data) else False, off + 3
        else:
            raise DecodeError(f"SCCP: global title indicator {gti} not supported")
        if off > len(data):
            raise DecodeError("SCCP: address truncated in global title")
        gt = tbcd(data[off:])
        if odd and len(gt) == 2 * (len(data) - off):
            gt = gt[:-1]  # the filler nibble of an odd number of digits is 0, not F
    return Address(ssn, gt, pc, bytes(data))


class SccpMessage(NamedTuple):
    kind: str  # udt, xudt, ludt, udts, xudts, ludts
    called: Address
    calling: Address
    data: bytes  # the (reassembled) TCAP message
    return_cause: int | None = None  # service messages: why it came back
    segments: tuple[int, ...] = ()  # frames of the XUDT segments, when reassembled


@dataclass
class Sccp:
    """SCCP decoding with XUDT/LUDT segment reassembly across frames of one capture."""

    pending: dict[tuple, list] = field(default_factory=dict)
    misses: list[tuple] | None = None  # as ``Transport.misses``: keys of segments looked up and not found

    def decode(self, data: bytes, frame: int) -> SccpMessage | str:
        if not data:
            raise DecodeError("SCCP: empty message")
        mtype = data[0]
        if mtype == UDT:  # fast path: a well-formed UDT (anything odd is reported by the general path)
            udt = _udt(data)
            if udt is not None:
                return udt
        kind = KIND.get(mtype)
        if kind is None:
            return f"sccp message type 0x{mtype:02x} (connection-oriented or management)"
        size = len(data)
        try:
            if mtype in (UDT, UDTS):
                base, cause = 2, (data[1] if mtype == UDTS else None)
                ptrs = [base + i + data[base + i] for i in range(3)]
                opt_ptr = None
            elif mtype in (XUDT, XUDTS):
                base, cause = 3, (data[1] if mtype == XUDTS else None)
                ptrs = [base + i + data[base + i] for i in range(3)]
                opt_ptr = base + 3 + data[base + 3] if data[base + 3] else None
            else:  # LUDT / LUDTS: two-octet pointers and a two-octet data length
                base, cause = 3, (data[1] if mtype == LUDTS else None)
                ptrs = [base + 2 * i + int.from_bytes(data[base + 2 * i : base + 2 * i + 2], "little")
                        for i in range(3)]
                opt_ptr = None
                opt_raw = int.from_bytes(data[base + 6 : base + 8], "little")
                if opt_raw:
                    opt_ptr = base + 6 + opt_raw
        except IndexError:
            raise DecodeError(f"SCCP {kind}: truncated in its pointers") from None
        called = _variable(data, ptrs[0], size, kind, "called party")
        calling = _variable(data, ptrs[1], size, kind, "calling party")
        if mtype in (LUDT, LUDTS):
            if ptrs[2] + 2 > size:
                raise DecodeError(f"SCCP {kind}: data length truncated")
            dlen = int.from_bytes(data[ptrs[2] : ptrs[2] + 2], "little")
            if ptrs[2] + 2 + dlen > size:
                raise DecodeError(f"SCCP {kind}: long data runs past the message")
            user = data[ptrs[2] + 2 : ptrs[2] + 2 + dlen]
        else:
            user = _variable(data, ptrs[2], size, kind, "data")
        called_addr, calling_addr = parse_address(called), parse_address(calling)
        segmentation = _segmentation(data, opt_ptr, size, kind) if opt_ptr is not None else None
        if segmentation is None:
            return SccpMessage(kind, called_addr, calling_addr, user, cause)
        first, remaining, local_ref = segmentation
        key = (calling, called if mtype not in SERVICE_TYPES else b"", local_ref, mtype in SERVICE_TYPES)
        if self.misses is not None and key not in self.pending:
            self.misses.append(("sccp", key))
        state = self.pending.setdefault(key, [None, {}, []])  # [segment count, {remaining: data}, frames]
        if first:
            state[0] = remaining + 1
        if remaining in state[1]:
            raise DecodeError(f"SCCP {kind}: segment {remaining} of local reference {local_ref.hex()} "
                              "seen twice")
        state[1][remaining] = user
        state[2].append(frame)
        if state[0] is None or len(state[1]) < state[0]:
            return "sccp segment (waiting for the rest)"
        del self.pending[key]
        if set(state[1]) != set(range(state[0])):
            raise DecodeError(f"SCCP {kind}: segments of local reference {local_ref.hex()} do not fit together")
        data_parts = [state[1][r] for r in range(state[0] - 1, -1, -1)]
        return SccpMessage(kind, called_addr, calling_addr, b"".join(data_parts), cause, tuple(state[2]))

    def incomplete(self) -> list[tuple[int, str]]:
        """(frame, reason) for every segment still waiting at the end of the capture."""
        out = []
        for (_, _, ref, _), (count, parts, frames) in self.pending.items():
            missing = "the first segment is missing" if count is None else f"{count - len(parts)} missing"
            for f in frames:
                out.append((f, f"SCCP segment of local reference {ref.hex()}: reassembly incomplete at end "
                               f"of capture ({missing})"))
        return out


def _udt(data: bytes) -> SccpMessage | None:
    """A UDT whose pointers and lengths all fit, decoded; None for anything else."""
    size = len(data)
    if size < 5:
        return None
    p1, p2, p3 = 2 + data[2], 3 + data[3], 4 + data[4]
    if p1 >= size or p2 >= size or p3 >= size:
        return None
    e1, e2, e3 = p1 + 1 + data[p1], p2 + 1 + data[p2], p3 + 1 + data[p3]
    if e1 > size or e2 > size or e3 > size:
        return None
    return SccpMessage("udt", parse_address(data[p1 + 1 : e1]), parse_address(data[p2 + 1 : e2]),
                       data[p3 + 1 : e3])


def _variable(data: bytes, ptr: int, size: int, kind: str, what: str) -> bytes:
    if ptr >= size:
        raise DecodeError(f"SCCP {kind}: {what} pointer beyond the message")
    length = data[ptr]
    if ptr + 1 + length > size:
        raise DecodeError(f"SCCP {kind}: {what} runs past the message")
    return data[ptr + 1 : ptr + 1 + length]


def _segmentation(data: bytes, off: int, size: int, kind: str) -> tuple[bool, int, bytes] | None:
    """(first segment?, remaining segments, local reference) from the optional part, or None."""
    while off < size:
        tag = data[off]
        if tag == 0:
            return None
        if off + 1 >= size or off + 2 + data[off + 1] > size:
            raise DecodeError(f"SCCP {kind}: optional parameter 0x{tag:02x} runs past the message")
        length = data[off + 1]
        if tag == 0x10:
            if length != 4:
                raise DecodeError(f"SCCP {kind}: segmentation parameter of length {length}")
            octet = data[off + 2]
            return bool(octet & 0x80), octet & 0x0F, data[off + 3 : off + 6]
        off += 2 + length
    return None
