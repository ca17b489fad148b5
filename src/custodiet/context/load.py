"""Loading context tables (actors, cases, case subjects, protected subjects, warrants) from CSV, JSON lines or Parquet.

Subjects are pseudonymised on load; bad records go to quarantine (channel ``context``) like any other
input, with ``file:line`` and the reason: fields that fail a check, a case closed before it was opened,
and every record of a key that the file gives twice with different content. Loading replaces the table
by default (the file is the current state), or adds to it.

A load is all or nothing. The whole file is read and checked before anything is written; a file that
ends early (truncated gzip, a last record cut short) is refused, since a partial table is worse than the
previous one; a replacement that would remove more than ``MAX_SHRINK`` of the table's rows is refused
unless allowed; the new table is written atomically. The summary counts the rows added, removed and
changed against the previous table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from custodiet import atomic
from custodiet.context.specs import SPECS, WARRANT_DATA_KINDS, ContextSpec
from custodiet.events import SUBJECT_KINDS, sql_list
from custodiet.ingest.limits import FIELD_LIMIT
from custodiet.ingest.record_checks import col, missing_check, reasons_sql, timestamp_check, vocabulary_check
from custodiet.ingest.subjects import pseudonymise_subjects
from custodiet.ingest.tabular import (
    IncompleteInput,
    InputError,
    Staged,
    stage,
)
from custodiet.quarantine import write_quarantine
from custodiet.store import CONTEXT_SCHEMAS, Store

MAX_SHRINK = 0.10  # share of a table's rows a replacement may remove unless allowed


class ShrinkRefused(InputError):
    """A replacement would remove more of the table than allowed; nothing was changed."""


@dataclass
class LoadSummary:
    table: str
    file: str
    read: int
    loaded: int
    quarantined: int
    total: int  # rows in the table afterwards
    previous: int = 0  # rows in the table before
    added: int = 0  # keys new to the table
    removed: int = 0  # keys no longer in the table
    changed: int = 0  # keys whose row changed
    examples: dict[str, list[str]] = field(default_factory=dict)  # a few keys of each kind of change

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def _checks(spec: ContextSpec, staged: Staged, a: str) -> list[str]:
    kind_field = spec.subject[1] if spec.subject else None
    checks = [missing_check(staged, a, f) for f in spec.required if f != kind_field]
    if spec.subject:
        checks.append(vocabulary_check(staged, a, spec.subject[1], sql_list(spec.subject_kinds or SUBJECT_KINDS)))
        checks.append("CASE WHEN m.error IS NOT NULL THEN m.error END")
    if spec.times:
        start, end = (col(staged, f, a) for f in spec.times)
        checks += [timestamp_check(staged, a, spec.times[0]), timestamp_check(staged, a, spec.times[1]),
                   f"CASE WHEN try_cast({end} AS TIMESTAMPTZ) < try_cast({start} AS TIMESTAMPTZ) "
                   f"THEN format('{spec.times[1]} {{}} before {_STARTS.get(spec.times[0], spec.times[0])} {{}}', "
                   f"{end}, {start}) END"]
    if "data_kinds" in spec.fields:
        kinds = col(staged, "data_kinds", a)
        checks.append(f"CASE WHEN {kinds} IS NOT NULL AND (len({_KINDS_LIST.format(kinds)}) = 0 OR "
                      f"len(list_filter({_KINDS_LIST.format(kinds)}, k -> NOT list_contains("
                      f"[{sql_list(WARRANT_DATA_KINDS)[1:-1]}], k))) > 0) "
                      f"THEN format('data_kinds {{}} is not a ;-separated subset of "
                      f"{', '.join(WARRANT_DATA_KINDS)}', {kinds}) END")
    return checks


_STARTS = {"opened": "it was opened"}  # how a reason names a start field

# The kinds of a ``;``-separated list, trimmed, lower case, blanks dropped (``{}``: the SQL of the field).
_KINDS_LIST = "list_filter(list_transform(string_split({}, ';'), k -> lower(trim(k))), k -> k <> '')"


def _projection(spec: ContextSpec, staged: Staged, a: str) -> str:
    c = lambda n: col(staged, n, a)  # noqa: E731
    parts = []
    for name in CONTEXT_SCHEMAS[spec.table].names:
        if spec.subject and name == spec.subject[0]:
            parts.append(f"m.pseudonym AS {name}")
        elif spec.subject and name == spec.subject[1]:
            parts.append(f"lower({c(name)}) AS {name}")
        elif spec.times and name in spec.times:
            parts.append(f"try_cast({c(name)} AS TIMESTAMPTZ) AS {name}")
        elif name == "data_kinds":  # one spelling: sorted, distinct, lower case
            parts.append(f"array_to_string(list_sort(list_distinct({_KINDS_LIST.format(c(name))})), ';') AS {name}")
        else:
            parts.append(f"{c(name)} AS {name}")
    return ", ".join(parts)


def _shown(spec: ContextSpec) -> list[str]:
    """The key columns a message may show (a subject is a pseudonym: not worth showing)."""
    return [k for k in spec.key if not spec.subject or k != spec.subject[0]]


def _reject_conflicts(con: duckdb.DuckDBPyConnection, spec: ContextSpec, names: list[str]) -> None:
    """Give every record of a key that the file holds with different contents the reason why (exact
    repeats are harmless: one is kept)."""
    key, shown = list(spec.key), _shown(spec)
    value = " || ' ' || ".join(f"coalesce(g.{k}, '')" for k in shown) if shown else "'(subject)'"
    on = " AND ".join(f"checked.{k} IS NOT DISTINCT FROM g.{k}" for k in key)
    con.execute(
        f"UPDATE checked SET reasons = [format('duplicate {' '.join(key)} {{}} with different content "
        f"(lines {{}})', {value}, array_to_string(g.lines, ', '))] "
        f"FROM (SELECT {', '.join(key)}, list(line ORDER BY line) AS lines FROM checked WHERE len(reasons) = 0 "
        f"GROUP BY ALL HAVING count(DISTINCT row({', '.join(names)})) > 1) g "
        f"WHERE {on} AND len(checked.reasons) = 0"
    )


def _reject_disagreements(con: duckdb.DuckDBPyConnection, spec: ContextSpec) -> None:
    """Reject every record of a ``key[0]`` (a warrant) whose records disagree on ``same_within`` (its agency,
    data kinds, validity...): which of them is right cannot be told."""
    owner = spec.key[0]
    fields = ", ".join(spec.same_within)
    con.execute(
        f"UPDATE checked SET reasons = [format('{owner} {{}} has records that disagree on "
        f"{'/'.join(spec.same_within)} (lines {{}})', g.{owner}, array_to_string(g.lines, ', '))] "
        f"FROM (SELECT {owner}, list(line ORDER BY line) AS lines FROM checked WHERE len(reasons) = 0 "
        f"GROUP BY {owner} HAVING count(DISTINCT row({fields})) > 1) g "
        f"WHERE checked.{owner} = g.{owner} AND len(checked.reasons) = 0"
    )


def _changes(con: duckdb.DuckDBPyConnection, spec: ContextSpec,
             names: list[str]) -> tuple[int, dict[str, int], dict[str, list[str]]]:
    """Rows in the table before, and the counts and a few example keys of the keys added, removed and
    changed (``fresh`` is the new table, the store's view the old one)."""
    key, shown = list(spec.key), _shown(spec)
    on = " AND ".join(f"o.{k} IS NOT DISTINCT FROM n.{k}" for k in key)
    differs = " OR ".join(f"o.{c} IS DISTINCT FROM n.{c}" for c in names if c not in key) or "false"
    label = " || ' ' || ".join(f"coalesce(CAST(x.{k} AS VARCHAR), '')" for k in shown)
    queries = {
        "added": f"SELECT n.* FROM fresh n ANTI JOIN {spec.table} o ON {on}",
        "removed": f"SELECT o.* FROM {spec.table} o ANTI JOIN fresh n ON {on}",
        "changed": f"SELECT n.* FROM fresh n JOIN {spec.table} o ON {on} WHERE {differs}",
    }
    counts, examples = {}, {}
    for what, sql in queries.items():
        counts[what] = con.execute(f"SELECT count(*) FROM ({sql})").fetchall()[0][0]
        if counts[what] and shown:
            examples[what] = [r[0] for r in con.execute(
                f"SELECT DISTINCT {label} AS k FROM ({sql}) x ORDER BY k LIMIT 5").fetchall()]
    return con.execute(f"SELECT count(*) FROM {spec.table}").fetchall()[0][0], counts, examples


def load_context(store: Store, kind: str, path: Path, *, append: bool = False, max_shrink: float = MAX_SHRINK,
                 allow_shrink: bool = False) -> LoadSummary:
    """Load one context file, all or nothing. Raises ``InputError`` when it cannot be read, ``IncompleteInput``
    when it ends early, and ``ShrinkRefused`` when replacing the table would remove more than ``max_shrink``
    of its rows (unless ``allow_shrink``); nothing, quarantine included, is changed when it raises."""
    spec = SPECS[kind]
    schema = CONTEXT_SCHEMAS[spec.table]
    names = list(schema.names)
    with store.writer():
        con = store.connect()
        try:
            staged = stage(con, path, "st", list(spec.fields), list(spec.required))
            if staged.incomplete:
                raise IncompleteInput(f"{staged.incomplete}; nothing loaded: a partial {kind} table would "
                                      "replace a whole one", path.stat().st_size)
            if spec.subject:
                value_field, kind_field = spec.subject
                con.execute(f"CREATE TEMP VIEW st_subjects AS SELECT \"{value_field}\" AS subject, "
                            f"\"{kind_field}\" AS subject_kind FROM st")
                pseudonymise_subjects(con, store, "st_subjects")
                join = (f"LEFT JOIN subject_map m ON m.subject_kind = lower(k.\"{kind_field}\") "
                        f"AND m.subject = k.\"{value_field}\"")
            else:
                join = "LEFT JOIN (SELECT NULL AS error) m ON true"
            reasons = reasons_sql(staged, "k", _checks(spec, staged, "k"), FIELD_LIMIT)
            con.execute(
                f"CREATE TEMP TABLE checked AS SELECT k.line, k.raw, {reasons} AS reasons, "
                f"{_projection(spec, staged, 'k')} FROM st k {join} WHERE NOT k.blank"
            )
            _reject_conflicts(con, spec, names)
            if spec.same_within:
                _reject_disagreements(con, spec)
            rejected = con.execute(
                "SELECT line, array_to_string(reasons, '; '), raw FROM checked WHERE len(reasons) > 0 ORDER BY line"
            ).fetchall()
            cols, key = ", ".join(names), ", ".join(spec.key)
            fresh = f"SELECT {cols}, line AS _order FROM checked WHERE len(reasons) = 0"
            previous = f"SELECT {cols}, -1 AS _order FROM {spec.table}" + ("" if append else " WHERE false")
            table = con.execute(
                f"SELECT {cols} FROM ({previous} UNION ALL {fresh}) "
                f"QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY _order DESC) = 1 ORDER BY {key}"
            ).to_arrow_table().cast(schema)
            con.register("fresh", table)
            before, counts, examples = _changes(con, spec, names)
            read = con.execute("SELECT count(*) FROM checked").fetchall()[0][0]
        finally:
            con.close()
        removed = counts["removed"]
        if not allow_shrink and before and removed > max_shrink * before:
            raise ShrinkRefused(
                f"{path.name}: loading it would remove {removed:,} of the {before:,} rows of {spec.table} "
                f"({removed / before:.0%}, more than the {max_shrink:.0%} allowed; {len(rejected):,} record(s) "
                "of the file rejected); nothing loaded. Check the file, or pass --allow-shrink")
        quarantined = write_quarantine(store, [path.name] * len(rejected), [r[0] for r in rejected],
                                       [f"{kind}: {r[1]}" for r in rejected], [r[2] for r in rejected], "context")
        atomic.write_parquet(store.context_path(spec.table), table)
    return LoadSummary(spec.table, path.name, read, read - quarantined, quarantined, table.num_rows, before,
                       counts["added"], removed, counts["changed"], examples)


def write_context_table(store: Store, table: str, rows: pa.Table) -> None:
    """Replace a context table with rows already in its stored form (used by canary issuance and tests)."""
    schema = CONTEXT_SCHEMAS[table]
    atomic.write_parquet(store.context_path(table), rows.select(schema.names).cast(schema))
