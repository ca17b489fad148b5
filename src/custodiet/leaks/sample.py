"""Reading a sample of records seen for sale: CSV or JSON lines, plain or gzip, every bad record named
by its ``file:line``, and a file cut short refused whole."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from custodiet.events import DATA_KINDS
from custodiet.ingest import guard
from custodiet.ingest.limits import FIELD_LIMIT


class LeakInputError(ValueError):
    """The sample could not be read at all (message names the file)."""


def _fields(line: str) -> list[str]:
    """One CSV record held on one line (as the portal reader splits records); ``csv.Error`` if unparsable."""
    return next(csv.reader([line]), [])


def read_sample(path: Path) -> tuple[list[tuple[int, str, str, str | None]], list[tuple[str, str]]]:
    """(line, subject_kind, subject, data_kind or None) records and (file:line, reason) rejections of a CSV
    or JSONL file. ``data_kind`` (optional) names what the listing sells of that person.

    The file is read by the guarded reader (``ingest.guard``): a truncated gzip stream, text that is not
    UTF-8, or a last record cut short where the file ends raise ``LeakInputError`` naming the file and
    the line or byte: a sample read in part would be traced as if it were whole."""
    name = path.name
    try:
        text = guard.read_text(path)
    except guard.InputError as exc:
        raise LeakInputError(str(exc)) from None
    stem = name[:-3] if name.endswith(".gz") else name
    is_json = stem.endswith((".jsonl", ".ndjson", ".json")) or text.lstrip().startswith("{")
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    if lines and lines[-1] == "":
        lines.pop()  # the final line end
    records: list[tuple[int, str, str, str | None]] = []
    rejected: list[tuple[str, str]] = []

    def keep(line: int, kind: Any, subject: Any, sold: Any) -> None:
        sold = str(sold).strip().lower() if sold not in (None, "") else None
        if sold is not None and sold not in DATA_KINDS:
            rejected.append((f"{name}:{line}", f"unknown data_kind {sold!r}; known: {', '.join(DATA_KINDS)}"))
            return
        records.append((line, str(kind).strip(), str(subject).strip(), sold))

    if is_json:
        for i, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                keep(i, obj["subject_kind"], obj["subject"], obj.get("data_kind"))
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                if i == len(lines) and not text.endswith("\n") and _cut_json(line):
                    raise _cut(path, i, len(text.encode())) from None
                rejected.append((f"{name}:{i}", f"not a JSON object with subject and subject_kind ({exc})"))
        return records, rejected
    try:
        header = [h.strip().lstrip("\ufeff") for h in _fields(lines[0])] if lines else []
    except csv.Error as exc:
        raise LeakInputError(f"{name}:1: the header cannot be read: {exc}") from None
    if "subject" not in header or "subject_kind" not in header:
        raise LeakInputError(f"{name}:1: the header must name subject and subject_kind (got {header})")
    si, ki = header.index("subject"), header.index("subject_kind")
    di = header.index("data_kind") if "data_kind" in header else None
    for at, line in enumerate(lines[1:], 2):
        if not line.strip():
            continue
        last = at == len(lines) and not text.endswith("\n")
        try:
            row = _fields(line)
        except csv.Error as exc:
            if last:
                raise _cut(path, at, len(text.encode())) from None
            too_long = "field larger than field limit" in str(exc)
            rejected.append((f"{name}:{at}", f"a field is over the limit of {FIELD_LIMIT} characters" if too_long
                             else f"not a CSV record ({exc})"))
            continue
        if len(row) != len(header) or (last and line.count('"') % 2):
            if last:
                raise _cut(path, at, len(text.encode()))
            rejected.append((f"{name}:{at}", f"{len(row)} fields, the header has {len(header)}"))
            continue
        longest = max((len(c) for c in row), default=0)
        if longest > FIELD_LIMIT:
            rejected.append((f"{name}:{at}", f"a field is {longest} characters long, over the limit of {FIELD_LIMIT}"))
            continue
        keep(at, row[ki], row[si], None if di is None else row[di])
    return records, rejected


def _cut_json(line: str) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return True
    return False


def _cut(path: Path, line: int, size: int) -> LeakInputError:
    return LeakInputError(f"{path.name}: {guard.CUT_RECORD}: line {line} is cut short at byte {size}; "
                          "the sample is incomplete")
