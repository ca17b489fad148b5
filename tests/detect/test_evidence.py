"""Evidence: each finding gets the ids of its account's oldest events in its window (ties broken by event
id), only about its people when it names them, from the insider channels unless it asks for all; picked
on the accesses table and read back from several ledger segments by their place in them."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from detect_world import START, World, subj

from custodiet.detect.context import DetectionContext
from custodiet.detect.findings import Finding
from custodiet.detect.insider import base
from custodiet.store import Store

A, B = "acct.a", "acct.b"
P, Q = subj("p"), subj("q")


def _t(minutes: int) -> datetime:
    return START + timedelta(hours=9, minutes=minutes)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    w = World(Store(tmp_path_factory.mktemp("evidence")))
    w.actor(A, "U1", "investigator")
    w.actor(B, "U1", "investigator")
    for i in range(6):  # first segment: A about P and Q alternately, B in between
        w.access(A, P if i % 2 == 0 else Q, _t(10 * i))
        w.access(B, P, _t(10 * i + 1))
    w.commit()
    first = len(w.events)
    w.access(A, P, _t(100))
    w.access(A, Q, _t(100))  # same time as the one before: the event id decides the order
    w.access(A, P, _t(5), channel="signalling")  # not an insider channel
    w.access(A, P, _t(200))
    w.events = w.events[first:]  # the second commit appends only the new events, as a second segment
    w.commit()
    w.events = []
    return w


def _reference(w_events: list[dict], actor: str, start: datetime, end: datetime, subjects: set[str] | None,
               all_channels: bool, limit: int) -> list[str]:
    rows = [e for e in w_events if e["actor"] == actor and start <= e["ts"] <= end
            and (subjects is None or e["subject"] in subjects)
            and (all_channels or e["channel"] in base.INSIDER_CHANNELS)]
    return [e["event_id"] for e in sorted(rows, key=lambda e: (e["ts"], e["event_id"]))][:limit]


def _finding(actor: str) -> Finding:
    return Finding(detector="test.evidence", revision=1, actor=actor, subjects=[], window_start=START,
                   window_end=START, score=0.5, severity="low", summary="test", event_ids=[])


@pytest.mark.parametrize(("actor", "start", "end", "who", "all_channels", "limit"), [
    (A, _t(0), _t(300), None, False, 200),
    (A, _t(0), _t(300), None, False, 7),  # the limit falls inside the tie at 100 minutes
    (A, _t(15), _t(150), None, False, 200),
    (A, _t(0), _t(300), {P}, False, 200),
    (A, _t(0), _t(300), {P}, True, 200),  # all channels: the signalling event counts
    (B, _t(0), _t(30), {P, Q}, False, 2),
])
def test_evidence_matches_a_plain_reading_of_the_events(world: World, actor: str, start: datetime, end: datetime,
                                                        who: set[str] | None, all_channels: bool, limit: int) -> None:
    store = world.store
    con = store.connect()
    events = con.execute("SELECT * FROM events").to_arrow_table().to_pylist()
    con.close()
    assert len(store.segment_paths()) == 2
    ctx = DetectionContext.open(store)
    try:
        ev = base.Evidence()
        keys = None if who is None else [int(k) for k in _skeys(ctx, sorted(who))]
        f = ev.want(_finding(actor), start, end, keys, channels=None if all_channels else base.INSIDER_CHANNELS)
        ev.resolve(ctx, limit=limit)
    finally:
        base.forget(ctx)
        ctx.con.close()
    want = _reference(events, actor, start, end, who, all_channels, limit)
    assert want, "the case must select something"
    assert f.event_ids == want
    if who is not None:
        assert set(f.subjects) == {e["subject"] for e in events if e["event_id"] in want}


def _skeys(ctx: DetectionContext, subjects: list[str]) -> list[int]:
    """The subject keys of the shared tables, computed the way the accesses table computes them."""
    import ibis

    t = ibis.memtable({"subject": subjects})
    return ctx.ibis.to_pyarrow(t.select(k=base.subject_key(t.subject))).column("k").to_pylist()
