"""Link layers, IPv4/IPv6 (with IPv4 fragment reassembly), SCTP (bundled and fragmented DATA
chunks) and TCP (stream reassembly for Diameter): frames in, upper-layer messages out.

``Transport.feed(frame)`` returns the complete user messages the frame finishes, each as
``(protocol, payload, carrier)`` with protocol "m3ua", "m2pa", "m2ua", "mtp3" (the payload starts at
the service information octet), "sccp" or "diameter", and carrier ``(transport, addresses)``:
transport "sctp", "tcp", "mtp2", "mtp3" or "sccp", addresses the IP source and destination addresses (4 or 16 octets
each, concatenated) or ``b""`` on a raw MTP link. A frame with nothing of ours returns a skip reason
(str) and is counted, not quarantined. Malformed headers of frames that carry signalling raise
``DecodeError`` naming the layer.

Link types: Ethernet, Linux cooked (v1, v2), raw IPv4/IPv6, BSD loopback, and the SS7 links real
probes write: MTP2 with pseudo-header (139), MTP2 (140), MTP3 (141) and bare SCCP (142). SCTP payloads are told by
PPID (M2UA 2, M3UA 3, M2PA 5, Diameter 46/47) or well-known port; Diameter over TCP is recognised
by its header on any port (``looks_like_diameter``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from custodiet.ingest.signalling.capture import Frame


class DecodeError(ValueError):
    """A frame that carries signalling but cannot be decoded; the message names the layer."""


# SCTP payload protocol identifiers and well-known ports
PPID = {2: "m2ua", 3: "m3ua", 5: "m2pa", 46: "diameter", 47: "diameter"}
SCTP_PORTS = {2904: "m2ua", 2905: "m3ua", 3565: "m2pa", 3868: "diameter"}
DIAMETER_TCP_PORTS = frozenset({3868})  # streams on other ports are Diameter once one starts with its header
Carrier = tuple[str, bytes]  # (transport, IP source + destination addresses, or b"" on an MTP link)
Unit = tuple[str, bytes, Carrier]
ETH_VLAN = frozenset({0x8100, 0x88A8, 0x9100})

TSN_TABLE_LIMIT = 200_000  # TSNs remembered for retransmission checks before old ones are pruned

_H = struct.Struct("!H")
_I = struct.Struct("!I")
_SCTP_DATA = struct.Struct("!IHHI")  # after type, flags, length: TSN, stream, stream sequence, ppid


@dataclass
class Transport:
    """Per-capture state: IPv4 fragments, SCTP fragments and TCP streams."""

    ip_fragments: dict[tuple, dict[int, bytes]] = field(default_factory=dict)
    ip_fragment_ends: dict[tuple, int] = field(default_factory=dict)
    sctp_fragments: dict[tuple, list[bytes]] = field(default_factory=dict)
    tcp_streams: dict[tuple, list] = field(default_factory=dict)  # key -> [next_seq, buffer] (Diameter only)
    sctp_tsns: dict[tuple, int] = field(default_factory=dict)  # (direction, TSN) -> last seen, µs
    retransmission_window_us: int = 120_000_000  # SCTP's RTO.max is 60 s; a TSN seen again later is new
    # When a list: every lookup of per-capture state that found nothing is noted here, as (kind, key) or
    # ("tsn", key, time). A decoder that started mid-capture (``parallel``) is exact iff none of these
    # keys was in the state the frames before it left.
    misses: list[tuple] | None = None
    pruned: bool = False  # the TSN table was pruned (see _sctp)
    _tcp_missed: set[tuple] = field(default_factory=set)  # TCP streams already noted in ``misses``
    _now: int = 0

    def feed(self, frame: Frame) -> list[Unit] | str:
        return self.feed_raw(frame.ts_us, frame.linktype, frame.data)

    def feed_raw(self, ts_us: int, linktype: int, data: bytes) -> list[Unit] | str:
        """The user messages one frame completes, or a skip reason; ``DecodeError`` if malformed."""
        self._now = ts_us
        # Fast path, the usual frame: Ethernet, IPv4 without options, not a fragment, SCTP. Anything
        # else (or anything odd about these headers) takes the general path below, which checks it.
        if (linktype == 1 and data[12:15] == b"\x08\x00\x45" and len(data) >= 34 and data[23] == 132
                and not (data[20] & 0x3F or data[21])):
            total = (data[16] << 8) | data[17]
            if 20 <= total <= len(data) - 14:
                end = 14 + total
                if end >= 50 and data[46] != 0 and len(self.sctp_tsns) <= TSN_TABLE_LIMIT:
                    # one control chunk (SACK, HEARTBEAT, ...) filling the packet: what _sctp would say
                    clen = (data[48] << 8) | data[49]
                    if clen >= 4 and 46 + clen <= end < 50 + ((clen + 3) & ~3):
                        return "sctp control"
                return self._sctp(data[26:34], data[34:end])
        if linktype == 1 and data[12:14] == b"\x08\x06":
            return "arp"
        if linktype in MTP_LINKTYPES:
            return _mtp_link(linktype, data)
        ip = _link(linktype, data)
        if isinstance(ip, str):
            return ip
        version = ip[0] >> 4 if ip else 0
        if version == 4:
            parsed = self._ipv4(ip)
        elif version == 6:
            parsed = _ipv6(ip)
        else:
            return "not IP"
        if isinstance(parsed, str):
            return parsed
        addresses, proto, payload = parsed
        if proto == 132:
            return self._sctp(addresses, payload)
        if proto == 6:
            return self._tcp(addresses, payload)
        return "udp" if proto == 17 else f"ip protocol {proto}"

    # -- IP ---------------------------------------------------------------------------------------
    def _ipv4(self, ip: bytes) -> tuple[bytes, int, bytes] | str:
        """(source and destination addresses, protocol, payload) of an IPv4 packet, reassembled."""
        if len(ip) < 20:
            raise DecodeError("IPv4: header truncated")
        ihl = (ip[0] & 0x0F) * 4
        total = _H.unpack_from(ip, 2)[0]
        if ihl < 20 or total < ihl or len(ip) < total:
            raise DecodeError(f"IPv4: bad header length {ihl} / total length {total} ({len(ip)} captured)")
        flags_frag = _H.unpack_from(ip, 6)[0]
        proto, addresses = ip[9], ip[12:20]
        payload = ip[ihl:total]
        if flags_frag & 0x3FFF:  # MF set or offset non-zero: a fragment
            if proto not in (132, 6):
                return "ip fragment (not SCTP/TCP)"
            key = (addresses, proto, ip[4:6])
            if self.misses is not None and key not in self.ip_fragments:
                self.misses.append(("ip", key))
            parts = self.ip_fragments.setdefault(key, {})
            offset = (flags_frag & 0x1FFF) * 8
            parts[offset] = payload
            if not flags_frag & 0x2000:
                self.ip_fragment_ends[key] = offset + len(payload)
            end = self.ip_fragment_ends.get(key)
            if end is None:
                return "ip fragment (waiting for the rest)"
            joined, pos = bytearray(), 0
            for off in sorted(parts):
                if off != pos:
                    return "ip fragment (waiting for the rest)"
                joined += parts[off]
                pos = off + len(parts[off])
            if pos != end:
                return "ip fragment (waiting for the rest)"
            del self.ip_fragments[key], self.ip_fragment_ends[key]
            payload = bytes(joined)
        return addresses, proto, payload

    # -- SCTP -------------------------------------------------------------------------------------
    def _sctp(self, addresses: bytes, seg: bytes) -> list[Unit] | str:
        """DATA chunks of one SCTP packet: complete user messages, or why there are none."""
        size = len(seg)
        if size < 12:
            raise DecodeError("SCTP: common header truncated")
        sport, dport = (seg[0] << 8) | seg[1], (seg[2] << 8) | seg[3]
        out: list[Unit] = []
        carrier = ("sctp", addresses)
        off, data_chunks, retransmitted = 12, 0, 0
        tsns = self.sctp_tsns
        if len(tsns) > TSN_TABLE_LIMIT:
            horizon = self._now - self.retransmission_window_us
            self.sctp_tsns = tsns = {k: v for k, v in tsns.items() if v >= horizon}
            self.pruned = True
        now, window = self._now, self.retransmission_window_us
        association = addresses + seg[:4]  # addresses and ports: one direction of one association
        while off + 4 <= size:
            clen = (seg[off + 2] << 8) | seg[off + 3]
            if clen < 4 or off + clen > size:
                raise DecodeError(f"SCTP: chunk at offset {off} has a bad length {clen}")
            if seg[off] == 0:
                data_chunks += 1
                if clen < 16:
                    raise DecodeError(f"SCTP: DATA chunk at offset {off} shorter than its header")
                flags = seg[off + 1]
                tsn, stream, _ssn, ppid = _SCTP_DATA.unpack_from(seg, off + 4)
                tkey = (association, tsn)
                seen = tsns.get(tkey)
                tsns[tkey] = now
                if seen is None and self.misses is not None:
                    self.misses.append(("tsn", tkey, now))
                if seen is not None and 0 <= now - seen <= window:
                    retransmitted += 1
                    off += (clen + 3) & ~3
                    continue
                user = seg[off + 16 : off + clen]
                proto = PPID.get(ppid) or SCTP_PORTS.get(dport) or SCTP_PORTS.get(sport)
                if flags & 0x03 != 0x03:  # fragment of a user message
                    key = (association, stream)
                    if flags & 0x02:
                        self.sctp_fragments[key] = [user]
                    elif key in self.sctp_fragments:
                        self.sctp_fragments[key].append(user)
                    else:
                        if self.misses is not None:
                            self.misses.append(("sctp", key))
                        raise DecodeError("SCTP: middle/last DATA fragment without its first fragment")
                    if not flags & 0x01:
                        off += (clen + 3) & ~3
                        continue
                    user = b"".join(self.sctp_fragments.pop(key))
                if proto is None and ppid == 0 and looks_like_diameter(user, whole=True):
                    proto = "diameter"  # unregistered PPID and port: Diameter by its header
                if proto is not None:
                    out.append((proto, user, carrier))
            off += (clen + 3) & ~3
        if out:
            return out
        if retransmitted and retransmitted == data_chunks:
            return "sctp retransmission"
        if data_chunks:
            return "sctp data (other protocol or fragment)"
        return "sctp control"

    # -- TCP --------------------------------------------------------------------------------------
    def _tcp(self, addresses: bytes, seg: bytes) -> list[Unit] | str:
        """Diameter messages a TCP segment completes. A stream on port 3868 is Diameter from its SYN;
        on any other port from its first segment that starts with a Diameter header."""
        if len(seg) < 20:
            raise DecodeError("TCP: header truncated")
        sport, dport = _H.unpack_from(seg, 0)[0], _H.unpack_from(seg, 2)[0]
        seq = _I.unpack_from(seg, 4)[0]
        hlen = (seg[12] >> 4) * 4
        if hlen < 20 or hlen > len(seg):
            raise DecodeError(f"TCP: bad data offset {hlen}")
        flags = seg[13]
        payload = seg[hlen:]
        key = (addresses, sport, dport)
        state = self.tcp_streams.get(key)
        if state is None and self.misses is not None and key not in self._tcp_missed:
            self._tcp_missed.add(key)  # once per stream: most TCP streams are not Diameter
            self.misses.append(("tcp", key))
        well_known = sport in DIAMETER_TCP_PORTS or dport in DIAMETER_TCP_PORTS
        if flags & 0x02:  # SYN
            if well_known:
                self.tcp_streams[key] = [(seq + 1) & 0xFFFFFFFF, b""]
                return "tcp handshake"
            return "tcp (not Diameter)"
        if not payload:
            return "tcp (no payload)" if well_known or state is not None else "tcp (not Diameter)"
        if state is None or state[0] is None:
            if not well_known and not looks_like_diameter(payload):
                return "tcp (not Diameter)"
            state = [seq, b""]
            self.tcp_streams[key] = state
        delta = (seq - state[0]) & 0xFFFFFFFF
        if delta >= 0x80000000:  # entirely or partly old data: a retransmission
            overlap = (state[0] - seq) & 0xFFFFFFFF
            if overlap >= len(payload):
                return "tcp retransmission"
            payload = payload[overlap:]
        elif delta:
            state[1] = b""  # a gap: lost segments; resynchronise on this one
        state[0] = (seq + len(seg) - hlen) & 0xFFFFFFFF
        buf = state[1] + payload
        out: list[Unit] = []
        carrier = ("tcp", addresses)
        while len(buf) >= 20:
            length = int.from_bytes(buf[1:4], "big")
            if buf[0] != 1 or length < 20:
                state[1] = b""
                if not well_known:  # it looked like Diameter once; no longer: forget the stream
                    del self.tcp_streams[key]
                    return out or "tcp (not Diameter, or a Diameter stream out of sync)"
                if buf[0] != 1:
                    raise DecodeError(f"Diameter over TCP: version {buf[0]} (stream out of sync)")
                raise DecodeError(f"Diameter over TCP: message length {length} < 20")
            if len(buf) < length:
                break
            out.append(("diameter", buf[:length], carrier))
            buf = buf[length:]
        state[1] = buf
        return out or "tcp (Diameter message continues)"


def looks_like_diameter(data: bytes, whole: bool = False) -> bool:
    """Whether ``data`` starts with a Diameter header (RFC 6733): version 1, a length that is a multiple
    of 4 and at least 20, no reserved flag bits, and a well-formed first AVP header if one is there.
    ``whole``: ``data`` is one complete message (SCTP), so the length must equal its size."""
    size = len(data)
    if size < 20 or data[0] != 1 or data[4] & 0x0F:
        return False
    length = (data[1] << 16) | (data[2] << 8) | data[3]
    if length < 20 or length % 4 or (whole and length != size):
        return False
    if length > 20 and size >= 28:
        alen = (data[25] << 16) | (data[26] << 8) | data[27]
        if alen < (12 if data[24] & 0x80 else 8) or data[24] & 0x1F or 20 + alen > length:
            return False
    return True


MTP_LINKTYPES = frozenset({139, 140, 141, 142})
_MTP2_CARRIER: Carrier = ("mtp2", b"")
_MTP3_CARRIER: Carrier = ("mtp3", b"")
_SCCP_CARRIER: Carrier = ("sccp", b"")


def _mtp_link(linktype: int, data: bytes) -> list[Unit] | str:
    """The MTP3 message of a frame on an SS7 link: MTP3 itself (141), or an MTP2 signal unit (140;
    139 after a 4-octet pseudo-header whose second octet, 1, says Annex A: extended sequence numbers);
    or an SCCP message alone (142, no routing label). FISUs and LSSUs are link control: skipped."""
    if linktype == 141:
        if len(data) < 5:
            raise DecodeError("MTP3: message shorter than SIO and routing label")
        return [("mtp3", data, _MTP3_CARRIER)]
    if linktype == 142:
        return [("sccp", data, _SCCP_CARRIER)]
    extended = False
    if linktype == 139:
        if len(data) < 4:
            raise DecodeError("MTP2 pseudo-header truncated")
        extended = data[1] == 1  # MTP2_ANNEX_A_USED (0: not used, 2: unknown, the usual format)
        data = data[4:]
    head = 6 if extended else 3
    if len(data) < head:
        raise DecodeError("MTP2: signal unit shorter than its header")
    li = ((data[4] | (data[5] << 8)) & 0x1FF) if extended else data[2] & 0x3F
    if li == 0:
        return "mtp2 fill-in signal unit"
    if li <= 2:
        return "mtp2 link status signal unit"
    return [("mtp3", data[head:], _MTP2_CARRIER)]


def _link(linktype: int, data: bytes) -> bytes | str:
    """The IP packet inside a frame, or a skip reason."""
    if linktype == 1:  # Ethernet
        if len(data) < 14:
            raise DecodeError("Ethernet: header truncated")
        etype, off = _H.unpack_from(data, 12)[0], 14
        while etype in ETH_VLAN and off + 4 <= len(data):
            etype, off = _H.unpack_from(data, off + 2)[0], off + 4
        if etype in (0x0800, 0x86DD):
            return data[off:]
        return "arp" if etype == 0x0806 else f"ethertype 0x{etype:04x}"
    if linktype == 113:  # Linux cooked capture (SLL)
        if len(data) < 16:
            raise DecodeError("Linux cooked header truncated")
        etype = _H.unpack_from(data, 14)[0]
        return data[16:] if etype in (0x0800, 0x86DD) else f"ethertype 0x{etype:04x}"
    if linktype == 276:  # Linux cooked capture v2 (SLL2)
        if len(data) < 20:
            raise DecodeError("Linux cooked v2 header truncated")
        etype = _H.unpack_from(data, 0)[0]
        return data[20:] if etype in (0x0800, 0x86DD) else f"ethertype 0x{etype:04x}"
    if linktype in (101, 12, 14, 228, 229):  # raw IP
        return data
    if linktype == 0:  # BSD loopback: 4-byte address family in host order
        return data[4:] if len(data) > 4 else "loopback (empty)"
    return f"link type {linktype}"


_IPV6_EXT = frozenset({0, 43, 60})


def _ipv6(ip: bytes) -> tuple[bytes, int, bytes] | str:
    if len(ip) < 40:
        raise DecodeError("IPv6: header truncated")
    plen, nxt = _H.unpack_from(ip, 4)[0], ip[6]
    off, end = 40, min(len(ip), 40 + plen) if plen else len(ip)
    while nxt in _IPV6_EXT and off + 8 <= end:
        nxt, off = ip[off], off + (ip[off + 1] + 1) * 8
    if nxt == 44:
        return "ipv6 fragment"
    return ip[8:40], nxt, ip[off:end]
