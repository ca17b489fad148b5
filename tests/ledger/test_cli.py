"""The CLI prints exactly the JSON shapes of the issue and exits non-zero on tampering."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
from typer.testing import CliRunner

from custodiet import ledger
from custodiet.cli import app

from .helpers import append_batches

runner = CliRunner()


def run(store, *args: str):
    return runner.invoke(app, ["--home", str(store.home), *args])


def test_head_heads_proof_consistency_shapes(store):
    append_batches(store, [3, 4])
    head = json.loads(run(store, "head", "--format", "json").stdout)
    assert set(head) == {"tree_size", "root_hash", "timestamp", "public_key", "signature"}
    assert head == ledger.head(store)
    lines = run(store, "heads", "--format", "jsonl").stdout.splitlines()
    assert [json.loads(line)["tree_size"] for line in lines] == [3, 7]
    proof = json.loads(run(store, "proof", "ev-00005", "--format", "json").stdout)
    assert set(proof) == {"event_id", "leaf_index", "tree_size", "leaf_hash", "inclusion_path", "root_hash"}
    assert (proof["event_id"], proof["leaf_index"], proof["tree_size"]) == ("ev-00005", 5, 7)
    cons = json.loads(run(store, "consistency", "--from", "3", "--format", "json").stdout)
    assert set(cons) == {"first_size", "second_size", "first_root", "second_root", "proof"}
    assert (cons["first_size"], cons["second_size"], cons["second_root"]) == (3, 7, head["root_hash"])


def test_verify_exit_codes_and_message(store, tmp_path):
    append_batches(store, [3, 4])
    ok = run(store, "verify")
    assert ok.exit_code == 0, ok.output
    path = store.segments_dir / "00000002.parquet"
    table = pq.read_table(path)
    column = table.column("source").to_pylist()
    column[1] = "elsewhere.csv:9"
    pq.write_table(table.set_column(table.schema.get_field_index("source"), "source", pa.array(column)), path)
    bad = run(store, "verify")
    assert bad.exit_code == 1
    assert "ev-00004" in bad.output
    assert "00000002.parquet" in bad.output
    assert run(store, "verify", "--quick").exit_code == 1


def test_errors_are_clear(store):
    assert run(store, "head").exit_code == 1
    append_batches(store, [2])
    missing = run(store, "proof", "nope")
    assert missing.exit_code == 1
    assert "nope" in missing.output


def test_a_bad_witness_line_is_named(store, tmp_path):
    append_batches(store, [2])
    witness = tmp_path / "witness.jsonl"
    witness.write_text(json.dumps(ledger.head(store)) + "\n{not json\n")
    bad = run(store, "verify", "--witness", str(witness))
    assert bad.exit_code == 2
    assert "witness.jsonl:2: not a JSON head" in bad.output
