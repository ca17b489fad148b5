"""X1 XML reading speed: ``read_x1_xml`` against lxml's bare parse and json.loads, in the same run.

    .venv/bin/python bench/x1xml.py [--messages 100000] [--per-document 1000] [--gzip]

Writes --messages Activate/Modify/Deactivate messages with ``write_x1_xml`` (--per-document messages to
each X1Request document, ``ns1:`` prefix) to a temporary file and reads them back with ``read_x1_xml``
(scan, parse, lines, mapping, memory cleared as it goes), comparing every message with what was written. References
on the same messages: lxml's iterparse of one document holding them all, clearing elements and mapping
nothing (the parser's floor), and ``json.loads`` of the same messages as JSON lines (the other X1 form).
Prints messages/s (CPU time) and the ratios. Machines are shared: read the ratios.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import resource
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from lxml import etree

from custodiet.ingest.interception.x1xml import read_x1_xml, write_x1_xml


def messages(n: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)

    def uid() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128)))

    out: list[dict[str, Any]] = []
    for i in range(n):
        kind = ("ActivateTaskRequest", "ModifyTaskRequest", "DeactivateTaskRequest")[i % 3]
        m: dict[str, Any] = {"messageType": kind, "messageTimestamp": "2026-07-03T10:15:02.123456Z",
                             "admfIdentifier": "admf-1", "neIdentifier": "ne-core-3", "x1TransactionId": uid(),
                             "xId": uid()}
        if kind != "DeactivateTaskRequest":
            m |= {"targetIdentifiers": [{"e164Number": f"4477009{i % 100000:05d}"},
                                        {"imsi": f"2341500000{i % 100000:05d}"}],
                  "deliveryType": "X2andX3", "listOfServiceTypes": ["LALS"],
                  "listOfMediationDetails": [{"lIID": f"W-{i}", "startTime": "2026-07-03T10:00:00.000000Z",
                                              "endTime": "2026-08-03T10:00:00.000000Z"}]}
        out.append(m)
    return out


def timed(fn: Any) -> tuple[float, Any]:
    start = time.process_time()
    result = fn()
    return time.process_time() - start, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--per-document", type=int, default=1_000)
    ap.add_argument("--gzip", action="store_true", help="read the XML through gzip.open")
    args = ap.parse_args()
    msgs = messages(args.messages)
    with tempfile.TemporaryDirectory() as tmp:
        xml = Path(tmp) / ("x1.xml.gz" if args.gzip else "x1.xml")
        text = write_x1_xml(msgs, per_document=args.per_document, prefix="ns1")
        if args.gzip:
            xml.write_bytes(gzip.compress(text.encode(), compresslevel=1))
        else:
            xml.write_text(text)
        single = Path(tmp) / "one.xml"
        single.write_text(write_x1_xml(msgs, per_document=len(msgs), prefix="ns1"))
        lines = Path(tmp) / "x1.jsonl"
        lines.write_text("".join(json.dumps(m) + "\n" for m in msgs))
        del text

        def ours() -> int:
            opener = gzip.open if args.gzip else open
            count = 0
            with opener(xml, "rb") as fh:
                for item, expected in zip(read_x1_xml(fh, xml.name), msgs, strict=True):
                    if item.message != expected:
                        raise AssertionError(f"line {item.line}: {item.message} != {expected}")
                    count += 1
            return count

        def bare_lxml() -> int:
            count = 0
            for _, element in etree.iterparse(str(single), events=("end",), tag="{*}x1RequestMessage",
                                              resolve_entities=False, no_network=True, load_dtd=False):
                count += 1
                element.clear()
                while element.getprevious() is not None:
                    del element.getparent()[0]
            return count

        def json_lines() -> int:
            with open(lines, "rb") as fh:
                return sum(1 for line in fh if json.loads(line))

        t_ours, got = timed(ours)
        assert got == len(msgs)
        t_lxml, n_lxml = timed(bare_lxml)
        t_json, n_json = timed(json_lines)
        assert n_lxml == n_json == len(msgs)
    n = len(msgs)
    print(f"{n} messages, {args.per_document} per document{', gzip' if args.gzip else ''}")
    print(f"read_x1_xml      {t_ours:6.2f} s CPU  {n / t_ours:10,.0f} messages/s")
    print(f"lxml iterparse   {t_lxml:6.2f} s CPU  {n / t_lxml:10,.0f} messages/s  (ours {t_ours / t_lxml:.2f}x)")
    print(f"json.loads lines {t_json:6.2f} s CPU  {n / t_json:10,.0f} messages/s  (ours {t_ours / t_json:.2f}x)")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB (the written messages held)")


if __name__ == "__main__":
    main()
