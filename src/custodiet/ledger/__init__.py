"""The tamper-evident ledger: event segments, an RFC 9162 Merkle tree over them, signed tree heads.

Python entry points (the CLI, the console and evidence export call these):

- ``append_events(store, table)`` — append one ingest batch (caller holds ``store.writer()``);
- ``head(store)``, ``heads(store)`` — the newest / every signed tree head (readers work from one signed
  state, ``snapshot``: they never heal, lock or wait for a writer);
- ``inclusion_proof(store, event_id)``, ``inclusion_proof_at(store, leaf_index)`` — RFC 9162 §2.1.3;
- ``consistency_proof(store, first, second)`` — RFC 9162 §2.1.4;
- ``verify(store, quick=False, public_key=None)`` — read-only; a ``VerifyResult`` naming the first bad event
  and its segment (or a foreign file), and saying which key it trusted;
- ``verify_inclusion`` / ``verify_consistency`` / ``head_problem`` — checks that need only hashes and
  heads, for whoever receives a proof.

Evidence against whoever runs the store: ``signing`` (the key may live in a PEM file or on a PKCS#11
token outside the store; the store records only the public key), ``journal`` and ``recovery`` (a crash is
healed only from the writer's own signed journal), ``provenance`` (``verify`` names foreign files),
``trust`` (the key ``verify`` pins) and ``witness`` (the oversight body's ``add_head``).

Hashing runs in the C extension ``_fasthash`` (OpenSSL, built by ``setup.py``) when it is built, else in
a pure-Python hashlib loop; ``hashing.BACKEND`` says which (see ``hashing`` and ``native``).
"""

from __future__ import annotations

from custodiet.ledger.heads import LedgerError, head_problem
from custodiet.ledger.log import (
    append_events,
    consistency_proof,
    ensure_healed,
    head,
    heads,
    heal,
    inclusion_proof,
    inclusion_proof_at,
)
from custodiet.ledger.merkle import verify_consistency, verify_inclusion
from custodiet.ledger.verify import Problem, VerifyResult, verify

__all__ = [
    "LedgerError",
    "Problem",
    "VerifyResult",
    "append_events",
    "consistency_proof",
    "ensure_healed",
    "head",
    "head_problem",
    "heads",
    "heal",
    "inclusion_proof",
    "inclusion_proof_at",
    "verify",
    "verify_consistency",
    "verify_inclusion",
]
