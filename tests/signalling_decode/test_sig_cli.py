"""``custodiet ingest signalling``: the decoding child is forked before the heavy imports, and the CLI
stores exactly what one pass stores; an opener that fails ends the child; a bad profile is reported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from custodiet.cli import app
from custodiet.context.network import Registry
from custodiet.ingest.signalling import ingest_file, parallel
from custodiet.ingest.signalling.ingest import ingest_capture
from custodiet.store import Store

from .helpers import MAP_CAPTURE, need_captures, replicate

fork_only = pytest.mark.skipif(not (sys.platform.startswith("linux") and hasattr(os, "fork")),
                               reason="the two-process decoder forks (Linux only)")


def stored(home: Path) -> list[tuple]:
    con = Store(home).connect()
    try:
        return con.execute("SELECT event_id, ts, actor, subject, outcome, attrs, source FROM events "
                           "ORDER BY source").fetchall()
    finally:
        con.close()


def test_the_ingest_module_imports_nothing_heavy() -> None:
    """The CLI forks the decoder after importing only this much: Arrow, DuckDB, phonenumbers, the
    ledger and cryptography load in the parent while the child decodes."""
    code = ("import sys; import custodiet.ingest.signalling.ingest; "
            "print(sorted(m for m in ('pyarrow', 'duckdb', 'phonenumbers', 'cryptography', 'numpy', "
            "'custodiet.store', 'custodiet.ledger') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_head_start_split_point(tmp_path: Path) -> None:
    need_captures()
    assert parallel.split_point(MAP_CAPTURE) is None  # 367 frames: not worth a second process ...
    assert parallel.split_point(MAP_CAPTURE, head_start=True) == 0  # ... unless the parent must import first
    big = tmp_path / "big.pcap"
    replicate(MAP_CAPTURE, big, 20)  # the estimate reads the first frames and the file's size: make it
    os.truncate(big, (big.stat().st_size - 24) * 100 + 24)  # as big as 2,000 copies (sparse), 734,000 frames
    split = parallel.split_point(big, head_start=True)
    assert split is not None
    assert 0.3 * 734_000 < split < parallel.PARENT_SHARE * 734_000


@fork_only
@pytest.mark.parametrize("two", [False, True])
def test_cli_stores_what_one_pass_stores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, two: bool) -> None:
    need_captures()
    (tmp_path / "key").write_bytes(bytes(range(32)))
    monkeypatch.setenv("CUSTODIET_KEY_FILE", str(tmp_path / "key"))  # the same pseudonyms in both stores
    capture = tmp_path / "ten.pcap"
    replicate(MAP_CAPTURE, capture, 10)  # 3,670 frames, 470 kB: forked when the CLI has a head start
    forks: list[int] = []
    real = parallel.ForkedDecode.__init__

    def spy(self: parallel.ForkedDecode, decoder: object, split: int) -> None:
        forks.append(split)
        real(self, decoder, split)  # type: ignore[arg-type]

    monkeypatch.setattr(parallel.ForkedDecode, "__init__", spy)
    monkeypatch.setattr(parallel, "available", lambda: two)
    result = CliRunner().invoke(app, ["--home", str(tmp_path / "cli"), "ingest", "signalling", str(capture)])
    assert result.exit_code == 0, result.output
    assert forks == ([0] if two else [])
    assert "ten.pcap" in result.output
    assert "map invokes: 290" in " ".join(result.output.split())
    one = ingest_file(Store(tmp_path / "one"), capture, Registry(), parallel=False)
    assert one.stored == 550  # 29 MAP invokes and 26 of an IN dialogue sent to an HLR, per copy
    assert stored(tmp_path / "cli") == stored(tmp_path / "one")


@fork_only
def test_a_failing_opener_ends_the_child(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    need_captures()
    abandoned: list[int] = []
    real = parallel.ForkedDecode.abandon

    def spy(self: parallel.ForkedDecode) -> None:
        real(self)
        abandoned.append(self.pid)

    monkeypatch.setattr(parallel.ForkedDecode, "abandon", spy)

    def opener() -> tuple[Store, Registry]:
        raise RuntimeError("no store today")

    with pytest.raises(RuntimeError, match="no store today"):
        ingest_capture(MAP_CAPTURE, opener, parallel=True, head_start=True)
    assert len(abandoned) == 1
    with pytest.raises(ChildProcessError):
        os.waitpid(abandoned[0], os.WNOHANG)  # already reaped: no zombie left behind


def test_cli_reports_a_bad_profile_even_without_captures(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "context").mkdir(parents=True)
    (home / "context" / "network.toml").write_text("[home]\nname = 'x'\n")
    result = CliRunner().invoke(app, ["--home", str(home), "ingest", "signalling", str(tmp_path / "none.pcap")])
    assert result.exit_code == 2
    assert "network profile is invalid" in result.output


def test_cli_names_a_missing_capture(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--home", str(tmp_path / "h"), "ingest", "signalling",
                                      str(tmp_path / "none.pcap")])
    assert result.exit_code == 2
    assert "none.pcap: no such file" in " ".join(result.output.split())  # the console wraps lines


@fork_only
def test_head_start_on_junk_and_a_cut_capture_reports_as_one_pass(tmp_path: Path) -> None:
    need_captures()
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"not a capture at all" * 20_000)
    cut = tmp_path / "cut.pcap"
    replicate(MAP_CAPTURE, cut, 10)
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size * 4 // 5])
    results = {}
    for path in (junk, cut):
        for two in (False, True):
            st = Store(tmp_path / f"{path.stem}{two}")
            s = ingest_capture(path, lambda st=st: (st, Registry()), parallel=two, head_start=True)
            results[path.stem, two] = (s.error, s.frames, s.events, s.stored, s.quarantined, s.skipped, s.counts)
    assert results["junk", False] == results["junk", True]
    assert "not a pcap" in (results["junk", True][0] or "")
    assert results["cut", False] == results["cut", True]
    assert results["cut", True][0] is None  # the frames before the cut are stored ...
    assert results["cut", True][3] > 0
    assert results["cut", True][4] > 0  # ... and the cut is quarantined
