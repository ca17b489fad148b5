"""``custodiet simulate portal``: writes a world, refuses bad settings with a clear message."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from custodiet.cli import app

runner = CliRunner()


def test_simulate_portal_writes_a_world(tmp_path: Path) -> None:
    out = tmp_path / "w"
    result = runner.invoke(app, ["simulate", "portal", "--out", str(out), "--seed", "3", "--actors", "50",
                                 "--days", "30", "--end", "2026-02-28"])
    assert result.exit_code == 0, result.output
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    assert truth["seed"] == 3
    assert truth["end"] == "2026-02-28T18:00:00.000Z"  # the end of the last local (UTC+6) day
    assert f"{truth['events']:,} events" in result.output
    for name in ("access_log.csv", "actors.csv", "cases.csv", "case_subjects.csv", "protected.csv"):
        assert (out / name).stat().st_size > 0, name
    assert [lk["file"] for lk in truth["leaks"]] == sorted(str(p.relative_to(out))
                                                           for p in (out / "leaks").glob("*.csv"))


def test_simulate_portal_refuses_bad_settings(tmp_path: Path) -> None:
    few = runner.invoke(app, ["simulate", "portal", "--out", str(tmp_path), "--seed", "1", "--actors", "5"])
    assert few.exit_code == 2
    assert "--actors must be at least" in few.output
    bad_end = runner.invoke(app, ["simulate", "portal", "--out", str(tmp_path), "--seed", "1", "--end", "June"])
    assert bad_end.exit_code == 2
    assert "is not a date" in bad_end.output
    assert not (tmp_path / "access_log.csv").exists()
