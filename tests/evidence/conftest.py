"""A store with a case, and its exported bundle, made once by the real commands (tests copy before changing)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.evidence.world import build_home, findings


@pytest.fixture(scope="session")
def exported(tmp_path_factory) -> dict:
    """{"home", "bundle", "public_key", "event_ids"}: case CASE-000001 on both findings, with a note and a
    status change, exported to bundle.zip."""
    assert shutil.which("chromium"), "report.pdf is printed by Debian's chromium: install it with `make sysdeps`"
    root = tmp_path_factory.mktemp("evidence")
    home = build_home(root)
    found = findings(home)
    args = [a for f in found for a in ("--finding", f["finding_id"])]
    case_id = run_cli("case", "open", "--title", "Minister lookups", *args, "--by", "alice", home=home).stdout.strip()
    run_cli("case", "note", case_id, "--text", "roster requested", "--by", "alice", home=home)
    run_cli("case", "status", case_id, "under_review", "--by", "bob", home=home)
    bundle = root / "bundle.zip"
    run_cli("evidence", "export", "--case", case_id, "--out", str(bundle), home=home)
    head = json.loads(run_cli("head", "--format", "json", home=home).stdout)
    return {"home": home, "bundle": bundle, "public_key": head["public_key"], "case_id": case_id,
            "event_ids": list(dict.fromkeys(e for f in found for e in f["event_ids"])), "root": Path(root)}
