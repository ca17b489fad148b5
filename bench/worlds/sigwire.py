"""Wire encoding for the independent signalling world: BER helpers, SCCP, M3UA, SCTP, TCP, IPv4, link layers, pcap.

Everything here is written from the specifications (ITU-T X.690, Q.713, RFC 4666, RFC 9260, RFC 791/9293,
libpcap's file format), not from any other part of the project. SCTP checksums are left zero (capture tools
do not verify them unless asked).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from functools import lru_cache

# -- BER ----------------------------------------------------------------------------------------------


def blen(n: int) -> bytes:
    """A BER definite length."""
    if n < 0x80:
        return bytes((n,))
    if n < 0x100:
        return bytes((0x81, n))
    return bytes((0x82, n >> 8, n & 0xFF))


def tlv(tag: int, value: bytes) -> bytes:
    """One BER element with a single-octet tag."""
    return bytes((tag,)) + blen(len(value)) + value


def integer(tag: int, n: int) -> bytes:
    """A BER INTEGER / ENUMERATED (two's complement, minimal octets) under ``tag``."""
    size = max(1, (n.bit_length() + 8) // 8)
    return tlv(tag, n.to_bytes(size, "big", signed=True))


@lru_cache(maxsize=1 << 16)
def tbcd(digits: str) -> bytes:
    """Telephony BCD: two digits per octet, low nibble first, 0xF filler for an odd count."""
    if len(digits) % 2:
        digits += "F"
    return bytes(int(digits[i + 1], 16) << 4 | int(digits[i], 16) for i in range(0, len(digits), 2))


def isdn(digits: str, nai: int = 0x91) -> bytes:
    """An ISDN-AddressString body: nature of address / numbering plan octet then TBCD digits."""
    return bytes((nai,)) + tbcd(digits)


def pack7(text: str) -> bytes:
    """GSM 7-bit default alphabet packing (ASCII letters, digits and spaces map to themselves)."""
    out = bytearray()
    acc = bits = 0
    for ch in text:
        acc |= (ord(ch) & 0x7F) << bits
        bits += 7
        while bits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            bits -= 8
    if bits:
        out.append(acc & 0xFF)
    return bytes(out)


# -- SCCP (ITU-T Q.713) -----------------------------------------------------------------------------

SSN = {"hlr": 6, "vlr": 7, "msc": 8, "smsc": 8, "gmsc": 8, "scf": 147, "sgsn": 149}


@lru_cache(maxsize=1 << 14)
def sccp_gt(digits: str, ssn: int, plan: int = 1) -> bytes:
    """A called/calling party address routed on global title (GTI 4, E.164 by default, international)."""
    scheme = 1 if len(digits) % 2 else 2
    return bytes((0x12, ssn, 0x00, plan << 4 | scheme, 0x04)) + tbcd(digits)


def sccp_pc(pc: int, ssn: int) -> bytes:
    """An address routed on point code and SSN with no global title (inside the home network)."""
    return bytes((0x43, pc & 0xFF, (pc >> 8) & 0x3F, ssn))


def udt(called: bytes, calling: bytes, data: bytes, pclass: int = 0x80) -> bytes:
    """SCCP unitdata; ``data`` must fit in 255 octets."""
    return (bytes((0x09, pclass, 3, 3 + len(called), 3 + len(called) + len(calling)))
            + bytes((len(called),)) + called + bytes((len(calling),)) + calling + bytes((len(data),)) + data)


def udts(called: bytes, calling: bytes, data: bytes, cause: int) -> bytes:
    """SCCP unitdata service: a UDT that could not be delivered, returned with its cause (Q.713 §3.12)."""
    return (bytes((0x0A, cause, 3, 3 + len(called), 3 + len(called) + len(calling)))
            + bytes((len(called),)) + called + bytes((len(calling),)) + calling + bytes((len(data),)) + data)


def xudt_segments(called: bytes, calling: bytes, data: bytes, ref: int, chunk: int = 200,
                  pclass: int = 0x81) -> list[bytes]:
    """SCCP extended unitdata, segmented (Q.714 §4.1.1.2): one XUDT per chunk with a Segmentation parameter."""
    parts = [data[i:i + chunk] for i in range(0, len(data), chunk)]
    out = []
    for i, part in enumerate(parts):
        remaining = len(parts) - 1 - i
        first = 0x80 if i == 0 else 0
        seg = bytes((0x10, 4, first | 0x40 | remaining)) + (ref & 0xFFFFFF).to_bytes(3, "big") + b"\x00"
        p4 = 4 + len(called) + len(calling) + len(part)
        out.append(bytes((0x11, pclass, 0x0F, 4, 4 + len(called), 4 + len(called) + len(calling), p4))
                   + bytes((len(called),)) + called + bytes((len(calling),)) + calling
                   + bytes((len(part),)) + part + seg)
    return out


# -- M3UA (RFC 4666) ----------------------------------------------------------------------------------

def m3ua_data(opc: int, dpc: int, sccp: bytes, rc: int | None, ni: int, sls: int) -> bytes:
    """An M3UA DATA message carrying one SCCP message (service indicator 3)."""
    pd = struct.pack("!IIBBBB", opc, dpc, 3, ni, 0, sls) + sccp
    params = b""
    if rc is not None:
        params += struct.pack("!HHI", 0x0006, 8, rc)
    params += struct.pack("!HH", 0x0210, 4 + len(pd)) + pd + b"\x00" * (-len(pd) % 4)
    return struct.pack("!BBBBI", 1, 0, 1, 1, 8 + len(params)) + params


def m3ua_beat(ack: bool, data: bytes) -> bytes:
    """An M3UA ASPSM heartbeat (BEAT) or its acknowledgement, with Heartbeat Data."""
    param = struct.pack("!HH", 0x0009, 4 + len(data)) + data + b"\x00" * (-len(data) % 4)
    return struct.pack("!BBBBI", 1, 0, 3, 6 if ack else 3, 8 + len(param)) + param


# -- transport and link -------------------------------------------------------------------------------

def _ip_checksum(hdr: bytes) -> int:
    s = sum(struct.unpack("!10H", hdr))
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(src: bytes, dst: bytes, proto: int, payload: bytes, ident: int) -> bytes:
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident & 0xFFFF, 0x4000, 64, proto, 0, src, dst)
    return hdr[:10] + struct.pack("!H", _ip_checksum(hdr)) + hdr[12:] + payload


@dataclass
class Association:
    """One direction-pair of an SCTP association or TCP connection between two signalling peers."""

    ip_a: bytes
    ip_b: bytes
    port_a: int
    port_b: int
    tcp: bool = False
    vtag_ab: int = 0x1000
    vtag_ba: int = 0x2000
    seq: dict[bool, int] = field(default_factory=lambda: {True: 1000, False: 5000})  # TSN or TCP seq per direction
    sseq: dict[tuple[bool, int], int] = field(default_factory=dict)

    def packet(self, a_to_b: bool, ppid: int, payload: bytes, stream: int, ident: int, sack: bool = False) -> bytes:
        """An IPv4 packet from A to B (or B to A) carrying ``payload`` in one SCTP DATA chunk or TCP segment.

        With ``sack`` the SCTP packet also acknowledges the other direction (a SACK bundled before the DATA).
        """
        src, dst = (self.ip_a, self.ip_b) if a_to_b else (self.ip_b, self.ip_a)
        sport, dport = (self.port_a, self.port_b) if a_to_b else (self.port_b, self.port_a)
        if self.tcp:
            seq = self.seq[a_to_b]
            ack = self.seq[not a_to_b]
            self.seq[a_to_b] = (seq + len(payload)) & 0xFFFFFFFF
            seg = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 0x50, 0x18, 65535, 0, 0) + payload
            return ipv4(src, dst, 6, seg, ident)
        tsn = self.seq[a_to_b]
        self.seq[a_to_b] = (tsn + 1) & 0xFFFFFFFF
        ssn = self.sseq.get((a_to_b, stream), 0)
        self.sseq[(a_to_b, stream)] = (ssn + 1) & 0xFFFF
        chunk = struct.pack("!BBHIHHI", 0, 0x03, 16 + len(payload), tsn, stream, ssn, ppid) + payload
        chunk += b"\x00" * (-len(chunk) % 4)
        if sack:
            chunk = struct.pack("!BBHIIHH", 3, 0, 16, (self.seq[not a_to_b] - 1) & 0xFFFFFFFF, 65535, 0, 0) + chunk
        vtag = self.vtag_ab if a_to_b else self.vtag_ba
        return ipv4(src, dst, 132, struct.pack("!HHII", sport, dport, vtag, 0) + chunk, ident)


def mac(ip: bytes) -> bytes:
    return b"\x02\x00" + ip


def link_frame(linktype: int, ip_packet: bytes, vlan: int | None = None) -> bytes:
    """Wrap an IPv4 packet for the capture's link type (1 Ethernet, optionally 802.1Q-tagged; 113 Linux cooked)."""
    if linktype == 1:
        tag = struct.pack("!HH", 0x8100, vlan) if vlan else b""
        return mac(ip_packet[16:20]) + mac(ip_packet[12:16]) + tag + b"\x08\x00" + ip_packet
    if linktype == 113:
        return struct.pack("!HHH", 0, 1, 6) + mac(ip_packet[12:16]) + b"\x00\x00\x08\x00" + ip_packet
    return ip_packet


class PcapWriter:
    """A classic libpcap file with microsecond timestamps."""

    def __init__(self, path, linktype: int) -> None:
        self._f = open(path, "wb")  # noqa: SIM115 - closed by close()
        self._f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype))
        self.frames = 0

    def write(self, ts_us: int, data: bytes) -> int:
        """Write one frame; returns its 1-based number."""
        self._f.write(struct.pack("<IIII", ts_us // 1_000_000, ts_us % 1_000_000, len(data), len(data)) + data)
        self.frames += 1
        return self.frames

    def close(self) -> None:
        self._f.close()
