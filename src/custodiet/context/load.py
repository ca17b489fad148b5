"""Loading context tables (actors, cases, case subjects, protected subjects) from CSV, JSON lines or Parquet.

Subjects are pseudonymised on load; bad records go to quarantine (channel ``context``) like any other
input. Loading replaces the table by default (the file is the current state), or adds to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from custodiet import atomic
from custodiet.context.specs import SPECS, ContextSpec
from custodiet.events import SUBJECT_KINDS, sql_list
from custodiet.ingest.limits import FIELD_LIMIT
from custodiet.ingest.subjects import pseudonymise_subjects
from custodiet.ingest.tabular import Staged, col, missing_check, reasons_sql, stage, timestamp_check, vocabulary_check
from custodiet.quarantine import write_quarantine
from custodiet.store import CONTEXT_SCHEMAS, Store


@dataclass
class LoadSummary:
    table: str
    file: str
    read: int
    loaded: int
    quarantined: int
    total: int  # rows in the table afterwards

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def _checks(spec: ContextSpec, staged: Staged, a: str) -> list[str]:
    checks = [missing_check(staged, a, f) for f in spec.required if f != "subject_kind"]
    if "subject_kind" in spec.fields:
        checks.append(vocabulary_check(staged, a, "subject_kind", sql_list(SUBJECT_KINDS)))
        checks.append("CASE WHEN m.error IS NOT NULL THEN m.error END")
    if spec.table == "cases":
        checks += [timestamp_check(staged, a, "opened"), timestamp_check(staged, a, "closed")]
    return checks


def _projection(spec: ContextSpec, staged: Staged, a: str) -> str:
    c = lambda n: col(staged, n, a)  # noqa: E731
    parts = []
    for name in CONTEXT_SCHEMAS[spec.table].names:
        if name == "subject":
            parts.append("m.pseudonym AS subject")
        elif name == "subject_kind":
            parts.append(f"lower({c('subject_kind')}) AS subject_kind")
        elif name in ("opened", "closed"):
            parts.append(f"try_cast({c(name)} AS TIMESTAMPTZ) AS {name}")
        else:
            parts.append(f"{c(name)} AS {name}")
    return ", ".join(parts)


def load_context(store: Store, kind: str, path: Path, *, append: bool = False) -> LoadSummary:
    """Load one context file; raises ``InputError`` when nothing can be read."""
    spec = SPECS[kind]
    schema = CONTEXT_SCHEMAS[spec.table]
    with store.writer():
        con = store.connect()
        try:
            staged = stage(con, path, "st", list(spec.fields), list(spec.required))
            if "subject" in spec.fields:
                pseudonymise_subjects(con, store, "st")
                join = "LEFT JOIN subject_map m ON m.subject_kind = lower(k.subject_kind) AND m.subject = k.subject"
            else:
                join = "LEFT JOIN (SELECT NULL AS error) m ON true"
            reasons = reasons_sql(staged, "k", _checks(spec, staged, "k"), FIELD_LIMIT)
            con.execute(
                f"CREATE TEMP TABLE checked AS SELECT k.line, k.raw, {reasons} AS reasons, "
                f"{_projection(spec, staged, 'k')} FROM st k {join} WHERE NOT k.blank"
            )
            rejected = con.execute(
                "SELECT line, array_to_string(reasons, '; '), raw FROM checked WHERE len(reasons) > 0 ORDER BY line"
            ).fetchall()
            quarantined = write_quarantine(store, [path.name] * len(rejected), [r[0] for r in rejected],
                                           [f"{kind}: {r[1]}" for r in rejected], [r[2] for r in rejected],
                                           "context")
            names = ", ".join(schema.names)
            key = ", ".join(spec.key)
            fresh = f"SELECT {names}, line AS _order FROM checked WHERE len(reasons) = 0"
            previous = f"SELECT {names}, -1 AS _order FROM {spec.table}" + ("" if append else " WHERE false")
            table = con.execute(
                f"SELECT {names} FROM ({previous} UNION ALL {fresh}) "
                f"QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY _order DESC) = 1 ORDER BY {key}"
            ).to_arrow_table()
            read = con.execute("SELECT count(*) FROM checked").fetchall()[0][0]
        finally:
            con.close()
        atomic.write_parquet(store.context_path(spec.table), table.cast(schema))
    return LoadSummary(spec.table, path.name, read, read - quarantined, quarantined, table.num_rows)


def write_context_table(store: Store, table: str, rows: pa.Table) -> None:
    """Replace a context table with rows already in its stored form (used by canary issuance and tests)."""
    schema = CONTEXT_SCHEMAS[table]
    atomic.write_parquet(store.context_path(table), rows.select(schema.names).cast(schema))
