"""The decoding pipeline of one capture: frames -> link/IP/SCTP/TCP -> M3UA, M2PA, M2UA or MTP2 -> MTP3 -> SCCP
(with XUDT reassembly) -> TCAP, or -> Diameter. Yields one record per TCAP or Diameter message.

Frames without signalling (ARP, GTP, SCTP control, SCCP management, ...) are counted by reason in
``skipped``; frames that carry signalling but fail to decode are collected in ``failures`` with their
frame number, reason and raw bytes, for quarantine. Nothing is dropped silently.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from custodiet.ingest.signalling import diameter, tcap
from custodiet.ingest.signalling.capture import RawFrame, raw_frames
from custodiet.ingest.signalling.ss7 import Sccp, SccpMessage, mtp3_user
from custodiet.ingest.signalling.transport import DecodeError, Transport

SCMG_SSN = 1  # SCCP management


class MapRecord(NamedTuple):
    """One TCAP message (MAP or other TCAP user) and the SCCP envelope it came in."""

    frame: int
    ts_us: int
    sccp: SccpMessage
    tcap: tcap.TcapMessage
    # how it came: (adaptation "m3ua" | "m2pa" | "m2ua" | "mtp3" | "sccp", (transport "sctp" | "mtp2" |
    # "mtp3" | "sccp", IP source + destination addresses or b""), (OPC, DPC, M3UA routing context))
    via: tuple = ()


class DiameterRecord(NamedTuple):
    frame: int
    ts_us: int
    message: diameter.DiameterMessage
    via: tuple = ()  # (transport "sctp" | "tcp", IP source + destination addresses)


class Failure(NamedTuple):
    frame: int
    reason: str
    raw: str | None  # hex of the frame's bytes


Record = MapRecord | DiameterRecord


@dataclass
class CaptureDecoder:
    """Decode one capture file; iterate ``records()``, then read ``frames``, ``skipped``, ``failures``.

    ``decode`` and ``finish`` are the two halves of ``records()``, for ``parallel``: decode a run of
    frames (from any point of the capture, carrying state from run to run), then close the capture.
    """

    path: Path
    frames: int = 0  # number of the last frame read
    skipped: Counter[str] = field(default_factory=Counter)
    failures: list[Failure] = field(default_factory=list)
    bytes_read: int = 0
    transport: Transport = field(default_factory=Transport)
    sccp: Sccp = field(default_factory=Sccp)
    raw_by_frame: dict[int, bytes] = field(default_factory=dict)  # frames of segments still waiting
    max_ts_us: int = -1  # latest timestamp seen so far
    monotonic: bool = True  # no frame so far was earlier than the one before it

    def records(self) -> Iterator[Record]:
        yield from self.decode(raw_frames(self.path))
        self.finish()

    def decode(self, frames: Iterator[RawFrame]) -> Iterator[Record]:
        """Records of these frames, numbered on from ``self.frames``."""
        feed = self.transport.feed_raw
        sccp = self.sccp
        skipped = self.skipped
        raw_by_frame = self.raw_by_frame
        number, latest, monotonic, size = self.frames, self.max_ts_us, self.monotonic, self.bytes_read
        try:
            for ts_us, linktype, data in frames:
                number += 1
                size += len(data)
                if ts_us >= latest:
                    latest = ts_us
                else:
                    monotonic = False
                try:
                    units = feed(ts_us, linktype, data)
                except DecodeError as exc:
                    self.failures.append(Failure(number, str(exc), data.hex()))
                    continue
                if isinstance(units, str):
                    skipped[units] += 1
                    continue
                for protocol, payload, carrier in units:
                    record: Record | None
                    try:
                        if protocol == "diameter":
                            record = self._diameter(number, ts_us, payload, carrier)
                        else:
                            record = self._ss7(number, ts_us, data, protocol, payload, carrier, sccp, raw_by_frame)
                    except (DecodeError, tcap.TcapError, diameter.DiameterError) as exc:
                        self.failures.append(Failure(number, str(exc), data.hex()))
                        continue
                    if record is not None:
                        self.frames, self.bytes_read = number, size  # up to date for whoever reads them now
                        yield record
        finally:
            self.frames, self.bytes_read, self.max_ts_us, self.monotonic = number, size, latest, monotonic

    def finish(self) -> None:
        """End of capture: every SCCP segment still waiting for the rest of its message is a failure."""
        self.failures.extend(self.incomplete())

    def incomplete(self) -> list[Failure]:
        out = []
        for frame_number, reason in self.sccp.incomplete():
            raw = self.raw_by_frame.get(frame_number)
            out.append(Failure(frame_number, reason, raw.hex() if raw is not None else None))
        return out

    def _diameter(self, number: int, ts_us: int, payload: bytes, carrier: tuple) -> DiameterRecord | None:
        message = diameter.parse(payload)
        if not message.request and message.command_code in diameter.PEER_COMMANDS:
            self.skipped["diameter peer management"] += 1
            return None
        return DiameterRecord(number, ts_us, message, carrier)

    def _ss7(self, number: int, ts_us: int, frame: bytes, protocol: str, payload: bytes, carrier: tuple,
             sccp: Sccp, raw_by_frame: dict[int, bytes]) -> MapRecord | None:
        routed = mtp3_user(protocol, payload)
        if isinstance(routed, str):
            self.skipped[routed] += 1
            return None
        user, route = routed
        if user and user[0] in (0x11, 0x12, 0x13, 0x14):
            raw_by_frame[number] = frame  # kept in case the message never completes
        msg = sccp.decode(user, number)
        if isinstance(msg, str):
            self.skipped[msg] += 1
            return None
        if msg.segments:
            for segment in msg.segments:
                raw_by_frame.pop(segment, None)
        if msg.called.ssn == SCMG_SSN or msg.calling.ssn == SCMG_SSN:
            self.skipped["sccp management"] += 1
            return None
        if not msg.data:
            self.skipped["sccp (no user data)"] += 1
            return None
        return MapRecord(number, ts_us, msg, tcap.parse(msg.data), (protocol, carrier, route))
