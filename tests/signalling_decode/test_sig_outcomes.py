"""How a registration ended, on the request's event: result, returnError, user abort, provider abort."""

from __future__ import annotations

from pathlib import Path

import pytest

from custodiet.context.network import Registry
from custodiet.ingest.signalling.decoder import CaptureDecoder
from custodiet.ingest.signalling.mapping import EventMapper, PendingEvent

from .helpers import ether, gt_address, ipv4, m3ua_data, pcap, sctp_data, udt
from .test_sig_layers import tlv

HLR = gt_address("447700900001", 6)
VLR = gt_address("3367000001", 7)
VLR_TID = b"\x22\x00\x00\x02"


def update_location() -> bytes:
    imsi = bytes.fromhex("00010100000000f1")  # 001010000000001
    arg = tlv(0x30, tlv(0x04, imsi) + tlv(0x81, b"\x91\x33\x76\x00\x00\x10") + tlv(0x04, b"\x91\x33\x76\x00\x00\x10"))
    invoke = tlv(0xA1, tlv(0x02, b"\x01") + tlv(0x02, b"\x02") + arg)
    return tlv(0x62, tlv(0x48, VLR_TID) + tlv(0x6C, invoke))


ANSWERS = {
    "result": tlv(0x64, tlv(0x49, VLR_TID) + tlv(0x6C, tlv(0xA2, tlv(0x02, b"\x01")))),
    "error": tlv(0x64, tlv(0x49, VLR_TID) + tlv(0x6C, tlv(0xA3, tlv(0x02, b"\x01") + tlv(0x02, b"\x08")))),
    "user abort": tlv(0x67, tlv(0x49, VLR_TID)),
    "provider abort": tlv(0x67, tlv(0x49, VLR_TID) + tlv(0x4A, b"\x01")),
    "end": tlv(0x64, tlv(0x49, VLR_TID)),
}


def run(tmp_path: Path, answer: bytes, delay_s: int = 1) -> PendingEvent:
    t0 = 1_700_000_000_000_000
    frames = [(t0, ether(ipv4(132, sctp_data([(3, m3ua_data(udt(HLR, VLR, update_location())), 0)], tsn=1)))),
              (t0 + delay_s * 1_000_000,
               ether(ipv4(132, sctp_data([(3, m3ua_data(udt(VLR, HLR, answer)), 0)], tsn=2))))]
    path = tmp_path / "ul.pcap"
    path.write_bytes(pcap(frames))
    mapper = EventMapper(path.name, Registry())
    for record in CaptureDecoder(path).records():
        mapper.add(record)
    (event,) = mapper.events
    assert (event.operation, event.subject_kind, event.subject_value) == ("updateLocation", "imsi", "001010000000001")
    return event


@pytest.mark.parametrize(("answer", "outcome", "attrs"), [
    ("result", "allowed", {"answered": True, "answer": "result"}),
    ("error", "denied", {"answer": "error", "error_code": 8, "error_name": "roamingNotAllowed"}),
    ("user abort", "denied", {"answer": "abort", "abort_cause": "user"}),
    ("provider abort", "error", {"answer": "abort", "abort_cause": "unrecognizedTransactionID"}),
    ("end", "allowed", {"answered": True, "answer": "end"}),  # ended with neither result nor error
])
def test_registration_outcome(tmp_path: Path, answer: str, outcome: str, attrs: dict) -> None:
    event = run(tmp_path, ANSWERS[answer])
    assert event.outcome == outcome
    assert {k: event.attrs[k] for k in attrs} == attrs
    assert event.attrs["answer_frame"] == 2


def test_an_answer_after_ten_minutes_is_not_this_invokes(tmp_path: Path) -> None:
    event = run(tmp_path, ANSWERS["error"], delay_s=601)
    assert (event.outcome, event.attrs["answered"]) == ("allowed", False)


SMSC = gt_address("3367000021", 8)
SMSC_TID = b"\x33\x00\x00\x03"


def _sri_sm_capture(tmp_path: Path, answer: bytes) -> PendingEvent:
    msisdn = b"\x91\x44\x77\x00\x09\x00\xf1"  # +447700900001
    arg = tlv(0x30, tlv(0x80, msisdn) + tlv(0x81, b"\xff") + tlv(0x82, b"\x91\x33\x76\x00\x00\x12"))
    invoke = tlv(0xA1, tlv(0x02, b"\x01") + tlv(0x02, b"\x2d") + arg)
    begin = tlv(0x62, tlv(0x48, SMSC_TID) + tlv(0x6C, invoke))
    t0 = 1_700_000_000_000_000
    frames = [(t0, ether(ipv4(132, sctp_data([(3, m3ua_data(udt(HLR, SMSC, begin)), 0)], tsn=1)))),
              (t0 + 500_000, ether(ipv4(132, sctp_data([(3, m3ua_data(udt(SMSC, HLR, answer)), 0)], tsn=2))))]
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "srism.pcap"
    path.write_bytes(pcap(frames))
    mapper = EventMapper(path.name, Registry())
    for record in CaptureDecoder(path).records():
        mapper.add(record)
    (event,) = mapper.events
    assert (event.operation, event.subject_kind) == ("sendRoutingInfoForSM", "msisdn")
    return event


def test_sri_sm_result_ties_the_number_to_its_imsi(tmp_path: Path) -> None:
    """The IMSI in sendRoutingInfoForSM's result becomes the look-up's linked identity (pseudonymised with
    the subjects); an error answer links nothing."""
    imsi = bytes.fromhex("00010100000000f1")  # 001010000000001
    res = tlv(0x30, tlv(0x04, imsi) + tlv(0xA0, tlv(0x81, b"\x91\x44\x77\x00\x09\x00\xf2")))
    result = tlv(0xA2, tlv(0x02, b"\x01") + tlv(0x30, tlv(0x02, b"\x2d") + res))
    event = _sri_sm_capture(tmp_path / "ok", tlv(0x64, tlv(0x49, SMSC_TID) + tlv(0x6C, result)))
    assert event.outcome == "allowed"
    assert event.attrs["imsi_normalised"] == "001010000000001"
    error = tlv(0xA3, tlv(0x02, b"\x01") + tlv(0x02, b"\x1b"))  # absentSubscriber
    refused = _sri_sm_capture(tmp_path / "error", tlv(0x64, tlv(0x49, SMSC_TID) + tlv(0x6C, error)))
    assert "imsi_normalised" not in refused.attrs
