"""Minimal BER (X.690) reading for TCAP/MAP, and TBCD digits: the hot path, no object allocation.

A tag is returned as one int: the identifier octet for low tag numbers (e.g. 0x62 for a TCAP
Begin, 0x80 for [0] primitive), or ``first_octet << 16 | number`` for high tag numbers.
Indefinite lengths (0x80) are supported: the value ends before the matching end-of-contents.
"""

from __future__ import annotations


class BerError(ValueError):
    """Malformed BER; the message says what and at which offset."""


def tlv(buf: bytes, off: int, end: int) -> tuple[int, int, int, int]:
    """Read one TLV at ``off`` within ``buf[:end]``: (tag, value_start, value_end, next_offset)."""
    if off + 2 <= end:  # fast path: low tag number, definite length of up to two octets, fits
        first, length = buf[off], buf[off + 1]
        if first & 0x1F != 0x1F:
            if length < 0x80:
                if off + 2 + length <= end:
                    return first, off + 2, off + 2 + length, off + 2 + length
            elif length == 0x81:
                if off + 3 <= end and off + 3 + buf[off + 2] <= end:
                    return first, off + 3, off + 3 + buf[off + 2], off + 3 + buf[off + 2]
            elif length == 0x82 and off + 4 <= end:
                vend = off + 4 + ((buf[off + 2] << 8) | buf[off + 3])
                if vend <= end:
                    return first, off + 4, vend, vend
    if off + 2 > end:
        raise BerError(f"truncated TLV at offset {off}")
    first = buf[off]
    pos = off + 1
    tag = first
    if first & 0x1F == 0x1F:
        number = 0
        while True:
            if pos >= end:
                raise BerError(f"truncated high tag number at offset {off}")
            octet = buf[pos]
            pos += 1
            number = (number << 7) | (octet & 0x7F)
            if not octet & 0x80:
                break
        tag = (first << 16) | number
    if pos >= end:
        raise BerError(f"missing length at offset {pos}")
    length = buf[pos]
    pos += 1
    if length < 0x80:
        vend = pos + length
    elif length == 0x80:
        if not first & 0x20:
            raise BerError(f"indefinite length on a primitive at offset {off}")
        inner = pos
        while True:
            if inner + 2 > end:
                raise BerError(f"missing end-of-contents for TLV at offset {off}")
            if buf[inner] == 0 and buf[inner + 1] == 0:
                return tag, pos, inner, inner + 2
            inner = tlv(buf, inner, end)[3]
    else:
        count = length & 0x7F
        if count > 4 or pos + count > end:
            raise BerError(f"bad length field at offset {pos - 1}")
        length = int.from_bytes(buf[pos : pos + count], "big")
        pos += count
        vend = pos + length
    if vend > end:
        raise BerError(f"value at offset {pos} runs past its container ({vend} > {end})")
    return tag, pos, vend, vend


def children(buf: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    """The TLVs inside a constructed value: [(tag, value_start, value_end), ...]."""
    out = []
    off = start
    while off < end:
        # the fast path of ``tlv`` (low tag, length in one octet or 0x81 + one), inline: the decoder's
        # hottest loop; anything else, or anything that does not fit, goes through ``tlv``
        if off + 2 <= end and buf[off] & 0x1F != 0x1F:
            length = buf[off + 1]
            if length < 0x80:
                vend = off + 2 + length
                if vend <= end:
                    out.append((buf[off], off + 2, vend))
                    off = vend
                    continue
            elif length == 0x81 and off + 3 <= end:
                vend = off + 3 + buf[off + 2]
                if vend <= end:
                    out.append((buf[off], off + 3, vend))
                    off = vend
                    continue
        tag, vs, ve, off = tlv(buf, off, end)
        out.append((tag, vs, ve))
    return out


def children_at(buf: bytes, start: int, end: int) -> list[tuple[int, int, int, int, int]]:
    """Like ``children`` with each TLV's span: [(tag, value_start, value_end, tlv_start, tlv_end), ...]."""
    out = []
    off = start
    while off < end:
        if off + 2 <= end and buf[off] & 0x1F != 0x1F:
            length = buf[off + 1]
            if length < 0x80:
                vend = off + 2 + length
                if vend <= end:
                    out.append((buf[off], off + 2, vend, off, vend))
                    off = vend
                    continue
            elif length == 0x81 and off + 3 <= end:
                vend = off + 3 + buf[off + 2]
                if vend <= end:
                    out.append((buf[off], off + 3, vend, off, vend))
                    off = vend
                    continue
        tag, vs, ve, nxt = tlv(buf, off, end)
        out.append((tag, vs, ve, off, nxt))
        off = nxt
    return out


def find(buf: bytes, start: int, end: int, tag: int) -> tuple[int, int] | None:
    """(value_start, value_end) of the first child with ``tag``, or None."""
    off = start
    while off < end:
        t, vs, ve, off = tlv(buf, off, end)
        if t == tag:
            return vs, ve
    return None


def integer(buf: bytes, start: int, end: int) -> int:
    if start >= end:
        raise BerError(f"empty INTEGER at offset {start}")
    return int.from_bytes(buf[start:end], "big", signed=True)


def oid(buf: bytes, start: int, end: int) -> str:
    """Dotted text of an OBJECT IDENTIFIER value."""
    if start >= end:
        raise BerError(f"empty OBJECT IDENTIFIER at offset {start}")
    arcs: list[int] = []
    value = 0
    for octet in buf[start:end]:
        value = (value << 7) | (octet & 0x7F)
        if not octet & 0x80:
            if not arcs:
                first = min(value // 40, 2)
                arcs.extend((first, value - 40 * first))
            else:
                arcs.append(value)
            value = 0
    return ".".join(map(str, arcs))


_NIBBLE = "0123456789*#abcf"
# TBCD is low nibble first: swap each byte's nibbles, take its hex, then map hex digits a-f to the
# TBCD symbols (* # a b c, and f for the filler that ends the number). All three steps run in C.
_SWAP_NIBBLES = bytes(((b & 0x0F) << 4) | (b >> 4) for b in range(256))
_HEX_TO_TBCD = str.maketrans("abcdef", _NIBBLE[10:])


def tbcd(data: bytes) -> str:
    """TBCD digits (low nibble first; 0xF is filler and ends the number)."""
    text = data.translate(_SWAP_NIBBLES).hex().translate(_HEX_TO_TBCD)
    cut = text.find("f")
    return text if cut < 0 else text[:cut]


def address_digits(data: bytes) -> str:
    """Digits of an AddressString / ISDN-AddressString (first octet: nature of address, plan)."""
    return tbcd(data[1:]) if data else ""
