"""Decoder layers on small hand-built captures: SCTP bundling and fragments, XUDT reassembly,
TCP-carried Diameter, pcapng timestamps, and decode failures naming their frame."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from custodiet.ingest.signalling import ber
from custodiet.ingest.signalling.capture import CaptureError, read_frames
from custodiet.ingest.signalling.decoder import CaptureDecoder, DiameterRecord, MapRecord
from custodiet.ingest.signalling.map_ops import extract

from .helpers import ether, gt_address, ipv4, m3ua_data, pcap, sctp_data, udt, xudt_segments


def tlv(tag: int, value: bytes) -> bytes:
    assert len(value) < 0x80 or len(value) < 0x100
    length = bytes([len(value)]) if len(value) < 0x80 else bytes([0x81, len(value)])
    return bytes([tag]) + length + value


def isdn(digits: str) -> bytes:
    padded = digits + ("f" if len(digits) % 2 else "")
    return b"\x91" + bytes(int(padded[i + 1], 16) << 4 | int(padded[i], 16) for i in range(0, len(padded), 2))


def ati_begin(otid: bytes, msisdn: str, filler: int = 0) -> bytes:
    ac = tlv(0xA1, tlv(0x06, bytes.fromhex("04000001001d03")))
    dialogue = tlv(0x6B, tlv(0x28, tlv(0x06, bytes.fromhex("00118605010101"))
                              + tlv(0xA0, tlv(0x60, tlv(0x80, b"\x07\x80") + ac))))
    arg = tlv(0x30, tlv(0xA0, tlv(0x81, isdn(msisdn))) + tlv(0xA1, tlv(0x80, b""))
              + (tlv(0x83, isdn("4420" + "1" * filler)) if filler else b""))
    invoke = tlv(0xA1, tlv(0x02, b"\x01") + tlv(0x02, b"\x47") + arg)
    return tlv(0x62, tlv(0x48, otid) + dialogue + tlv(0x6C, invoke))


CALLED = gt_address("447700900123", 6)
CALLING = gt_address("23767000001", 147)


def write(tmp_path: Path, frames: list[tuple[int, bytes]], name: str = "t.pcap", linktype: int = 1) -> Path:
    path = tmp_path / name
    path.write_bytes(pcap(frames, linktype))
    return path


def test_bundled_sctp_chunks_give_one_record_each(tmp_path: Path) -> None:
    one = m3ua_data(udt(CALLED, CALLING, ati_begin(b"\x00\x00\x00\x01", "447700900123")))
    two = m3ua_data(udt(CALLED, CALLING, ati_begin(b"\x00\x00\x00\x02", "447700900124")))
    frame = ether(ipv4(132, sctp_data([(3, one, 0), (3, two, 1)])))
    dec = CaptureDecoder(write(tmp_path, [(1_700_000_000_000_000, frame)]))
    records = [r for r in dec.records() if isinstance(r, MapRecord)]
    assert [r.tcap.otid for r in records] == ["00000001", "00000002"]
    assert records[0].sccp.calling.gt == "23767000001"
    assert records[0].sccp.called.ssn == 6
    comp = records[1].tcap.components[0]
    assert (comp.kind, comp.opcode) == ("invoke", 71)
    assert extract(71, comp.parameter)["msisdn"] == "447700900124"
    assert records[0].tcap.app_context == "0.4.0.0.1.0.29.3"


def test_fragmented_sctp_data_is_reassembled_on_the_last_fragment(tmp_path: Path) -> None:
    msg = m3ua_data(udt(CALLED, CALLING, ati_begin(b"\x0a\x0b\x0c\x0d", "447700900123")))
    cut = len(msg) // 2
    f1 = ether(ipv4(132, sctp_data([(2, msg[:cut], 0)], tsn=10)))
    f2 = ether(ipv4(132, sctp_data([(1, msg[cut:], 0)], tsn=11)))
    dec = CaptureDecoder(write(tmp_path, [(1_000_000, f1), (2_000_000, f2)]))
    records = list(dec.records())
    assert [r.frame for r in records] == [2]
    assert dec.skipped == {"sctp data (other protocol or fragment)": 1}


def test_xudt_segments_out_of_order_are_reassembled(tmp_path: Path) -> None:
    begin = ati_begin(b"\x01\x02\x03\x04", "447700900123", filler=40)
    segs = xudt_segments(CALLED, CALLING, begin, size=30)
    assert len(segs) >= 3
    order = [0, 2, 1] + list(range(3, len(segs)))
    frames = [(i * 1000, ether(ipv4(132, sctp_data([(3, m3ua_data(segs[k]), 0)], tsn=100 + i))))
              for i, k in enumerate(order)]
    dec = CaptureDecoder(write(tmp_path, frames))
    records = [r for r in dec.records() if isinstance(r, MapRecord)]
    assert len(records) == 1
    assert records[0].frame == len(segs)
    assert records[0].sccp.data == begin
    assert records[0].tcap.components[0].opcode == 71
    assert not dec.failures


def test_missing_xudt_segment_is_quarantined_with_its_frames(tmp_path: Path) -> None:
    segs = xudt_segments(CALLED, CALLING, ati_begin(b"\x01\x02\x03\x05", "447700900123", filler=40), size=30)
    frames = [(i, ether(ipv4(132, sctp_data([(3, m3ua_data(s), 0)], tsn=i)))) for i, s in enumerate(segs[:-1])]
    dec = CaptureDecoder(write(tmp_path, frames))
    assert list(dec.records()) == []
    assert sorted(f.frame for f in dec.failures) == list(range(1, len(segs)))
    assert all("reassembly incomplete" in f.reason and f.raw for f in dec.failures)


def test_retransmitted_tsn_is_skipped_but_a_late_repeat_is_not(tmp_path: Path) -> None:
    msg = m3ua_data(udt(CALLED, CALLING, ati_begin(b"\x00\x00\x00\x09", "447700900123")))
    frame = ether(ipv4(132, sctp_data([(3, msg, 0)], tsn=5)))
    dec = CaptureDecoder(write(tmp_path, [(0, frame), (1_000_000, frame), (3_600_000_000, frame)]))
    assert [r.frame for r in dec.records()] == [1, 3]
    assert dec.skipped["sctp retransmission"] == 1


def test_malformed_tcap_is_a_failure_naming_the_frame(tmp_path: Path) -> None:
    good = m3ua_data(udt(CALLED, CALLING, ati_begin(b"\x00\x00\x00\x01", "447700900123")))
    bad = m3ua_data(udt(CALLED, CALLING, b"\x62\x30\x48\x04\x00"))  # length runs past the message
    frames = [(0, ether(ipv4(132, sctp_data([(3, good, 0)], tsn=1)))),
              (1, ether(ipv4(132, sctp_data([(3, bad, 0)], tsn=2))))]
    dec = CaptureDecoder(write(tmp_path, frames))
    assert [r.frame for r in dec.records()] == [1]
    assert len(dec.failures) == 1
    assert dec.failures[0].frame == 2
    assert dec.failures[0].reason.startswith("TCAP")
    assert dec.failures[0].raw == frames[1][1].hex()


def diameter_msg(code: int, request: bool, hbh: int, avps: list[tuple[int, bytes, int]]) -> bytes:
    body = b""
    for avp_code, data, vendor in avps:
        head = struct.pack("!IB", avp_code, 0xC0 if vendor else 0x40)
        length = (12 if vendor else 8) + len(data)
        avp = head + length.to_bytes(3, "big") + (struct.pack("!I", vendor) if vendor else b"") + data
        body += avp + b"\x00" * (-len(avp) % 4)
    length = 20 + len(body)
    return (bytes([1]) + length.to_bytes(3, "big") + bytes([0xC0 if request else 0x40]) + code.to_bytes(3, "big")
            + struct.pack("!III", 16777251, hbh, hbh + 1) + body)


def tcp(payload: bytes, seq: int, sport: int = 40000, dport: int = 3868, flags: int = 0x18) -> bytes:
    return struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, flags, 65535, 0, 0) + payload


def test_diameter_over_tcp_split_across_segments(tmp_path: Path) -> None:
    ulr = diameter_msg(316, True, 77, [(264, b"mme.epc.mnc001.mcc208.3gppnetwork.org", 0),
                                      (296, b"epc.mnc001.mcc208.3gppnetwork.org", 0),
                                      (1, b"208011234567890", 0), (1407, bytes.fromhex("02f810"), 10415)])
    frames = [(0, ether(ipv4(6, tcp(b"", 999, flags=0x02)))),
              (1, ether(ipv4(6, tcp(ulr[:30], 1000)))),
              (2, ether(ipv4(6, tcp(ulr[30:], 1030)))),
              (3, ether(ipv4(6, tcp(ulr[30:], 1030))))]  # a retransmission
    dec = CaptureDecoder(write(tmp_path, frames))
    records = list(dec.records())
    assert len(records) == 1
    assert isinstance(records[0], DiameterRecord)
    assert records[0].frame == 3
    msg = records[0].message
    assert msg.command_name == "Update-Location"
    assert msg.request
    assert msg.avps["user_name"] == "208011234567890"
    assert msg.avps["visited_plmn_id"] == "208-01"
    assert dec.skipped["tcp retransmission"] == 1


def test_raw_ip_link_type_and_pcapng_nanosecond_resolution(tmp_path: Path) -> None:
    ulr = diameter_msg(318, True, 5, [(264, b"a", 0), (1, b"208011234567890", 0)])
    packet = ipv4(132, sctp_data([(3, ulr, 0)], sport=3868, dport=3868, ppid=46))
    shb = struct.pack("<IIIHHq", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1) + struct.pack("<I", 28)
    opts = struct.pack("<HHB3x", 9, 1, 9) + struct.pack("<HH", 0, 0)
    idb_len = 20 + len(opts)
    idb = struct.pack("<IIHHI", 1, idb_len, 101, 0, 65535) + opts + struct.pack("<I", idb_len)
    ts = 1_700_000_000_123_456_789
    pad = b"\x00" * (-len(packet) % 4)
    epb_len = 32 + len(packet) + len(pad)
    epb = (struct.pack("<IIIIIII", 6, epb_len, 0, ts >> 32, ts & 0xFFFFFFFF, len(packet), len(packet))
           + packet + pad + struct.pack("<I", epb_len))
    path = tmp_path / "t.pcapng"
    path.write_bytes(shb + idb + epb)
    frames = list(read_frames(path))
    assert [(f.number, f.ts_us, f.linktype) for f in frames] == [(1, 1_700_000_000_123_456, 101)]
    records = list(CaptureDecoder(path).records())
    assert isinstance(records[0], DiameterRecord)
    assert records[0].message.command_code == 318


def test_truncated_capture_raises_with_position(tmp_path: Path) -> None:
    data = pcap([(0, b"\x00" * 60), (1, b"\x00" * 60)])
    path = tmp_path / "cut.pcap"
    path.write_bytes(data[:-10])
    with pytest.raises(CaptureError, match="frame 2 truncated"):
        list(read_frames(path))
    (tmp_path / "not.pcap").write_text("hello world")
    with pytest.raises(CaptureError, match="not a pcap"):
        read_frames(tmp_path / "not.pcap")


def test_ber_indefinite_length_and_tbcd() -> None:
    data = bytes.fromhex("3080" "0403214365" "a180" "800100" "0000" "0000")
    tag, vs, ve, nxt = ber.tlv(data, 0, len(data))
    assert (tag, nxt) == (0x30, len(data))
    kids = ber.children(data, vs, ve)
    assert [k[0] for k in kids] == [0x04, 0xA1]
    assert ber.tbcd(bytes.fromhex("214365f7")) == "1234567"
    with pytest.raises(ber.BerError):
        ber.tlv(bytes.fromhex("3080040100"), 0, 5)
