"""Idempotent ingest: decide for each candidate event whether it is new, a duplicate, or a conflict.

An event is a duplicate when its ``event_id`` is already stored (or appeared earlier in the batch) with
the same content; the same ``event_id`` with different content is rejected. Content is every canonical
field except ``event_id`` and ``source`` (provenance may differ between two deliveries of one event).
Content digests are computed only for ids that collide, so the common case costs one hash join.
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
    """Add ``verdict`` ('new' | 'duplicate' | 'rejected') to ``table`` (columns line, event_id, reasons and
    the canonical fields), adding a reason for every id conflict. The ``events`` view is the store."""
    valid = f"(SELECT * FROM {table} WHERE len(reasons) = 0)"
    con.execute(
        f"CREATE TEMP TABLE stored_match AS SELECT e.event_id, any_value({content_digest_sql('e')}) AS digest "
        f"FROM events e SEMI JOIN {valid} v ON e.event_id = v.event_id GROUP BY e.event_id"
    )
    con.execute(
        f"CREATE TEMP TABLE colliding AS SELECT v.line, v.event_id, {content_digest_sql('v')} AS digest "
        f"FROM {valid} v WHERE v.event_id IN (SELECT event_id FROM stored_match) OR v.event_id IN "
        f"(SELECT event_id FROM {valid} GROUP BY event_id HAVING count(*) > 1)"
    )
    con.execute(
        "CREATE TEMP TABLE verdicts AS "
        "SELECT c.line, s.digest AS stored_digest, c.digest, "
        "first_value(c.line) OVER w AS first_line, first_value(c.digest) OVER w AS first_digest, c.event_id "
        "FROM colliding c LEFT JOIN stored_match s USING (event_id) "
        "WINDOW w AS (PARTITION BY c.event_id ORDER BY c.line)"
    )
    con.execute(
        f"CREATE TEMP TABLE {table}_classified AS "
        "WITH r AS (SELECT t.* EXCLUDE (reasons), v.line IS NOT NULL AS collides, v.stored_digest, "
        "v.first_line, CASE "
        "WHEN len(t.reasons) > 0 THEN t.reasons "
        "WHEN v.stored_digest IS NOT NULL AND v.stored_digest <> v.digest "
        "THEN [format('event_id {} already stored with different content', t.event_id)] "
        "WHEN v.stored_digest IS NULL AND v.first_line <> v.line AND v.first_digest <> v.digest "
        "THEN [format('event_id {} already used at line {} with different content', t.event_id, v.first_line)] "
        f"ELSE [] END AS reasons FROM {table} t LEFT JOIN verdicts v ON t.line = v.line) "
        "SELECT * EXCLUDE (collides, stored_digest, first_line), CASE "
        "WHEN len(reasons) > 0 THEN 'rejected' "
        "WHEN collides AND (stored_digest IS NOT NULL OR first_line <> line) THEN 'duplicate' "
        "ELSE 'new' END AS verdict FROM r"
    )
    for name in (table, "stored_match", "colliding", "verdicts"):
        con.execute(f"DROP TABLE {name}")
    con.execute(f"ALTER TABLE {table}_classified RENAME TO {table}")
