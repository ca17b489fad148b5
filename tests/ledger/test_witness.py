"""`custodiet witness add-head`: the oversight body keeps a head only if it is the ledger's and extends its own."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from custodiet import ledger
from custodiet.cli import app
from custodiet.events import canonical_json
from custodiet.ledger.heads import sign_head
from custodiet.ledger.witness import WitnessError, add_head

from .helpers import append_batches, append_batches_at

runner = CliRunner()


@pytest.fixture
def grown(store):
    append_batches(store, [3, 4, 2])  # heads at 3, 7, 9
    return store


def proofs(store):
    return lambda m, n: ledger.consistency_proof(store, m, n)


def test_heads_are_kept_only_while_they_extend_the_history(grown, tmp_path):
    heads = ledger.heads(grown)
    key = heads[0]["public_key"]
    kept = tmp_path / "witness.jsonl"
    assert add_head(kept, heads[0], key, proofs(grown)).message().startswith("first head held: tree size 3")
    accepted = add_head(kept, heads[2], key, proofs(grown)).message()
    assert accepted == "accepted: tree size 9 extends the held tree size 3"
    assert add_head(kept, heads[2], key, proofs(grown)).message() == "already held: the head for tree size 9"
    with pytest.raises(WitnessError, match="smaller than the held tree size 9"):
        add_head(kept, heads[1], key, proofs(grown))
    assert [json.loads(line)["tree_size"] for line in kept.read_text().splitlines()] == [3, 9]


def test_a_head_of_another_key_or_a_forged_signature_is_refused(grown, tmp_path):
    head = ledger.head(grown)
    kept = tmp_path / "witness.jsonl"
    other = sign_head(Ed25519PrivateKey.generate(), head["tree_size"], bytes.fromhex(head["root_hash"]))
    with pytest.raises(WitnessError, match="not the pinned key"):
        add_head(kept, other, head["public_key"], proofs(grown))
    forged = {**head, "root_hash": "00" * 32}
    with pytest.raises(WitnessError, match="not well signed"):
        add_head(kept, forged, head["public_key"], proofs(grown))
    assert not kept.exists()


def test_a_rewritten_history_is_refused_with_the_store_s_own_proof(grown, tmp_path):
    heads = ledger.heads(grown)
    kept = tmp_path / "witness.jsonl"
    add_head(kept, heads[1], heads[0]["public_key"], proofs(grown))  # holds size 7
    key = Ed25519PrivateKey.from_private_bytes((grown.keys_dir / "ledger-signing.key").read_bytes())
    # the same key signs a head over a tree that does not extend size 7: its root is another tree's
    fork = sign_head(key, 9, bytes.fromhex(heads[2]["root_hash"])[::-1])
    with pytest.raises(WitnessError, match="does not show that tree size 9 extends the held tree size 7"):
        add_head(kept, fork, heads[0]["public_key"], proofs(grown))
    assert len(kept.read_text().splitlines()) == 1


def test_the_cli_with_a_folder_or_the_operator_s_proof(grown, tmp_path):
    pub = tmp_path / "ledger.pub"
    pub.write_text(ledger.head(grown)["public_key"] + "\n")
    first, newest = tmp_path / "h1.json", tmp_path / "h2.json"
    first.write_text(canonical_json(ledger.heads(grown)[0]))
    kept = tmp_path / "witness.jsonl"
    base = ["witness", "add-head", "--witness-file", str(kept), "--public-key", str(pub)]
    done = runner.invoke(app, [*base[:2], str(first), *base[2:], "--store", str(grown.home)])
    assert done.exit_code == 0, done.output
    append_batches_at(grown, 9, 1)
    newest.write_text(json.dumps(ledger.head(grown), indent=2))
    proof = tmp_path / "proof.json"
    proof.write_text(json.dumps(ledger.consistency_proof(grown, 3, 10)))
    done = runner.invoke(app, [*base[:2], str(newest), *base[2:], "--proof", str(proof)])
    assert done.exit_code == 0, done.output
    assert "accepted: tree size 10 extends the held tree size 3" in done.stdout
    url = runner.invoke(app, [*base[:2], str(newest), *base[2:], "--store", "https://store.example/"])
    assert url.exit_code == 2
    assert "fetching proofs from a URL is not supported yet" in url.stderr
    assert len(url.stderr.strip().splitlines()) == 1
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps(ledger.consistency_proof(grown, 7, 10)))
    append_batches_at(grown, 10, 1)
    newer = tmp_path / "h3.json"
    newer.write_text(json.dumps(ledger.head(grown)))
    refused = runner.invoke(app, [*base[:2], str(newer), *base[2:], "--proof", str(wrong)])
    assert refused.exit_code == 1
    assert "the proof is between tree sizes 7 and 10; this head needs one from 10" in refused.stderr
    neither = runner.invoke(app, [*base[:2], str(newer), *base[2:]])
    assert neither.exit_code == 2
    assert "exactly one of --store DIR and --proof FILE" in neither.stderr
