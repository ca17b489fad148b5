"""Group commit: concurrent commits share appends, a commit returns only under a signed head, the ledger
refuses cleanly when it cannot be written, and a kill -9 loses no acknowledged event."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from custodiet import ledger
from custodiet.gateway.committer import GroupCommitter, LedgerUnavailable
from custodiet.ledger.snapshot import take
from custodiet.store import Store
from tests.conftest import run_cli

from .events import gateway_event

REPO = Path(__file__).resolve().parents[2]


def ledger_ids(home: Path) -> list[str]:
    """Event ids of the newest signed state, in leaf order."""
    segments = take(Store(home)).segments
    return [i for p in segments for i in pq.read_table(p, columns=["event_id"]).column("event_id").to_pylist()]


def files_of(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (dot-files too) with its SHA-256."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """Make ``folder`` unwritable for this process: a read-only bind mount as root (permissions do not stop
    root), else the write bits taken away."""
    if os.geteuid() == 0:
        subprocess.run(["mount", "--bind", str(folder), str(folder)], check=True)
        try:
            subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)], check=True)
            yield
        finally:
            subprocess.run(["umount", str(folder)], check=True)
        return
    modes = {p: p.stat().st_mode for p in [folder, *folder.rglob("*")]}
    for p, mode in modes.items():
        p.chmod(mode & ~0o222)
    try:
        yield
    finally:
        for p, mode in modes.items():
            p.chmod(mode)


async def commit_in_waves(committer: GroupCommitter, n: int, waves: int) -> list[str]:
    """``n`` commits arriving in ``waves`` bursts, a few milliseconds apart; returns their ids."""
    ids = [f"{i:032x}" for i in range(n)]
    tasks = []
    per_wave = n // waves
    for w in range(waves):
        for i in range(w * per_wave, n if w == waves - 1 else (w + 1) * per_wave):
            tasks.append(asyncio.create_task(committer.commit(gateway_event(ids[i], i))))
        await asyncio.sleep(0.003)
    await asyncio.gather(*tasks)
    return ids


def test_concurrent_commits_share_appends_and_verify(tmp_path):
    home = tmp_path / "home"

    async def run() -> tuple[list[str], GroupCommitter]:
        committer = GroupCommitter(Store(home))
        await committer.start()
        ids = await commit_in_waves(committer, 400, waves=20)
        await committer.stop()
        return ids, committer

    ids, committer = asyncio.run(run())
    assert committer.stats.events == 400
    assert committer.stats.groups < 400 / 4, f"{committer.stats.groups} appends for 400 events: not grouped"
    assert committer.stats.largest_group > 1
    assert sorted(ledger_ids(home)) == sorted(ids)
    assert len(Store(home).segment_paths()) == committer.stats.groups  # one segment per group
    assert len(ledger.heads(Store(home))) == committer.stats.groups  # one signed head per group
    assert run_cli("verify", home=home).stdout.startswith("ok (full)")  # exits 0 too (run_cli checks)


def test_max_batch_caps_a_group_and_max_wait_gathers_one(tmp_path):
    async def run(max_batch: int, max_wait_s: float, home: Path) -> GroupCommitter:
        committer = GroupCommitter(Store(home), max_batch=max_batch, max_wait_s=max_wait_s)
        await committer.start()
        await commit_in_waves(committer, 60, waves=6)
        await committer.stop()
        return committer

    capped = asyncio.run(run(7, 0.0, tmp_path / "a"))
    assert capped.stats.largest_group <= 7
    assert capped.stats.groups >= 60 / 7
    waited = asyncio.run(run(1000, 0.5, tmp_path / "b"))  # six waves 3 ms apart all fall in one wait
    assert waited.stats.groups == 1
    assert sorted(ledger_ids(tmp_path / "b")) == sorted(f"{i:032x}" for i in range(60))


def test_a_commit_returns_only_once_its_event_is_under_a_signed_head(tmp_path):
    home = tmp_path / "home"
    store = Store(home)

    async def run() -> None:
        committer = GroupCommitter(store)
        await committer.start()
        for i in range(12):
            event = gateway_event(f"{i:032x}", i)
            pending = [asyncio.create_task(committer.commit(gateway_event(f"{i:016x}{j:016x}", j))) for j in range(5)]
            await committer.commit(event)
            # no waiting after the return: the proof must hold against the newest signed head right now
            proof = ledger.inclusion_proof(store, event["event_id"])
            head = ledger.head(store)
            assert head is not None
            assert proof["tree_size"] == head["tree_size"]
            assert proof["root_hash"] == head["root_hash"]
            assert ledger.verify_inclusion(proof["leaf_index"], proof["tree_size"], bytes.fromhex(proof["leaf_hash"]),
                                           [bytes.fromhex(h) for h in proof["inclusion_path"]],
                                           bytes.fromhex(head["root_hash"]))
            await asyncio.gather(*pending)
        await committer.stop()

    asyncio.run(run())


def test_a_bad_event_is_refused_alone(tmp_path):
    async def run() -> None:
        committer = GroupCommitter(Store(tmp_path / "home"))
        await committer.start()
        naive = {**gateway_event("a" * 32), "ts": gateway_event("x")["ts"].replace(tzinfo=None)}
        good = asyncio.create_task(committer.commit(gateway_event("b" * 32)))
        with pytest.raises(ValueError, match="timezone-aware"):
            await committer.commit(naive)
        with pytest.raises(ValueError, match="subject is required"):
            await committer.commit({**gateway_event("c" * 32), "subject": None})
        with pytest.raises(ValueError, match="outside the canonical schema"):
            await committer.commit({**gateway_event("d" * 32), "token": "secret"})
        await good
        await committer.stop()

    asyncio.run(run())
    assert ledger_ids(tmp_path / "home") == ["b" * 32]


def test_read_only_ledger_fails_closed_then_recovers(tmp_path):
    home = tmp_path / "home"
    store = Store(home)

    async def run() -> None:
        committer = GroupCommitter(store, probe_interval_s=0.05)
        await committer.start()
        await commit_in_waves(committer, 20, waves=2)
        before = files_of(store.ledger_dir)
        with read_only(store.ledger_dir):
            refused = [asyncio.create_task(committer.commit(gateway_event(f"{i:032x}", i))) for i in range(100, 110)]
            results = await asyncio.gather(*refused, return_exceptions=True)
            assert all(isinstance(r, LedgerUnavailable) for r in results), results
            assert not committer.writable
            await asyncio.sleep(0.06)
            with pytest.raises(LedgerUnavailable):  # refused at once, probing finds it still read-only
                await committer.commit(gateway_event(f"{111:032x}", 111))
        assert files_of(store.ledger_dir) == before, "a refused append left something in the ledger"
        await asyncio.sleep(0.06)  # past the probe interval
        await committer.commit(gateway_event(f"{200:032x}", 200))
        assert committer.writable
        await committer.stop()

    asyncio.run(run())
    ids = ledger_ids(home)
    assert sorted(ids) == sorted([f"{i:032x}" for i in range(20)] + [f"{200:032x}"])
    assert ledger.verify(store).ok


def test_other_writers_interleave_and_a_long_lock_fails_closed(tmp_path):
    home = tmp_path / "home"
    store = Store(home)
    store.init()
    held = threading.Event()
    release = threading.Event()

    def other_writer() -> None:
        other = Store(home)
        with other.writer("an ingest batch"):
            held.set()
            release.wait(10)

    async def run() -> None:
        committer = GroupCommitter(store, lock_timeout_s=0.3, probe_interval_s=0.0)
        await committer.start()
        thread = threading.Thread(target=other_writer)
        thread.start()
        held.wait(5)
        started = time.monotonic()
        with pytest.raises(LedgerUnavailable, match="write lock"):
            await committer.commit(gateway_event("1" * 32))
        assert time.monotonic() - started < 2
        # a writer holding the lock briefly is waited for
        waiting = asyncio.create_task(committer.commit(gateway_event("2" * 32)))
        await asyncio.sleep(0.1)
        assert not waiting.done()
        release.set()
        await waiting
        thread.join()
        assert committer.writable
        await committer.stop()

    asyncio.run(run())
    assert ledger_ids(home) == ["2" * 32]


@pytest.mark.parametrize("acks_before_kill", [1, 40, 300])
def test_kill_9_while_committing_loses_no_acknowledged_event(tmp_path, acks_before_kill):
    home, acks = tmp_path / "home", tmp_path / "acks.txt"
    acks.touch()
    path = os.pathsep.join([str(REPO), str(REPO / "src"), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}
    child = subprocess.Popen([sys.executable, "-m", "tests.gateway.commit_child", str(home), str(acks)], cwd=REPO,
                             env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and child.poll() is None:
            if acks.read_text().count("\n") >= acks_before_kill:
                break
            time.sleep(0.002)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        _, err = child.communicate()
    assert child.returncode == -signal.SIGKILL, err.decode()
    acked = acks.read_text().split("\n")[:-1]  # a torn last line was never acknowledged in full
    assert len(acked) >= acks_before_kill
    store = Store(home)
    ledger.ensure_healed(store)
    stored = ledger_ids(home)
    assert len(stored) == len(set(stored)), "an event was stored twice"
    missing = set(acked) - set(stored)
    assert not missing, f"{len(missing)} acknowledged events missing after the crash"
    assert ledger.verify(store).ok


def test_min_interval_bounds_appends_under_load_but_not_a_lone_request(tmp_path):
    home = tmp_path / "home"

    async def run() -> tuple[float, GroupCommitter]:
        committer = GroupCommitter(Store(home), min_interval_s=0.3)
        await committer.start()
        started = time.monotonic()
        await committer.commit(gateway_event("f" * 32))  # after a quiet spell: appended at once
        lone = time.monotonic() - started
        await commit_in_waves(committer, 60, waves=10)  # ~40 ms of arrivals, all inside one interval
        await committer.stop()
        return lone, committer

    lone, committer = asyncio.run(run())
    assert lone < 0.25
    assert committer.stats.groups == 2
    assert len(ledger_ids(home)) == 61


def test_a_full_queue_refuses_instead_of_waiting(tmp_path):
    home = tmp_path / "home"
    store = Store(home)
    store.init()
    held, release = threading.Event(), threading.Event()

    def other_writer() -> None:
        with Store(home).writer("an ingest batch"):
            held.set()
            release.wait(10)

    async def run() -> list[object]:
        committer = GroupCommitter(store, max_pending=4)
        await committer.start()
        thread = threading.Thread(target=other_writer)
        thread.start()
        held.wait(5)
        first = asyncio.create_task(committer.commit(gateway_event("0" * 32)))  # taken by the worker: waits
        await asyncio.sleep(0.05)
        queued = [asyncio.create_task(committer.commit(gateway_event(f"{i:032x}", i))) for i in range(1, 7)]
        await asyncio.sleep(0.05)
        release.set()
        results = await asyncio.gather(first, *queued, return_exceptions=True)
        thread.join()
        await committer.stop()
        return results

    results = asyncio.run(run())
    assert results[:5] == [None] * 5
    assert all(isinstance(r, LedgerUnavailable) for r in results[5:])
    assert len(ledger_ids(home)) == 5


@contextlib.contextmanager
def unwritable_file(path: Path) -> Iterator[None]:
    """Make one existing file unwritable for this process (immutable as root, else without write bits)."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(path)], check=True)
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        return
    mode = path.stat().st_mode
    path.chmod(mode & ~0o222)
    try:
        yield
    finally:
        path.chmod(mode)


def test_a_group_that_fails_after_its_segment_is_published_is_healed_in_by_the_next(tmp_path):
    """The head could not be signed: the commits are refused, and the next append adopts the journaled
    segment, so the ledger may hold a lookup the gateway refused, never lack one it acknowledged."""
    home = tmp_path / "home"
    store = Store(home)

    async def run() -> None:
        committer = GroupCommitter(store, probe_interval_s=0.0)
        await committer.start()
        await committer.commit(gateway_event("a" * 32))
        with unwritable_file(store.ledger_dir / "heads.jsonl"):
            with pytest.raises(LedgerUnavailable, match="heads.jsonl"):
                await committer.commit(gateway_event("b" * 32))
            assert ledger.head(store)["tree_size"] == 1  # not signed
        await committer.commit(gateway_event("c" * 32))
        await committer.stop()

    asyncio.run(run())
    assert ledger_ids(home) == ["a" * 32, "b" * 32, "c" * 32]
    assert ledger.verify(store).ok
