"""A tiny portal world for gateway tests: two officers' lookups, one case, a few people (none real).

``write_world(folder)`` writes ``access_log.csv``, ``actors.csv``, ``cases.csv``, ``case_subjects.csv`` and
``truth.json`` in the formats of ``custodiet simulate portal``, small enough to read in a test:

- ``MSISDN`` (written in two forms in the log) was looked up for CDRs of case ``CASE``; the most records
  any lookup got was ``MSISDN_CDR_RECORDS``;
- ``NID`` was looked up for identity; ``IMEI`` is a subject of ``CASE`` never looked up;
- ``STRANGER`` is in no file.
"""

from __future__ import annotations

import json
from pathlib import Path

MSISDN = "8801712345678"
MSISDN_CDR_RECORDS = 4
NID = "1950003281"
IMEI = "860006954838849"  # as written (with its check digit); normalised: the first 14 digits
STRANGER = "8801811111111"
CASE = "INV-1/2026/0001"

ACCESS_LOG = f"""\
ts,actor,subject,subject_kind,data_kind,event_id,actor_org,operation,case_id,outcome,records,client_ip
2026-06-01T02:22:12.197Z,inv-1.01,00{MSISDN},msisdn,cdr,r1,INV-1,/api/v2/cdr,{CASE},allowed,{MSISDN_CDR_RECORDS},10.0.0.1
2026-06-02T02:22:12.197Z,inv-1.01,+880 1712-345678,msisdn,cdr,r2,INV-1,/api/v2/cdr,{CASE},allowed,2,10.0.0.1
2026-06-02T03:00:00.000Z,inv-1.01,{NID},nid,identity,r3,INV-1,/api/v2/identity,{CASE},allowed,1,10.0.0.1
2026-06-02T04:00:00.000Z,ver-1.01,12,nid,identity,r4,VER-1,/api/v2/identity,,error,0,10.0.0.2
"""
ACTORS = """\
actor,org,role,region
inv-1.01,INV-1,investigator,DHK
ver-1.01,VER-1,verifier,DHK
"""
CASES = f"""\
case_id,org,opened,closed
{CASE},INV-1,2026-05-20T08:00:00.000Z,
"""
CASE_SUBJECTS = f"""\
case_id,subject,subject_kind
{CASE},00{MSISDN},msisdn
{CASE},{IMEI},imei
"""
TRUTH = {"world": "portal", "seed": 0, "start": "2026-05-31T18:00:00.000Z", "end": "2026-06-30T18:00:00.000Z",
         "events": 4, "abusers": [], "leaks": []}


def write_world(folder: Path) -> Path:
    """Write the tiny world into ``folder`` (created if missing); returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (("access_log.csv", ACCESS_LOG), ("actors.csv", ACTORS), ("cases.csv", CASES),
                       ("case_subjects.csv", CASE_SUBJECTS)):
        (folder / name).write_text(text)
    (folder / "truth.json").write_text(json.dumps(TRUTH, indent=2))
    return folder
