"""A portal log with good rows and one broken row for every rejection reason."""

from __future__ import annotations

import csv
from pathlib import Path

HEADER = ["ts", "actor", "subject", "subject_kind", "data_kind", "event_id", "actor_org", "operation", "case_id",
          "outcome", "records", "client_ip"]

GOOD = [
    ["2026-03-01T08:00:00Z", "off1", "+8801712345678", "msisdn", "cdr", "e1", "U1", "/cdr", "C1", "allowed", "12",
     "10.0.0.1"],
    ["2026-03-01T08:01:00+06:00", "off1", "01712345678", "msisdn", "location", "e2", "U1", "/loc", "", "", "1", ""],
    ["2026-03-01T08:02:00", "off2", "1234567890", "nid", "identity", "", "U2", "/nid", "C9", "denied", "0", ""],
    ["2026-03-01T08:03:00Z", "off2", "490154203237518", "imei", "imei", "e4", "U2", "/imei", "", "allowed", "", ""],
    ["2026-03-01T08:04:00Z", "off3", "470010123456789", "imsi", "subscriber", "e5", "U3", "/sub", "", "error", "3",
     ""],
    ["2026-03-01T08:05:00Z", "off3", "a1234567", "passport", "travel", "e6", "U3", "/travel", "", "allowed", "2", ""],
]


def _bad(event_id: str, reason: str, **changes: str) -> tuple[list[str], str]:
    """A row that must be rejected for ``reason``: an otherwise valid nid lookup with ``changes`` (by column)."""
    row = dict.fromkeys(HEADER, "") | {"ts": "2026-03-01T09:00:00Z", "actor": "off1", "subject": "1234567890",
                                       "subject_kind": "nid", "data_kind": "identity", "event_id": event_id}
    row |= changes
    return [row[h] for h in HEADER], reason


# (row, the reason it must be rejected for)
BAD = [
    _bad("b1", "is not an ISO 8601", ts="not-a-time"),
    _bad("b2", "lies in the future", ts="2099-01-01T00:00:00Z"),
    _bad("b3", "missing actor", actor=""),
    _bad("b4", "missing subject", subject=""),
    _bad("b5", "missing ts", ts=""),
    _bad("b6", "missing data_kind", data_kind=""),
    _bad("b7", "unknown subject_kind", subject_kind="email"),
    _bad("b8", "unknown data_kind", data_kind="horoscope"),
    _bad("b9", "nid must be", subject="12345"),
    _bad("b10", "Luhn", subject="490154203237519", subject_kind="imei", data_kind="imei"),
    _bad("b11", "not a possible phone", subject="12", subject_kind="msisdn", data_kind="cdr"),
    _bad("b12", "negative records", records="-4"),
    _bad("b13", "control characters", client_ip="x\x07y"),
    _bad("b14", "over the limit", operation="x" * 5000),
    _bad("e1", "already used at line 2 with different content", actor="off9", data_kind="cdr"),
]
SHORT_ROW = "2026-03-01T09:00:00Z,off1,1234567890"  # wrong number of columns
SHORT_REASON = "wrong number of columns: expected 12, found 3"


def write_log(path: Path) -> dict[str, int]:
    """Write the fixture; returns the line number of each bad reason (1-based, header is line 1)."""
    lines: dict[str, int] = {}
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(HEADER)
        n = 1
        rows = GOOD[:3] + [r for r, _ in BAD[:8]] + GOOD[3:] + [r for r, _ in BAD[8:]]
        for row in rows:
            w.writerow(row)
            n += 1
            for bad, reason in BAD:
                if bad is row:
                    lines[reason] = n
        fh.write(SHORT_ROW + "\n")
        lines[SHORT_REASON] = n + 1
        fh.write("\n")  # a blank line is not a record
    return lines
