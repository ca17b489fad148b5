"""Writing the world: warrants.csv, x1.jsonl, x1.xml and truth.json (formats of the interception contract).

Files appear atomically (temp file, fsync, rename). The XML form holds the same messages as the JSON lines,
in the same order, in X1Request documents of ``XML_PER_DOCUMENT`` messages each, concatenated.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

from custodiet.atomic import publish_file, temp_path
from custodiet.ingest.interception.x1xml import write_x1_xml
from custodiet.simulate.interception.habits import Habits
from custodiet.simulate.interception.idents import csv_text
from custodiet.simulate.interception.model import Warrant, as_datetime

WARRANT_COLUMNS = ("warrant_id", "agency", "issuer", "authority_level", "target", "target_kind", "data_kinds",
                   "valid_from", "valid_to")
XML_PER_DOCUMENT = 500
XML_PREFIX = "x1"


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    publish_file(tmp, path)


def _time(t: int, zone: str) -> str:
    """A validity bound as the agency writes it: ``Z``, ``+00:00``, no zone (UTC), or UK summer time."""
    d = as_datetime(t)
    if zone == "+01:00":
        return (d + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S") + "+01:00"
    return d.strftime("%Y-%m-%dT%H:%M:%S") + zone


def warrants_csv(warrants: list[Warrant], habits: list[Habits], forms: list[list[bool]]) -> str:
    """One row per (warrant, target), warrants in the order they start. ``forms[i][j]``: whether warrant i
    writes its target j in the long form (an msisdn with ``+``, an imei with its check digit)."""
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(WARRANT_COLUMNS)
    for i, w in enumerate(warrants):
        h = habits[w.agency]
        kinds = ";".join(k for k in ("content", "metadata", "location") if k in w.kinds)
        for j, target in enumerate(w.targets):
            out.writerow((w.warrant_id, h.name, w.issuer, w.level, csv_text(target, forms[i][j]),
                          target[0], kinds, _time(w.valid_from, h.zone), _time(w.valid_to, h.zone)))
    return buf.getvalue()


def jsonl(messages: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(m, separators=(",", ":")) + "\n" for m in messages)


def xml(messages: list[dict[str, Any]]) -> str:
    return write_x1_xml(messages, per_document=XML_PER_DOCUMENT, prefix=XML_PREFIX)


def write_json(path: Path, doc: object) -> None:
    write_text(path, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
