"""Many processes on one store: readers see one signed state and never wait, writers interleave per
commit, the catalog never blocks a writer, findings of one channel survive a run of another, findings do
not depend on the pseudonym key, killed processes leave nothing behind, and a closed pipe ends quietly.

Every writer here is a real process (``python -m custodiet`` or a small script), on small data.
"""

from __future__ import annotations

import csv
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from custodiet import ledger
from custodiet.detect.run import load_findings, run_detectors
from custodiet.ingest.portal import ingest_portal
from custodiet.store import Store
from custodiet.writelock import WriteLock
from tests.conftest import run_cli

SRC = str(Path(__file__).resolve().parents[1] / "src")
ENV = {**os.environ, "PYTHONPATH": SRC, "COLUMNS": "200"}


def write_log(path: Path, rows: int, first: int = 0, prefix: str = "c") -> Path:
    """A simple portal log: ``rows`` lookups with ids ``<prefix><n>`` from ``first`` on."""
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["ts", "actor", "subject", "subject_kind", "data_kind", "event_id"])
        for i in range(first, first + rows):
            w.writerow([f"2026-02-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z", f"off{i % 20}",
                        f"{1000000000 + i * 7}", "nid", "identity", f"{prefix}{i}"])
    return path


def start(home: Path, *args: str, stderr: int | None = subprocess.DEVNULL) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "custodiet", "--home", str(home), *args], env=ENV, text=True,
                            stdout=subprocess.DEVNULL, stderr=stderr)


def seeded(tmp_path: Path, rows: int = 50) -> Store:
    store = Store(tmp_path / "home")
    ingest_portal(store, write_log(tmp_path / "seed.csv", rows, prefix="seed"))
    return store


def leftovers(home: Path) -> list[Path]:
    """Temp files of crash-safe writes and scratch folders of processes, anywhere in the store."""
    found = [p for p in home.rglob(".tmp-*")]
    tmp = home / "tmp"
    return found + ([p for p in tmp.iterdir() if p.name.startswith(("detect-", "duckdb-"))] if tmp.is_dir() else [])


# -- readers during an ingest ---------------------------------------------------------------------

def test_verify_and_head_never_fail_or_wait_during_an_ingest(tmp_path) -> None:
    store = seeded(tmp_path)
    log = write_log(tmp_path / "long.csv", 6_000)
    proc = start(store.home, "ingest", "portal", str(log), "--batch-rows", "150")
    sizes, failures, slowest_head = set(), [], 0.0
    cli: subprocess.Popen[str] | None = None  # `custodiet verify` runs beside the loop, one at a time
    cli_results: list[tuple[int, str]] = []
    try:
        while proc.poll() is None:
            if cli is None or cli.poll() is not None:
                if cli is not None:
                    cli_results.append((cli.returncode, cli.communicate()[1]))
                cli = subprocess.Popen([sys.executable, "-m", "custodiet", "--home", str(store.home), "verify"],
                                       env=ENV, text=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            t0 = time.monotonic()
            head = ledger.head(store)
            slowest_head = max(slowest_head, time.monotonic() - t0)
            assert head is not None
            result = ledger.verify(store, quick=len(sizes) % 2 == 1)
            sizes.add(result.tree_size)
            if not result.ok:
                failures.append(result.problem)
    finally:
        proc.wait(timeout=300)
        if cli is not None:
            cli_results.append((cli.wait(timeout=300), cli.communicate()[1]))
    assert proc.returncode == 0
    assert failures == []
    assert [r for r in cli_results if r[0] != 0] == []
    assert len(cli_results) >= 2
    assert len(sizes) >= 3, "verify did not run while the ingest was appending"
    assert slowest_head < 1.0
    final = ledger.verify(store)
    assert final.ok
    assert final.tree_size == 6_050


def test_a_segment_planted_during_an_ingest_is_reported_by_every_verify_and_stops_the_writer(tmp_path) -> None:
    store = seeded(tmp_path)
    proc = start(store.home, "ingest", "portal", str(write_log(tmp_path / "long.csv", 6_000)), "--batch-rows", "150",
                 stderr=subprocess.PIPE)
    planted = store.segments_dir / "00009999.parquet"
    verdicts = []
    try:
        while proc.poll() is None and ledger.head(store)["tree_size"] < 350:
            time.sleep(0.01)
        shutil.copy(store.segments_dir / "00000001.parquet", planted)  # signed events, in a file no head covers
        while proc.poll() is None or len(verdicts) < 3:
            result = ledger.verify(store, quick=len(verdicts) % 2 == 1)
            verdicts.append((result.ok, result.problem.kind if result.problem else None,
                             result.problem.message if result.problem else ""))
    finally:
        _, err = proc.communicate(timeout=300)
    assert [v for v in verdicts if v[:2] != (False, "foreign")] == []
    assert all("ledger/segments/00009999.parquet" in v[2] for v in verdicts)
    assert proc.returncode == 2, err  # the writer's next commit refuses to sign after a file not its own
    assert "ledger/segments/00009999.parquet is not the writer's" in err
    assert ledger.head(store)["tree_size"] < 6_050


def test_a_waiting_writer_says_who_holds_the_lock_and_honours_its_timeout(tmp_path) -> None:
    store = seeded(tmp_path)
    (tmp_path / "actors.csv").write_text("actor,org,role,region\noff1,U1,analyst,north\n")
    with WriteLock(store.home, "a test holding the lock", timeout=5):
        t0 = time.monotonic()
        done = run_cli("--lock-timeout", "2", "context", "load", "actors", str(tmp_path / "actors.csv"),
                       home=store.home, check=False)
        waited = time.monotonic() - t0
        head = run_cli("head", home=store.home)  # readers do not wait
    assert done.returncode == 3
    assert f"waiting for the store's write lock, held by pid {os.getpid()} (a test holding the lock)" in done.stderr
    assert "gave up after 2 s" in done.stderr
    assert waited >= 2
    assert json.loads(head.stdout)["tree_size"] == 50


def test_a_small_writer_waits_at_most_about_one_ingest_batch(tmp_path) -> None:
    store = seeded(tmp_path)
    log = write_log(tmp_path / "large.csv", 24_000)
    script = textwrap.dedent("""
        import json, sys, time
        import pyarrow.parquet as pq
        from custodiet import ledger
        from custodiet.store import Store
        store = Store(sys.argv[1])
        one = pq.read_table(store.segment_paths()[0]).slice(0, 1)
        waits, n = [], 0
        while True:
            try:
                open(sys.argv[2]).close()
                break
            except FileNotFoundError:
                pass
            n += 1
            event = one.set_column(0, "event_id", __import__("pyarrow").array([f"small-{n}"]))
            t0 = time.monotonic()
            with store.writer("small commit"):
                waits.append(time.monotonic() - t0)
                ledger.append_events(store, event)
            time.sleep(0.01)
        print(json.dumps(waits))
    """)
    stop = tmp_path / "stop"
    small = subprocess.Popen([sys.executable, "-c", script, str(store.home), str(stop)], env=ENV, text=True,
                             stdout=subprocess.PIPE)
    time.sleep(1.0)
    big = start(store.home, "ingest", "portal", str(log), "--batch-rows", "3000")
    assert big.wait(timeout=300) == 0
    stop.touch()
    out, _ = small.communicate(timeout=60)
    waits = json.loads(out)
    heads = ledger.heads(store)
    # Ingest batches are the heads that grew the tree by 3,000; a batch takes at most the time since the
    # previous head.
    stamps = [(h["tree_size"], time.mktime(time.strptime(h["timestamp"][:19], "%Y-%m-%dT%H:%M:%S"))
               + float("0." + h["timestamp"][20:26])) for h in heads]
    batch = max(t - tp for (s, t), (sp, tp) in zip(stamps[1:], stamps, strict=False) if s - sp == 3000)
    ingest_batches = sum(1 for (s, _), (sp, _) in zip(stamps[1:], stamps, strict=False) if s - sp == 3000)
    assert ingest_batches == 8
    small_during = [s for (s, _), (sp, _) in zip(stamps[1:], stamps, strict=False) if s - sp == 1]
    assert len(small_during) > ingest_batches  # the small writer was not held off for the whole ingest
    assert max(waits) <= 2 * batch + 0.5, (max(waits), batch)
    assert ledger.verify(store).ok


# -- the catalog -----------------------------------------------------------------------------------

def test_an_ingest_succeeds_while_another_process_holds_the_catalog_open(tmp_path) -> None:
    store = seeded(tmp_path)
    catalog = store.home / "catalog.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys; con = duckdb.connect(sys.argv[1]); "
         "print(con.sql('SELECT count(*) FROM events').fetchall()[0][0], flush=True); sys.stdin.read()",
         str(catalog)], env=ENV, text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "50"  # held open (read-write: the strongest lock)
        done = run_cli("ingest", "portal", str(write_log(tmp_path / "more.csv", 30, first=100)), home=store.home,
                       check=False)
        assert done.returncode == 0, done.stderr
        canary = run_cli("canary", "issue", "--actor", "off1", "--prefix", "4479460", home=store.home, check=False)
        assert canary.returncode == 0, canary.stderr
    finally:
        holder.communicate("", timeout=30)
    con = duckdb.connect(str(catalog), read_only=True)
    assert con.sql("SELECT count(*) FROM events").fetchall()[0][0] == 80
    assert con.sql("SELECT count(*) FROM canaries").fetchall()[0][0] == 1
    assert leftovers(store.home) == []


# -- findings --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world")
    run_cli("simulate", "portal", "--out", str(out), "--seed", "11", "--actors", "40", "--days", "30")
    return out


def load_world(store: Store, world: Path) -> None:
    from custodiet.context.load import load_context

    for kind in ("actors", "cases", "protected"):
        load_context(store, kind, world / f"{kind}.csv")
    load_context(store, "case-subjects", world / "case_subjects.csv")
    ingest_portal(store, world / "access_log.csv")


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory, world: Path) -> Path:
    """A home holding the world's context and events (copied by the tests that need one)."""
    home = tmp_path_factory.mktemp("loaded") / "home"
    load_world(Store(home), world)
    return home


def copy_of(loaded: Path, tmp_path: Path) -> Store:
    return Store(shutil.copytree(loaded, tmp_path / "home"))


def test_detect_of_one_channel_keeps_the_other_channels_findings(tmp_path, loaded) -> None:
    store = copy_of(loaded, tmp_path)
    run_cli("detect", "--channel", "portal", home=store.home)
    portal = run_cli("findings", "--format", "jsonl", "--channel", "portal", home=store.home)
    assert portal.stdout.count("\n") > 5
    assert "0 have arrived since" in portal.stderr
    run_cli("detect", "--channel", "signalling", home=store.home)
    again = run_cli("findings", "--format", "jsonl", "--channel", "portal", home=store.home)
    assert again.stdout == portal.stdout
    ingest_portal(store, write_log(tmp_path / "late.csv", 7, prefix="late"))
    ranked = run_cli("rank", home=store.home)
    assert "7 events have arrived since" in ranked.stderr


def test_two_detect_runs_at_once_leave_what_one_after_the_other_would(tmp_path, loaded) -> None:
    store = copy_of(loaded, tmp_path)
    runs = [start(store.home, "detect", "--channel", "portal") for _ in range(2)]
    assert [r.wait(timeout=300) for r in runs] == [0, 0]
    together = load_findings(store)
    run_detectors(store, channel="portal")
    assert load_findings(store) == together
    assert leftovers(store.home) == []


def _comparable(store: Store, world: Path) -> list[tuple]:
    """The findings with each subject pseudonym replaced by the identifier it stands for."""
    ps = store.pseudonymiser
    clear: dict[str, str] = {}
    with open(world / "access_log.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            clear.setdefault(ps.of_raw(row["subject_kind"], row["subject"]), f"{row['subject_kind']}:{row['subject']}")
    out = []
    for f in load_findings(store):
        out.append((f["detector"], f["actor"], f["window_start"], f["window_end"], round(f["score"], 9),
                    f["severity"], f["summary"], tuple(f["event_ids"]), tuple(sorted(clear[s] for s in f["subjects"]))))
    return sorted(out)


def test_findings_do_not_depend_on_the_pseudonym_key(tmp_path, world) -> None:
    found = []
    for name in ("a", "b"):
        store = Store(tmp_path / name)
        load_world(store, world)
        run_detectors(store, channel="portal")
        found.append(_comparable(store, world))
    assert (tmp_path / "a" / "keys" / "pseudonym.key").read_bytes() != (tmp_path / "b" / "keys" /
                                                                       "pseudonym.key").read_bytes()
    assert len(found[0]) > 5
    assert found[0] == found[1]


# -- leftovers and pipes ---------------------------------------------------------------------------

def test_killed_detect_and_ingest_leave_no_scratch_after_the_next_run(tmp_path, loaded) -> None:
    store = copy_of(loaded, tmp_path)
    pick = random.Random(7)
    for round_ in range(2):
        detect = start(store.home, "detect", "--channel", "portal")
        time.sleep(pick.uniform(1.0, 3.0))
        os.kill(detect.pid, signal.SIGKILL)
        detect.wait()
        log = write_log(tmp_path / f"more{round_}.csv", 20_000, first=round_ * 20_000, prefix="k")
        ingest = start(store.home, "ingest", "portal", str(log), "--batch-rows", "4000")
        time.sleep(pick.uniform(0.8, 2.5))
        os.kill(ingest.pid, signal.SIGKILL)
        ingest.wait()
    # Make sure there is something a killed process left, should the kills have landed between files.
    (store.tmp_dir / f"detect-{detect.pid}-1").mkdir(exist_ok=True)
    (store.segments_dir / f".tmp-{ingest.pid}-99999999.parquet").write_bytes(b"partial")
    assert leftovers(store.home)
    run_cli("ingest", "portal", str(write_log(tmp_path / "last.csv", 10, prefix="last")), home=store.home)
    assert leftovers(store.home) == []
    assert ledger.verify(store).ok


def test_jsonl_piped_into_head_ends_quietly(tmp_path) -> None:
    store = seeded(tmp_path, rows=3000)  # far more than a pipe holds
    proc = subprocess.Popen([sys.executable, "-m", "custodiet", "--home", str(store.home), "events", "--format",
                             "jsonl"], env=ENV, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    assert json.loads(proc.stdout.readline())["event_id"]
    proc.stdout.close()  # what `head -1` does once it has its line
    assert proc.wait(timeout=60) == 0
    assert proc.stderr is not None
    assert proc.stderr.read() == ""
