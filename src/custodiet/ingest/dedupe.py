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
    """Create ``verdicts(line, verdict, reason)`` for every record of ``table`` that is not new: 'rejected'
    (its own ``reasons``, or an id conflict) or 'duplicate'. Rows of ``table`` absent from ``verdicts`` are
    new. ``table`` has line, event_id, reasons and the canonical fields; the ``events`` view is the store.
    Only colliding ids are hashed and only non-new rows are written, so the common case costs one join."""
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
        f"SELECT line, 'rejected' AS verdict, array_to_string(reasons, '; ') AS reason FROM {table} "
        "WHERE len(reasons) > 0 UNION ALL "
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
    con.execute("DROP TABLE stored_match")
    con.execute("DROP TABLE colliding")
