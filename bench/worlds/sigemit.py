"""Signalling links and the capture writer: messages in time order, one pcap per day and protocol.

SS7 messages travel SCCP -> M3UA -> SCTP over an association between our STP and a carrier's STP (or,
inside the home network, between our GMSC/SMSC and our HLR). Diameter messages travel between our edge
agent and an IPX edge agent over SCTP or TCP. A TCAP message too long for one UDT is sent either in
segmented XUDTs or, when the sender prefers, as an empty TC-BEGIN first (that choice is made by the flow).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sigwire import Association, PcapWriter, link_frame, m3ua_data, udt, udts, xudt_segments


@dataclass
class Link:
    """An SS7 association: our end (A) and a carrier's or an internal node's end (B)."""

    name: str
    assoc: Association
    our_pc: int
    their_pc: int
    rc: int | None
    ni: int
    streams: int = 4


@dataclass
class Peer:
    """A Diameter connection between our edge agent and an IPX edge agent."""

    name: str
    assoc: Association
    host: str
    realm: str


@dataclass
class Msg:
    ts: float
    ss7: bool
    link: int
    outbound: bool
    payload: bytes
    called: bytes = b""
    calling: bytes = b""
    sls: int = 0
    opc: int | None = None  # a point code other than the link's far end (spoofing)
    requests: int = 0  # invokes / Diameter requests carried
    attack: list[dict] = field(default_factory=list)
    udts: int | None = None  # an SCCP unitdata service (returned message) with this cause
    m3ua_raw: bool = False  # ``payload`` is a whole M3UA management message (heartbeat)


def gt_digits(address: bytes) -> str | None:
    """The digits of an SCCP address this module wrote (GT indicator 4 after the SSN), or None."""
    if not address or address[0] != 0x12:
        return None
    digits = "".join(f"{b & 0x0F:x}{b >> 4:x}" for b in address[5:])
    return digits[:-1] if address[3] & 0x0F == 1 else digits


def write_captures(out: Path, msgs: list[Msg], links: list[Link], peers: list[Peer], t0: float, days: int,
                   linktype: int, rng, sack: float = 0.0, tcp_split: float = 0.0,
                   vlan: int | None = None) -> tuple[list[str], list[dict], dict]:
    """Write ``ss7-dayN.pcap`` and ``s6a-dayN.pcap``; returns file names, attack entries and frame counts.

    ``sack``: share of SCTP packets that bundle a SACK; ``tcp_split``: share of Diameter messages over TCP
    sent in two segments (the attack frame is then the segment that completes the message).
    """
    msgs.sort(key=lambda m: m.ts)
    writers: dict[str, PcapWriter] = {}
    attacks: list[dict] = []
    ident = 0
    xref = 1
    for m in msgs:
        day = min(days - 1, max(0, int((m.ts - t0) // 86400)))
        name = f"{'ss7' if m.ss7 else 's6a'}-day{day + 1}.pcap"
        w = writers.get(name)
        if w is None:
            w = writers[name] = PcapWriter(out / name, linktype)
        ts_us = int(m.ts * 1_000_000)
        if m.ss7:
            link = links[m.link]
            opc, dpc = (link.our_pc, link.their_pc) if m.outbound else (m.opc or link.their_pc, link.our_pc)
            if m.m3ua_raw:
                ident += 1
                pkt = link.assoc.packet(m.outbound, 3, m.payload, 0, ident)
                frame = w.write(ts_us, link_frame(linktype, pkt, vlan))
                continue
            if m.udts is not None:
                sccps = [udts(m.called, m.calling, m.payload, m.udts)]
            elif len(m.payload) + len(m.called) + len(m.calling) > 250:
                sccps = xudt_segments(m.called, m.calling, m.payload, xref)
                xref += 1
            else:
                sccps = [udt(m.called, m.calling, m.payload)]
            for k, sccp in enumerate(sccps):
                ident += 1
                pkt = link.assoc.packet(m.outbound, 3, m3ua_data(opc, dpc, sccp, link.rc, link.ni, m.sls),
                                        m.sls % link.streams, ident, sack=rng.random() < sack)
                frame = w.write(ts_us + k * 40, link_frame(linktype, pkt, vlan))
        else:
            peer = peers[m.link]
            parts = [m.payload]
            if peer.assoc.tcp and rng.random() < tcp_split:
                cut = rng.randrange(20, len(m.payload))
                parts = [m.payload[:cut], m.payload[cut:]]
            for k, part in enumerate(parts):
                ident += 1
                pkt = peer.assoc.packet(m.outbound, 46, part, 0, ident, sack=rng.random() < sack)
                frame = w.write(ts_us + k * 150, link_frame(linktype, pkt, vlan))
        for a in m.attack:
            where = {"calling_gt": gt_digits(m.calling), "opc": m.opc or links[m.link].their_pc} if m.ss7 else {}
            attacks.append({"event_key": f"{name}:{frame}", "file": name, "frame": frame, **a, **where})
    for w in writers.values():
        w.close()
    return sorted(writers), attacks, {n: w.frames for n, w in writers.items()}
