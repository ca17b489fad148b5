"""Build the small captures of this folder (see MANIFEST.md): frames of the shared MAP capture
re-wrapped in the link layers SS7 probes write, and hand-built Diameter over TCP on a private port.

    PYTHONPATH=src python tests/signalling_decode/captures/make_captures.py [SHARED_MAP_CAPTURE]

Deterministic: running it again writes the same bytes. Identifiers in the hand-built Diameter
messages are test values (MCC 001, UK drama numbers 447700900xxx).
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

from custodiet.ingest.signalling.capture import read_frames
from custodiet.ingest.signalling.ss7 import mtp3_user
from custodiet.ingest.signalling.transport import Transport

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[3] / "shared" / "captures" / "pycrate_tcapmap_pcapr_rebuilt.pcap"
T0 = 1_700_000_000_000_000

# frames of the shared capture: an updateLocation dialogue with an ISD in a continue (86-89), an
# updateLocation refused with returnError roamingNotAllowed (157, 159), anyTimeInterrogation and its
# result (102, 104), sendIdentification by TMSI and its result (136, 138), and the 13-invoke IN
# dialogue sent to an HLR with no calling global title (three XUDT segments, 1-3)
UL_DIALOGUE = [86, 87, 88, 89]
UL_REFUSED = [157, 159]
ATI = [102, 104]
SEND_ID = [136, 138]
IN_BEGIN = [1, 2, 3]  # three XUDT segments


def sccp_payloads(path: Path, wanted: set[int]) -> dict[int, tuple[bytes, int, int]]:
    """frame -> (SCCP message, OPC, DPC) of the wanted frames (one SS7 message each)."""
    transport, out = Transport(), {}
    for frame in read_frames(path):
        units = transport.feed(frame)
        if frame.number not in wanted or isinstance(units, str):
            continue
        for protocol, payload, _ in units:
            routed = mtp3_user(protocol, payload)
            if not isinstance(routed, str):
                sccp, (opc, dpc, _rc) = routed
                if opc is None or dpc is None:
                    raise SystemExit(f"frame {frame.number}: no routing label")
                out[frame.number] = (sccp, opc, dpc)
    missing = wanted - set(out)
    assert not missing, f"no SCCP message in frames {sorted(missing)}"
    return out


# -- writers ------------------------------------------------------------------------------------
def pcap(frames: list[bytes], linktype: int, endian: str = "<") -> bytes:
    out = [struct.pack(endian + "IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype)]
    for i, data in enumerate(frames):
        ts = T0 + i * 10_000
        out.append(struct.pack(endian + "IIII", ts // 1_000_000, ts % 1_000_000, len(data), len(data)) + data)
    return b"".join(out)


def mtp3(sccp: bytes, opc: int, dpc: int, sls: int = 5) -> bytes:
    """SIO (international network, SCCP) and the ITU routing label, least significant octet first."""
    return bytes([0x03]) + (dpc | opc << 14 | sls << 28).to_bytes(4, "little") + sccp


def mtp2(msu: bytes, n: int) -> bytes:
    """An MSU: BSN/BIB, FSN/FIB, length indicator (63 for longer units)."""
    return bytes([0x80 | n & 0x7F, 0x80 | n & 0x7F, min(len(msu), 63)]) + msu


FISU = bytes([0xFF, 0xFF, 0x00])
LSSU = bytes([0xFF, 0xFF, 0x01, 0x03])  # status indication "in service"


def m2ua(msu: bytes) -> bytes:
    params = struct.pack("!HHI", 0x0001, 8, 1)  # Interface Identifier (integer) 1
    pd = struct.pack("!HH", 0x0300, 4 + len(msu)) + msu + b"\x00" * (-len(msu) % 4)  # Protocol Data 1
    body = params + pd
    return struct.pack("!BBBBI", 1, 0, 6, 1, 8 + len(body)) + body


def m3ua(sccp: bytes, opc: int, dpc: int, context: int) -> bytes:
    rc = struct.pack("!HHI", 0x0006, 8, context)
    data = struct.pack("!IIBBBB", opc, dpc, 3, 2, 0, 5) + sccp
    pd = struct.pack("!HH", 0x0210, 4 + len(data)) + data + b"\x00" * (-len(data) % 4)
    body = rc + pd
    return struct.pack("!BBBBI", 1, 0, 1, 1, 8 + len(body)) + body


def sctp(user: bytes, ppid: int, tsn: int, sport: int = 2905, dport: int = 2905) -> bytes:
    chunk = struct.pack("!BBHIHHI", 0, 3, 16 + len(user), tsn, 0, 0, ppid) + user
    return struct.pack("!HHII", sport, dport, 7, 0) + chunk + b"\x00" * (-len(chunk) % 4)


def ipv4(proto: int, payload: bytes, src: bytes, dst: bytes) -> bytes:
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0x4000, 64, proto, 0, src, dst) + payload


def ipv6(proto: int, payload: bytes, src: bytes, dst: bytes) -> bytes:
    return struct.pack("!IHBB16s16s", 0x60000000, len(payload), proto, 64, src, dst) + payload


def ether(ip: bytes, ethertype: int) -> bytes:
    return b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02" + struct.pack("!H", ethertype) + ip


def tcp(payload: bytes, sport: int, dport: int, seq: int, flags: int = 0x18) -> bytes:
    return struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, flags, 65535, 0, 0) + payload


V6_A = bytes.fromhex("20010db8000000000000000000000001")
V6_B = bytes.fromhex("20010db8000000000000000000000002")
V4_A, V4_B = bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2])


# -- Diameter -----------------------------------------------------------------------------------
def avp(code: int, data: bytes, vendor: int | None = None) -> bytes:
    head = 12 if vendor else 8
    flags = 0x40 | (0x80 if vendor else 0)
    out = struct.pack("!IB", code, flags) + (head + len(data)).to_bytes(3, "big")
    if vendor:
        out += struct.pack("!I", vendor)
    return out + data + b"\x00" * (-len(data) % 4)


def u32(value: int) -> bytes:
    return struct.pack("!I", value)


def diameter(code: int, app: int, request: bool, hbh: int, avps: list[bytes]) -> bytes:
    body = b"".join(avps)
    flags = 0xC0 if request else 0x40
    return (bytes([1]) + (20 + len(body)).to_bytes(3, "big") + bytes([flags]) + code.to_bytes(3, "big")
            + struct.pack("!III", app, hbh, hbh + 0x1000) + body)


def peer(session: str, host: str, realm: str) -> list[bytes]:
    return [avp(263, session.encode()), avp(264, host.encode()), avp(296, realm.encode())]


def experimental(code: int) -> bytes:
    return avp(297, avp(266, u32(10415)) + avp(298, u32(code)))


S6A, CX, RX = 16777251, 16777216, 16777236
HOME, VISITED = "epc.mnc001.mcc001.3gppnetwork.org", "epc.mnc002.mcc001.3gppnetwork.org"
IMS = "ims.mnc001.mcc001.3gppnetwork.org"


def diameter_messages() -> list[tuple[bool, bytes]]:
    """(from the client?, message): S6a ULR refused with an Experimental-Result, Cx UAR/UAA and LIR (no
    subscriber identity: an unknown subject), Rx AAR/AAA."""
    ulr = diameter(316, S6A, True, 1, peer("mme.visited;1;1", "mme.visited", VISITED) + [
        avp(283, HOME.encode()), avp(1, b"001010000000001"), avp(1407, b"\x00\xf1\x10", 10415)])
    ula = diameter(316, S6A, False, 1, peer("mme.visited;1;1", "hss.home", HOME) + [experimental(5420)])
    uar = diameter(300, CX, True, 2, peer("icscf;1;2", "icscf.home", IMS) + [
        avp(283, IMS.encode()), avp(1, f"001010000000002@{IMS}".encode()),
        avp(601, b"sip:+447700900124@ims.example", 10415)])
    uaa = diameter(300, CX, False, 2, peer("icscf;1;2", "hss.home", IMS) + [experimental(2001)])
    lir = diameter(302, CX, True, 3, peer("icscf;1;3", "icscf.home", IMS) + [
        avp(283, IMS.encode()), avp(601, b"sip:alice@ims.example", 10415)])
    aar = diameter(265, RX, True, 4, peer("pcscf;1;4", "pcscf.home", IMS) + [
        avp(283, IMS.encode()), avp(443, avp(450, u32(0)) + avp(444, b"447700900125"))])
    aaa = diameter(265, RX, False, 4, peer("pcscf;1;4", "pcrf.home", IMS) + [avp(268, u32(2001))])
    return [(True, ulr), (False, ula), (True, uar), (False, uaa), (True, lir), (True, aar), (False, aaa)]


def diameter_tcp() -> list[bytes]:
    """The Diameter messages over one TCP connection on port 13868 (not 3868): the client's first
    segment carries two messages, one message is split over two segments; an HTTP request on another
    connection is not Diameter."""
    cport, sport = 40001, 13868
    seq = {True: 1000, False: 5000}
    frames = [ether(ipv4(6, tcp(b"", cport, sport, seq[True] - 1, 0x02), V4_A, V4_B), 0x0800)]
    msgs = diameter_messages()
    segments: list[tuple[bool, bytes]] = [(True, msgs[0][1] + msgs[2][1])]  # ULR and UAR in one segment
    segments += [(False, msgs[1][1]), (False, msgs[3][1])]
    lir = msgs[4][1]
    segments += [(True, lir[:30]), (True, lir[30:] + msgs[5][1]), (False, msgs[6][1])]
    for client, data in segments:
        src, dst, ports = (V4_A, V4_B, (cport, sport)) if client else (V4_B, V4_A, (sport, cport))
        frames.append(ether(ipv4(6, tcp(data, *ports, seq[client]), src, dst), 0x0800))
        seq[client] += len(data)
    http = b"GET / HTTP/1.1\r\nHost: example\r\n\r\n"
    frames.append(ether(ipv4(6, tcp(http, 40002, 8080, 1), V4_A, V4_B), 0x0800))
    return frames


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else SHARED
    frames = UL_DIALOGUE + UL_REFUSED + ATI + SEND_ID + IN_BEGIN
    ss7 = sccp_payloads(source, set(frames))

    def msus(numbers: list[int]) -> list[bytes]:
        return [mtp3(*ss7[n]) for n in numbers]

    # MTP3 (141), big-endian pcap: the UL dialogue with its ISD, the refused UL
    (HERE / "mtp3_be.pcap").write_bytes(pcap(msus(UL_DIALOGUE + UL_REFUSED), 141, ">"))
    # MTP2 (140): fill-in and link status units between the ATI and sendIdentification MSUs
    units = [FISU, LSSU] + [mtp2(m, i) for i, m in enumerate(msus(ATI + SEND_ID))] + [FISU]
    (HERE / "mtp2.pcap").write_bytes(pcap(units, 140))
    # MTP2 with pseudo-header (139): the IN begin without a calling GT, and the refused UL
    phdr = b"\x01\x00\x00\x03"  # sent, Annex A not used, link 3
    units = [phdr + mtp2(m, i) for i, m in enumerate(msus(IN_BEGIN + UL_REFUSED))]
    (HERE / "mtp2_phdr.pcap").write_bytes(pcap(units, 139))
    # SCCP alone (142): the ATI exchange
    (HERE / "sccp.pcap").write_bytes(pcap([ss7[n][0] for n in ATI], 142))
    # M2UA (SCTP PPID 2) over IPv4: the ATI and sendIdentification exchanges
    m2ua_frames = [ether(ipv4(132, sctp(m2ua(m), 2, i + 1, 2904, 2904), V4_A, V4_B), 0x0800)
                   for i, m in enumerate(msus(ATI + SEND_ID))]
    (HERE / "m2ua.pcap").write_bytes(pcap(m2ua_frames, 1))
    # M3UA with a routing context over IPv6, and a Diameter ULR over SCTP on IPv6
    v6 = [ether(ipv6(132, sctp(m3ua(*ss7[n], context=77), 3, i + 1), V6_A, V6_B), 0x86DD)
          for i, n in enumerate(UL_DIALOGUE + UL_REFUSED)]
    ulr = diameter_messages()[0][1]
    v6.append(ether(ipv6(132, sctp(ulr, 46, 1, 3868, 3868), V6_A, V6_B), 0x86DD))
    (HERE / "m3ua_ipv6.pcap").write_bytes(pcap(v6, 1))
    # Diameter (S6a, Cx, Rx) over TCP on a private port
    (HERE / "diameter_tcp_13868.pcap").write_bytes(pcap(diameter_tcp(), 1))


if __name__ == "__main__":
    main()
