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

from custodiet.events import DATA_KINDS, OUTCOMES, SUBJECT_KINDS, sql_list
from custodiet.ingest.dedupe import classify_against_store, content_digest_sql
from custodiet.ingest.emit import append_new_events
from custodiet.ingest.limits import BATCH_ROWS, FIELD_LIMIT, FUTURE_SKEW
from custodiet.ingest.subjects import pseudonymise_subjects
from custodiet.ingest.tabular import (
    Staged,
    col,
    in_vocabulary,
    missing_check,
    reasons_sql,
    stage,
    timestamp_check,
    vocabulary_check,
)
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
    kind, data_kind = f"lower({c('subject_kind')})", f"lower({c('data_kind')})"
    outcome_known = in_vocabulary(f"lower({c('outcome')})", sql_list(OUTCOMES))
    checks = [
        missing_check(staged, a, "ts"),
        timestamp_check(staged, a, "ts", not_after=future),
        missing_check(staged, a, "actor"),
        missing_check(staged, a, "subject"),
        vocabulary_check(staged, a, "subject_kind", sql_list(SUBJECT_KINDS)),
        vocabulary_check(staged, a, "data_kind", sql_list(DATA_KINDS)),
        f"CASE WHEN {c('outcome')} IS NOT NULL AND NOT {outcome_known} "
        f"THEN format('unknown outcome {{}}', {c('outcome')}) END",
        f"CASE WHEN {c('records')} IS NOT NULL AND try_cast({c('records')} AS BIGINT) IS NULL "
        f"THEN format('records {{}} is not a whole number', {c('records')}) "
        f"WHEN try_cast({c('records')} AS BIGINT) < 0 THEN format('negative records {{}}', {c('records')}) END",
    ]
    fast_ok = (
        f"try_cast({c('ts')} AS TIMESTAMPTZ) <= TIMESTAMPTZ '{future}' AND {c('actor')} IS NOT NULL "
        f"AND {c('subject')} IS NOT NULL AND {in_vocabulary(kind, sql_list(SUBJECT_KINDS))} "
        f"AND {in_vocabulary(data_kind, sql_list(DATA_KINDS))} "
        f"AND ({c('outcome')} IS NULL OR {outcome_known}) "
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
            step("validating")
            _build_candidates(con, staged, channel, now)
            summary.blank = con.execute(
                "SELECT count(*) FROM cand_all WHERE blank").fetchall()[0][0]
            step("pseudonymising")
            mapping = pseudonymise_subjects(con, store, "cand_rows")
            _complete_candidates(con, channel)
            step("deduplicating")
            classify_against_store(con, "cand")
            step("writing")
            summary.read = con.execute("SELECT count(*) FROM checked").fetchall()[0][0]
            summary.quarantined = _quarantine(con, store, staged, channel)
            summary.duplicates = con.execute(
                "SELECT count(*) FROM verdicts WHERE verdict = 'duplicate'").fetchall()[0][0]
            summary.stored, summary.segments = append_new_events(con, store, path.name, mapping, batch_rows)
        finally:
            con.close()
    return summary


def _build_candidates(con: duckdb.DuckDBPyConnection, staged: Staged, channel: str, now: datetime) -> None:
    """One pass over the staged input into ``cand_all``: line, reasons and canonical columns. The query has
    no join (vocabularies are ``list_contains``, pseudonyms come after normalisation), so the table keeps
    the input's order and the events can later be streamed out without a sort. The subject stays the
    identifier as given; ``cand_rows`` is the view of the non-blank records. The raw text is kept only for
    records that fail a check: copying every line costs about a tenth of the run."""
    c = lambda n: col(staged, n, "k")  # noqa: E731
    con.execute(
        f"CREATE TEMP TABLE cand_all AS SELECT k.line, k.blank, CASE WHEN len(reasons) > 0 THEN k.raw END AS raw, "
        f"reasons, try_cast({c('ts')} AS TIMESTAMPTZ) AS ts, {c('actor')} AS actor, "
        f"{c('actor_org')} AS actor_org, {c('subject')} AS subject, lower({c('subject_kind')}) AS subject_kind, "
        f"lower({c('data_kind')}) AS data_kind, {c('operation')} AS operation, {c('case_id')} AS authority, "
        f"coalesce(lower({c('outcome')}), 'allowed') AS outcome, try_cast({c('records')} AS BIGINT) AS records, "
        f"k.extras AS attrs, {c('event_id')} AS event_id "
        f"FROM (SELECT *, {_checks_sql(staged, now, 'k')} AS reasons FROM {staged.name} k) k"
    )
    con.execute(
        f"CREATE TEMP VIEW cand_rows AS SELECT *, {_sql_text(channel)} AS channel FROM cand_all WHERE NOT blank")


_CANONICAL = ("c.ts, {channel} AS channel, c.actor, c.actor_org, m.pseudonym AS subject, c.subject_kind, c.data_kind, "
              "c.operation, c.authority, c.outcome, c.records, c.attrs")
_SUBJECT_JOIN = "LEFT JOIN subject_map m ON m.subject_kind = c.subject_kind AND m.subject = c.subject"


def _complete_candidates(con: duckdb.DuckDBPyConnection, channel: str) -> None:
    """Give records without an id their content id (over the pseudonymised content), and define ``cand``:
    records with pseudonyms, an identifier that fails normalisation as their reason."""
    if con.execute("SELECT count(*) FROM cand_rows WHERE event_id IS NULL").fetchall()[0][0]:
        canonical = _CANONICAL.format(channel=_sql_text(channel))
        con.execute(
            f"UPDATE cand_all SET event_id = d.id FROM (SELECT x.rid, substr({content_digest_sql('x')}, 1, 32) AS id "
            f"FROM (SELECT c.rowid AS rid, {canonical} FROM cand_all c {_SUBJECT_JOIN} "
            "WHERE c.event_id IS NULL AND NOT c.blank) x) d WHERE cand_all.rowid = d.rid"
        )
    con.execute(
        "CREATE TEMP VIEW cand AS SELECT c.line, CASE WHEN m.error IS NOT NULL AND len(c.reasons) = 0 "
        f"THEN [m.error] ELSE c.reasons END AS reasons, c.event_id, {_CANONICAL.format(channel='c.channel')} "
        f"FROM cand_rows c {_SUBJECT_JOIN}"
    )


def _quarantine(con: duckdb.DuckDBPyConnection, store: Store, staged: Staged, channel: str) -> int:
    """Quarantine the rejected records with their raw text (kept in ``cand_all`` only for records that
    failed a check; the others' is looked up in the staged input)."""
    rows = con.execute(
        f"SELECT v.line, v.reason, coalesce(c.raw, s.raw) FROM verdicts v JOIN cand_rows c USING (line) "
        f"LEFT JOIN {staged.name} s ON c.raw IS NULL AND s.line = v.line WHERE v.verdict = 'rejected' ORDER BY v.line"
    ).fetchall()
    return write_quarantine(store, [staged.path.name] * len(rows), [r[0] for r in rows], [r[1] for r in rows],
                            [r[2] for r in rows], channel)


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
