"""The cases' chain of custody: an append-only, hash-chained JSON-lines journal under ``<home>/cases/``.

    <home>/cases/journal.jsonl   one record per line, oldest first, each the canonical JSON of
                                 {"seq", "ts", "by", "case_id", "action", ...details, "prev", "case_prev"}
    <home>/cases/journal.head    {"seq", "sha256"} of the last line (replaced atomically after each append)
    <home>/cases/lock            writers take turns on it

``seq`` is the record's 1-based line number; ``prev`` is the SHA-256 (hex) of the previous line's bytes
(without its line feed; null on the first line), so a changed line breaks the next line's ``prev`` and a
removed line breaks ``seq``. ``case_prev`` is the SHA-256 of the previous line *of the same case* (null
on its ``open``): a case's own records form a chain that can be checked on their own, as an evidence bundle
does with no journal at hand. The head file covers the last line, which no later line's ``prev`` does.

The chain shows that the journal was changed after it was written; it does not stop whoever can write the
folder from rewriting the whole journal with fresh hashes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from custodiet import atomic
from custodiet.events import canonical_json
from custodiet.store import Store
from custodiet.writelock import file_lock

JOURNAL = "journal.jsonl"
HEAD = "journal.head"


class JournalError(RuntimeError):
    """The journal is not as it was written (a line changed, removed or added); the message names the line."""


def cases_dir(store: Store) -> Path:
    return store.home / "cases"


def journal_path(store: Store) -> Path:
    return cases_dir(store) / JOURNAL


def line_hash(line: str) -> str:
    """SHA-256 (hex) of one journal line's UTF-8 bytes, without its line feed."""
    return hashlib.sha256(line.encode("utf-8")).hexdigest()


def now_text() -> str:
    """The current UTC time as the journal writes it: ISO 8601 with microseconds and ``Z``."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def read_journal(store: Store) -> list[dict[str, Any]]:
    """Every record, oldest first, after checking the chain; raises ``JournalError`` naming the first bad line."""
    path = journal_path(store)
    name = f"cases/{JOURNAL}"
    if not path.exists():
        if (cases_dir(store) / HEAD).exists():
            raise JournalError(f"{name} is missing, but {HEAD} says records were written")
        return []
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        last = data.count(b"\n") + 1
        raise JournalError(f"{name}:{last}: the last line is cut short")
    try:
        lines = data.decode("utf-8").split("\n")[:-1]
    except UnicodeDecodeError as exc:
        raise JournalError(f"{name}: not UTF-8 text ({exc})") from None
    records: list[dict[str, Any]] = []
    prev: str | None = None
    for number, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise JournalError(f"{name}:{number}: not a JSON record ({exc})") from None
        if not isinstance(record, dict):
            raise JournalError(f"{name}:{number}: not a JSON object")
        if record.get("seq") != number:
            raise JournalError(f"{name}:{number}: holds record {record.get('seq')!r} where record {number} belongs: "
                               "a line was removed or inserted before it")
        if record.get("prev") != prev:
            raise JournalError(f"{name}:{number - 1}: changed after it was written (line {number}'s prev hash "
                               "does not match it)" if number > 1 else f"{name}:1: its prev hash must be null")
        if canonical_json(record) != line:
            raise JournalError(f"{name}:{number}: not in the journal's canonical form (the line was edited)")
        records.append(record)
        prev = line_hash(line)
    _check_head(store, len(lines), prev, records[-1]["prev"] if records else None, name)
    return records


def _check_head(store: Store, count: int, last: str | None, before_last: str | None, name: str) -> None:
    """The head file must cover the last line (or, after a crash between the two writes, the one before)."""
    head_path = cases_dir(store) / HEAD
    if not head_path.exists():
        if count:
            raise JournalError(f"cases/{HEAD} is missing while {name} holds {count} records")
        return
    try:
        head = json.loads(head_path.read_text(encoding="utf-8"))
        seq, digest = int(head["seq"]), str(head["sha256"])
    except (ValueError, KeyError, TypeError) as exc:
        raise JournalError(f"cases/{HEAD}: not a journal head ({exc})") from None
    if seq == count and digest == last:
        return
    if seq == count - 1 and count > 0 and digest == before_last:
        return  # an append whose head update a crash cut off: the chain up to the new line holds
    if seq == count:
        raise JournalError(f"{name}:{count}: changed after it was written (it does not match cases/{HEAD})")
    raise JournalError(f"{name}: holds {count} records but cases/{HEAD} says {seq}: records were removed or added")


@contextmanager
def appending(store: Store) -> Iterator[list[dict[str, Any]]]:
    """Hold the journal's lock and yield its checked records (an append must see the chain it extends)."""
    with file_lock(cases_dir(store) / "lock"):
        yield read_journal(store)


def append(store: Store, records: list[dict[str, Any]], case_id: str, action: str, by: str,
           details: dict[str, Any]) -> dict[str, Any]:
    """Append one record after ``records`` (as ``appending`` yielded them; the lock held); returns it."""
    path = journal_path(store)
    prev = line_hash(canonical_json(records[-1])) if records else None
    mine = [r for r in records if r["case_id"] == case_id]
    record: dict[str, Any] = {**details, "seq": len(records) + 1, "ts": now_text(), "by": by, "case_id": case_id,
                              "action": action, "prev": prev,
                              "case_prev": line_hash(canonical_json(mine[-1])) if mine else None}
    line = canonical_json(record)
    atomic.append_line(path, line)
    atomic.write_bytes(cases_dir(store) / HEAD,
                       (canonical_json({"seq": record["seq"], "sha256": line_hash(line)}) + "\n").encode("utf-8"))
    records.append(record)
    return record
