"""Canaries: valid-looking identifiers in a reserved block, stored only as pseudonyms, loud when touched."""

from __future__ import annotations

from datetime import UTC, datetime

import phonenumbers
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from custodiet import canary
from custodiet.detect.run import load_findings, run_detectors
from custodiet.events import EVENT_SCHEMA
from custodiet.identifiers import luhn_ok
from custodiet.ledger import append_events
from custodiet.store import Store

# Blocks a test deployment reserved (the tests' stores hold no real person's data).
MSISDN = "8801555"
PREFIX = {"msisdn": MSISDN, "nid": "19009", "imei": "35999999"}


def test_issued_canaries_look_valid_and_are_stored_pseudonymised(tmp_path) -> None:
    store = Store(tmp_path)
    issued = canary.issue(store, actor="U1.o3", count=3, prefix=MSISDN)
    assert len({c.cleartext for c in issued}) == 3
    for c in issued:
        assert c.cleartext.startswith(MSISDN)
        assert phonenumbers.is_valid_number(phonenumbers.parse("+" + c.cleartext))
        assert c.subject == store.pseudonymiser.of_raw("msisdn", "+" + c.cleartext)
    stored = pq.read_table(store.context_path("canaries")).to_pylist()
    assert [r["subject"] for r in stored] == [c.subject for c in issued]
    assert {r["actor"] for r in stored} == {"U1.o3"}
    raw = store.context_path("canaries").read_bytes()
    assert all(c.cleartext.encode() not in raw for c in issued)


def test_more_canaries_add_to_the_table(tmp_path) -> None:
    store = Store(tmp_path)
    canary.issue(store, actor="a", count=2, prefix=MSISDN)
    canary.issue(store, org="U9", count=1, kind="imei", prefix=PREFIX["imei"])
    stored = pq.read_table(store.context_path("canaries")).to_pylist()
    assert [r["org"] for r in stored] == [None, None, "U9"]


def test_imei_and_nid_canaries() -> None:
    imei = canary.draw("imei", PREFIX["imei"])
    assert len(imei) == 15
    assert luhn_ok(imei)
    assert imei.startswith("35999999")
    nid = canary.draw("nid", PREFIX["nid"])
    assert len(nid) == 17
    assert nid.startswith("19009")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"actor": "a", "org": "U"}, "exactly one"),
    ({}, "exactly one"),
    ({"actor": "a", "count": 0}, "at least 1"),
    ({"actor": "a", "kind": "passport"}, "not supported"),
    ({"actor": "a", "prefix": "88017999999"}, "at least 4"),
    ({"actor": "a", "prefix": "88O1"}, "must be digits"),
    ({"actor": "a", "prefix": "8809999"}, "valid phone numbers"),
    ({"actor": "a"}, "no reserved block for msisdn canaries"),
    ({"actor": "a", "kind": "imei"}, "no reserved block for imei"),
])
def test_bad_requests_are_refused(tmp_path, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        canary.issue(Store(tmp_path), **kwargs)


def test_touching_a_canary_is_critical_and_names_the_account(tmp_path) -> None:
    store = Store(tmp_path)
    planted = canary.issue(store, org="U2", count=1, prefix=MSISDN)[0]
    ordinary = store.pseudonymiser.of_raw("msisdn", "8801711000001")
    ts = datetime(2026, 5, 1, 10, tzinfo=UTC)
    rows = [{"event_id": f"c{i}", "ts": ts, "channel": "gateway", "actor": actor, "actor_org": "U2",
             "subject": subject, "subject_kind": "msisdn", "data_kind": "identity", "operation": "lookup",
             "authority": None, "outcome": "allowed", "records": 1, "attrs": None, "source": f"gw.csv:{i + 2}"}
            for i, (actor, subject) in enumerate([("snoop", planted.subject), ("clean", ordinary)])]
    with store.writer():
        append_events(store, pa.Table.from_pylist(rows, schema=EVENT_SCHEMA))
    run_detectors(store, only=["insider.canary"])
    found = load_findings(store)
    assert [(f["actor"], f["severity"], f["score"]) for f in found] == [("snoop", "critical", 1.0)]
    assert found[0]["event_ids"] == ["c0"]
    assert found[0]["subjects"] == [planted.subject]
    assert "planted for U2" in found[0]["summary"]


def test_the_block_may_come_from_the_settings(tmp_path) -> None:
    store = Store(tmp_path)
    store.home.mkdir(parents=True, exist_ok=True)
    (store.home / "config.toml").write_text('[canary.prefix]\nmsisdn = "4479460"\nimei = "35999998"\n')
    uk = canary.issue(store, actor="a", count=2)
    assert all(c.cleartext.startswith("4479460") and len(c.cleartext) == 12 for c in uk)
    assert all(phonenumbers.is_valid_number(phonenumbers.parse("+" + c.cleartext)) for c in uk)
    assert canary.issue(store, actor="a", kind="imei")[0].cleartext.startswith("35999998")
    assert canary.issue(store, actor="a", prefix=MSISDN)[0].cleartext.startswith(MSISDN)  # --prefix wins
    with pytest.raises(canary.NoReservedBlock, match="nid"):
        canary.issue(store, actor="a", kind="nid")


def test_no_canary_is_stored_when_the_block_is_refused(tmp_path) -> None:
    store = Store(tmp_path)
    with pytest.raises(canary.NoReservedBlock):
        canary.issue(store, actor="a")
    assert not store.context_path("canaries").exists()


def test_a_planted_segment_touching_a_canary_never_reaches_detection(tmp_path) -> None:
    """Detection reads the segments the signed heads cover: a file someone put in the ledger folder holds
    no event as far as any query is concerned (``verify`` names it as foreign)."""
    from custodiet import ledger
    from custodiet.ledger.snapshot import take

    store = Store(tmp_path)
    planted = canary.issue(store, org="U2", count=1, prefix=MSISDN)[0]
    ts = datetime(2026, 5, 1, 10, tzinfo=UTC)

    def lookup(event_id: str, actor: str, subject: str) -> dict:
        return {"event_id": event_id, "ts": ts, "channel": "gateway", "actor": actor, "actor_org": "U2",
                "subject": subject, "subject_kind": "msisdn", "data_kind": "identity", "operation": "lookup",
                "authority": None, "outcome": "allowed", "records": 1, "attrs": None, "source": "gw.csv:2"}

    with store.writer():
        append_events(store, pa.Table.from_pylist([lookup("c0", "clean", store.pseudonymiser.of_raw(
            "msisdn", "8801711000001"))], schema=EVENT_SCHEMA))
    forged = store.segments_dir / "00000002.parquet"
    pq.write_table(pa.Table.from_pylist([lookup("p0", "framed", planted.subject)], schema=EVENT_SCHEMA), forged)

    for con in (store.connect(), store.connect(snapshot=take(store))):
        assert con.execute("SELECT list(event_id) FROM events").fetchall()[0][0] == ["c0"]
    run_detectors(store, only=["insider.canary"])
    assert load_findings(store) == []
    verdict = ledger.verify(store)
    assert (verdict.ok, verdict.problem.kind, verdict.problem.segment) == (False, "foreign", forged.name)
