"""The decoder against tshark on every real capture in ../shared/captures (MANIFEST.md) and on the small
captures of ./captures (MTP2, MTP3, SCCP-only, M2UA, SIGTRAN over IPv6, Diameter over TCP on a private port).

For each capture: every MAP invoke tshark lists (operation, calling GT or point code, called GT) and every
Diameter request is an event, no event is invented, and nothing failed to decode (no quarantine line)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from custodiet.context.network import Registry
from custodiet.ingest.signalling.decoder import CaptureDecoder, DiameterRecord
from custodiet.ingest.signalling.diameter import PEER_COMMANDS
from custodiet.ingest.signalling.mapping import EventMapper

from .helpers import CAPTURES, MAP_CAPTURE, need_captures, tshark

LOCAL = Path(__file__).parent / "captures"
DECODE_AS = {"diameter_tcp_13868.pcap": ["-d", "tcp.port==13868,diameter"]}  # tshark needs telling; we do not
SERVICE_MESSAGES = {"0x0a", "0x12", "0x14"}  # UDTS, XUDTS, LUDTS: our own messages returned, not requests


def captures() -> list[Path]:
    shared = sorted(p for p in CAPTURES.glob("*.pcap*")) if CAPTURES.is_dir() else []
    return shared + sorted(LOCAL.glob("*.pcap*"))


def decode(path: Path) -> tuple[EventMapper, CaptureDecoder]:
    mapper = EventMapper(path.name, Registry())
    decoder = CaptureDecoder(path)
    for record in decoder.records():
        mapper.add(record)
    return mapper, decoder


def our_invokes(mapper: EventMapper) -> dict[int, list[tuple[int, str, str]]]:
    """frame -> (opcode, actor, called GT) of its TCAP invoke events, in component order."""
    out: dict[int, list[tuple[int, str, str]]] = defaultdict(list)
    for ev in mapper.events:
        a = ev.attrs
        if a["protocol"] in ("map", "tcap"):
            opcode = a["map_opcode"] if a["protocol"] == "map" else a["tcap_opcode"]
            out[ev.frame].append((opcode, ev.actor, a["sccp_called_gt"] or ""))
    return out


def tshark_invokes(path: Path) -> dict[int, tuple[list[tuple[int, str, str]], int]]:
    """frame -> (MAP invokes tshark dissects, TCAP component count) of messages that are not returned."""
    rows = tshark("-r", str(path), *DECODE_AS.get(path.name, []), "-Y", "gsm_old.invoke_element", "-T", "fields",
                  "-E", "occurrence=a", "-E", "aggregator=,", "-e", "frame.number", "-e", "sccp.message_type",
                  "-e", "tcap.components", "-e", "gsm_old.localValue", "-e", "sccp.calling.digits",
                  "-e", "sccp.calling.pc", "-e", "mtp3.opc", "-e", "m3ua.protocol_data_opc",
                  "-e", "sccp.called.digits")
    out = {}
    for frame, mtype, components, ops, calling, calling_pc, mtp3_opc, m3ua_opc, called in rows:
        if mtype in SERVICE_MESSAGES:
            continue
        pc = calling_pc or mtp3_opc or m3ua_opc
        actor = calling or (f"pc:{pc}" if pc else "unknown")
        out[int(frame)] = ([(int(op), actor, called) for op in ops.split(",")], int(components))
    return out


@pytest.mark.parametrize("path", captures(), ids=lambda p: p.name)
def test_every_tshark_invoke_and_request_is_an_event(path: Path) -> None:
    need_captures()
    mapper, decoder = decode(path)
    assert not decoder.failures, decoder.failures[:3]
    assert not mapper.rejects, mapper.rejects[:3]
    ours, theirs = our_invokes(mapper), tshark_invokes(path)
    assert set(ours) == set(theirs), "frames with invokes differ"
    for frame, (expected, components) in theirs.items():
        # tshark's MAP dissector stops at a component it cannot decode as MAP (frame 3 of the MAP capture,
        # an IN dialogue: 5 of its 13 invokes): ours start with its list and are no more than the components
        assert ours[frame][: len(expected)] == expected, frame
        assert len(ours[frame]) <= components, frame

    rows = tshark("-r", str(path), *DECODE_AS.get(path.name, []), "-Y", "diameter.flags.request == 1",
                  "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,", "-e", "frame.number",
                  "-e", "diameter.cmd.code", "-e", "diameter.flags.request", "-e", "diameter.Origin-Host")
    expected_requests = []
    for frame, codes, flags, hosts in rows:
        for code, flag, host in zip(codes.split(","), flags.split(","), hosts.split(","), strict=True):
            if flag in ("1", "True") and int(code) not in PEER_COMMANDS:
                expected_requests.append((int(frame), int(code), host))
    ours_requests = [(e.frame, e.attrs["command_code"], e.actor) for e in mapper.events
                     if e.attrs["protocol"] == "diameter"]
    assert sorted(ours_requests) == sorted(expected_requests)


def test_the_map_capture_has_what_tshark_lists() -> None:
    """The 23 distinct (operation, calling, called) MAP invokes tshark lists in the MAP capture, all events."""
    need_captures()
    theirs = {inv for expected, _ in tshark_invokes(MAP_CAPTURE).values() for inv in expected}
    assert len(theirs) == 23
    mapper, _ = decode(MAP_CAPTURE)
    assert theirs <= {inv for invokes in our_invokes(mapper).values() for inv in invokes}


def test_diameter_records_match_tshark() -> None:
    need_captures()
    for name in ("ndpi_diameter.pcap", "open5gs_testattach.pcapng", "open5gs_srsenb.pcapng"):
        path = CAPTURES / name
        rows = tshark("-r", str(path), "-Y", "diameter", "-T", "fields", "-E", "occurrence=a",
                      "-E", "aggregator=,", "-e", "frame.number", "-e", "diameter.cmd.code",
                      "-e", "diameter.flags.request", "-e", "diameter.Origin-Host", "-e", "diameter.User-Name")
        expected = []
        for frame, codes, flags, hosts, _users in rows:
            for i, code in enumerate(codes.split(",")):
                request = flags.split(",")[i] in ("1", "True")
                expected.append((int(frame), int(code), request, hosts.split(",")[i]))
        users_expected = {u for _, _, _, _, u in rows for u in u.split(",") if u}
        decoder = CaptureDecoder(path)
        records = [r for r in decoder.records() if isinstance(r, DiameterRecord)]
        ours = [(r.frame, r.message.command_code, r.message.request, r.message.avps.get("origin_host", ""))
                for r in records]
        # answers to peer management (CEA, DWA, DPA) are counted, not passed on as records
        expected = [e for e in expected if e[2] or e[1] not in (257, 280, 282)]
        assert sorted(ours) == sorted(expected), name
        assert {r.message.avps["user_name"] for r in records if "user_name" in r.message.avps} == users_expected
        assert not decoder.failures, name
