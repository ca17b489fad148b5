"""The signing key kept outside the store, the public key pinned by whoever verifies, and what verify says."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from custodiet import ledger
from custodiet.cli import app
from custodiet.ledger.heads import SIGNING_KEY_FILE
from custodiet.ledger.signing import SIGNING_KEY_FILE_ENV, fingerprint, key_record_path
from custodiet.ledger.trust import TRUST_FILE_ENV, public_key_pem

from .helpers import append_batches, append_batches_at, events, rewrite_history

runner = CliRunner()


def write_key(path) -> str:
    """A new Ed25519 key in PEM at ``path``; returns its public key (hex)."""
    key = Ed25519PrivateKey.generate()
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return key.public_key().public_bytes_raw().hex()


@pytest.fixture
def key_outside(tmp_path, monkeypatch) -> tuple[str, object]:
    """A signing key file outside the store, and a trust file with its public key (PEM)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    public = write_key(outside / "ledger-signing.pem")
    (outside / "ledger.pub").write_bytes(public_key_pem(public))
    monkeypatch.setenv(SIGNING_KEY_FILE_ENV, str(outside / "ledger-signing.pem"))
    return public, outside


def test_a_key_file_outside_the_store_signs_and_the_store_keeps_only_the_public_key(store, key_outside):
    public, outside = key_outside
    append_batches(store, [3, 2])
    assert {h["public_key"] for h in ledger.heads(store)} == {public}
    assert not (store.keys_dir / SIGNING_KEY_FILE).exists()
    record = json.loads(key_record_path(store).read_text())
    assert (record["public_key"], record["custody"]) == (public, "file")
    plain = ledger.verify(store)
    assert plain.ok
    assert "checked the store only against itself" in plain.trust
    assert not any("kept inside the store" in n for n in plain.notes)
    pinned = ledger.verify(store, public_key=public, pinned_from="test")
    assert pinned.ok
    assert pinned.trust.startswith(f"heads checked against the pinned key {fingerprint(public)}")


def test_pinned_verify_fails_on_a_store_re_signed_with_another_key(store, key_outside, tmp_path, monkeypatch):
    public, outside = key_outside
    append_batches(store, [4, 3])
    monkeypatch.setenv(SIGNING_KEY_FILE_ENV, str(tmp_path / "theirs.pem"))
    write_key(tmp_path / "theirs.pem")
    rewrite_history(store)  # same events, every head signed anew with a key the operator made
    assert ledger.verify(store).ok  # the store agrees with itself ...
    result = ledger.verify(store, public_key=public)
    assert not result.ok  # ... but not with the key the verifier holds
    assert (result.problem.kind, result.problem.head_line) == ("head", 1)
    assert "not the ledger's key" in result.problem.message
    cli = runner.invoke(app, ["--home", str(store.home), "verify", "--public-key", str(outside / "ledger.pub")])
    assert cli.exit_code == 1
    assert "heads.jsonl:1" in cli.stderr


def test_another_configured_key_is_refused_naming_both(store, key_outside, tmp_path, monkeypatch):
    public, _ = key_outside
    append_batches(store, [2])
    other = write_key(tmp_path / "other.pem")
    monkeypatch.setenv(SIGNING_KEY_FILE_ENV, str(tmp_path / "other.pem"))
    with pytest.raises(ledger.LedgerError, match=f"{fingerprint(other)}.*{fingerprint(public)}"), store.writer():
        ledger.append_events(store, events(2, 4))
    assert len(ledger.heads(store)) == 1


def test_moving_the_in_store_key_out_keeps_the_ledger(store, tmp_path, monkeypatch):
    append_batches(store, [2])
    raw = (store.keys_dir / SIGNING_KEY_FILE).read_bytes()
    key = Ed25519PrivateKey.from_private_bytes(raw)
    (tmp_path / "moved.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                           serialization.PrivateFormat.PKCS8,
                                                           serialization.NoEncryption()))
    (store.keys_dir / SIGNING_KEY_FILE).unlink()
    monkeypatch.setenv(SIGNING_KEY_FILE_ENV, str(tmp_path / "moved.pem"))
    append_batches_at(store, 2, 3)
    assert json.loads(key_record_path(store).read_text())["custody"] == "file"
    result = ledger.verify(store)
    assert result.ok, result.problem
    assert not any("kept inside the store" in n for n in result.notes)


def test_bad_key_files_are_one_clear_line(store, tmp_path, monkeypatch):
    (tmp_path / "not-a-key.pem").write_text("hello\n")
    monkeypatch.setenv(SIGNING_KEY_FILE_ENV, str(tmp_path / "not-a-key.pem"))
    with pytest.raises(ledger.LedgerError, match="not an unencrypted PEM private key"), store.writer():
        ledger.append_events(store, events(0, 2))
    monkeypatch.setenv(SIGNING_KEY_FILE_ENV, str(tmp_path / "absent.pem"))
    with pytest.raises(ledger.LedgerError, match="absent.pem cannot be read"), store.writer():
        ledger.append_events(store, events(0, 2))


def test_the_in_store_default_is_said_plainly(store):
    append_batches(store, [2])
    result = runner.invoke(app, ["--home", str(store.home), "verify"])
    assert result.exit_code == 0, result.output
    assert "trust: no key pinned: checked the store only against itself" in result.stdout
    assert "the signing key is kept inside the store (keys/ledger-signing.key)" in result.stderr


def test_a_trust_file_from_the_settings(store, key_outside, tmp_path, monkeypatch):
    public, outside = key_outside
    append_batches(store, [2])
    (store.home / "config.toml").write_text(f'[ledger]\ntrust_file = "{outside / "ledger.pub"}"\n')
    ok = runner.invoke(app, ["--home", str(store.home), "verify"])
    assert ok.exit_code == 0, ok.output
    assert f"pinned key {fingerprint(public)} (trust file {outside / 'ledger.pub'})" in ok.stdout
    inside = store.home / "ledger.pub"
    inside.write_bytes(public_key_pem(public))
    monkeypatch.setenv(TRUST_FILE_ENV, str(inside))
    refused = runner.invoke(app, ["--home", str(store.home), "verify"])
    assert refused.exit_code == 2
    assert "lies inside the store" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
