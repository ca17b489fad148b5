"""pcap and pcapng readers: frames numbered as tshark numbers them (1-based), timestamps in µs.

Only packet blocks are frames (pcapng EPB, SPB and the obsolete PB); a truncated or corrupt file
raises ``CaptureError`` naming the byte offset and the last good frame.

``raw_frames`` is the hot path: plain ``(ts_us, linktype, data)`` tuples in file order (the frame
number is the position, from 1). ``read_frames`` gives the same as numbered ``Frame`` records.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple


class CaptureError(ValueError):
    """The capture file cannot be read (further); the message says where."""


class Frame(NamedTuple):
    number: int  # 1-based, as tshark numbers frames
    ts_us: int  # microseconds since the epoch, UTC
    linktype: int  # LINKTYPE_* value
    data: bytes


PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1), b"\xa1\xb2\xc3\xd4": (">", 1),  # microseconds
    b"\x4d\x3c\xb2\xa1": ("<", 1000), b"\xa1\xb2\x3c\x4d": (">", 1000),  # nanoseconds (divide)
}
PCAPNG_SHB = b"\x0a\x0d\x0d\x0a"


RawFrame = tuple[int, int, bytes]  # (ts_us, linktype, data)


def read_frames(path: str | Path) -> Iterator[Frame]:
    """Frames of a pcap or pcapng file, in file order."""
    return _numbered(raw_frames(path))


def _numbered(frames: Iterator[RawFrame]) -> Iterator[Frame]:
    for number, (ts_us, linktype, data) in enumerate(frames, 1):
        yield Frame(number, ts_us, linktype, data)


def raw_frames(path: str | Path) -> Iterator[RawFrame]:
    """``(ts_us, linktype, data)`` of every frame, in file order; raises ``CaptureError`` at once for a
    file that is not a capture, and while iterating where the file is cut short or corrupt."""
    return frames_of(Path(path).read_bytes(), Path(path).name)


def frames_of(data: bytes, name: str) -> Iterator[RawFrame]:
    """``raw_frames`` of a capture's bytes (or of its first bytes: the last frame then fails as cut)."""
    if len(data) < 4:
        raise CaptureError(f"{name}: too short to be a capture ({len(data)} bytes)")
    magic = data[:4]
    if magic in PCAP_MAGICS:
        return _pcap(data, *PCAP_MAGICS[magic])
    if magic == PCAPNG_SHB:
        return _pcapng(data)
    raise CaptureError(f"{name}: not a pcap or pcapng file (magic {magic.hex()})")


def _pcap(data: bytes, endian: str, divisor: int) -> Iterator[RawFrame]:
    if len(data) < 24:
        raise CaptureError("pcap global header truncated")
    linktype = struct.unpack_from(endian + "I", data, 20)[0] & 0x0FFFFFFF
    rec = struct.Struct(endian + "IIII")
    off, number, size = 24, 0, len(data)
    while off < size:
        if off + 16 > size:
            raise CaptureError(f"pcap record header truncated at byte {off} after frame {number}")
        sec, frac, caplen, _origlen = rec.unpack_from(data, off)
        off += 16
        if off + caplen > size:
            raise CaptureError(f"frame {number + 1} truncated at byte {off} (needs {caplen} bytes)")
        number += 1
        end = off + caplen
        yield sec * 1_000_000 + frac // divisor, linktype, data[off:end]
        off = end


def _tsresol(options: bytes, endian: str) -> int:
    """Ticks per second from an IDB's options (if_tsresol, code 9); default 10^6."""
    off = 0
    while off + 4 <= len(options):
        code, length = struct.unpack_from(endian + "HH", options, off)
        if code == 0:
            break
        if code == 9 and length >= 1:
            value = options[off + 4]
            return 2 ** (value & 0x7F) if value & 0x80 else 10 ** value
        off += 4 + ((length + 3) & ~3)
    return 1_000_000


def _pcapng(data: bytes) -> Iterator[RawFrame]:
    off, number, size = 0, 0, len(data)
    endian = "<"
    interfaces: list[tuple[int, int]] = []  # (linktype, ticks per second)
    while off < size:
        if off + 12 > size:
            raise CaptureError(f"pcapng block header truncated at byte {off} after frame {number}")
        btype = data[off : off + 4]
        if btype == PCAPNG_SHB:
            bom = data[off + 8 : off + 12]
            endian = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">" if bom == b"\x1a\x2b\x3c\x4d" else ""
            if not endian:
                raise CaptureError(f"pcapng section header at byte {off} has a bad byte-order magic")
            interfaces = []
        blen = struct.unpack_from(endian + "I", data, off + 4)[0]
        if blen < 12 or blen % 4 or off + blen > size:
            raise CaptureError(f"pcapng block at byte {off} has a bad length {blen} after frame {number}")
        kind = struct.unpack_from(endian + "I", data, off)[0]
        body = off + 8
        if kind == 1:  # interface description
            linktype = struct.unpack_from(endian + "H", data, body)[0]
            interfaces.append((linktype, _tsresol(data[body + 8 : off + blen - 4], endian)))
        elif kind in (6, 2):  # enhanced packet, obsolete packet
            if kind == 6:
                iface, hi, lo, caplen = struct.unpack_from(endian + "IIII", data, body)
            else:
                iface, _drops, hi, lo, caplen = struct.unpack_from(endian + "HHIII", data, body)
            if iface >= len(interfaces):
                raise CaptureError(f"packet block at byte {off} names unknown interface {iface}")
            linktype, ticks = interfaces[iface]
            start = body + 20
            if start + caplen > off + blen:
                raise CaptureError(f"packet block at byte {off}: captured length {caplen} exceeds the block")
            ts = (hi << 32) | lo
            ts_us = ts if ticks == 1_000_000 else ts * 1_000_000 // ticks
            number += 1
            yield ts_us, linktype, data[start : start + caplen]
        elif kind == 3:  # simple packet: no timestamp
            if not interfaces:
                raise CaptureError(f"simple packet block at byte {off} before any interface")
            origlen = struct.unpack_from(endian + "I", data, body)[0]
            caplen = min(origlen, blen - 16)
            number += 1
            yield 0, interfaces[0][0], data[body + 4 : body + 4 + caplen]
        off += blen
