"""The hot path's shortcuts agree with the general code they skip: BER/TBCD, the transport fast path,
Arrow columns built from buffers, batch dedupe and ordering, attrs JSON; and ingest stays pandas-free."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from custodiet.arrow_columns import binary_array, int64_array, string_array
from custodiet.events import canonical_json
from custodiet.ingest.event_batch import EventRows, fresh_rows
from custodiet.ingest.signalling import ber, tcap
from custodiet.ingest.signalling.decoder import CaptureDecoder, MapRecord
from custodiet.ingest.signalling.transport import DecodeError, Transport
from custodiet.store import Store

from .helpers import CAPTURES, ether, gt_address, ipv4, m3ua_data, need_captures, sctp_data, udt


def test_tlv_long_form_lengths_and_what_does_not_fit() -> None:
    value = bytes(200)
    assert ber.tlv(b"\x04\x81\xc8" + value, 0, 203) == (0x04, 3, 203, 203)
    assert ber.tlv(b"\x30\x82\x01\x00" + bytes(256), 0, 260) == (0x30, 4, 260, 260)
    assert ber.tlv(b"\x04\x03abcdef", 0, 9)[2] == 5  # trailing bytes are not its business
    with pytest.raises(ber.BerError, match="runs past its container"):
        ber.tlv(b"\x04\x81\xc8" + value[:10], 0, 13)
    with pytest.raises(ber.BerError, match="runs past"):
        ber.children(b"\x02\x01\x05\x04\x05ab", 0, 7)
    assert ber.children(b"\x02\x01\x05\x04\x81\x02ab", 0, 8) == [(0x02, 2, 3), (0x04, 6, 8)]
    assert ber.children_at(b"\x9f\x21\x01\x07", 0, 4) == [(0x9F << 16 | 0x21, 3, 4, 0, 4)]  # high tag number


def test_tbcd_symbols_filler_and_odd_digits() -> None:
    assert ber.tbcd(bytes.fromhex("21436587")) == "12345678"
    assert ber.tbcd(bytes.fromhex("2143f5")) == "12345"  # an odd number of digits: filler last
    assert ber.tbcd(bytes.fromhex("214f65")) == "12"  # filler ends the number
    assert ber.tbcd(bytes([0xBA, 0xDC, 0x0E])) == "*#abc0"  # 10..14 are * # a b c
    assert ber.tbcd(b"") == ""
    assert ber.address_digits(bytes.fromhex("914477f5")) == "44775"  # after the nature-of-address octet


def sctp_frame(chunks: bytes, total_fix: int = 0) -> bytes:
    ip = bytearray(ipv4(132, b"\x0b\x59\x0b\x59\x00\x00\x00\x01\x00\x00\x00\x00" + chunks))
    if total_fix:
        ip[2:4] = (len(ip) + total_fix).to_bytes(2, "big")
    return ether(bytes(ip))


@pytest.mark.parametrize("chunks", [
    b"\x03\x00\x00\x10" + bytes(12),  # a SACK filling the packet
    b"\x04\x00\x00\x08" + bytes(4) + b"\x05\x00\x00\x08" + bytes(4),  # two control chunks
    b"\x03\x00\x00\x06" + bytes(2),  # a chunk of length 6 (padded to 8)
    b"\x03\x00\x00\x03" + bytes(12),  # a bad chunk length
    b"\x03\x00\x00\x40" + bytes(12),  # a chunk longer than the packet
])
def test_transport_fast_path_agrees_with_the_general_path(chunks: bytes) -> None:
    frame = sctp_frame(chunks)
    raw_ip = frame[14:]

    def verdict(linktype: int, data: bytes) -> object:
        try:
            return Transport().feed_raw(0, linktype, data)
        except DecodeError as exc:
            return str(exc)

    assert verdict(1, frame) == verdict(101, raw_ip)  # Ethernet takes the fast path, raw IP does not
    assert verdict(1, sctp_frame(chunks, total_fix=4)) == "IPv4: bad header length 20 / total length " \
        f"{len(raw_ip) + 4} ({len(raw_ip)} captured)"


def test_transport_fast_path_passes_data_on() -> None:
    msg = m3ua_data(udt(gt_address("4477", 6), gt_address("3377", 7), b"\x62\x00"))
    frame = ether(ipv4(132, sctp_data([(3, msg, 0)])))
    assert Transport().feed_raw(0, 1, frame) == [("m3ua", msg, ("sctp", b"\x0a\x00\x00\x01\x0a\x00\x00\x02"))]
    assert Transport().feed_raw(0, 1, frame[:12] + b"\x08\x06" + frame[14:]) == "arp"


def test_string_and_int_columns_equal_pyarrow() -> None:
    values = ["a", None, "", "Zürich ☎", "x" * 300, None]
    assert string_array(values).equals(pa.array(values, pa.string()))
    assert string_array([]).equals(pa.array([], pa.string()))
    assert string_array(["only", "ascii"]).null_count == 0
    blobs = [b"\x00\xff", None, b"", b"abc"]
    assert binary_array(blobs).equals(pa.array(blobs, pa.binary()))
    ints = [1, None, -(2**63), 2**63 - 1]
    assert int64_array(ints).equals(pa.array(ints, pa.int64()))
    ts = pa.timestamp("us", tz="UTC")
    assert int64_array([0, 1_700_000_000_000_000], ts).equals(pa.array([0, 1_700_000_000_000_000], ts))
    with pytest.raises(TypeError):
        string_array(["a", 1])  # type: ignore[list-item]


def rows(ids: list[str], ts: list[int], frames: list[int]) -> EventRows:
    n = len(ids)
    return EventRows(channel="signalling", event_id=ids, ts_us=ts, actor=["a"] * n, actor_org=[None] * n,
                     subject=["s"] * n, subject_kind=["imsi"] * n, data_kind=["location"] * n, operation=["op"] * n,
                     outcome=["allowed"] * n, attrs=["{}"] * n, source=[f"c.pcap:{f}" for f in frames],
                     authority=[None] * n)


def test_fresh_rows_order_dedupe_and_stored(tmp_path: Path) -> None:
    store = Store(tmp_path / "home")
    batch = rows(["e1", "e2", "e3", "e2", "e4"], [5, 1, 5, 1, 5], [100, 7, 99, 3, 100])
    # (ts, source) order, source compared as text ("c.pcap:100" < "c.pcap:99"); of the two e2, frame 3's
    assert fresh_rows(store, batch) == [3, 0, 4, 2]
    from custodiet.ledger import append_events

    with store.writer():
        append_events(store, batch.table([1, 2]))  # e2 and e3 are now stored
    assert fresh_rows(store, batch) == [0, 4]
    table = batch.table([0, 4])
    assert table.column("source").to_pylist() == ["c.pcap:100", "c.pcap:100"]
    assert table.column("channel").to_pylist() == ["signalling"] * 2
    assert table.column("authority").null_count == 2


def test_attrs_json_is_canonical() -> None:
    attrs = {"z": 1, "a": None, "m": True, "é": "ünï", "ctl": "\x01\n\"", "n": [1, {"b": 2, "a": 3}]}
    assert canonical_json(attrs) == json.dumps(attrs, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert json.loads(canonical_json(attrs)) == attrs


def test_ingest_does_not_import_pandas(tmp_path: Path) -> None:
    """pyarrow imports pandas on its first ``pa.array(list)``: 0.5 s, more than a typical ingest."""
    need_captures()
    code = ("import sys; from pathlib import Path; from custodiet.store import Store; "
            "from custodiet.context.network import Registry; from custodiet.ingest.signalling import ingest_file; "
            f"s = Store({str(tmp_path / 'home')!r}); "
            f"r = ingest_file(s, Path({str(CAPTURES / 'open5gs_testattach.pcapng')!r}), Registry()); "
            "print(r.stored, r.quarantined, 'pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["43", "0", "False"]


def _invoke(body: bytes) -> bytes:
    return b"\xa1" + bytes([len(body)]) + body


@pytest.mark.parametrize("component", [
    _invoke(b"\x02\x01\x05\x02\x01\x2d\x30\x03\x80\x01\x01"),  # the usual: id, opcode, one argument
    _invoke(b"\x02\x01\xff\x02\x01\x85"),  # negative id and opcode, no argument
    _invoke(b"\x02\x01\x01\x02\x01\x38\x04\x02\x21\x43"),  # a bare OCTET STRING argument
    _invoke(b"\x02\x01\x01\x02\x01\x38\x80\x02\x21\x43"),  # an argument tagged like a linked id
    _invoke(b"\x02\x01\x01\x02\x01\x38\x04\x01\x21\x04\x01\x43"),  # two TLVs after the opcode
    _invoke(b"\x02\x01\x01\x80\x01\x00\x02\x01\x38"),  # a linked id
    _invoke(b"\x02\x01\x01\x02\x01\x38\x04\x05\x21"),  # an argument running past the component
    _invoke(b"\x02\x01\x01\x02\x01\x38\x30\x80\x04\x01\x21\x00\x00"),  # indefinite length
    _invoke(b"\x02\x02\x00\x81\x02\x01\x38"),  # two-octet invoke id
    _invoke(b"\x02\x01\x01\x06\x02\x2a\x03"),  # a global opcode
])
def test_invoke_fast_path_agrees_with_the_general_path(component: bytes) -> None:
    def run(parse: object) -> object:
        try:
            return parse(component, component[0], 2, len(component))  # type: ignore[operator]
        except (ber.BerError, tcap.TcapError) as exc:
            return type(exc), str(exc)

    assert run(tcap._component) == run(tcap._component_general)


def test_invoke_fast_path_on_every_component_of_the_captures() -> None:
    need_captures()
    seen = 0
    for name in ("pycrate_tcapmap_pcapr_rebuilt.pcap",):
        for record in CaptureDecoder(CAPTURES / name).records():
            if isinstance(record, MapRecord):
                data = record.sccp.data
                for comp_tag, start, end in _components(data):
                    assert tcap._component(data, comp_tag, start, end) == tcap._component_general(
                        data, comp_tag, start, end)
                    seen += 1
    assert seen > 50


def _components(data: bytes) -> list[tuple[int, int, int]]:
    _, vs, ve, _ = ber.tlv(data, 0, len(data))
    out = []
    for tag, cs, ce in ber.children(data, vs, ve):
        if tag == 0x6C:
            out.extend(ber.children(data, cs, ce))
    return out
