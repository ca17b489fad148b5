"""Shared paths and small builders for the signalling decoder tests."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

CAPTURES = Path(__file__).parents[2].parent / "shared" / "captures"
MAP_CAPTURE = CAPTURES / "pycrate_tcapmap_pcapr_rebuilt.pcap"


def _missing(what: str) -> None:
    """The reference is part of the test: without it the test fails, saying how to get it."""
    pytest.fail(f"{what}: `make test` installs tshark; the captures come with the project's shared folder")


def need_captures() -> None:
    if not CAPTURES.is_dir():
        _missing(f"shared captures folder {CAPTURES} is absent")


def tshark(*args: str) -> list[list[str]]:
    """Rows of a ``tshark -T fields`` run (tab-separated)."""
    exe = shutil.which("tshark")
    if exe is None:
        _missing("tshark is not installed")
    out = subprocess.run([exe, *args], capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in out.splitlines() if line.strip()]


def pcap(frames: list[tuple[int, bytes]], linktype: int = 1) -> bytes:
    """A classic little-endian pcap of (timestamp µs, frame bytes)."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype)]
    for ts, data in frames:
        out.append(struct.pack("<IIII", ts // 1_000_000, ts % 1_000_000, len(data), len(data)) + data)
    return b"".join(out)


def ipv4(proto: int, payload: bytes, ident: int = 1, frag: int = 0, src: bytes = b"\x0a\x00\x00\x01",
         dst: bytes = b"\x0a\x00\x00\x02") -> bytes:
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, frag, 64, proto, 0, src, dst)
    return header + payload


def ether(ip: bytes) -> bytes:
    return b"\x00\x01\x02\x03\x04\x05\x00\x01\x02\x03\x04\x06\x08\x00" + ip


def sctp_data(payloads: list[tuple[int, bytes, int]], sport: int = 2905, dport: int = 2905,
              tsn: int = 1, ppid: int = 3) -> bytes:
    """An SCTP packet with DATA chunks: [(flags, user data, stream)]; flags 3 = unfragmented."""
    chunks = []
    for i, (flags, data, stream) in enumerate(payloads):
        chunk = struct.pack("!BBHIHHI", 0, flags, 16 + len(data), tsn + i, stream, 0, ppid) + data
        chunks.append(chunk + b"\x00" * (-len(chunk) % 4))
    return struct.pack("!HHII", sport, dport, 1, 0) + b"".join(chunks)


def m3ua_data(sccp: bytes, si: int = 3) -> bytes:
    pd = struct.pack("!IIBBBB", 1, 2, si, 2, 0, 0) + sccp
    param = struct.pack("!HH", 0x0210, 4 + len(pd)) + pd + b"\x00" * (-len(pd) % 4)
    return struct.pack("!BBBBI", 1, 0, 1, 1, 8 + len(param)) + param


def gt_address(digits: str, ssn: int) -> bytes:
    """ITU SCCP address: route on GT, SSN present, GTI 4, E.164, international."""
    odd = len(digits) % 2
    padded = digits + ("0" if odd else "")
    bcd = bytes(int(padded[i + 1]) << 4 | int(padded[i]) for i in range(0, len(padded), 2))
    return bytes([0x12, ssn, 0, 0x10 | (1 if odd else 2), 0x04]) + bcd


def udt(called: bytes, calling: bytes, data: bytes) -> bytes:
    p1 = 3
    p2 = p1 - 1 + 1 + len(called)
    p3 = p2 - 1 + 1 + len(calling)
    return bytes([0x09, 0x81, p1, p2, p3, len(called)]) + called + bytes([len(calling)]) + calling + \
        bytes([len(data)]) + data


def xudt_segments(called: bytes, calling: bytes, data: bytes, size: int, ref: bytes = b"\x00\x00\x07") -> list[bytes]:
    parts = [data[i : i + size] for i in range(0, len(data), size)]
    out = []
    for i, part in enumerate(parts):
        remaining = len(parts) - 1 - i
        seg = bytes([0x10, 4, (0x80 if i == 0 else 0) | remaining]) + ref
        body_called = bytes([len(called)]) + called
        body_calling = bytes([len(calling)]) + calling
        body_data = bytes([len(part)]) + part
        p1 = 4
        p2 = p1 - 1 + len(body_called)
        p3 = p2 - 1 + len(body_calling)
        p4 = p3 - 1 + len(body_data)
        out.append(bytes([0x11, 0x81, 0x0F, p1, p2, p3, p4]) + body_called + body_calling + body_data + seg
                   + b"\x00")
    return out


def replicate(src: Path, dst: Path, copies: int) -> None:
    """``copies`` of a little-endian µs pcap, each an hour later than the one before (as bench/signalling)."""
    data = src.read_bytes()
    out, off = [data[:24]], 24
    records = []
    while off < len(data):
        sec, usec, caplen, origlen = struct.unpack_from("<IIII", data, off)
        records.append((sec, usec, data[off + 16 : off + 16 + caplen], origlen))
        off += 16 + caplen
    for copy in range(copies):
        for sec, usec, frame, origlen in records:
            out.append(struct.pack("<IIII", sec + copy * 3600, usec, len(frame), origlen) + frame)
    dst.write_bytes(b"".join(out))
