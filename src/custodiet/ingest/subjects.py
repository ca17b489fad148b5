"""Identifiers in staged records -> pseudonyms, each distinct (kind, value) normalised once.

The subject map lives in Arrow; the engine gets a copy only when SQL needs it. Handing DuckDB any Python
object (an Arrow table, a list parameter) makes it import pandas, half a second, and so does
``pyarrow.array`` on Python values; so the map's columns are built from their buffers
(``arrow_columns.string_array``) and a caller that looks pseudonyms up in Arrow (the portal ingest)
registers the map only when a query needs it (``SubjectMap``).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import duckdb
import pyarrow as pa

from custodiet.arrow_columns import string_array
from custodiet.events import SUBJECT_KINDS, sql_list
from custodiet.identifiers import normalise_many
from custodiet.store import Store

_COLUMNS = "subject_kind VARCHAR, subject VARCHAR, pseudonym VARCHAR, error VARCHAR"


def subject_map(con: duckdb.DuckDBPyConnection, store: Store, table: str) -> pa.Table:
    """``(subject_kind, subject, pseudonym, error)`` for every distinct identifier in ``table`` (columns
    ``subject_kind``, ``subject``); ``error`` says why one cannot be normalised (``subject_kind`` in lower
    case)."""
    return _map_of_pairs(store, _distinct_pairs(con, table))


def _distinct_pairs(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    return con.execute(
        f"SELECT DISTINCT lower(subject_kind), subject FROM {table} "
        f"WHERE subject IS NOT NULL AND lower(subject_kind) IN {sql_list(SUBJECT_KINDS)}"
    ).fetchall()


def _map_of_pairs(store: Store, pairs: list[tuple[str, str]]) -> pa.Table:
    results = normalise_many(pairs, store.rules)
    ok = [(k, n) for (k, _), (n, _) in zip(pairs, results, strict=True) if n is not None]
    pseudo_iter = iter(store.pseudonymiser.of_many(ok))
    pseudonyms: list[str | None] = [None if n is None else next(pseudo_iter) for n, _ in results]
    columns: list[list[str | None]] = [[k for k, _ in pairs], [v for _, v in pairs], pseudonyms,
                                       [e for _, e in results]]
    return pa.Table.from_arrays([string_array(c) for c in columns],
                                names=["subject_kind", "subject", "pseudonym", "error"])


def pseudonymise_subjects(con: duckdb.DuckDBPyConnection, store: Store, table: str,
                          name: str = "subject_map") -> pa.Table:
    """Register ``name(subject_kind, subject, pseudonym, error)`` for every distinct identifier in
    ``table`` (see ``subject_map``) and return it."""
    mapping = subject_map(con, store, table)
    con.register(name, mapping)
    return mapping


class SubjectMap:
    """A subject map built in the background, whose engine copy, the temp table ``name``, is filled on
    first need (``load``).

    The distinct identifiers are read at once; normalising and keying them (Python, holding the GIL) runs
    in a worker thread, so the caller can meanwhile run engine queries (which release it) that do not
    need the map. ``mapping`` waits for it. Until ``load`` the engine table is empty, which SQL may join
    against as long as no answer depends on the pseudonyms or errors: ``load`` first when the map has
    errors, records need content ids, or ids collide (their content digests include the pseudonym)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, store: Store, table: str, name: str = "subject_map"):
        self.con, self.name = con, name
        pairs = _distinct_pairs(con, table)
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pseudonyms")
        self._building = pool.submit(_map_of_pairs, store, pairs)
        pool.shutdown(wait=False)  # the thread ends with its one task
        self.loaded = False
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} ({_COLUMNS})")

    @property
    def mapping(self) -> pa.Table:
        """The map (waits for the worker; raises what it raised)."""
        return self._building.result()

    @property
    def has_errors(self) -> bool:
        return self.mapping.column("error").null_count < self.mapping.num_rows

    def load(self) -> None:
        """Copy the map into the engine (once)."""
        if not self.loaded:
            self.con.register("subject_map_arrow", self.mapping)
            self.con.execute(f"INSERT INTO {self.name} SELECT * FROM subject_map_arrow")
            self.con.unregister("subject_map_arrow")
            self.loaded = True
