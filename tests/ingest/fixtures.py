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

# (row, the reason it must be rejected for)
BAD = [
    (["not-a-time", "off1", "1234567890", "nid", "identity", "b1", "", "", "", "", "", ""], "is not an ISO 8601"),
    (["2099-01-01T00:00:00Z", "off1", "1234567890", "nid", "identity", "b2", "", "", "", "", "", ""],
     "lies in the future"),
    (["2026-03-01T09:00:00Z", "", "1234567890", "nid", "identity", "b3", "", "", "", "", "", ""], "missing actor"),
    (["2026-03-01T09:00:00Z", "off1", "", "nid", "identity", "b4", "", "", "", "", "", ""], "missing subject"),
    (["", "off1", "1234567890", "nid", "identity", "b5", "", "", "", "", "", ""], "missing ts"),
    (["2026-03-01T09:00:00Z", "off1", "1234567890", "nid", "", "b6", "", "", "", "", "", ""], "missing data_kind"),
    (["2026-03-01T09:00:00Z", "off1", "1234567890", "email", "identity", "b7", "", "", "", "", "", ""],
     "unknown subject_kind"),
    (["2026-03-01T09:00:00Z", "off1", "1234567890", "nid", "horoscope", "b8", "", "", "", "", "", ""],
     "unknown data_kind"),
    (["2026-03-01T09:00:00Z", "off1", "12345", "nid", "identity", "b9", "", "", "", "", "", ""], "nid must be"),
    (["2026-03-01T09:00:00Z", "off1", "490154203237519", "imei", "imei", "b10", "", "", "", "", "", ""], "Luhn"),
    (["2026-03-01T09:00:00Z", "off1", "12", "msisdn", "cdr", "b11", "", "", "", "", "", ""], "not a possible phone"),
    (["2026-03-01T09:00:00Z", "off1", "1234567890", "nid", "identity", "b12", "", "", "", "", "-4", ""],
     "negative records"),
    (["2026-03-01T09:00:00Z", "off1", "1234567890", "nid", "identity", "b13", "", "", "", "", "", "x\x07y"],
     "control characters"),
    (["2026-03-01T09:00:00Z", "off1", "1234567890", "nid", "identity", "b14", "", "x" * 5000, "", "", "", ""],
     "over the limit"),
    (["2026-03-01T09:00:00Z", "off9", "1234567890", "nid", "cdr", "e1", "", "", "", "", "", ""],
     "already used at line 2 with different content"),
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
