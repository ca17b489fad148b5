"""The pseudonym key: created by an empty store, never replaced silently in a store that holds data."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from custodiet import ledger
from custodiet.events import EVENT_SCHEMA
from custodiet.pseudonym import FINGERPRINT_NAME, KEY_ENV, KEY_NAME, KeyCustodyError, key_fingerprint
from custodiet.store import Store
from tests.conftest import run_cli


def with_one_event(store: Store) -> str:
    """Pseudonymise one identifier and append it as an event; returns the pseudonym."""
    subject = store.pseudonymiser.of_raw("nid", "1000000007")
    row = {"event_id": "e1", "ts": datetime(2026, 1, 1, tzinfo=UTC), "channel": "portal", "actor": "a",
           "actor_org": None, "subject": subject,
           "subject_kind": "nid", "data_kind": "identity", "operation": None, "authority": None,
           "outcome": "allowed", "records": 1, "attrs": None, "source": "t.csv:2"}
    with store.writer():
        ledger.append_events(store, pa.Table.from_pylist([row], schema=EVENT_SCHEMA))
    return subject


def test_an_empty_store_creates_its_key_and_records_the_fingerprint(tmp_path):
    store = Store(tmp_path / "home")
    assert store.pseudonymiser is not None
    key = (store.keys_dir / KEY_NAME).read_bytes()
    recorded = (store.keys_dir / FINGERPRINT_NAME).read_text().strip()
    assert recorded == key_fingerprint(key)
    assert len(recorded) == 16
    assert key.hex()[:16] not in recorded  # one-way: the record does not give the key away


def test_a_lost_key_is_refused_not_replaced(tmp_path):
    store = Store(tmp_path / "home")
    with_one_event(store)
    recorded = (store.keys_dir / FINGERPRINT_NAME).read_text().strip()
    (store.keys_dir / KEY_NAME).unlink()
    with pytest.raises(KeyCustodyError, match=f"is missing.*fingerprint {recorded}"):
        _ = Store(store.home).pseudonymiser
    assert not (store.keys_dir / KEY_NAME).exists()  # no new key was made


def test_a_different_key_is_refused_naming_both_fingerprints(tmp_path, monkeypatch):
    store = Store(tmp_path / "home")
    with_one_event(store)
    recorded = (store.keys_dir / FINGERPRINT_NAME).read_text().strip()
    other = tmp_path / "other.key"
    other.write_bytes(os.urandom(32))
    monkeypatch.setenv(KEY_ENV, str(other))
    with pytest.raises(KeyCustodyError, match=f"fingerprint {key_fingerprint(other.read_bytes())}.*{recorded}"):
        _ = Store(store.home).pseudonymiser


def test_the_same_key_held_elsewhere_is_accepted(tmp_path, monkeypatch):
    store = Store(tmp_path / "home")
    subject = with_one_event(store)
    moved = tmp_path / "kept-elsewhere.key"
    (store.keys_dir / KEY_NAME).rename(moved)
    monkeypatch.setenv(KEY_ENV, str(moved))
    assert Store(store.home).pseudonymiser.of_raw("nid", "1000000007") == subject


def test_a_store_from_before_fingerprints_gets_its_record(tmp_path):
    store = Store(tmp_path / "home")
    with_one_event(store)
    (store.keys_dir / FINGERPRINT_NAME).unlink()
    assert Store(store.home).pseudonymiser is not None
    key = (store.keys_dir / KEY_NAME).read_bytes()
    assert (store.keys_dir / FINGERPRINT_NAME).read_text().strip() == key_fingerprint(key)


def test_the_cli_says_it_in_one_line(tmp_path):
    store = Store(tmp_path / "home")
    with_one_event(store)
    (store.keys_dir / KEY_NAME).unlink()
    proc = run_cli("pseudonym", "msisdn", "+8801712345678", home=store.home, check=False)
    assert proc.returncode == 2
    assert "pseudonym key" in proc.stderr
    assert "is missing" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_tables_without_pseudonyms_do_not_count_as_data(tmp_path):
    store = Store(tmp_path / "home")
    store.init()
    for name in ("actors", "cases"):  # loaded first, as the README does: no subject in them
        store.context_path(name).write_bytes(b"")
    assert not store.holds_pseudonymised_data()
    assert store.pseudonymiser is not None  # the key is made now, with nothing pseudonymised before it
    store.context_path("protected").write_bytes(b"")
    assert store.holds_pseudonymised_data()
