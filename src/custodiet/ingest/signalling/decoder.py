"""The decoding pipeline of one capture: frames -> link/IP/SCTP/TCP -> M3UA or M2PA/MTP3 -> SCCP
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

from custodiet.ingest.signalling import diameter, tcap
from custodiet.ingest.signalling.capture import Frame, read_frames
from custodiet.ingest.signalling.ss7 import Sccp, SccpMessage, mtp3_user
from custodiet.ingest.signalling.transport import DecodeError, Transport

SCMG_SSN = 1  # SCCP management


@dataclass(frozen=True, slots=True)
class MapRecord:
    """One TCAP message (MAP or other TCAP user) and the SCCP envelope it came in."""

    frame: int
    ts_us: int
    sccp: SccpMessage
    tcap: tcap.TcapMessage


@dataclass(frozen=True, slots=True)
class DiameterRecord:
    frame: int
    ts_us: int
    message: diameter.DiameterMessage


@dataclass(frozen=True, slots=True)
class Failure:
    frame: int
    reason: str
    raw: str | None  # hex of the frame's bytes


@dataclass
class CaptureDecoder:
    """Decode one capture file; iterate ``records()``, then read ``frames``, ``skipped``, ``failures``."""

    path: Path
    frames: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    failures: list[Failure] = field(default_factory=list)
    bytes_read: int = 0

    def records(self) -> Iterator[MapRecord | DiameterRecord]:
        transport = Transport()
        sccp = Sccp()
        raw_by_frame: dict[int, bytes] = {}
        for frame in read_frames(self.path):
            self.frames += 1
            self.bytes_read += len(frame.data)
            try:
                units = transport.feed(frame)
            except DecodeError as exc:
                self._fail(frame, str(exc))
                continue
            if isinstance(units, str):
                self.skipped[units] += 1
                continue
            for protocol, payload in units:
                try:
                    yield from self._unit(frame, protocol, payload, sccp, raw_by_frame)
                except (DecodeError, tcap.TcapError, diameter.DiameterError) as exc:
                    self._fail(frame, str(exc))
        for number, reason in sccp.incomplete():
            raw = raw_by_frame.get(number)
            self.failures.append(Failure(number, reason, raw.hex() if raw is not None else None))

    def _unit(self, frame: Frame, protocol: str, payload: bytes, sccp: Sccp,
              raw_by_frame: dict[int, bytes]) -> Iterator[MapRecord | DiameterRecord]:
        if protocol == "diameter":
            message = diameter.parse(payload)
            if not message.request and message.command_code in diameter.PEER_COMMANDS:
                self.skipped["diameter peer management"] += 1
                return
            yield DiameterRecord(frame.number, frame.ts_us, message)
            return
        user = mtp3_user(protocol, payload)
        if isinstance(user, str):
            self.skipped[user] += 1
            return
        if user and user[0] in (0x11, 0x12, 0x13, 0x14):
            raw_by_frame[frame.number] = frame.data  # kept in case the message never completes
        msg = sccp.decode(user, frame.number)
        if isinstance(msg, str):
            self.skipped[msg] += 1
            return
        if msg.segments:
            for number in msg.segments:
                raw_by_frame.pop(number, None)
        if msg.called.ssn == SCMG_SSN or msg.calling.ssn == SCMG_SSN:
            self.skipped["sccp management"] += 1
            return
        if not msg.data:
            self.skipped["sccp (no user data)"] += 1
            return
        yield MapRecord(frame.number, frame.ts_us, msg, tcap.parse(msg.data))

    def _fail(self, frame: Frame, reason: str) -> None:
        self.failures.append(Failure(frame.number, reason, frame.data.hex()))
