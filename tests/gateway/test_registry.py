"""The simulated registry, served for real by uvicorn (``custodiet simulate registry``) and asked over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from custodiet.simulate.registry.records import World
from tests.gateway.servers import registry, uvicorn_app
from tests.gateway.world import IMEI, MSISDN, MSISDN_CDR_RECORDS, NID, STRANGER, write_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_world(tmp_path_factory.mktemp("world"))


@pytest.fixture(scope="module")
def url(world: Path) -> Iterator[str]:
    with registry(world) as base:
        yield base


def lookup(url: str, path: str) -> httpx.Response:
    return httpx.get(f"{url}/v1/lookup/{path}", timeout=10)


def test_world_person_gets_the_records_the_portal_returned(url: str) -> None:
    # the log wrote this number in two forms; the most records any lookup got was 4
    assert MSISDN_CDR_RECORDS == 4
    for form in (MSISDN, "00" + MSISDN, "0" + MSISDN[3:], "+" + MSISDN):
        r = lookup(url, f"cdr/msisdn/{form}")
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["subject"] == MSISDN
        assert (body["subject_kind"], body["data_kind"]) == ("msisdn", "cdr")
        assert len(body["records"]) == 4
        assert all(rec["msisdn"] == MSISDN for rec in body["records"])
    # a kind never looked up in the world: one record; a case subject never looked up: known, one record
    assert len(lookup(url, f"location/msisdn/{MSISDN}").json()["records"]) == 1
    imei = lookup(url, f"imei/imei/{IMEI}").json()
    assert imei["subject"] == IMEI[:14]  # TAC + serial: the check digit is dropped
    assert len(imei["records"]) == 1


def test_strangers_get_the_same_synthetic_answer_every_time(url: str, world: Path) -> None:
    first = lookup(url, f"cdr/msisdn/{STRANGER}")
    again = lookup(url, f"cdr/msisdn/{STRANGER}")
    assert first.status_code == 200
    assert first.content == again.content
    body = first.json()
    assert body["records"]
    assert all(rec["msisdn"] == STRANGER for rec in body["records"])  # about the person asked for
    person = lookup(url, f"cdr/msisdn/{MSISDN}").json()
    assert set(body["records"][0]) == set(person["records"][0])  # the same shape as a world person's
    # another process, another hash seed: the same answer
    assert body == World.load(world).answer("cdr", "msisdn", STRANGER)
    assert not World.load(world).knows("msisdn", STRANGER)
    # different people get different answers
    other = lookup(url, "cdr/msisdn/8801811111112").json()
    assert other["records"] != body["records"]


def test_records_of_one_identifier_agree_across_data_kinds(url: str) -> None:
    identity = lookup(url, f"identity/nid/{NID}").json()["records"][0]
    criminal = lookup(url, f"criminal/nid/{NID}").json()["records"][0]
    assert identity["nid"] == criminal["nid"] == NID
    assert identity["name"] == criminal["name"]


@pytest.mark.parametrize(("path", "status", "says"), [
    ("identity/nid/12", 400, "nid must be digits"),
    ("cdr/msisdn/not-a-number", 400, "msisdn"),
    ("imei/imei/860006954838848", 400, "Luhn"),
    ("identity/ssn/123456789", 400, "unknown subject_kind"),
    (f"horoscope/nid/{NID}", 404, "unknown data_kind"),
])
def test_malformed_lookups_are_json_errors(url: str, path: str, status: int, says: str) -> None:
    r = lookup(url, path)
    assert r.status_code == status
    assert r.headers["content-type"] == "application/json"
    assert says in r.json()["error"]


def test_stats_counts_lookups_not_itself(world: Path) -> None:
    with uvicorn_app("custodiet.simulate.registry.app:from_env", env={"CUSTODIET_REGISTRY_WORLD": str(world)},
                     ready_path="/stats") as base:
        assert httpx.get(f"{base}/stats").json() == {"requests": 0, "rejected": 0}
        for i in range(5):
            assert lookup(base, f"identity/nid/19500032{i:02d}").status_code == 200
        assert lookup(base, "identity/nid/1").status_code == 400
        assert httpx.get(f"{base}/stats").json() == {"requests": 6, "rejected": 1}


def test_a_folder_that_is_not_a_world_is_refused(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    proc = run_cli("simulate", "registry", "--world", str(tmp_path), "--port", "0", check=False)
    assert proc.returncode == 2
    assert "not a portal world" in proc.stderr


def test_loads_a_generated_portal_world(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from custodiet.simulate.portal import generate
    from custodiet.simulate.portal.config import PortalConfig

    generate(PortalConfig(seed=5, actors=40, days=30), tmp_path)
    w = World.load(tmp_path)
    text = pacsv.ConvertOptions(column_types={"subject": pa.string()})
    log = pacsv.read_csv(tmp_path / "access_log.csv", convert_options=text).to_pylist()
    row = next(r for r in log if r["subject_kind"] == "nid" and r["outcome"] == "allowed" and r["records"] > 1)
    body = w.answer(row["data_kind"], "nid", row["subject"])
    assert w.knows("nid", body["subject"])
    assert len(body["records"]) >= row["records"]
    assert len(w.people) > 1000


def test_the_registry_bench_still_runs_and_compares() -> None:
    import subprocess
    import sys

    bench = Path(__file__).parents[2] / "bench" / "registry.py"
    proc = subprocess.run([sys.executable, str(bench), "--seconds", "0.3", "--pool", "40", "--concurrency", "2"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "registry / reference" in proc.stdout
    assert proc.stdout.count("(0 errors;") == 4
