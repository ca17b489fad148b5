"""Idempotent ingest: decide for each candidate event whether it is new, a duplicate, or a conflict.

An event is a duplicate when its ``event_id`` is already stored (or appeared earlier in the batch) with
the same content; the same ``event_id`` with different content is rejected. Content is every canonical
field except ``event_id`` and ``source`` (provenance may differ between two deliveries of one event).
Content digests are computed only for ids that collide, and ids are grouped only when two of their
fingerprints are equal, so the common case costs one hash join.
"""

from __future__ import annotations

import duckdb
import numpy as np

from custodiet.ledger.hashing import event_fingerprints

CONTENT_FIELDS = ("ts", "channel", "actor", "actor_org", "subject", "subject_kind", "data_kind", "operation",
                  "authority", "outcome", "records", "attrs")


def content_digest_sql(alias: str) -> str:
    """SQL for the hex SHA-256 of an event's content; each field length-prefixed so none can blur."""
    parts = []
    for name in CONTENT_FIELDS:
        col = f"{alias}.{name}"
        text = f"strftime({col}, '%Y-%m-%dT%H:%M:%S.%fZ')" if name == "ts" else f"CAST({col} AS VARCHAR)"
        parts.append(f"coalesce(length({text}) || ':' || {text}, '-')")
    return "sha256(concat_ws('|', " + ", ".join(parts) + "))"


def find_collisions(con: duckdb.DuckDBPyConnection, table: str) -> int:
    """The first half of classifying the records of ``table`` against the store (``settle_verdicts`` is the
    second): reads only ``line``, ``event_id`` and ``reasons`` of ``table`` into the narrow
    ``checked(line, event_id, reason)`` (which the caller may count), and tables ``stored_ids`` and
    ``colliding_lines`` (all replaced if present). Returns how many lines collide (an id stored already
    or repeated in ``table``). ``table`` has line, event_id, reasons and the canonical fields; the
    ``events`` view is the store."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE checked AS SELECT line, event_id, "
        f"CASE WHEN len(reasons) > 0 THEN array_to_string(reasons, '; ') END AS reason FROM {table}"
    )
    valid = "(SELECT line, event_id FROM checked WHERE reason IS NULL)"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE stored_ids AS SELECT DISTINCT e.event_id FROM events e SEMI JOIN {valid} v "
        "ON e.event_id = v.event_id"
    )
    repeated = (f" OR v.event_id IN (SELECT event_id FROM {valid} GROUP BY event_id HAVING count(*) > 1)"
                if _ids_may_repeat(con) else "")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE colliding_lines AS SELECT v.line FROM {valid} v WHERE v.event_id IN "
        f"(SELECT event_id FROM stored_ids){repeated}"
    )
    return int(con.execute("SELECT count(*) FROM colliding_lines").fetchall()[0][0])


def _ids_may_repeat(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether an id may occur twice among the valid records of ``checked``: two of their 64-bit fingerprints
    (``event_fingerprints``) are equal. Hashing and sorting them costs a fifth of grouping the ids in the
    engine, and only then does the engine group them."""
    valid = "FROM checked WHERE reason IS NULL AND event_id IS NOT NULL"
    if con.execute(f"SELECT count(*) {valid}").fetchall()[0][0] < 2:  # an empty Arrow result imports pandas
        return False
    ids = con.execute(f"SELECT event_id {valid}").to_arrow_table()
    prints = np.sort(event_fingerprints(ids.column("event_id")))
    return bool(np.any(prints[1:] == prints[:-1]))


def settle_verdicts(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """The second half (after ``find_collisions``): content digests of the colliding records, which read
    all canonical fields of ``table``, and ``verdicts(line, verdict, reason)`` for every record that is not
    new: 'rejected' (its own ``reasons``, or an id conflict) or 'duplicate'. Rows of ``table`` absent from
    ``verdicts`` are new."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE stored_match AS SELECT e.event_id, "
        f"any_value({content_digest_sql('e')}) AS digest FROM events e "
        "SEMI JOIN stored_ids s ON e.event_id = s.event_id GROUP BY e.event_id"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE colliding AS SELECT v.line, v.event_id, {content_digest_sql('v')} AS digest "
        f"FROM {table} v SEMI JOIN colliding_lines c ON v.line = c.line"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE verdicts AS "
        "SELECT line, 'rejected' AS verdict, reason FROM checked WHERE reason IS NOT NULL UNION ALL "
        "SELECT line, CASE "
        "WHEN stored_digest IS NOT NULL AND stored_digest <> digest THEN 'rejected' "
        "WHEN stored_digest IS NULL AND first_line <> line AND first_digest <> digest THEN 'rejected' "
        "WHEN stored_digest IS NOT NULL OR first_line <> line THEN 'duplicate' END AS verdict, CASE "
        "WHEN stored_digest IS NOT NULL AND stored_digest <> digest "
        "THEN format('event_id {} already stored with different content', event_id) "
        "WHEN stored_digest IS NULL AND first_line <> line AND first_digest <> digest "
        "THEN format('event_id {} already used at line {} with different content', event_id, first_line) "
        "END AS reason FROM ("
        "SELECT c.line, c.event_id, c.digest, s.digest AS stored_digest, "
        "first_value(c.line) OVER w AS first_line, first_value(c.digest) OVER w AS first_digest "
        "FROM colliding c LEFT JOIN stored_match s USING (event_id) "
        "WINDOW w AS (PARTITION BY c.event_id ORDER BY c.line)) WHERE stored_digest IS NOT NULL OR first_line <> line"
    )
    for name in ("stored_ids", "colliding_lines", "stored_match", "colliding"):
        con.execute(f"DROP TABLE {name}")
