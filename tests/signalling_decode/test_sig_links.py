"""The SS7 link layers probes write and Diameter over TCP on any port, on the small captures of ./captures
(made by captures/make_captures.py from frames of the shared MAP capture): who sent each request (point
codes, routing context, IP addresses, transport) and how it was answered."""

from __future__ import annotations

import struct
from pathlib import Path

from custodiet.context.network import Registry
from custodiet.ingest.signalling.decoder import CaptureDecoder
from custodiet.ingest.signalling.mapping import EventMapper, PendingEvent
from custodiet.ingest.signalling.transport import Transport

from .helpers import ipv4

LOCAL = Path(__file__).parent / "captures"


def events(name: str) -> tuple[list[PendingEvent], CaptureDecoder]:
    mapper = EventMapper(name, Registry())
    decoder = CaptureDecoder(LOCAL / name)
    for record in decoder.records():
        mapper.add(record)
    assert not decoder.failures
    assert not mapper.rejects
    return mapper.events, decoder


def route(ev: PendingEvent) -> tuple:
    a = ev.attrs
    return (a["adaptation"], a["transport"], a["opc"], a["dpc"], a["routing_context"], a["src_ip"], a["dst_ip"])


def test_mtp3_link_in_a_big_endian_pcap() -> None:
    evs, _ = events("mtp3_be.pcap")
    assert [(e.frame, e.operation, e.outcome) for e in evs] == [
        (1, "updateLocation", "allowed"), (2, "insertSubscriberData", "allowed"), (5, "updateLocation", "denied")]
    assert route(evs[0]) == ("mtp3", "mtp3", 2105, 3113, None, None, None)
    assert route(evs[1])[2:4] == (3113, 2105)
    refused = evs[2].attrs  # the refused registration: returnError roamingNotAllowed
    assert (refused["answer"], refused["error_code"], refused["error_name"]) == ("error", 8, "roamingNotAllowed")
    assert evs[0].attrs["answer"] == "result"


def test_mtp2_link_skips_link_control_units() -> None:
    evs, decoder = events("mtp2.pcap")
    assert [(e.frame, e.operation, e.subject_kind) for e in evs] == [
        (3, "anyTimeInterrogation", "msisdn"), (5, "sendIdentification", "tmsi")]
    assert evs[1].subject_value == "70f0d55e"
    assert route(evs[0]) == ("mtp3", "mtp2", 8394, 8461, None, None, None)
    assert decoder.skipped["mtp2 fill-in signal unit"] == 2
    assert decoder.skipped["mtp2 link status signal unit"] == 1


def test_mtp2_with_pseudo_header_and_a_sender_without_global_title() -> None:
    evs, _ = events("mtp2_phdr.pcap")
    in_dialogue = [e for e in evs if e.frame == 3]  # reassembled from three XUDT segments
    assert len(in_dialogue) == 13
    assert {(e.actor, e.subject_kind, e.subject_value) for e in in_dialogue} == {
        ("pc:900", "unknown", "tcap:1200ff@pc:900")}
    assert {e.attrs["actor_from"] for e in in_dialogue} == {"opc"}
    assert [e.operation for e in in_dialogue[:5]] == ["tcap-op23", "tcap-op19", "tcap-op47", "tcap-op32", "tcap-op46"]
    assert route(in_dialogue[0]) == ("mtp3", "mtp2", 900, 902, None, None, None)


def test_sccp_only_link_has_no_route() -> None:
    evs, _ = events("sccp.pcap")
    assert [(e.operation, e.actor, e.attrs["answer"]) for e in evs] == [
        ("anyTimeInterrogation", "35699410525", "result")]
    assert route(evs[0]) == ("sccp", "sccp", None, None, None, None, None)


def test_m2ua() -> None:
    evs, _ = events("m2ua.pcap")
    assert [e.operation for e in evs] == ["anyTimeInterrogation", "sendIdentification"]
    assert route(evs[0]) == ("m2ua", "sctp", 8394, 8461, None, "192.0.2.1", "192.0.2.2")


def test_sigtran_and_diameter_over_ipv6() -> None:
    evs, _ = events("m3ua_ipv6.pcap")
    assert [e.operation for e in evs] == ["updateLocation", "insertSubscriberData", "updateLocation",
                                          "Update-Location"]
    assert route(evs[0]) == ("m3ua", "sctp", 2105, 3113, 77, "2001:db8::1", "2001:db8::2")
    ulr = evs[3].attrs
    assert (ulr["transport"], ulr["src_ip"], ulr["dst_ip"], ulr["answered"]) == (
        "sctp", "2001:db8::1", "2001:db8::2", False)


def test_diameter_over_tcp_on_a_private_port() -> None:
    evs, decoder = events("diameter_tcp_13868.pcap")
    by_op = {e.operation: e for e in evs}
    assert list(by_op) == ["Update-Location", "User-Authorization", "Location-Info", "AA"]
    ulr = by_op["Update-Location"]  # refused: Experimental-Result DIAMETER_ERROR_UNKNOWN_EPS_SUBSCRIPTION
    assert (ulr.outcome, ulr.attrs["result_code"], ulr.attrs["experimental_result_code"], ulr.attrs["answer"]) == (
        "error", 5420, 5420, "answer")
    assert (ulr.attrs["transport"], ulr.attrs["src_ip"], ulr.attrs["dst_ip"]) == ("tcp", "192.0.2.1", "192.0.2.2")
    assert (ulr.attrs["origin_host"], ulr.attrs["origin_realm"]) == ("mme.visited", "epc.mnc002.mcc001.3gppnetwork.org")
    uar = by_op["User-Authorization"]
    assert (uar.attrs["application"], uar.subject_kind, uar.subject_value, uar.outcome) == (
        "Cx/Dx", "imsi", "001010000000002", "allowed")
    assert uar.attrs["msisdn_normalised"] == "447700900124"
    lir = by_op["Location-Info"]  # names only sip:alice@...: the session stands for the subject
    assert (lir.subject_kind, lir.subject_value, lir.data_kind) == ("unknown", "diameter:icscf;1;3", "call_route")
    aar = by_op["AA"]
    assert (aar.attrs["application"], aar.subject_kind, aar.attrs["result_code"]) == ("Rx", "msisdn", 2001)
    assert decoder.skipped["tcp (not Diameter)"] == 2  # the SYN and the HTTP request


def test_a_private_port_stream_that_stops_looking_like_diameter_is_dropped_not_quarantined() -> None:
    def tcp(payload: bytes, seq: int) -> bytes:
        return struct.pack("!HHIIBBHHH", 40000, 9000, seq, 0, 5 << 4, 0x18, 65535, 0, 0) + payload

    header_like = bytes([1, 0, 0, 20, 0x80, 0, 1, 0x2C]) + bytes(12)  # a bare 20-byte Diameter header
    t = Transport()
    units = t.feed_raw(0, 101, ipv4(6, tcp(header_like, 1)))
    assert [u[0] for u in units] == ["diameter"]
    assert t.feed_raw(0, 101, ipv4(6, tcp(b"\x17\x03\x03" + bytes(30), 21))) == (
        "tcp (not Diameter, or a Diameter stream out of sync)")
    assert t.feed_raw(0, 101, ipv4(6, tcp(b"\x17\x03\x03" + bytes(30), 54))) == "tcp (not Diameter)"
