"""Identifiers in staged records -> pseudonyms, each distinct (kind, value) normalised once."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from custodiet.events import SUBJECT_KINDS, sql_list
from custodiet.identifiers import normalise_many
from custodiet.store import Store


def pseudonymise_subjects(con: duckdb.DuckDBPyConnection, store: Store, table: str,
                          name: str = "subject_map") -> pa.Table:
    """Register ``name(subject_kind, subject, pseudonym, error)`` for every distinct identifier in
    ``table`` (columns ``subject_kind``, ``subject``); ``error`` says why one cannot be normalised.
    Returns the registered Arrow table (``subject_kind`` in lower case)."""
    pairs = con.execute(
        f"SELECT DISTINCT lower(subject_kind), subject FROM {table} "
        f"WHERE subject IS NOT NULL AND lower(subject_kind) IN {sql_list(SUBJECT_KINDS)}"
    ).fetchall()
    results = normalise_many(pairs, store.rules)
    ok = [(k, n) for (k, _), (n, _) in zip(pairs, results, strict=True) if n is not None]
    pseudo_iter = iter(store.pseudonymiser.of_many(ok))
    pseudonyms = [None if n is None else next(pseudo_iter) for n, _ in results]
    mapping = pa.table({
        "subject_kind": pa.array([k for k, _ in pairs], pa.string()),
        "subject": pa.array([v for _, v in pairs], pa.string()),
        "pseudonym": pa.array(pseudonyms, pa.string()),
        "error": pa.array([e for _, e in results], pa.string()),
    })
    con.register(name, mapping)
    return mapping
