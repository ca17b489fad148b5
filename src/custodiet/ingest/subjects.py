"""Identifiers in staged records -> pseudonyms, each distinct (kind, value) normalised once.

The subject map lives in Arrow; the engine gets a copy only when SQL needs it. Handing DuckDB any Python
object (an Arrow table, a list parameter) makes it import pandas, half a second, and so does
``pyarrow.array`` on Python values; so the map's columns are built from their buffers
(``arrow_columns.string_array``) and a caller that looks pseudonyms up in Arrow (the portal ingest)
registers the map only when a query needs it (``SubjectMap``).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from custodiet.arrow_columns import string_array
from custodiet.events import SUBJECT_KINDS, sql_list
from custodiet.identifiers import normalise_many
from custodiet.store import Store

_COLUMNS = "subject_kind VARCHAR, subject VARCHAR, pseudonym VARCHAR, error VARCHAR"
# Between kind and value in lookup keys: a control character, so never in a value. An Arrow scalar built
# from buffers, because a Python str argument makes pyarrow import pandas (half a second).
_SEPARATOR = "\x1f"
_KEY_SEPARATOR = string_array([_SEPARATOR])[0]


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


def subject_keys(kinds: pa.Array | pa.ChunkedArray, values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """One lookup key per identifier: kind and value joined by a control character (never in a value);
    null when either is null."""
    return pc.binary_join_element_wise(kinds, values, _KEY_SEPARATOR)


def distinct_subjects(kinds: pa.ChunkedArray, values: pa.ChunkedArray) -> tuple[list[tuple[str, str]], pa.ChunkedArray]:
    """The distinct (kind, value) pairs of Arrow columns (kinds already in the vocabulary, or null) and, for
    every row, the position of its pair among them (null when the kind or value is null): one hash pass."""
    keys = subject_keys(kinds, values)
    encoded = (keys.combine_chunks() if isinstance(keys, pa.ChunkedArray) else keys).dictionary_encode()
    pairs = [(kind, value) for kind, _, value in (key.partition(_SEPARATOR) for key in encoded.dictionary.to_pylist())]
    return pairs, pa.chunked_array([encoded.indices])


class SubjectMap:
    """A subject map built in the background, whose engine copy, the temp table ``name``, is filled on
    first need (``load``).

    ``of_table`` maps the distinct identifiers of an engine table; ``of_columns`` those of Arrow columns,
    found in the worker too, and also gives every row's position in the map (``positions``). Normalising
    and keying the identifiers (Python, holding the GIL) runs in a worker thread, so the caller can
    meanwhile run engine queries (which release it) that do not need the map. ``mapping`` waits for it.
    Until ``load`` the engine table is empty, which SQL may join against as long as no answer depends on
    the pseudonyms or errors: ``load`` first when the map has errors, records need content ids, or ids
    collide (their content digests include the pseudonym)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, build: Callable[[], tuple[pa.Table, pa.ChunkedArray | None]],
                 name: str = "subject_map"):
        self.con, self.name = con, name
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pseudonyms")
        self._building = pool.submit(build)
        pool.shutdown(wait=False)  # the thread ends with its one task
        self.loaded = False
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} ({_COLUMNS})")

    @classmethod
    def of_table(cls, con: duckdb.DuckDBPyConnection, store: Store, table: str) -> SubjectMap:
        pairs = _distinct_pairs(con, table)
        return cls(con, lambda: (_map_of_pairs(store, pairs), None))

    @classmethod
    def of_columns(cls, con: duckdb.DuckDBPyConnection, store: Store, kinds: pa.ChunkedArray,
                   values: pa.ChunkedArray) -> SubjectMap:
        def build() -> tuple[pa.Table, pa.ChunkedArray]:
            pairs, positions = distinct_subjects(kinds, values)
            return _map_of_pairs(store, pairs), positions

        return cls(con, build)

    @property
    def mapping(self) -> pa.Table:
        """The map (waits for the worker; raises what it raised)."""
        return self._building.result()[0]

    @property
    def positions(self) -> pa.ChunkedArray:
        """(``of_columns``) every row's position in ``mapping``; null for a row without kind or value."""
        positions = self._building.result()[1]
        if positions is None:
            raise ValueError("only a map of Arrow columns has row positions")
        return positions

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
