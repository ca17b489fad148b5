"""Decoding in two processes gives exactly what one pass gives: records, counts (in order), failures,
and the store's events; where the child's start state would matter, the parent decodes the rest."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from custodiet.context.network import Registry
from custodiet.ingest.signalling import ingest_file, parallel
from custodiet.ingest.signalling.capture import CaptureError
from custodiet.ingest.signalling.decoder import CaptureDecoder
from custodiet.store import Store

from .helpers import CAPTURES, MAP_CAPTURE, ether, ipv4, m3ua_data, need_captures, pcap, replicate, sctp_data, udt
from .test_sig_layers import CALLED, CALLING, ati_begin

pytestmark = pytest.mark.skipif(not (sys.platform.startswith("linux") and hasattr(os, "fork")),
                                reason="the two-process decoder forks (Linux only)")


def outcome(decoder: CaptureDecoder, records: object) -> tuple:
    out, error = [], None
    try:
        out = list(records)  # type: ignore[call-overload]
    except CaptureError as exc:
        error = str(exc)
    return out, error, decoder.frames, list(decoder.skipped.items()), decoder.failures, decoder.bytes_read


@pytest.fixture
def verdicts(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each two-process run took the child's result (True) or decoded the rest itself."""
    seen: list[bool] = []
    exact = parallel._exact

    def spy(decoder: CaptureDecoder, trailer: dict) -> bool:
        seen.append(exact(decoder, trailer))
        return seen[-1]

    monkeypatch.setattr(parallel, "_exact", spy)
    return seen


def same_as_one_pass(path: Path, split: int) -> None:
    one = CaptureDecoder(path)
    expected = outcome(one, one.records())
    two = CaptureDecoder(path)
    assert outcome(two, parallel.records(two, split)) == expected, split


@pytest.mark.parametrize("name", ["pycrate_tcapmap_pcapr_rebuilt.pcap", "open5gs_testattach.pcapng"])
def test_real_captures_split_anywhere(name: str, verdicts: list[bool]) -> None:
    need_captures()
    path = CAPTURES / name
    one = CaptureDecoder(path)
    for _ in one.records():
        pass
    total = one.frames
    for split in (1, total // 3, total // 2, total - 1, total, total + 5):
        same_as_one_pass(path, split)
    assert verdicts.count(True) >= 1  # the child's half was used ...
    assert len(verdicts) == 5  # ... and not looked at where the capture ended before the split


def test_state_across_the_split_falls_back_to_one_pass(tmp_path: Path, verdicts: list[bool]) -> None:
    msg = m3ua_data(udt(CALLED, CALLING, ati_begin(b"\x0a\x0b\x0c\x0d", "447700900123")))
    cut = len(msg) // 2
    frames = [
        (1_000_000, ether(ipv4(132, sctp_data([(3, msg, 0)], tsn=7)))),
        (2_000_000, ether(ipv4(132, sctp_data([(2, msg[:cut], 0)], tsn=10)))),  # first fragment ...
        (3_000_000, ether(ipv4(132, sctp_data([(1, msg[cut:], 0)], tsn=11)))),  # ... last, after the split
        (4_000_000, ether(ipv4(132, sctp_data([(3, msg, 0)], tsn=7)))),  # a retransmission of frame 1
    ]
    path = tmp_path / "t.pcap"
    path.write_bytes(pcap(frames))
    same_as_one_pass(path, 2)  # the fragment's first half is in our state: the child missed it
    same_as_one_pass(path, 3)  # TSN 7 was seen 3 s before frame 4: one pass calls it a retransmission
    assert verdicts == [False, False]
    one = CaptureDecoder(path)
    assert [r.frame for r in one.records()] == [1, 3]
    assert one.skipped["sctp retransmission"] == 1


def test_cut_capture_fails_at_the_same_frame(tmp_path: Path, verdicts: list[bool]) -> None:
    need_captures()
    data = MAP_CAPTURE.read_bytes()
    path = tmp_path / "cut.pcap"
    path.write_bytes(data[: len(data) * 3 // 4])
    for split in (50, 200, 400):
        same_as_one_pass(path, split)
    one = CaptureDecoder(path)
    assert outcome(one, one.records())[1] is not None  # the cut is reported, by both


def test_ingest_in_two_processes_stores_the_same(tmp_path: Path, verdicts: list[bool],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    need_captures()
    (tmp_path / "key").write_bytes(bytes(range(32)))
    monkeypatch.setenv("CUSTODIET_KEY_FILE", str(tmp_path / "key"))  # the same pseudonyms in both stores
    path = tmp_path / "big.pcap"
    replicate(MAP_CAPTURE, path, 12)  # 4,404 frames: enough to be split
    assert parallel.split_point(path) is not None
    stores = []
    for two in (False, True):
        store = Store(tmp_path / f"home{two}")
        summary = ingest_file(store, path, Registry(), parallel=two)
        con = store.connect()
        rows = con.execute("SELECT event_id, ts, subject, outcome, attrs, source FROM events").fetchall()
        con.close()
        stores.append((rows, summary.frames, summary.stored, summary.quarantined, summary.skipped))
    assert stores[0] == stores[1]
    assert verdicts == [True]


def test_ingest_of_junk_or_a_cut_big_capture_reports_as_one_pass(tmp_path: Path) -> None:
    need_captures()
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"not a capture at all")
    for two in (False, True):
        assert "not a pcap" in (ingest_file(Store(tmp_path / f"j{two}"), junk, Registry(), parallel=two).error or "")
    big = tmp_path / "big.pcap"
    replicate(MAP_CAPTURE, big, 12)
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(big.read_bytes()[: big.stat().st_size * 4 // 5])
    summaries = [ingest_file(Store(tmp_path / f"c{two}"), cut, Registry(), parallel=two) for two in (False, True)]
    assert summaries[0].error is None
    assert (summaries[0].frames, summaries[0].events, summaries[0].quarantined, summaries[0].skipped) == (
        summaries[1].frames, summaries[1].events, summaries[1].quarantined, summaries[1].skipped)
