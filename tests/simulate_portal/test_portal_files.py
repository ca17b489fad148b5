"""The files of a portal world: determinism, formats of DESIGN.md "Interfaces", identifiers, sizes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pytest
from portal_helpers import SMALL, iso, read_csv

from custodiet.events import DATA_KINDS, OUTCOMES, SUBJECT_KINDS
from custodiet.identifiers import normalise
from custodiet.simulate.portal import generate
from custodiet.simulate.portal.config import SUBJECT_KINDS as PORTAL_SUBJECT_KINDS

ACCESS_COLUMNS = ["ts", "actor", "subject", "subject_kind", "data_kind", "event_id", "actor_org", "operation",
                  "case_id", "outcome", "records", "client_ip"]
CONTEXT_COLUMNS = {
    "actors.csv": ["actor", "org", "role", "region"],
    "cases.csv": ["case_id", "org", "opened", "closed"],
    "case_subjects.csv": ["case_id", "subject", "subject_kind"],
    "protected.csv": ["subject", "subject_kind", "category"],
}


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_gives_byte_identical_files(world: Path, tmp_path: Path) -> None:
    generate(SMALL, tmp_path / "again")
    assert _files(tmp_path / "again") == _files(world)


def test_another_seed_gives_another_world(world: Path, tmp_path: Path) -> None:
    generate(dataclasses.replace(SMALL, seed=SMALL.seed + 1), tmp_path / "other")
    assert (tmp_path / "other" / "access_log.csv").read_bytes() != (world / "access_log.csv").read_bytes()


def test_access_log_has_the_interface_columns_and_vocabularies(world: Path, log, truth) -> None:
    assert log.column_names == ACCESS_COLUMNS
    assert log.num_rows == truth["events"]
    for col, vocab in (("subject_kind", SUBJECT_KINDS), ("data_kind", DATA_KINDS), ("outcome", OUTCOMES)):
        assert set(pc.unique(log[col]).to_pylist()) <= set(vocab), col
    for col in ("ts", "actor", "subject", "subject_kind", "data_kind", "event_id", "actor_org", "operation",
                "outcome", "records", "client_ip"):
        assert log[col].null_count == 0, col
    records = np.array(log["records"].to_pylist(), dtype=np.int64)
    assert (records >= 0).all()
    outcome = np.array(log["outcome"].to_pylist())
    assert (records[outcome != "allowed"] == 0).all()
    ids = log["event_id"].to_pylist()
    assert len(set(ids)) == len(ids)
    assert all(i.startswith("r") for i in ids)
    assert all(op.startswith("/api/v2/") for op in pc.unique(log["operation"]).to_pylist())


def test_timestamps_are_utc_sorted_and_inside_the_world(log, truth) -> None:
    ts = log["ts"].to_pylist()
    assert all(t.endswith("Z") for t in ts)
    parsed = [iso(t) for t in ts]
    assert parsed == sorted(parsed)
    assert iso(truth["start"]) <= parsed[0]
    assert parsed[-1] < iso(truth["end"])


def test_context_files_parse_and_link_up(world: Path, log) -> None:
    tables = {name: read_csv(world / name) for name in CONTEXT_COLUMNS}
    for name, cols in CONTEXT_COLUMNS.items():
        assert tables[name].column_names == cols, name
        assert tables[name].num_rows > 0, name
    actors = tables["actors.csv"]
    assert actors.num_rows == SMALL.actors
    assert set(pc.unique(log["actor"]).to_pylist()) <= set(actors["actor"].to_pylist())
    cases = tables["cases.csv"]
    case_ids = set(cases["case_id"].to_pylist())
    assert len(case_ids) == cases.num_rows
    assert set(tables["case_subjects.csv"]["case_id"].to_pylist()) <= case_ids
    assert set(pc.drop_null(log["case_id"]).to_pylist()) <= case_ids
    for opened, closed in zip(cases["opened"].to_pylist(), cases["closed"].to_pylist(), strict=True):
        assert closed is None or iso(opened) < iso(closed)
    assert 0 < cases["closed"].null_count < cases.num_rows  # some still open, some closed
    assert set(pc.unique(tables["protected.csv"]["category"]).to_pylist()) >= {"minister", "journalist", "judge"}


def test_every_identifier_normalises_and_forms_are_mixed(world: Path, log) -> None:
    files = [log, *(read_csv(world / n) for n in ("case_subjects.csv", "protected.csv"))]
    files += [read_csv(p) for p in sorted((world / "leaks").glob("*.csv"))]
    pairs = set()
    for table in files:
        pairs |= set(zip(table["subject_kind"].to_pylist(), table["subject"].to_pylist(), strict=True))
    for kind, value in pairs:
        normalise(kind, value)  # raises InvalidIdentifier on any bad one
    phones = [v for k, v in pairs if k == "msisdn"]
    assert any(v.startswith("+880") for v in phones)
    assert any(v.startswith("01") for v in phones)
    assert any(v.startswith("8801") for v in phones)
    assert {k for k, _ in pairs} == set(PORTAL_SUBJECT_KINDS)  # every kind a portal identifies people by
    nids = {len(normalise("nid", v)) for k, v in pairs if k == "nid"}
    assert nids == {10, 13, 17}


@pytest.mark.parametrize("column", ["actor_org", "client_ip"])
def test_every_actor_has_one_org_and_a_usual_address(log, column: str) -> None:
    actors = np.array(log["actor"].to_pylist())
    values = np.array(log[column].to_pylist())
    for actor in np.unique(actors)[:20]:
        seen, counts = np.unique(values[actors == actor], return_counts=True)
        assert counts.max() / counts.sum() > 0.6, (actor, seen)


def test_truth_describes_the_world(truth, world: Path) -> None:
    assert truth["world"] == "portal"
    assert truth["seed"] == SMALL.seed
    assert sum(u["actors"] for u in truth["units"].values()) == SMALL.actors
    kinds = {u["kind"] for u in truth["units"].values()}
    assert {"investigation", "verification"} <= kinds
    assert (iso(truth["end"]) - iso(truth["start"])).days == SMALL.days
    assert read_csv(world / "actors.csv").num_rows == SMALL.actors
