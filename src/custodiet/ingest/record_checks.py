"""SQL that judges staged records: the reasons to reject one (structure, control characters, over-long
fields, and each field's own checks), written once for every staged form (:mod:`.tabular`)."""

from __future__ import annotations

from custodiet.events import sql_text
from custodiet.ingest.guard import CUT_RECORD
from custodiet.ingest.tabular import Staged


def col(staged: Staged, name: str, alias: str) -> str:
    """SQL for a staged field, or NULL when the input has no such column."""
    return f'{alias}."{name}"' if name in staged.fields else "CAST(NULL AS VARCHAR)"


def reasons_sql(staged: Staged, alias: str, field_checks: list[str], field_limit: int,
                fast_ok: str | None = None) -> str:
    """SQL for the list of reasons to reject a staged record: a structural problem alone (wrong column
    count, not a JSON object), else control characters, an over-long field and every ``field_checks``
    item (each a ``CASE WHEN … THEN 'reason' END``).

    ``fast_ok`` is a cheap SQL condition that implies every field check passes; rows meeting it (nearly
    all of them) skip building the list.
    """
    a = alias
    expected = staged.expected_ncols if staged.expected_ncols is not None else "NULL"
    cut = f"{a}.line = {staged.cut_line}" if staged.cut_line is not None else "false"
    structural = (
        "list_filter(["
        f"CASE WHEN {cut} THEN {sql_text(CUT_RECORD)} END, "
        f"CASE WHEN {a}.ncols = -1 AND NOT {cut} THEN 'not a JSON object' END, "
        f"CASE WHEN {expected} IS NOT NULL AND {a}.ncols <> {expected} AND NOT {cut} "
        f"THEN format('wrong number of columns: expected {{}}, found {{}}', {expected}, {a}.ncols) END"
        "], x -> x IS NOT NULL)"
    )
    # A CSV record holds every field verbatim (a line break inside quotes is RFC 4180's, not a control
    # character); JSON and Parquet escape control characters in raw.
    textual = f"{a}.raw" if staged.fmt == "csv" else (
        "concat_ws('', " + ", ".join([col(staged, f, a) for f in staged.fields] + [f"{a}.extras"]) + ")")
    controls = r"[\x00-\x09\x0b-\x1f\x7f]" if staged.fmt == "csv" else r"[\x00-\x1f\x7f]"
    has_control = "false" if staged.clean else f"regexp_matches({textual}, '{controls}')"
    record = [
        f"CASE WHEN {has_control} THEN 'control characters in the record' END",
        f"CASE WHEN {a}.longest > {field_limit} "
        f"THEN format('a field is {{}} characters long, over the limit of {field_limit}', {a}.longest) END",
    ]
    checks = "list_filter([" + ", ".join(record + field_checks) + "], x -> x IS NOT NULL)"
    full = f"CASE WHEN len({structural}) > 0 THEN {structural} ELSE {checks} END"
    if fast_ok is None:
        return full
    structure_ok = f"coalesce({a}.ncols, {expected}) IS NOT DISTINCT FROM {expected} AND NOT {cut}"
    return (f"CASE WHEN {structure_ok} AND {a}.longest <= {field_limit} AND NOT {has_control} AND ({fast_ok}) "
            f"THEN []::VARCHAR[] ELSE {full} END")


def missing_check(staged: Staged, alias: str, name: str) -> str:
    return f"CASE WHEN {col(staged, name, alias)} IS NULL THEN 'missing {name}' END"


def in_vocabulary(expr: str, vocabulary: str) -> str:
    """``expr IN vocabulary`` (a SQL list literal ``('a', 'b')``) without ``IN``: DuckDB plans an ``IN`` list
    as a join, and a join in a ``CREATE TABLE AS`` loses the input's row order (and costs a hash probe)."""
    return f"list_contains([{vocabulary.strip()[1:-1]}], {expr})"


def vocabulary_check(staged: Staged, alias: str, name: str, vocabulary: str) -> str:
    """Missing or not in ``vocabulary`` (a SQL list literal), compared in lower case."""
    c = col(staged, name, alias)
    return (f"CASE WHEN {c} IS NULL THEN 'missing {name}' WHEN NOT {in_vocabulary(f'lower({c})', vocabulary)} "
            f"THEN format('unknown {name} {{}}', {c}) END")


def timestamp_check(staged: Staged, alias: str, name: str, not_after: str | None = None) -> str:
    """A present value must be ISO 8601 (zone offset or Z; none means UTC), and not after ``not_after``."""
    c = col(staged, name, alias)
    future = (f"WHEN try_cast({c} AS TIMESTAMPTZ) > TIMESTAMPTZ '{not_after}' "
              f"THEN format('{name} {{}} lies in the future', {c}) ") if not_after else ""
    return (f"CASE WHEN {c} IS NOT NULL AND try_cast({c} AS TIMESTAMPTZ) IS NULL "
            f"THEN format('{name} {{}} is not an ISO 8601 timestamp', {c}) {future}END")
