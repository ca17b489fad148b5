"""A small store made by the project's own commands: about 300 portal lookups by six officers of one unit,
two of whom look up protected people (ministers) with no case, so `detect` finds two findings."""

from __future__ import annotations

import json
import random
from pathlib import Path

from tests.conftest import run_cli

OFFICERS = 6
PROTECTED = 8  # officer 5 looks up people 0-4, officer 4 people 5-7


def write_world(root: Path) -> None:
    rng = random.Random(1)
    (root / "actors.csv").write_text("actor,org,role,region\n" + "".join(
        f"off{i},U1,investigator,north\n" for i in range(OFFICERS)))
    (root / "protected.csv").write_text("subject,subject_kind,category\n" + "".join(
        f"88017{i:08d},msisdn,minister\n" for i in range(PROTECTED)))
    lines = ["ts,actor,subject,subject_kind,data_kind,event_id,records"]
    n = 0
    for day in range(1, 29):
        for k in range(10):
            n += 1
            lines.append(f"2026-03-{day:02d}T{8 + k:02d}:{rng.randrange(60):02d}:00Z,off{rng.randrange(OFFICERS)},"
                         f"{1000000000 + rng.randrange(5000) * 7},nid,identity,e{n:05d},{rng.randrange(3)}")
    for i in range(PROTECTED):
        n += 1
        officer = 5 if i < 5 else 4
        lines.append(f"2026-03-{10 + i:02d}T22:00:00Z,off{officer},88017{i:08d},msisdn,location,e{n:05d},1")
    (root / "log.csv").write_text("\n".join(lines) + "\n")


def build_home(root: Path) -> Path:
    """Simulate, load, ingest and detect; returns the store's home."""
    write_world(root)
    home = root / "home"
    run_cli("context", "load", "actors", str(root / "actors.csv"), home=home)
    run_cli("context", "load", "protected", str(root / "protected.csv"), home=home)
    run_cli("ingest", "portal", str(root / "log.csv"), home=home)
    run_cli("detect", "--channel", "portal", home=home)
    return home


def findings(home: Path) -> list[dict]:
    out = run_cli("findings", "--format", "jsonl", home=home).stdout
    return [json.loads(line) for line in out.splitlines()]
