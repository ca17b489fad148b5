"""Property: any bytes given to a parser yield records or a clear error of the parser's own type (which the
CLI turns into one line), never another exception. Example counts stay modest so the suite stays fast."""

from __future__ import annotations

import gzip
import io
import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custodiet import leaks
from custodiet.context.network import NetworkProfile, NetworkProfileError
from custodiet.ingest import fastcsv, guard, readers, record_checks
from custodiet.ingest.signalling.capture import CaptureError, frames_of
from custodiet.ingest.tabular import InputError

T = TypeVar("T")
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])
FIELDS = ["ts", "actor", "subject", "subject_kind", "data_kind", "event_id"]
REQUIRED = FIELDS[:5]
HEADER = b"ts,actor,subject,subject_kind,data_kind,event_id\n"
RECORD = b"2026-03-01T08:00:00Z,off1,+8801712345678,msisdn,cdr,e1\n"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _csvish() -> st.SearchStrategy[bytes]:
    """Bytes that look like a portal CSV often enough to get past the header: the header and records,
    spliced with random bytes, commas, quotes, line ends and non-UTF-8 bytes, possibly cut anywhere."""
    piece = st.sampled_from([RECORD, b",", b'"', b"\n", b"\r\n", b" ", b"\xe9", b"\x00", b"x" * 1100, b"{}"])
    body = st.lists(st.one_of(piece, st.binary(max_size=40)), max_size=30).map(b"".join)
    return st.one_of(st.binary(max_size=200), st.tuples(body, st.integers(0, 2000)).map(
        lambda bc: (HEADER + bc[0])[: len(HEADER) + bc[1]]))


def _jsonish() -> st.SearchStrategy[bytes]:
    line = st.sampled_from([b'{"ts": "2026-03-01T08:00:00Z", "actor": "a", "subject": "+8801712345678", '
                            b'"subject_kind": "msisdn", "data_kind": "cdr"}', b"[1]", b"{", b'{"ts": 1}', b"null"])
    return st.lists(st.one_of(line, st.binary(max_size=30)), max_size=10).map(b"\n".join)


def _attempt(call: Callable[[], T], error: type[Exception]) -> tuple[T | None, Exception | None]:
    """``call()``'s result, or the ``error`` it raised (any other exception propagates and fails the test)."""
    try:
        return call(), None
    except error as exc:
        return None, exc


@contextmanager
def _written(folder: Path, name: str, data: bytes) -> Iterator[Path]:
    path = folder / name
    path.write_bytes(data)
    try:
        yield path
    finally:
        path.unlink()


def _stage_and_check(path: Path, fast: bool = False) -> None:
    """Stage ``path`` and run the structural and record checks over every staged row."""
    con = duckdb.connect()
    try:
        before = fastcsv.MIN_BYTES
        fastcsv.MIN_BYTES = 0 if fast else before
        try:
            for staged in readers.stagings(con, path, "st", FIELDS, REQUIRED):
                if staged.columns is not None:
                    staged.define_view(con, staged.columns)
                actor_given = record_checks.missing_check(staged, "k", "actor")
                reasons = record_checks.reasons_sql(staged, "k", [actor_given], 1024)
                con.execute(f"SELECT {reasons} FROM st k").fetchall()
        finally:
            fastcsv.MIN_BYTES = before
    except InputError:
        pass
    finally:
        con.close()


@FUZZ
@given(data=_csvish(), gz=st.booleans())
def test_csv_line_path(folder: Path, data: bytes, gz: bool) -> None:
    name = "f.csv.gz" if gz else "f.csv"
    payload = gzip.compress(data, mtime=0) if gz else data
    with _written(folder, name, payload) as path:
        _stage_and_check(path)


@FUZZ
@given(data=_csvish())
def test_csv_arrow_fast_path(folder: Path, data: bytes) -> None:
    with _written(folder, "f.csv", data) as path:
        _stage_and_check(path, fast=True)


@FUZZ
@given(data=_jsonish(), cut=st.integers(0, 400))
def test_json_lines(folder: Path, data: bytes, cut: int) -> None:
    with _written(folder, "f.jsonl", data[:cut]) as path:
        _stage_and_check(path)


def _parquet_bytes() -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.table({f: [f"v{i}" for i in range(20)] for f in REQUIRED}), sink)
    return sink.getvalue()


PARQUET = _parquet_bytes()


@FUZZ
@given(cut=st.integers(0, len(PARQUET)), flips=st.lists(st.tuples(st.integers(0, len(PARQUET) - 1),
                                                                   st.integers(0, 255)), max_size=4))
def test_parquet(folder: Path, cut: int, flips: list[tuple[int, int]]) -> None:
    data = bytearray(PARQUET)
    for at, value in flips:
        data[at] = value
    with _written(folder, "f.parquet", bytes(data[:cut])) as path:
        _stage_and_check(path)


def _pcap_bytes(frames: int = 5) -> bytes:
    out = io.BytesIO()
    out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for i in range(frames):
        out.write(struct.pack("<IIII", i, 0, 40, 40) + bytes(40))
    return out.getvalue()


PCAP = _pcap_bytes()


@FUZZ
@given(data=st.one_of(st.binary(max_size=300), st.tuples(st.integers(0, len(PCAP)), st.lists(
    st.tuples(st.integers(0, len(PCAP) - 1), st.integers(0, 255)), max_size=4)).map(
        lambda cf: bytes(_flipped(PCAP, cf[1])[: cf[0]]))))
def test_pcap(data: bytes) -> None:
    frames, error = _attempt(lambda: list(frames_of(data, "f.pcap")), CaptureError)
    if error is not None:
        assert str(error)
    else:
        assert all(isinstance(f[2], bytes) for f in frames)


def _flipped(data: bytes, flips: list[tuple[int, int]]) -> bytearray:
    out = bytearray(data)
    for at, value in flips:
        out[at] = value
    return out


PROFILE = (b'[home]\nname = "Example Mobile"\ncountry = "US"\nmcc_mnc = ["310-260"]\ngt_prefixes = ["1206555"]\n'
           b'[[partner]]\nname = "Island"\ncountry = "BS"\ngt_prefixes = ["1242357"]\nroaming = true\n')


@FUZZ
@given(data=st.one_of(st.binary(max_size=200), st.tuples(st.integers(0, len(PROFILE)), st.lists(
    st.tuples(st.integers(0, len(PROFILE) - 1), st.integers(0, 255)), max_size=3)).map(
        lambda cf: bytes(_flipped(PROFILE, cf[1])[: cf[0]]))))
def test_network_profile(folder: Path, data: bytes) -> None:
    with _written(folder, "network.toml", data) as path:
        profile, error = _attempt(lambda: NetworkProfile.load(path), NetworkProfileError)
    if error is not None:
        assert str(error)
    else:
        assert profile.home.name


@FUZZ
@given(data=_csvish(), gz=st.booleans(), cut=st.integers(0, 3000))
def test_leak_sample(folder: Path, data: bytes, gz: bool, cut: int) -> None:
    data = data.replace(HEADER, b"subject,subject_kind\n")
    payload = gzip.compress(data, mtime=0)[:cut] if gz else data
    with _written(folder, "sample.csv.gz" if gz else "sample.csv", payload) as path:
        sample, error = _attempt(lambda: leaks.read_sample(path), leaks.LeakInputError)
    if error is not None:
        assert path.name in str(error)
    else:
        assert all(isinstance(r[0], int) for r in sample[0])


@FUZZ
@given(data=st.binary(max_size=300), cut=st.integers(0, 400))
def test_gzip_check(folder: Path, data: bytes, cut: int) -> None:
    with _written(folder, "f.gz", gzip.compress(data, mtime=0)[:cut] or b"\x1f\x8b") as path:
        try:
            check = guard.check_gzip(path)
        except InputError:
            return
        assert check.complete == (cut >= len(gzip.compress(data, mtime=0)))
