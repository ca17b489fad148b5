"""Hand-built lower layers for simulated captures: Ethernet / IPv4 / SCTP / M3UA / SCCP UDT, and pcap files.

Only the TCAP/MAP payload is built with pycrate (``encode``); the headers here are fixed-layout bytes that
are cheaper to write by hand. SCTP checksums are real CRC32c, so strict decoders accept the frames.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

PCAP_MAGIC = 0xA1B2C3D4
LINKTYPE_ETHERNET = 1
PPID_M3UA = 3
PPID_DIAMETER = 46


def _crc32c_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC32c (Castagnoli), as SCTP's checksum (RFC 9260 appendix B)."""
    crc = 0xFFFFFFFF
    table = _CRC_TABLE
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def tbcd(digits: str) -> bytes:
    """Telephony BCD: two digits per byte, low nibble first, 0xF filler for an odd count."""
    if len(digits) % 2:
        digits += "F"
    return bytes(int(digits[i + 1], 16) << 4 | int(digits[i], 16) for i in range(0, len(digits), 2))


def isdn_address(digits: str) -> bytes:
    """ISDN-AddressString: 0x91 (international, E.164) then TBCD digits."""
    return b"\x91" + tbcd(digits)


def sccp_address(gt: str, ssn: int) -> bytes:
    """SCCP party address: route on GT, GTI 4 (TT, NP/ES, NAI), SSN present, no point code."""
    es = 0x01 if len(gt) % 2 else 0x02  # BCD odd / even number of digits
    body = bytes([0x12, ssn, 0x00, 0x10 | es, 0x04]) + tbcd(gt)
    return bytes([len(body)]) + body


def sccp_pc_address(pc: int, ssn: int) -> bytes:
    """SCCP party address routed on point code and SSN (no global title), as inside the home network."""
    body = bytes([0x43]) + (pc & 0x3FFF).to_bytes(2, "little") + bytes([ssn])
    return bytes([len(body)]) + body


def sccp_udt(called: bytes, calling: bytes, data: bytes) -> bytes:
    """SCCP UDT (class 0, return on error) with three mandatory variable parts."""
    # each pointer counts octets from itself to the length octet of its part
    pointers = bytes([3, 2 + len(called), 1 + len(called) + len(calling)])
    return b"\x09\x80" + pointers + called + calling + bytes([len(data)]) + data


def m3ua_data(opc: int, dpc: int, sccp: bytes, sls: int = 0) -> bytes:
    """M3UA DATA with a Routing Context and a Protocol Data parameter (SI 3 = SCCP, NI 0 international)."""
    rc = struct.pack("!HHI", 0x0006, 8, 1)
    pd_len = 16 + len(sccp)
    pd = struct.pack("!HHIIBBBB", 0x0210, pd_len, opc, dpc, 3, 0, 0, sls) + sccp
    pd += b"\x00" * (-len(pd) % 4)
    body = rc + pd
    return struct.pack("!BBBBI", 1, 0, 1, 1, 8 + len(body)) + body


class SctpFramer:
    """Wraps upper-layer payloads into Ethernet/IPv4/SCTP DATA frames between two endpoints."""

    def __init__(self, src_ip: bytes, dst_ip: bytes, port: int, ppid: int):
        self.src_ip, self.dst_ip, self.port, self.ppid = src_ip, dst_ip, port, ppid
        self.tsn = {True: 1000, False: 5000}
        self.ssn = {True: 0, False: 0}
        self.ip_id = 0

    def frame(self, payload: bytes, forward: bool = True, stream: int = 1) -> bytes:
        src, dst = (self.src_ip, self.dst_ip) if forward else (self.dst_ip, self.src_ip)
        chunk_len = 16 + len(payload)
        chunk = struct.pack("!BBHIHHI", 0, 0x03, chunk_len, self.tsn[forward], stream, self.ssn[forward] & 0xFFFF,
                            self.ppid) + payload + b"\x00" * (-chunk_len % 4)
        self.tsn[forward] = (self.tsn[forward] + 1) & 0xFFFFFFFF
        self.ssn[forward] += 1
        common = struct.pack("!HHII", self.port, self.port, 0x0C0FFEE0 if forward else 0x0BADCAFE, 0)
        sctp = common + chunk
        sctp = sctp[:8] + struct.pack("<I", crc32c(sctp)) + sctp[12:]
        self.ip_id = (self.ip_id + 1) & 0xFFFF
        total = 20 + len(sctp)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, self.ip_id, 0x4000, 64, 132, 0, src, dst)
        ip = ip[:10] + struct.pack("!H", _ip_checksum(ip)) + ip[12:]
        eth = (b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01") if forward else (
            b"\x02\x00\x00\x00\x00\x01" + b"\x02\x00\x00\x00\x00\x02")
        return eth + b"\x08\x00" + ip + sctp


def _ip_checksum(header: bytes) -> int:
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


class PcapWriter:
    """Classic pcap (microsecond timestamps, Ethernet); counts frames so callers know tshark's numbering."""

    def __init__(self, path: Path):
        self.path = path
        self._fh: BinaryIO = open(path, "wb")  # noqa: SIM115 (closed in close())
        self._fh.write(struct.pack("<IHHiIII", PCAP_MAGIC, 2, 4, 0, 0, 65535, LINKTYPE_ETHERNET))
        self.frames = 0

    def write(self, ts_us: int, frame: bytes) -> int:
        """Append one frame; returns its 1-based frame number."""
        self._fh.write(struct.pack("<IIII", ts_us // 1_000_000, ts_us % 1_000_000, len(frame), len(frame)))
        self._fh.write(frame)
        self.frames += 1
        return self.frames

    def close(self) -> None:
        self._fh.close()
