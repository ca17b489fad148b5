"""Decode a big capture on two cores, with exactly the result of one pass.

A forked child decodes the frames after a split point, starting from empty per-capture state, while
this process decodes the frames up to it. Per-capture state (SCTP TSNs and fragments, IPv4 fragments,
TCP streams, SCCP segments) is the only thing that could make the child's result differ from one
pass, so the child notes every lookup of that state that found nothing (``Transport.misses``,
``Sccp.misses``). When none of those keys is in the state this process holds after the split frame,
and pruning the TSN table cannot have mattered, the child's records, counts and failures are exactly
those of one pass and are used. Otherwise this process decodes the rest itself: slower, never
different. Mapping (dialogues, answers to invokes) always runs in this process, in capture order.

The child writes its records to an unnamed temporary file in chunks, then a trailer (counts, failures,
misses) and the trailer's offset, so its records never pile up in memory. It decodes the capture as this
process read it before the fork (shared pages, not read twice).

It pays only with a CPU to spare: on a busy machine the two processes just compete (``available``).
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
import sys
import warnings
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import IO, Any

from custodiet.ingest.signalling.capture import CaptureError, RawFrame, frames_of, raw_frames
from custodiet.ingest.signalling.decoder import CaptureDecoder, DiameterRecord, Failure, MapRecord, Record
from custodiet.ingest.signalling.diameter import DiameterMessage
from custodiet.ingest.signalling.ss7 import SccpMessage, parse_address
from custodiet.ingest.signalling.tcap import Component, TcapMessage
from custodiet.ingest.signalling.transport import TSN_TABLE_LIMIT

MIN_BYTES = 4 << 20  # below this a second process costs about what it saves
MIN_BYTES_HEAD_START = 256 << 10  # ... unless this process has its imports still to do (``worth_it``)
# The balance (``split_point``): this process decodes k frames and maps every record, the child's after it
# has finished; mapping costs about 0.45 of decoding per frame. Both halves take as long when
# k = (frames - head start) / (2 + 0.45), where the head start is the imports this process still has to do.
PARENT_SHARE = 0.41
IMPORT_FRAMES = 60_000  # the CLI's imports after the fork (store, Arrow, ledger, phonenumbers): ~0.4 s
SAMPLE_FRAMES = 4096  # frames read to estimate the capture's frame count ...
SAMPLE_BYTES = 4 << 20  # ... from at most its first bytes
CHUNK = 8192  # records per pickled chunk


def available() -> bool:
    """Whether a forked decoder can help here: Linux (fork is safe for this pure-Python work), two or
    more CPUs, and the machine not saturated (1-minute load average below the CPU count; this process
    alone accounts for about 1). On a saturated machine the child only competes with this process, and
    the copying between them makes the whole slower."""
    if not (sys.platform.startswith("linux") and hasattr(os, "fork")):
        return False
    cpus = len(os.sched_getaffinity(0))
    return cpus >= 2 and os.getloadavg()[0] < cpus


def worth_it(path: Path, head_start: bool = False) -> bool:
    """Whether to decode this capture in two processes (big enough, and ``available``).

    ``head_start``: this process has its heavy imports still to do (the CLI); then the child is worth
    forking for much smaller captures, since it decodes while this process imports."""
    return path.stat().st_size >= (MIN_BYTES_HEAD_START if head_start else MIN_BYTES) and available()


def split_point(path: Path, head_start: bool = False) -> int | None:
    """The frame after which the child takes over (0: the child decodes everything), estimated from the
    sizes of the frames in the first megabytes; None if the capture is too small to share. Raises
    ``CaptureError`` for a non-capture, as ``raw_frames`` would.

    Balance: this process decodes frames 1..k, then maps every record; the child decodes the rest.
    With ``head_start`` this process first imports the store, Arrow and the ledger (worth about
    ``IMPORT_FRAMES`` frames of decoding), so it takes less: below that many frames, nothing (the child
    decodes the whole capture while this process imports, then maps)."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    sizes = []
    try:
        for _, _, data in islice(frames_of(head, path.name), SAMPLE_FRAMES):
            sizes.append(len(data) + 16)
    except CaptureError:
        pass  # the sample's last frame is cut short, or the file is corrupt: the decoder will say where
    if not sizes or (len(sizes) < SAMPLE_FRAMES and not head_start):
        return None
    total = size / (sum(sizes) / len(sizes))
    if head_start:
        return max(0, int((total - IMPORT_FRAMES) * PARENT_SHARE))
    return max(1, int(total * PARENT_SHARE))


def records(decoder: CaptureDecoder, split: int) -> Iterator[Record]:
    """What ``decoder.records()`` yields, and the same state left in ``decoder``; frames after
    ``split`` are decoded in a forked child when that gives the same result. The child is forked at
    the first ``next()``; ``ForkedDecode`` forks at once."""
    yield from ForkedDecode(decoder, split).records()


class ForkedDecode:
    """A child process decoding the frames after ``split``, forked when this object is made.

    Made before the caller's heavy imports (the CLI imports the store, Arrow and the ledger only after
    it), the child decodes while this process imports. ``records()`` then yields what
    ``decoder.records()`` would; ``abandon()`` ends the child when its work is not wanted.
    Raises ``CaptureError`` at once for a file that is no capture, as ``raw_frames`` does.
    """

    def __init__(self, decoder: CaptureDecoder, split: int) -> None:
        import tempfile  # here: only big captures need it

        self.decoder, self.split = decoder, split
        self.frames = raw_frames(decoder.path)  # a file that is no capture fails here, as in one pass
        self.spool: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed by records() or abandon()
        with warnings.catch_warnings():  # Python 3.12+ warns about fork in threaded processes: the child
            warnings.simplefilter("ignore", DeprecationWarning)  # only decodes bytes, then _exits
            self.pid = os.fork()
        if self.pid == 0:  # pragma: no cover - the child's coverage is not collected
            _child(decoder.path, self.frames, split, self.spool)  # the capture as read here: shared, not re-read
        self.status: int | None = None

    def abandon(self) -> None:
        """Kill the child (if still running) and drop its output."""
        if self.status is None:
            os.kill(self.pid, signal.SIGKILL)
            _, self.status = os.waitpid(self.pid, 0)
        self.spool.close()

    def records(self) -> Iterator[Record]:
        decoder, split, frames, spool = self.decoder, self.split, self.frames, self.spool
        with spool:
            try:
                yield from decoder.decode(islice(frames, split))
            except BaseException:  # this half failed or was abandoned: the child's work is not wanted
                os.kill(self.pid, signal.SIGKILL)
                raise
            finally:
                _, self.status = os.waitpid(self.pid, 0)
            status = self.status
            trailer = _trailer(spool) if status == 0 and decoder.frames == split else None
            if trailer is None or not _exact(decoder, trailer):
                yield from decoder.decode(frames)  # one pass from here on, as if there were no child
                decoder.finish()
                return
            decoder.frames = trailer["frames"]
            decoder.bytes_read += trailer["bytes_read"]
            for reason, count in trailer["skipped"]:
                decoder.skipped[reason] += count
            decoder.failures.extend(Failure(*f) for f in trailer["failures"])
            spool.seek(0)
            load = pickle.load
            while spool.tell() < trailer["offset"]:
                for flat in load(spool):
                    yield _rebuild(flat)
            if trailer["error"] is not None:
                raise CaptureError(trailer["error"])
            decoder.failures.extend(decoder.incomplete())  # this half's waiting segments, then the child's
            decoder.failures.extend(Failure(*f) for f in trailer["incomplete"])


def _child(path: Path, frames: Iterator[RawFrame], split: int, spool: IO[bytes]
           ) -> None:  # pragma: no cover - runs in the child
    """Decode frames split+1.. from empty state; write chunks of records, the trailer, its offset."""
    status = 1
    gc.disable()  # nothing it makes is cyclic garbage; collections would only rescan the records
    try:
        child = CaptureDecoder(path)
        misses: list[tuple] = []
        child.transport.misses = child.sccp.misses = misses
        child.frames = start = sum(1 for _ in islice(frames, split))
        error = None
        chunk: list[tuple] = []
        try:
            for record in child.decode(frames):
                chunk.append(_flat(record))
                if len(chunk) == CHUNK:
                    pickle.dump(chunk, spool, pickle.HIGHEST_PROTOCOL)
                    chunk = []
        except CaptureError as exc:
            error = str(exc)
        if chunk:
            pickle.dump(chunk, spool, pickle.HIGHEST_PROTOCOL)
        offset = spool.tell()
        pickle.dump({
            "offset": offset, "start": start, "frames": child.frames, "bytes_read": child.bytes_read,
            "skipped": list(child.skipped.items()), "failures": [tuple(f) for f in child.failures],
            "incomplete": [tuple(f) for f in child.incomplete()] if error is None else [],
            "misses": misses, "tsns": len(child.transport.sctp_tsns), "pruned": child.transport.pruned,
            "monotonic": child.monotonic, "error": error,
        }, spool, pickle.HIGHEST_PROTOCOL)
        spool.write(offset.to_bytes(8, "big"))
        spool.flush()
        status = 0
    finally:
        os._exit(status)


def _trailer(spool: IO[bytes]) -> dict[str, Any] | None:
    try:
        spool.seek(-8, os.SEEK_END)
        spool.seek(int.from_bytes(spool.read(8), "big"))
        trailer: dict[str, Any] = pickle.load(spool)
        return trailer
    except (OSError, EOFError, pickle.UnpicklingError):
        return None


def _exact(decoder: CaptureDecoder, trailer: dict[str, Any]) -> bool:
    """Whether the child's decode equals one pass: nothing it looked up and missed is in our state."""
    if trailer["start"] != decoder.frames:
        return False
    transport, pending = decoder.transport, decoder.sccp.pending
    window = transport.retransmission_window_us
    for miss in trailer["misses"]:
        kind, key = miss[0], miss[1]
        if kind == "tsn":
            seen = transport.sctp_tsns.get(key)
            if seen is not None and 0 <= miss[2] - seen <= window:
                return False  # one pass would have called this chunk a retransmission
        elif key in (transport.sctp_fragments if kind == "sctp" else transport.ip_fragments if kind == "ip"
                     else transport.tcp_streams if kind == "tcp" else pending):
            return False
    # The TSN table is pruned of entries older than the window when it grows past its limit. A prune
    # can change a verdict only for a later frame stamped earlier than the prune: not if no prune can
    # have happened in one pass, nor if the child's frames never go back in time.
    no_prune = not trailer["pruned"] and len(transport.sctp_tsns) + trailer["tsns"] <= TSN_TABLE_LIMIT
    return no_prune or trailer["monotonic"]


def _flat(record: Record) -> tuple:  # pragma: no cover - runs in the child
    """A record as plain tuples (pickled much faster than named tuples)."""
    if isinstance(record, MapRecord):
        s, t = record.sccp, record.tcap
        return (record.frame, record.ts_us, s.kind, s.called.raw, s.calling.raw, s.data, s.return_cause,
                s.segments, t.type, t.otid, t.dtid, t.app_context, t.dialogue, t.dialogue_refused, t.abort_cause,
                tuple(map(tuple, t.components)), t.user_info, record.via)
    m = record.message
    return (record.frame, record.ts_us, record.via, m.request, m.command_code, m.application_id, m.hop_by_hop,
            m.end_to_end, m.raw, m.avps, m.result_code, m.experimental_result_code)


def _rebuild(flat: tuple) -> Record:
    if len(flat) == 12:
        return DiameterRecord(flat[0], flat[1], DiameterMessage(*flat[3:]), flat[2])
    sccp = SccpMessage(flat[2], parse_address(flat[3]), parse_address(flat[4]), flat[5], flat[6], flat[7])
    tcap = TcapMessage(flat[8], flat[9], flat[10], flat[11], flat[12], flat[13], flat[14],
                       tuple([Component(*c) for c in flat[15]]), flat[16])
    return MapRecord(flat[0], flat[1], sccp, tcap, flat[17])


__all__ = ["ForkedDecode", "available", "records", "split_point", "worth_it"]
