"""Portal access logs -> canonical events (channel ``portal``), with quarantine for every bad record.

Columns (DESIGN.md, Interfaces): ``ts, actor, subject, subject_kind, data_kind`` and optional
``event_id, actor_org, operation, case_id, outcome, records, client_ip``. Unknown extra columns and
``client_ip`` are kept in ``attrs``. All work is set-based in DuckDB; identifiers are normalised and
pseudonymised once per distinct value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from custodiet.events import DATA_KINDS, OUTCOMES, SUBJECT_KINDS, sql_list
from custodiet.ingest.dedupe import classify_against_store, content_digest_sql
from custodiet.ingest.limits import BATCH_ROWS, FIELD_LIMIT, FUTURE_SKEW
from custodiet.ingest.subjects import pseudonymise_subjects
from custodiet.ingest.tabular import Staged, col, missing_check, reasons_sql, stage, timestamp_check, vocabulary_check
from custodiet.ledger import append_events
from custodiet.quarantine import write_quarantine
from custodiet.store import Store

PORTAL_FIELDS = ["ts", "actor", "subject", "subject_kind", "data_kind", "event_id", "actor_org", "operation",
                 "case_id", "outcome", "records"]
REQUIRED = ["ts", "actor", "subject", "subject_kind", "data_kind"]


@dataclass
class IngestSummary:
    file: str
    read: int = 0  # records read (blank lines not counted)
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    blank: int = 0
    segments: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"file": self.file, "read": self.read, "stored": self.stored, "duplicates": self.duplicates,
                "quarantined": self.quarantined, "blank_lines": self.blank, "segments": self.segments}


def _checks_sql(staged: Staged, now: datetime, a: str) -> str:
    """The reasons to reject a portal record (alias ``a``)."""
    c = lambda n: col(staged, n, a)  # noqa: E731
    future = (now + FUTURE_SKEW).strftime("%Y-%m-%d %H:%M:%S.%f+00")
    checks = [
        missing_check(staged, a, "ts"),
        timestamp_check(staged, a, "ts", not_after=future),
        missing_check(staged, a, "actor"),
        missing_check(staged, a, "subject"),
        vocabulary_check(staged, a, "subject_kind", sql_list(SUBJECT_KINDS)),
        vocabulary_check(staged, a, "data_kind", sql_list(DATA_KINDS)),
        f"CASE WHEN {c('outcome')} IS NOT NULL AND lower({c('outcome')}) NOT IN {sql_list(OUTCOMES)} "
        f"THEN format('unknown outcome {{}}', {c('outcome')}) END",
        f"CASE WHEN {c('records')} IS NOT NULL AND try_cast({c('records')} AS BIGINT) IS NULL "
        f"THEN format('records {{}} is not a whole number', {c('records')}) "
        f"WHEN try_cast({c('records')} AS BIGINT) < 0 THEN format('negative records {{}}', {c('records')}) END",
    ]
    fast_ok = (
        f"try_cast({c('ts')} AS TIMESTAMPTZ) <= TIMESTAMPTZ '{future}' AND {c('actor')} IS NOT NULL "
        f"AND {c('subject')} IS NOT NULL AND lower({c('subject_kind')}) IN {sql_list(SUBJECT_KINDS)} "
        f"AND lower({c('data_kind')}) IN {sql_list(DATA_KINDS)} "
        f"AND ({c('outcome')} IS NULL OR lower({c('outcome')}) IN {sql_list(OUTCOMES)}) "
        f"AND ({c('records')} IS NULL OR try_cast({c('records')} AS BIGINT) >= 0)"
    )
    return reasons_sql(staged, a, checks, FIELD_LIMIT, fast_ok)


def ingest_portal(
    store: Store,
    path: Path,
    *,
    channel: str = "portal",
    now: datetime | None = None,
    on_step: Callable[[str], None] | None = None,
    batch_rows: int = BATCH_ROWS,
) -> IngestSummary:
    """Ingest one portal log file; raises ``InputError`` when nothing can be read."""
    step = on_step or (lambda _s: None)
    now = now or datetime.now(UTC)
    summary = IngestSummary(file=path.name)
    with store.writer():
        con = store.connect(memory_limit="2GB")  # inside the lock: the events view must be current
        try:
            step("reading")
            staged = stage(con, path, "st", PORTAL_FIELDS, REQUIRED)
            summary.blank = con.execute("SELECT count(*) FROM st WHERE blank").fetchall()[0][0]
            step("pseudonymising")
            pseudonymise_subjects(con, store, "st")
            step("validating")
            _build_candidates(con, staged, channel, now)
            step("deduplicating")
            classify_against_store(con, "cand")
            step("writing")
            summary.read = con.execute("SELECT count(*) FROM cand").fetchall()[0][0]
            summary.quarantined = _quarantine(con, store, path, channel)
            summary.duplicates = con.execute(
                "SELECT count(*) FROM verdicts WHERE verdict = 'duplicate'").fetchall()[0][0]
            summary.stored, summary.segments = _append(con, store, batch_rows)
        finally:
            con.close()
    return summary


def _build_candidates(con: duckdb.DuckDBPyConnection, staged: Staged, channel: str, now: datetime) -> None:
    """One pass from staged fields to canonical columns, reasons and event ids."""
    c = lambda n: col(staged, n, "k")  # noqa: E731
    source = staged.path.name.replace("'", "''")
    canonical = (
        f"try_cast({c('ts')} AS TIMESTAMPTZ) AS ts, '{channel}' AS channel, {c('actor')} AS actor, "
        f"{c('actor_org')} AS actor_org, m.pseudonym AS subject, lower({c('subject_kind')}) AS subject_kind, "
        f"lower({c('data_kind')}) AS data_kind, {c('operation')} AS operation, {c('case_id')} AS authority, "
        f"coalesce(lower({c('outcome')}), 'allowed') AS outcome, try_cast({c('records')} AS BIGINT) AS records, "
        "k.extras AS attrs"
    )
    con.execute(
        "CREATE TEMP TABLE cand AS SELECT line, "
        "CASE WHEN error IS NOT NULL AND len(reasons) = 0 THEN [error] ELSE reasons END AS reasons, "
        "ts, channel, actor, actor_org, subject, subject_kind, data_kind, operation, authority, outcome, records, "
        f"attrs, '{source}:' || line AS source, "
        f"coalesce(given_id, substr({content_digest_sql('x')}, 1, 32)) AS event_id "
        f"FROM (SELECT k.line, {_checks_sql(staged, now, 'k')} AS reasons, m.error, {canonical}, "
        f"{c('event_id')} AS given_id FROM st k LEFT JOIN subject_map m "
        "ON m.subject_kind = lower(k.subject_kind) AND m.subject = k.subject WHERE NOT k.blank) x"
    )


def _quarantine(con: duckdb.DuckDBPyConnection, store: Store, path: Path, channel: str) -> int:
    rows = con.execute(
        "SELECT v.line, v.reason, s.raw FROM verdicts v JOIN st s USING (line) WHERE v.verdict = 'rejected' "
        "ORDER BY v.line"
    ).fetchall()
    return write_quarantine(store, [path.name] * len(rows), [r[0] for r in rows], [r[1] for r in rows],
                            [r[2] for r in rows], channel)


def _append(con: duckdb.DuckDBPyConnection, store: Store, batch_rows: int) -> tuple[int, list[str]]:
    reader = con.execute(
        "SELECT event_id, ts, channel, actor, actor_org, subject, subject_kind, data_kind, operation, authority, "
        "outcome, records, attrs, source FROM cand ANTI JOIN verdicts USING (line) ORDER BY line"
    ).to_arrow_reader(batch_rows)
    stored, segments = 0, []
    pending: list[pa.RecordBatch] = []
    pending_rows = 0

    def flush() -> None:
        nonlocal stored, pending, pending_rows
        if pending_rows:
            written = append_events(store, pa.Table.from_batches(pending))
            if written is not None:
                segments.append(written.name)
            stored += pending_rows
        pending, pending_rows = [], 0

    for batch in reader:
        pending.append(batch)
        pending_rows += batch.num_rows
        if pending_rows >= batch_rows:
            flush()
    flush()
    return stored, segments
