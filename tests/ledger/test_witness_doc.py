"""The witness's stand-alone check in docs/witnessing.md works on real proofs (docs that cannot drift)."""

from __future__ import annotations

import re
from pathlib import Path

from custodiet import ledger

from .helpers import append_batches

DOC = Path(__file__).resolve().parents[2] / "docs" / "witnessing.md"


def snippet() -> dict:
    code = re.search(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert code is not None
    namespace: dict = {}
    exec(compile(code.group(1), str(DOC), "exec"), namespace)
    return namespace


def test_documented_witness_check_accepts_real_and_rejects_forged(store):
    check = snippet()
    append_batches(store, [1, 3, 4, 7, 1])
    heads = ledger.heads(store)
    key = heads[0]["public_key"]
    for old in heads:
        for new in heads:
            if old["tree_size"] <= new["tree_size"]:
                doc = ledger.consistency_proof(store, old["tree_size"], new["tree_size"])
                assert check["head_is_signed"](new, key)
                assert check["consistent"](old, new, doc)
    forged = dict(heads[1], root_hash="00" * 32)
    doc = ledger.consistency_proof(store, heads[1]["tree_size"], heads[-1]["tree_size"])
    assert not check["head_is_signed"](forged, key)
    assert not check["consistent"](forged, heads[-1], doc)
