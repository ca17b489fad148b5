"""Subjects of invokes that name no IMSI or MSISDN: a TMSI, or the dialogue they belong to."""

from __future__ import annotations

from pathlib import Path

import pytest

from custodiet.context.network import Registry
from custodiet.identifiers import InvalidIdentifier, normalise
from custodiet.ingest.signalling.decoder import CaptureDecoder
from custodiet.ingest.signalling.mapping import EventMapper

from .helpers import ether, gt_address, ipv4, m3ua_data, pcap, sctp_data, udt
from .test_sig_layers import tlv

HLR = gt_address("447700900001", 6)
VLR = gt_address("3367000001", 7)


def continue_isd(otid: bytes, dtid: bytes, invoke_id: int) -> bytes:
    """A TC-CONTINUE from the HLR carrying insertSubscriberData with no IMSI or MSISDN in it."""
    arg = tlv(0x30, tlv(0x86, b"\x0a"))  # a subscriber category only
    invoke = tlv(0xA1, tlv(0x02, bytes([invoke_id])) + tlv(0x02, b"\x07") + arg)
    return tlv(0x65, tlv(0x48, otid) + tlv(0x49, dtid) + tlv(0x6C, invoke))


def result(otid: bytes, dtid: bytes, invoke_id: int, end: bool = False) -> bytes:
    body = tlv(0xA2, tlv(0x02, bytes([invoke_id])))
    return tlv(0x64, tlv(0x49, dtid) + tlv(0x6C, body)) if end else \
        tlv(0x65, tlv(0x48, otid) + tlv(0x49, dtid) + tlv(0x6C, body))


def test_isd_whose_update_location_is_outside_the_capture(tmp_path: Path) -> None:
    """Both ISDs of the dialogue share one subject: its reference (the VLR's transaction and address)."""
    hlr_tid, vlr_tid = b"\x11\x00\x00\x01", b"\x22\x00\x00\x02"
    messages = [
        udt(VLR, HLR, continue_isd(hlr_tid, vlr_tid, 1)),
        udt(HLR, VLR, result(vlr_tid, hlr_tid, 1)),
        udt(VLR, HLR, continue_isd(hlr_tid, vlr_tid, 2)),
        udt(HLR, VLR, result(vlr_tid, hlr_tid, 2, end=True)),
    ]
    frames = [(1_700_000_000_000_000 + i * 1000, ether(ipv4(132, sctp_data([(3, m3ua_data(m), 0)], tsn=i + 1))))
              for i, m in enumerate(messages)]
    path = tmp_path / "isd.pcap"
    path.write_bytes(pcap(frames))
    mapper = EventMapper(path.name, Registry())
    for record in CaptureDecoder(path).records():
        mapper.add(record)
    assert not mapper.rejects
    assert [(e.operation, e.subject_kind, e.subject_value, e.actor) for e in mapper.events] == [
        ("insertSubscriberData", "unknown", "tcap:22000002@3367000001", "447700900001")] * 2
    assert [e.attrs["answer"] for e in mapper.events] == ["result", "result"]
    assert {e.attrs["subject_from"] for e in mapper.events} == {"dialogue_reference"}


def test_tmsi_is_an_identifier() -> None:
    assert normalise("tmsi", "70F0D55E") == "70f0d55e"
    assert normalise("tmsi", "0x70f0d55e") == "70f0d55e"
    with pytest.raises(InvalidIdentifier):
        normalise("tmsi", "70f0d55")
    with pytest.raises(InvalidIdentifier):
        normalise("tmsi", "0102030405")


def test_an_imsi_subject_carries_its_home_plmn() -> None:
    """The IMSI's MCC-MNC says whose subscriber it is: a profile's 3-digit MNC wins over the 2-digit
    reading, which is the default when nothing is known."""
    from custodiet.context.network import NetworkProfile

    profile = NetworkProfile.from_dict({
        "home": {"name": "H", "country": "GB", "mcc_mnc": ["234-15"], "gt_prefixes": ["4477"]},
        "partner": [{"name": "P", "country": "US", "mcc_mnc": ["310-260"], "gt_prefixes": ["1206"]}]})
    registry = Registry(profile)
    assert registry.plmn_of_imsi("310260123456789") == "310-260"
    assert registry.plmn_of_imsi("234150123456789") == "234-15"
    assert registry.plmn_of_imsi("99999") is None
    assert registry.plmn_of_imsi("001011234567890") == "001-01"
