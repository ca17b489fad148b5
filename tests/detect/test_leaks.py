"""Leak tracing: rarity-weighted evidence names the seller; canaries name their account outright."""

from __future__ import annotations

import gzip
import shutil
from datetime import timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from leak_world import LISTED, START, build, write_sample

from custodiet import canary, leaks, ledger
from custodiet.store import Store


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, dict[str, list[str]]]:
    store = Store(tmp_path_factory.mktemp("leakhome"))
    return store, build(store)


def test_seller_ranks_first_with_few_rare_records(world, tmp_path) -> None:
    store, g = world
    sample = write_sample(tmp_path / "leak.csv", g["rare"][:4] + g["shared"] + g["popular"][:2])
    result = leaks.trace(store, sample, LISTED)
    top = result.rows[0]
    assert top["actor"] == "S"
    assert top["matched"] == 8
    assert top["expected"] < 1.0
    assert top["p_value"] < 1e-6
    assert result.rows[1]["score"] < top["score"] - 5  # clear margin over the runner-up
    heavy = next(r for r in result.rows if r["actor"] == "H")
    assert heavy["matched"] == 2  # the two shared people: a heavy user explains them by chance


def test_accesses_after_the_listing_do_not_count(world, tmp_path) -> None:
    store, g = world
    sample = write_sample(tmp_path / "early.csv", g["rare"][:6])
    result = leaks.trace(store, sample, START + timedelta(days=5))
    assert all(r["actor"] != "S" for r in result.rows)


def test_json_lines_and_gzip_inputs(world, tmp_path) -> None:
    store, g = world
    plain = write_sample(tmp_path / "leak.jsonl", g["rare"][:6], fmt="jsonl")
    packed = tmp_path / "leak.jsonl.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    for path in (plain, packed):
        assert leaks.trace(store, path, LISTED).rows[0]["actor"] == "S"


def test_bad_records_are_reported_with_their_line(world, tmp_path) -> None:
    store, g = world
    path = tmp_path / "messy.csv"
    path.write_text("subject,subject_kind\n" + "".join(f"{v},msisdn\n" for v in g["rare"][:6])
                    + "12ab,msisdn\n" + "1,2,3\n")
    result = leaks.trace(store, path, LISTED)
    assert result.rows[0]["actor"] == "S"
    where = [w for w, _ in result.rejected]
    assert sorted(where) == ["messy.csv:8", "messy.csv:9"]
    assert any("fields" in reason for _, reason in result.rejected)


def test_unreadable_sample_fails_clearly(world, tmp_path) -> None:
    store, _ = world
    bad = tmp_path / "nohead.csv"
    bad.write_text("msisdn\n8801711000001\n")
    with pytest.raises(leaks.LeakInputError, match="nohead.csv:1"):
        leaks.trace(store, bad, LISTED)
    empty = tmp_path / "junk.csv"
    empty.write_text("subject,subject_kind\nxyz,msisdn\n")
    with pytest.raises(leaks.LeakInputError, match="no usable record"):
        leaks.trace(store, empty, LISTED)


def test_canary_in_sample_names_its_account(world, tmp_path) -> None:
    store, g = world
    issued = canary.issue(store, actor="A3", count=1, prefix="8801555")
    sample = write_sample(tmp_path / "canary.csv", [issued[0].cleartext] + g["rare"][:2])
    result = leaks.trace(store, sample, LISTED)
    assert result.rows[0]["actor"] == "A3"
    assert result.rows[0]["canary"] is True
    assert result.rows[0]["p_value"] == 0.0


def test_index_is_rebuilt_when_the_ledger_grows(world, tmp_path) -> None:
    store = Store(shutil.copytree(world[0].home, tmp_path / "home"))
    path = leaks.ensure_index(store)
    stamp = path.stat().st_mtime_ns
    assert leaks.ensure_index(store).stat().st_mtime_ns == stamp
    (store.segments_dir / "99999999.parquet").write_bytes(store.segment_paths()[0].read_bytes())
    assert leaks.ensure_index(store).stat().st_mtime_ns == stamp  # not signed: not part of the ledger yet
    (store.segments_dir / "99999999.parquet").unlink()
    grown = pq.read_table(store.segment_paths()[0]).slice(0, 1)
    grown = grown.set_column(0, "event_id", pa.array(["grown-1"]))
    with store.writer():
        ledger.append_events(store, grown)
    assert leaks.ensure_index(store).stat().st_mtime_ns != stamp


def test_poisson_tail() -> None:
    assert leaks.poisson_tail(0, 3.0) == 1.0
    assert leaks.poisson_tail(1, 2.0) == pytest.approx(1 - 2.718281828 ** -2, rel=1e-9)
    assert 0 < leaks.poisson_tail(30, 0.01) < 1e-80
