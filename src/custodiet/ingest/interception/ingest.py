"""Ingest X1 task messages (JSON lines or X1 XML, plain or gzip) into the ledger.

One ledger batch and one quarantine file per input file. Messages that cannot be read or break X1's
rules go to quarantine with their line; other X1 requests (Ping, destinations) are counted as skipped;
a file that ends early keeps what came before the cut and is reported incomplete. Re-ingesting a file,
or the same messages in the other form, stores nothing twice (event ids hash the content).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from custodiet.ingest.event_batch import EventRows, store_batch
from custodiet.ingest.guard import InputError, check_file
from custodiet.ingest.interception.events import CHANNEL, build_events
from custodiet.ingest.interception.items import X1Item
from custodiet.ingest.interception.messages import NotATask, X1Message, read_message
from custodiet.ingest.interception.x1json import open_text, read_x1_json
from custodiet.store import Store


@dataclass
class X1Summary:
    """What happened to one file of X1 messages."""

    name: str
    form: str = ""  # "jsonl" or "xml"
    messages: int = 0  # task messages read
    events: int = 0
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # other X1 requests, by type
    incomplete: str | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def _is_xml(path: Path) -> bool:
    """Does the (decompressed) text start with ``<``, after blanks and a byte-order mark?"""
    with open_text(path) as fh:
        head = fh.read(4096)
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def _items(path: Path, xml: bool) -> Iterator[X1Item]:
    if not xml:
        yield from read_x1_json(path)
        return
    from custodiet.ingest.interception.x1xml import read_x1_xml

    with open_text(path) as fh:
        yield from read_x1_xml(fh, path.name)


def ingest_x1(store: Store, path: Path) -> X1Summary:
    """Read one file of X1 messages and store its events and rejections; never raises for bad content."""
    summary = X1Summary(path.name)
    try:
        check_file(path)
        xml = _is_xml(path)
    except (InputError, OSError, EOFError) as exc:
        summary.error = str(exc) if isinstance(exc, InputError) else f"{path.name}: cannot be read: {exc}"
        return summary
    summary.form = "xml" if xml else "jsonl"
    messages: list[X1Message] = []
    rejected: list[tuple[int, str, str | None]] = []
    skipped: Counter[str] = Counter()
    for item in _items(path, xml):
        if item.cut:
            summary.incomplete = f"{path.name}: the file ends early (line {item.line}): {item.error}"
        if item.message is None:
            if item.error:
                rejected.append((item.line, item.error, item.raw))
            continue
        try:
            messages.append(read_message(item.message, item.line, store.rules))
        except NotATask as other:
            skipped[str(other)] += 1
        except ValueError as exc:
            rejected.append((item.line, str(exc), item.raw))
    summary.messages, summary.skipped = len(messages), dict(skipped)
    rows = EventRows.of(build_events(store, messages), path.name, store.pseudonymiser, CHANNEL)
    summary.events = len(rows)
    summary.stored, summary.duplicates, summary.quarantined = store_batch(store, path.name, rows, rejected)
    return summary
