"""The decoder against tshark on the real captures in ../shared/captures (MANIFEST.md)."""

from __future__ import annotations

from custodiet.context.network import Registry
from custodiet.ingest.signalling.decoder import CaptureDecoder, DiameterRecord
from custodiet.ingest.signalling.mapping import EventMapper

from .helpers import CAPTURES, MAP_CAPTURE, need_captures, tshark


def our_map_invokes() -> list[tuple[int, int | None, str, str, str, str, str]]:
    mapper = EventMapper(MAP_CAPTURE.name, Registry())
    for record in CaptureDecoder(MAP_CAPTURE).records():
        mapper.add(record)
    return [(f, op, cg or "", cd or "", o or "", d or "", fields.get("imsi", ""))
            for f, op, cg, cd, o, d, fields in mapper.invokes]


def test_every_map_invoke_matches_tshark() -> None:
    need_captures()
    rows = tshark("-r", str(MAP_CAPTURE), "-Y", "gsm_old.invoke_element", "-T", "fields", "-E", "occurrence=a",
                  "-E", "aggregator=,", "-e", "frame.number", "-e", "gsm_old.localValue",
                  "-e", "sccp.calling.digits", "-e", "sccp.called.digits", "-e", "e212.imsi", "-e", "tcap.otid",
                  "-e", "tcap.dtid", "-e", "tcap.application_context_name")
    expected = []
    for frame, ops, calling, called, imsi, otid, dtid, ac in rows:
        if ac and not ac.startswith("0.4.0.0.1.0."):
            # tshark dissects this Ericsson IN dialogue (AC 1.2.826.0.1249...) as MAP by SSN; it is not MAP
            continue
        for op in ops.split(","):
            expected.append((int(frame), int(op), calling, called, otid, dtid, imsi))
    assert len(expected) >= 25
    ours = our_map_invokes()
    assert sorted(ours) == sorted(expected)


def test_diameter_requests_and_answers_match_tshark() -> None:
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
