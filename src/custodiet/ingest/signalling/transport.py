"""Link layers, IPv4/IPv6 (with IPv4 fragment reassembly), SCTP (bundled and fragmented DATA
chunks) and TCP (stream reassembly for Diameter): frames in, upper-layer messages out.

``Transport.feed(frame)`` returns the complete user messages the frame finishes, each as
``(protocol, payload)`` with protocol "m3ua", "m2pa" or "diameter"; a frame with nothing of ours
returns a skip reason (str) and is counted, not quarantined. Malformed headers of frames that carry
signalling raise ``DecodeError`` naming the layer.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from custodiet.ingest.signalling.capture import Frame


class DecodeError(ValueError):
    """A frame that carries signalling but cannot be decoded; the message names the layer."""


# SCTP payload protocol identifiers and well-known ports
PPID = {3: "m3ua", 5: "m2pa", 46: "diameter", 47: "diameter"}
SCTP_PORTS = {2905: "m3ua", 3565: "m2pa", 3868: "diameter"}
DIAMETER_TCP_PORTS = frozenset({3868})
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
    tcp_streams: dict[tuple, list] = field(default_factory=dict)  # key -> [next_seq, buffer]
    sctp_tsns: dict[tuple, int] = field(default_factory=dict)  # (direction, TSN) -> last seen, µs
    retransmission_window_us: int = 120_000_000  # SCTP's RTO.max is 60 s; a TSN seen again later is new
    # When a list: every lookup of per-capture state that found nothing is noted here, as (kind, key) or
    # ("tsn", key, time). A decoder that started mid-capture (``parallel``) is exact iff none of these
    # keys was in the state the frames before it left.
    misses: list[tuple] | None = None
    pruned: bool = False  # the TSN table was pruned (see _sctp)
    _now: int = 0

    def feed(self, frame: Frame) -> list[tuple[str, bytes]] | str:
        return self.feed_raw(frame.ts_us, frame.linktype, frame.data)

    def feed_raw(self, ts_us: int, linktype: int, data: bytes) -> list[tuple[str, bytes]] | str:
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
    def _sctp(self, addresses: bytes, seg: bytes) -> list[tuple[str, bytes]] | str:
        """DATA chunks of one SCTP packet: complete user messages, or why there are none."""
        size = len(seg)
        if size < 12:
            raise DecodeError("SCTP: common header truncated")
        sport, dport = (seg[0] << 8) | seg[1], (seg[2] << 8) | seg[3]
        out: list[tuple[str, bytes]] = []
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
                if proto is not None:
                    out.append((proto, user))
            off += (clen + 3) & ~3
        if out:
            return out
        if retransmitted and retransmitted == data_chunks:
            return "sctp retransmission"
        if data_chunks:
            return "sctp data (other protocol or fragment)"
        return "sctp control"

    # -- TCP --------------------------------------------------------------------------------------
    def _tcp(self, addresses: bytes, seg: bytes) -> list[tuple[str, bytes]] | str:
        if len(seg) < 20:
            raise DecodeError("TCP: header truncated")
        sport, dport = _H.unpack_from(seg, 0)[0], _H.unpack_from(seg, 2)[0]
        if sport not in DIAMETER_TCP_PORTS and dport not in DIAMETER_TCP_PORTS:
            return "tcp (not Diameter)"
        seq = _I.unpack_from(seg, 4)[0]
        hlen = (seg[12] >> 4) * 4
        if hlen < 20 or hlen > len(seg):
            raise DecodeError(f"TCP: bad data offset {hlen}")
        flags = seg[13]
        payload = seg[hlen:]
        key = (addresses, sport, dport)
        state = self.tcp_streams.get(key)
        if state is None and self.misses is not None:
            self.misses.append(("tcp", key))
        if flags & 0x02:  # SYN
            self.tcp_streams[key] = [(seq + 1) & 0xFFFFFFFF, b""]
            return "tcp handshake"
        if not payload:
            return "tcp (no payload)"
        if state is None or state[0] is None:
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
        out = []
        while len(buf) >= 20:
            if buf[0] != 1:
                state[1] = b""
                raise DecodeError(f"Diameter over TCP: version {buf[0]} (stream out of sync)")
            length = int.from_bytes(buf[1:4], "big")
            if length < 20:
                state[1] = b""
                raise DecodeError(f"Diameter over TCP: message length {length} < 20")
            if len(buf) < length:
                break
            out.append(("diameter", buf[:length]))
            buf = buf[length:]
        state[1] = buf
        return out or "tcp (Diameter message continues)"


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
