"""The gateway's intent journal: grouped durable writes, and emptied once everything in it is recorded."""

from __future__ import annotations

import asyncio
from pathlib import Path

from custodiet.gateway import intents
from custodiet.gateway.intents import IntentJournal


def test_the_journal_is_emptied_once_every_write_is_settled(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(intents, "KEEP_BYTES", 2_000)
    journal = IntentJournal(tmp_path / "journal.jsonl")
    journal.open()

    async def requests(n: int) -> None:
        await asyncio.gather(*(journal.write({"event": {"event_id": f"e{i}", "pad": "x" * 100}}) for i in range(n)))

    asyncio.run(requests(30))
    assert len(journal.pending()) == 30
    for _ in range(29):
        journal.settle(True)
    assert len(journal.pending()) == 30  # one still in flight: nothing may go
    journal.settle(True)
    assert journal.pending() == []
    asyncio.run(requests(30))
    assert len(journal.pending()) == 30  # appends go on after the truncation
    journal.close()


def test_a_record_whose_event_was_not_committed_stays_for_the_restart(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(intents, "KEEP_BYTES", 100)
    journal = IntentJournal(tmp_path / "journal.jsonl")
    journal.open()

    async def one(i: int) -> None:
        await journal.write({"event": {"event_id": f"e{i}", "pad": "x" * 100}})

    asyncio.run(one(1))
    journal.settle(False)  # refused after the upstream was called: the restart must ledger it
    asyncio.run(one(2))
    journal.settle(True)
    assert [p["event"]["event_id"] for p in journal.pending()] == ["e1", "e2"]
    journal.close()
