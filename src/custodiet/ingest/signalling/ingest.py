"""Ingest signalling captures into the ledger: decode, map to events, pseudonymise, dedupe, append.

One ledger batch and one quarantine file per capture. Re-ingesting a capture stores nothing twice
(``batch``: event ids are content hashes).

This module imports only the decoder (pure Python, light). ``ingest_capture`` forks the decoding child
(``parallel``) before it asks for the store and registry, so that the heavy imports behind them
(Arrow, DuckDB, the ledger, phonenumbers) run while the child decodes: the CLI's start-up is hidden
behind the decoding instead of added to it.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from custodiet.ingest.signalling import parallel as two_processes
from custodiet.ingest.signalling.capture import CaptureError
from custodiet.ingest.signalling.decoder import CaptureDecoder, Failure

if TYPE_CHECKING:
    from custodiet.context.network import Registry
    from custodiet.store import Store

Opener = Callable[[], "tuple[Store, Registry]"]  # the store and registry, imported and opened on demand


@dataclass
class FileSummary:
    """What happened to one capture."""

    name: str
    frames: int = 0
    messages: int = 0  # TCAP and Diameter messages decoded
    events: int = 0  # events built
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # frames without signalling, by reason
    counts: dict[str, int] = field(default_factory=dict)  # messages by kind
    error: str | None = None  # set when the file could not be read at all
    incomplete: str | None = None  # set when the file is cut short or corrupt after some frames were read


def ingest_file(store: Store, path: Path, registry: Registry,
                progress: Callable[[int], None] | None = None, parallel: bool | None = None) -> FileSummary:
    """Decode one capture and store its events and rejections; never raises for bad content.

    ``parallel``: decode the second part of the capture in a forked process (``parallel``); by default
    for big captures on Linux with two or more CPUs. The result is the same either way.
    """
    return ingest_capture(path, lambda: (store, registry), progress, parallel)


def ingest_capture(path: Path, opener: Opener, progress: Callable[[int], None] | None = None,
                   parallel: bool | None = None, head_start: bool = False) -> FileSummary:
    """``ingest_file`` with the store and registry asked of ``opener`` once decoding is under way.

    ``head_start``: ``opener`` has heavy imports to do (the CLI's first capture); the child then takes
    more of the capture, and is forked for smaller captures too (``parallel.split_point``).
    Exceptions from ``opener`` propagate (the child is ended first).
    """
    summary = FileSummary(path.name)
    decoder = CaptureDecoder(path)
    forked = None
    try:
        if parallel or (parallel is None and two_processes.worth_it(path, head_start)):
            split = two_processes.split_point(path, head_start)
            if split is not None:
                forked = two_processes.ForkedDecode(decoder, split)
    except CaptureError as exc:
        summary.error = _named(path, exc)
        return summary
    try:
        store, registry = opener()
        from custodiet.ingest.event_batch import EventRows, store_batch
        from custodiet.ingest.signalling.mapping import EventMapper
    except BaseException:
        if forked is not None:
            forked.abandon()
        raise
    mapper = EventMapper(path.name, registry)
    last_bytes = 0
    collecting = gc.isenabled()
    gc.disable()  # decoding and mapping make no cyclic garbage; collections would rescan every event kept
    try:
        records = decoder.records() if forked is None else forked.records()
        for record in records:
            summary.messages += 1
            mapper.add(record)
            if progress is not None and decoder.bytes_read - last_bytes > 1 << 20:
                progress(decoder.bytes_read - last_bytes)
                last_bytes = decoder.bytes_read
    except CaptureError as exc:
        if decoder.frames == 0:
            summary.error = _named(path, exc)
            return summary
        decoder.failures.append(Failure(decoder.frames + 1, f"capture unreadable from here on: {exc}", None))
        summary.incomplete = _named(path, exc)
    finally:
        if collecting:
            gc.enable()
    if progress is not None:
        progress(decoder.bytes_read - last_bytes)
    summary.frames = decoder.frames
    summary.skipped = dict(decoder.skipped)
    summary.counts = dict(mapper.counts)
    rows = EventRows.of(mapper.events, path.name, store.pseudonymiser, "signalling")
    summary.events = len(rows)
    rejected = [(f.frame, f.reason, f.raw) for f in decoder.failures] + list(mapper.rejects)
    summary.stored, summary.duplicates, summary.quarantined = store_batch(store, path.name, rows, rejected)
    return summary


def _named(path: Path, exc: CaptureError) -> str:
    """The error's message, starting with the file's name."""
    text = str(exc)
    return text if text.startswith(path.name) else f"{path.name}: {text}"
