"""Idempotent ingest: decide for each candidate event whether it is new, a duplicate, or a conflict.

An event is a duplicate when its ``event_id`` is already stored (or appeared earlier in the batch) with
the same content; the same ``event_id`` with different content is rejected. Content is every canonical
field except ``event_id`` and ``source`` (provenance may differ between two deliveries of one event).
"""

from __future__ import annotations

import duckdb

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


def classify_against_store(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Add ``verdict`` ('new' | 'duplicate' | 'rejected') to ``table`` (which has line, event_id, digest,
    reasons), appending a reason for every id conflict. The ``events`` view is the store."""
    con.execute(
        f"CREATE TEMP TABLE stored_match AS SELECT e.event_id, any_value({content_digest_sql('e')}) AS digest "
        f"FROM events e WHERE e.event_id IN (SELECT event_id FROM {table} WHERE len(reasons) = 0) "
        "GROUP BY e.event_id"
    )
    con.execute(
        f"CREATE TEMP TABLE firsts AS SELECT event_id, arg_min(line, line) AS first_line, "
        f"arg_min(digest, line) AS first_digest FROM {table} WHERE len(reasons) = 0 GROUP BY event_id"
    )
    con.execute(
        f"CREATE TEMP TABLE {table}_classified AS "
        "WITH j AS (SELECT c.*, s.digest AS stored_digest, f.first_line, f.first_digest "
        f"FROM {table} c LEFT JOIN stored_match s USING (event_id) LEFT JOIN firsts f USING (event_id)), "
        "r AS (SELECT * EXCLUDE (reasons), CASE "
        "WHEN len(reasons) > 0 THEN reasons "
        "WHEN stored_digest IS NOT NULL AND stored_digest <> digest "
        "THEN [format('event_id {} already stored with different content', event_id)] "
        "WHEN stored_digest IS NULL AND first_line <> line AND first_digest <> digest "
        "THEN [format('event_id {} already used at line {} with different content', event_id, first_line)] "
        "ELSE [] END AS reasons FROM j) "
        "SELECT * EXCLUDE (stored_digest, first_line, first_digest), CASE "
        "WHEN len(reasons) > 0 THEN 'rejected' "
        "WHEN stored_digest IS NOT NULL OR first_line <> line THEN 'duplicate' "
        "ELSE 'new' END AS verdict FROM r"
    )
    con.execute(f"DROP TABLE {table}")
    con.execute(f"ALTER TABLE {table}_classified RENAME TO {table}")
    con.execute("DROP TABLE stored_match")
    con.execute("DROP TABLE firsts")
