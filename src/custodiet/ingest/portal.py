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
import pyarrow.compute as pc

from custodiet.arrow_columns import constant_strings
from custodiet.events import DATA_KINDS, OUTCOMES, SUBJECT_KINDS, sql_list, sql_text
from custodiet.ingest.chunk_candidates import OnSubjects, chunk_candidates
from custodiet.ingest.dedupe import StoredPrints, content_ids, find_collisions, settle_verdicts
from custodiet.ingest.emit import Seen, Storing, append_candidates, append_new_events, verdict_lines
from custodiet.ingest.limits import BATCH_ROWS, FIELD_LIMIT, FUTURE_SKEW
from custodiet.ingest.readers import stagings
from custodiet.ingest.record_checks import (
    col,
    in_vocabulary,
    missing_check,
    reasons_sql,
    timestamp_check,
    vocabulary_check,
)
from custodiet.ingest.subjects import SubjectMap
from custodiet.ingest.tabular import InputError, Staged, raw_lines
from custodiet.ledger.snapshot import take
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
    incomplete: str | None = None  # why the file is incomplete; the records before the cut are counted above

    def as_dict(self) -> dict[str, object]:
        return {"file": self.file, "read": self.read, "stored": self.stored, "duplicates": self.duplicates,
                "quarantined": self.quarantined, "blank_lines": self.blank, "segments": self.segments,
                "incomplete": self.incomplete}


def _typed_sql(staged: Staged, a: str) -> str:
    """The staged records (alias ``a``) with their typed and lower-cased fields, computed once: ``t_ts``,
    ``t_kind``, ``t_data_kind``, ``t_outcome``, ``t_records`` (the checks and the stored columns share them)."""
    c = lambda n: col(staged, n, a)  # noqa: E731
    return (f"SELECT {a}.*, try_cast({c('ts')} AS TIMESTAMPTZ) AS t_ts, lower({c('subject_kind')}) AS t_kind, "
            f"lower({c('data_kind')}) AS t_data_kind, lower({c('outcome')}) AS t_outcome, "
            f"try_cast({c('records')} AS BIGINT) AS t_records FROM {staged.name} {a}")


def _checks_sql(staged: Staged, now: datetime, a: str) -> str:
    """The reasons to reject a portal record (alias ``a`` over ``_typed_sql``). Records passing the cheap
    test on the typed fields get an empty list; only the others build their messages."""
    c = lambda n: col(staged, n, a)  # noqa: E731
    future = (now + FUTURE_SKEW).strftime("%Y-%m-%d %H:%M:%S.%f+00")
    outcome_known = in_vocabulary(f"{a}.t_outcome", sql_list(OUTCOMES))
    checks = [
        missing_check(staged, a, "ts"),
        timestamp_check(staged, a, "ts", not_after=future),
        missing_check(staged, a, "actor"),
        missing_check(staged, a, "subject"),
        vocabulary_check(staged, a, "subject_kind", sql_list(SUBJECT_KINDS)),
        vocabulary_check(staged, a, "data_kind", sql_list(DATA_KINDS)),
        f"CASE WHEN {c('outcome')} IS NOT NULL AND NOT {outcome_known} "
        f"THEN format('unknown outcome {{}}', {c('outcome')}) END",
        f"CASE WHEN {c('records')} IS NOT NULL AND {a}.t_records IS NULL "
        f"THEN format('records {{}} is not a whole number', {c('records')}) "
        f"WHEN {a}.t_records < 0 THEN format('negative records {{}}', {c('records')}) END",
    ]
    fast_ok = (
        f"{a}.t_ts <= TIMESTAMPTZ '{future}' AND {c('actor')} IS NOT NULL "
        f"AND {c('subject')} IS NOT NULL AND {in_vocabulary(f'{a}.t_kind', sql_list(SUBJECT_KINDS))} "
        f"AND {in_vocabulary(f'{a}.t_data_kind', sql_list(DATA_KINDS))} "
        f"AND ({a}.t_outcome IS NULL OR {outcome_known}) "
        f"AND ({c('records')} IS NULL OR {a}.t_records >= 0)"
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
    """Ingest one portal log file; raises ``InputError`` when nothing can be read.

    The file is checked and stored one staged unit at a time (``readers.stagings``: a CSV, JSON lines or Parquet
    file chunk by chunk, a small CSV whole); each unit is deduplicated against one signed state of the store, which
    holds the units before it, and against what other writers committed since (``emit.Seen``). The writer
    lock is held per commit only: a quarantine file, a ledger batch.

    A chunk's events are stored by a worker thread while the next chunk is read, checked and given its
    content ids (``emit.Storing``); that chunk is deduplicated only once the one before is signed, so the
    order of the work that depends on the store is unchanged.

    A file that ends early (a truncated gzip stream, a last record cut short) has its whole records
    stored and counted, the cut record quarantined, and ``summary.incomplete`` says why; so does a file
    whose later part cannot be read after earlier chunks were stored. A re-run stores nothing twice."""
    step = on_step or (lambda _s: None)
    now = now or datetime.now(UTC)
    summary = IngestSummary(file=path.name)
    snapshot = take(store)
    seen = Seen(snapshot.size)
    con = store.connect(memory_limit="2GB", snapshot=snapshot)
    stored = StoredPrints(store, snapshot)
    storing = Storing(store, con, seen, on_signed=stored.update)
    try:
        step("reading")
        units = 0
        try:
            for staged in stagings(con, path, "st", PORTAL_FIELDS, REQUIRED):
                _ingest_staged(con, store, staged, channel, now, step, batch_rows, summary, storing, stored)
                summary.incomplete = summary.incomplete or staged.incomplete
                units += 1
        except InputError as exc:
            if not units:
                raise
            storing.wait()  # the records before it are stored before that is said
            summary.incomplete = f"{exc} (the records before it are stored)"
        storing.wait()
    finally:
        storing.close()
        con.close()
        store.write_catalog()
    summary.stored, summary.segments = storing.stored, storing.segments
    summary.duplicates += seen.dropped
    return summary


def _ingest_staged(con: duckdb.DuckDBPyConnection, store: Store, staged: Staged, channel: str, now: datetime,
                   step: Callable[[str], None], batch_rows: int, summary: IngestSummary, storing: Storing,
                   stored: StoredPrints) -> None:
    """Check, deduplicate, quarantine and store one staged unit; adds its counts to ``summary``. Its checks,
    pseudonyms and content ids overlap the storing of the unit before; its deduplication waits for it."""
    step("validating")
    mapped: list[SubjectMap] = []  # a chunk's identifiers are mapped while the engine checks its records

    def map_subjects(kinds: pa.ChunkedArray, values: pa.ChunkedArray) -> None:
        mapped.append(SubjectMap.of_columns(con, store, kinds, values))  # in a worker thread

    candidates = _build_candidates(con, staged, channel, now, map_subjects)
    summary.blank += con.execute("SELECT count(*) FROM cand_base WHERE blank").fetchall()[0][0] + staged.blank_lines
    step("pseudonymising")
    if candidates is None:
        storing.wait()  # the engine's records are read through the connection: nothing overlaps
        subjects = SubjectMap.of_table(con, store, "cand_rows")  # normalised and keyed in a worker thread
    else:  # each record's position in the map is kept: its pseudonym is found by it
        [subjects] = mapped
    _define_cand(con, channel)
    step("deduplicating")
    idless = con.execute("SELECT count(*) FROM cand_rows WHERE event_id IS NULL").fetchall()[0][0]
    if idless:  # content ids: Arrow candidates need the map as Arrow, the engine's its engine copy
        if candidates is None:
            subjects.load()
        candidates = _fill_content_ids(con, channel, candidates, subjects)
    storing.wait()  # deduplicated against the units before, all signed
    colliding = find_collisions(con, "cand", stored)  # with ids given, while the map is still being built
    if subjects.has_errors:  # an identifier that fails is a reason: the engine copy of the map gives it
        subjects.load()
        colliding = find_collisions(con, "cand", stored)
    if colliding:
        subjects.load()
    settle_verdicts(con, "cand")
    step("writing")
    summary.read += con.execute("SELECT count(*) FROM checked").fetchall()[0][0]
    with store.writer(f"quarantine {staged.path.name}", catalog=False):
        summary.quarantined += _quarantine(con, store, staged, channel)
    summary.duplicates += con.execute(
        "SELECT count(*) FROM verdicts WHERE verdict = 'duplicate'").fetchall()[0][0]
    name, mapping, seen = staged.path.name, subjects.mapping, storing.seen
    if candidates is None:
        storing.run(lambda: append_new_events(con, store, name, channel, mapping, batch_rows, seen=seen))
        return
    candidates = candidates.append_column("subject_position", subjects.positions)
    skipped = verdict_lines(con)
    storing.start(lambda: append_candidates(store, name, channel, mapping, batch_rows, candidates, skipped, seen))
    con.unregister("cand_base")


def _build_candidates(con: duckdb.DuckDBPyConnection, staged: Staged, channel: str, now: datetime,
                      on_subjects: OnSubjects) -> pa.Table | None:
    """One pass over the staged input into ``cand_base``: reasons and canonical columns, the line, whether
    the line is blank, and the raw text of records that fail a check (copying every line costs about a
    tenth of the run). The subject stays the identifier as given; ``cand_rows`` is the view of its
    non-blank records.

    A chunk's ``cand_base`` is an Arrow table, returned: the engine computes only the typed and
    checked columns, and the text fields are the chunk's own Arrow columns, untouched. Any other input's
    is an engine table (None is returned). Either keeps the input's order: the query has no join
    (vocabularies are ``list_contains``, pseudonyms come after normalisation), so the events can later be
    read out without a sort. A chunk's identifiers and their kinds are told to ``on_subjects`` as soon as
    they are known."""
    c = lambda n: col(staged, n, "k")  # noqa: E731
    typed, reasons = _typed_sql(staged, "k"), _checks_sql(staged, now, "k")
    if staged.columns is not None:
        table = chunk_candidates(con, staged, typed, reasons, now + FUTURE_SKEW, on_subjects)
        con.register("cand_base", table)
    else:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE cand_base AS SELECT k.line, k.blank, "
            "CASE WHEN len(reasons) > 0 THEN k.raw END AS raw, "
            f"reasons, k.t_ts AS ts, {c('actor')} AS actor, {c('actor_org')} AS actor_org, "
            f"{c('subject')} AS subject, k.t_kind AS subject_kind, k.t_data_kind AS data_kind, "
            f"{c('operation')} AS operation, {c('case_id')} AS authority, coalesce(k.t_outcome, 'allowed') AS outcome, "
            f"k.t_records AS records, k.extras AS attrs, {c('event_id')} AS event_id "
            f"FROM (SELECT *, {reasons} AS reasons FROM ({typed}) k) k"
        )
        table = None
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW cand_rows AS SELECT *, {sql_text(channel)} AS channel FROM cand_base "
        "WHERE NOT blank")
    return table


_CANONICAL = ("c.ts, {channel} AS channel, c.actor, c.actor_org, m.pseudonym AS subject, c.subject_kind, c.data_kind, "
              "c.operation, c.authority, c.outcome, c.records, c.attrs")
_SUBJECT_JOIN = "LEFT JOIN subject_map m ON m.subject_kind = c.subject_kind AND m.subject = c.subject"


def _fill_content_ids(con: duckdb.DuckDBPyConnection, channel: str, candidates: pa.Table | None,
                      subjects: SubjectMap) -> pa.Table | None:
    """Give records without an id their content id (``dedupe.content_ids``: a digest of their pseudonymised
    content); ``candidates`` is the Arrow ``cand_base``, if it is one (its replacement is registered and
    returned; its records' pseudonyms are found by their position in the map). Otherwise the engine copy of
    the subject map must be loaded."""
    if candidates is None:
        canonical = _CANONICAL.format(channel=sql_text(channel))
        content = con.execute(f"SELECT c.line, {canonical} FROM cand_base c {_SUBJECT_JOIN} "
                              "WHERE c.event_id IS NULL AND NOT c.blank").to_arrow_table()
        con.register("content_ids", pa.table({"line": content.column("line"), "id": content_ids(content)}))
        con.execute("UPDATE cand_base SET event_id = d.id FROM content_ids d WHERE cand_base.line = d.line")
        con.unregister("content_ids")
        return None
    missing = pc.and_(pc.is_null(candidates.column("event_id")), pc.invert(candidates.column("blank")))
    if not pc.any(missing).as_py():
        return candidates
    content = candidates.select(["ts", "actor", "actor_org", "subject_kind", "data_kind", "operation", "authority",
                                 "outcome", "records", "attrs"])
    pseudonyms = subjects.mapping.column("pseudonym").take(subjects.positions)
    content = content.append_column("subject", pseudonyms)
    content = content.append_column("channel", constant_strings(channel, content.num_rows))
    ids = pc.if_else(missing, content_ids(content), candidates.column("event_id"))
    filled = candidates.set_column(candidates.schema.get_field_index("event_id"), "event_id", ids)
    filled = filled.append_column("pseudonym", pseudonyms)  # kept for the events: looked up once
    con.register("cand_base", filled)
    return filled


def _define_cand(con: duckdb.DuckDBPyConnection, channel: str) -> None:
    """The view ``cand``: records with pseudonyms, an identifier that fails normalisation as their reason
    (both from the engine copy of the subject map, empty until loaded)."""
    con.execute(
        "CREATE OR REPLACE TEMP VIEW cand AS SELECT c.line, CASE WHEN m.error IS NOT NULL AND len(c.reasons) = 0 "
        f"THEN [m.error] ELSE c.reasons END AS reasons, c.event_id, {_CANONICAL.format(channel='c.channel')} "
        f"FROM cand_rows c {_SUBJECT_JOIN}"
    )


def _quarantine(con: duckdb.DuckDBPyConnection, store: Store, staged: Staged, channel: str) -> int:
    """Quarantine the rejected records with their raw text (kept in ``cand_base`` only for records that
    failed a check; the others' is looked up in the input's lines)."""
    rows = con.execute(
        "SELECT v.line, v.reason, c.raw FROM verdicts v JOIN cand_rows c USING (line) "
        "WHERE v.verdict = 'rejected' ORDER BY v.line"
    ).fetchall()
    if any(r[2] is None for r in rows) and staged.raw_of is not None:
        texts = staged.raw_of([line for line, _, raw in rows if raw is None])
        found = dict(zip([line for line, _, raw in rows if raw is None], texts, strict=True))
        rows = [(line, reason, found.get(line) if raw is None else raw) for line, reason, raw in rows]
    elif any(r[2] is None for r in rows):
        found = dict(con.execute(
            f"SELECT s.line, s.raw FROM {raw_lines(con, staged)} s "
            "SEMI JOIN verdicts v ON v.line = s.line AND v.verdict = 'rejected'").fetchall())
        rows = [(line, reason, found.get(line) if raw is None else raw) for line, reason, raw in rows]
    return write_quarantine(store, [staged.path.name] * len(rows), [r[0] for r in rows], [r[1] for r in rows],
                            [r[2] for r in rows], channel)
