"""Ingest end to end into a real store: events, outcomes, pseudonyms, quarantine, idempotence, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from custodiet.cli import app
from custodiet.context.network import Registry
from custodiet.ingest.signalling import ingest_file
from custodiet.quarantine import list_quarantine
from custodiet.store import Store

from .helpers import CAPTURES, MAP_CAPTURE, need_captures

runner = CliRunner()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "home")


def events_by_frame(store: Store) -> dict[int, dict]:
    con = store.connect()
    rows = con.execute("SELECT * FROM events").to_arrow_table().to_pylist()
    con.close()
    return {int(r["source"].rsplit(":", 1)[1]): r for r in rows}


def test_map_capture_events_outcomes_and_idempotence(store: Store) -> None:
    need_captures()
    summary = ingest_file(store, MAP_CAPTURE, Registry())
    assert (summary.frames, summary.stored, summary.quarantined, summary.duplicates) == (367, 55, 0, 0)
    ev = events_by_frame(store)
    ul = ev[157]  # updateLocation answered by returnError roamingNotAllowed
    attrs = json.loads(ul["attrs"])
    assert (ul["operation"], ul["data_kind"], ul["outcome"], ul["channel"]) == (
        "updateLocation", "registration", "denied", "signalling")
    assert (attrs["map_opcode"], attrs["error_name"], attrs["answer_frame"], attrs["vlr"]) == (
        2, "roamingNotAllowed", 159, "919041955004")
    assert attrs["country"] == "MT"
    assert ul["actor"] == "35699410525"
    assert ul["subject"] == store.pseudonymiser.of_normalised("imsi", "405037027451342")
    ati = ev[102]
    assert (ati["operation"], ati["data_kind"], ati["subject_kind"], ati["outcome"]) == (
        "anyTimeInterrogation", "location", "msisdn", "allowed")
    assert json.loads(ev[362]["attrs"])["error_code"] == 11
    assert ev[362]["outcome"] == "error"
    assert ev[29]["actor_org"] == "Swisscom"
    assert ev[29]["data_kind"] == "sms_route"
    isd = json.loads(ev[87]["attrs"])  # ISD inside the updateLocation dialogue: subject from the dialogue
    assert isd["subject_from"] == "dialogue"
    assert ev[87]["data_kind"] == "intercept"
    assert isd["msisdn_pseudonym"] == store.pseudonymiser.of_normalised("msisdn", "19786148973")
    no_answer = json.loads(ev[94]["attrs"])
    assert no_answer["answered"] is False
    assert ev[94]["outcome"] == "allowed"
    for row in ev.values():  # no cleartext subscriber identity anywhere in the stored rows
        assert "405037027451342" not in json.dumps(row, default=str)
        assert "19786148973" not in json.dumps(row, default=str)
    assert list_quarantine(store, "signalling") == []
    sid = ev[136]  # sendIdentification names the subscriber by TMSI only
    assert (sid["operation"], sid["subject_kind"], sid["outcome"]) == ("sendIdentification", "tmsi", "allowed")
    assert sid["subject"] == store.pseudonymiser.of_normalised("tmsi", "70f0d55e")
    assert json.loads(sid["attrs"])["answer"] == "result"

    again = ingest_file(store, MAP_CAPTURE, Registry())
    assert (again.stored, again.duplicates, again.quarantined) == (0, 55, 0)
    assert len(events_by_frame(store)) == 31  # 29 frames with one MAP invoke; frames 3 and 16 carry 13 each


def test_multi_component_begin_without_global_title(store: Store) -> None:
    """Frame 3: an Ericsson IN dialogue (13 invokes) sent to an HLR by a sender routed on SSN with no
    global title: 13 events, the actor its MTP3 OPC, the subject the dialogue's reference."""
    need_captures()
    ingest_file(store, MAP_CAPTURE, Registry())
    con = store.connect()
    rows = con.execute("SELECT * FROM events WHERE source = ? ORDER BY event_id",
                       [f"{MAP_CAPTURE.name}:3"]).to_arrow_table().to_pylist()
    con.close()
    assert len(rows) == 13
    attrs = [json.loads(r["attrs"]) for r in rows]
    assert sorted(a["invoke_id"] for a in attrs) == list(range(1, 14))
    assert {r["actor"] for r in rows} == {"pc:900"}
    assert {r["subject_kind"] for r in rows} == {"unknown"}
    assert {r["subject"] for r in rows} == {store.pseudonymiser.of_normalised("unknown", "tcap:1200ff@pc:900")}
    first = next(a for a in attrs if a["invoke_id"] == 1)
    assert (first["protocol"], first["tcap_opcode"], first["map_opcode"], first["op_name"]) == (
        "tcap", 23, None, "tcap-op23")
    assert (first["opc"], first["dpc"], first["routing_context"], first["sccp_calling_pc"],
            first["sccp_calling_gt"], first["sccp_called_gt"], first["actor_from"]) == (
        900, 902, None, None, None, "9725443322", "opc")
    assert (first["adaptation"], first["transport"], first["src_ip"], first["dst_ip"]) == (
        "m2pa", "sctp", "192.168.101.132", "192.168.101.140")


def test_diameter_events_carry_the_avps(store: Store) -> None:
    need_captures()
    summary = ingest_file(store, CAPTURES / "open5gs_testattach.pcapng", Registry())
    assert summary.stored == 43
    assert summary.quarantined == 0
    ev = events_by_frame(store)
    air = ev[44]
    attrs = json.loads(air["attrs"])
    assert (air["operation"], air["data_kind"], air["actor"], air["outcome"]) == (
        "Authentication-Information", "auth_vectors", "mme.localdomain", "allowed")
    assert (attrs["command_code"], attrs["application_id"], attrs["origin_realm"], attrs["visited_plmn_id"],
            attrs["result_code"]) == (318, 16777251, "localdomain", "901-70", 2001)
    assert air["subject"] == store.pseudonymiser.of_normalised("imsi", "901707364000060")
    assert ev[115]["outcome"] == "error"  # AIA with an error result code


def test_cli_ingest_summary_and_exit_codes(tmp_path: Path) -> None:
    need_captures()
    home = tmp_path / "home"
    result = runner.invoke(app, ["--home", str(home), "ingest", "signalling", str(MAP_CAPTURE),
                                 str(CAPTURES / "ndpi_diameter.pcap")])
    assert result.exit_code == 0, result.output
    assert "signalling ingest" in result.output
    assert "367" in result.output
    junk = tmp_path / "junk.pcap"
    junk.write_text("not a capture")
    result = runner.invoke(app, ["--home", str(home), "ingest", "signalling", str(junk)])
    assert result.exit_code != 0
    assert "not a pcap" in result.output


def test_cli_load_network_profile(tmp_path: Path) -> None:
    home = tmp_path / "home"
    good = tmp_path / "net.toml"
    good.write_text('[home]\nname = "Example Mobile"\ncountry = "US"\nmcc_mnc = ["310-260"]\n'
                    'gt_prefixes = ["1206555"]\n[[partner]]\nname = "Island"\ncountry = "BS"\n'
                    'gt_prefixes = ["1242357"]\nroaming = true\n')
    result = runner.invoke(app, ["--home", str(home), "context", "load", "network", str(good)])
    assert result.exit_code == 0, result.output
    assert (home / "context" / "network.toml").read_text() == good.read_text()
    assert Registry.from_store(Store(home)).attribute_gt("12423570001").operator == "Island"
    bad = tmp_path / "bad.toml"
    bad.write_text('[home]\nname = "X"\ncountry = "US"\ngt_prefixes = ["12a"]\n')
    result = runner.invoke(app, ["--home", str(home), "context", "load", "network", str(bad)])
    assert result.exit_code != 0
    assert "home.gt_prefixes[0]" in result.output
