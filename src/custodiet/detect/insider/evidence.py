"""The events behind the findings of a run: their ids, oldest first, and the people they were about.

Every finding lists the ids of its account's events in its window (optionally only those about some
people, whose pseudonyms then become the finding's ``subjects``). A run has thousands of findings, so they
are answered together, in two steps:

1. *pick* — a range join of all requests against the narrow accesses table (integer account, time,
   subject key and ``loc``, the event's place in the ledger: segment index << 32 | row number), keeping
   per request the oldest ``limit`` rows (ties on the time kept, so the final order can break them by id);
2. *fetch* — the event ids and pseudonyms of only the picked rows, joined by their place in the segments.

The string columns of 20M events (ids, actors, 64-character pseudonyms) are the expensive part of a pass
over the ledger, and step 1 never reads them. Requests that cover every channel (canaries: signalling or
interception events count too) are not in the insider accesses and are answered from the events instead.

Raw SQL, not Ibis: the locator is made of DuckDB's virtual columns of ``read_parquet`` (file index and row
number), which Ibis cannot name, and the window-limited range join is one statement either way.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from custodiet.events import sql_text

REQUEST_SCHEMA = pa.schema([("rid", pa.int32()), ("actor", pa.string()), ("start", pa.timestamp("us", tz="UTC")),
                            ("end", pa.timestamp("us", tz="UTC")), ("keyed", pa.bool_()),
                            ("any_channel", pa.bool_())])
KEY_SCHEMA = pa.schema([("rid", pa.int32()), ("skey", pa.int64())])


def parquet_list(segments: list[Path]) -> str:
    """The SQL list literal of segment paths for ``read_parquet([...])``, quotes escaped."""
    return "[" + ", ".join(sql_text(str(p)) for p in segments) + "]"


def pick_and_fetch(con: duckdb.DuckDBPyConnection, requests: pa.Table, keys: pa.Table, *, accesses: str,
                   actors: str, segments: list[Path], limit: int) -> list[tuple[int, str, str]]:
    """(rid, event_id, subject) for every request, at most ``limit`` per request, in (rid, ts, event_id)
    order. ``accesses`` and ``actors`` name the run's shared views (see :mod:`.base`)."""
    con.register("_ev_req", requests)
    con.register("_ev_keys", keys)
    try:
        got: list[tuple[int, str, str]] = []
        if segments and con.execute("SELECT count(*) FROM _ev_req WHERE NOT any_channel").fetchall()[0][0]:
            # Step 1 is kept as a (small) temp table: in one statement with step 2, DuckDB plans the join with
            # the segments before the window limit and the whole takes about twice as long.
            con.execute(f"""
                CREATE OR REPLACE TEMP TABLE _ev_top AS
                WITH req AS (
                  SELECT r.rid, d.aid, r.start, r."end", r.keyed
                  FROM _ev_req r JOIN {actors} d ON d.actor = r.actor WHERE NOT r.any_channel),
                hit AS (
                  SELECT r.rid, r.keyed, a.ts, a.loc, a.skey FROM {accesses} a
                  JOIN req r ON a.aid = r.aid AND a.ts BETWEEN r.start AND r."end")
                SELECT h.rid, h.ts, CAST(h.loc >> 32 AS UBIGINT) AS file, h.loc & 4294967295 AS row
                FROM hit h LEFT JOIN _ev_keys k ON k.rid = h.rid AND k.skey = h.skey
                WHERE NOT h.keyed OR k.skey IS NOT NULL
                QUALIFY rank() OVER (PARTITION BY h.rid ORDER BY h.ts) <= {limit}""")
            try:
                got += con.execute(f"""
                    SELECT t.rid, e.event_id, e.subject
                    FROM _ev_top t JOIN read_parquet({parquet_list(segments)}) e
                      ON e.file_index = t.file AND e.file_row_number = t.row
                    QUALIFY row_number() OVER (PARTITION BY t.rid ORDER BY t.ts, e.event_id) <= {limit}
                    ORDER BY t.rid, t.ts, e.event_id""").fetchall()
            finally:
                con.execute("DROP TABLE IF EXISTS _ev_top")
        if con.execute("SELECT count(*) FROM _ev_req WHERE any_channel").fetchall()[0][0]:
            got += con.execute(f"""
                WITH hit AS (
                  SELECT r.rid, e.event_id, e.subject, e.ts, r.keyed
                  FROM events e JOIN _ev_req r ON e.actor = r.actor AND e.ts BETWEEN r.start AND r."end"
                  WHERE r.any_channel)
                SELECT h.rid, h.event_id, h.subject FROM hit h
                LEFT JOIN _ev_keys k ON k.rid = h.rid AND k.skey = CAST(CAST(hash(h.subject) AS BIT) AS BIGINT)
                WHERE NOT h.keyed OR k.skey IS NOT NULL
                QUALIFY row_number() OVER (PARTITION BY h.rid ORDER BY h.ts, h.event_id) <= {limit}
                ORDER BY h.rid, h.ts, h.event_id""").fetchall()
        return got
    finally:
        con.unregister("_ev_req")
        con.unregister("_ev_keys")

