"""Commands: ``ingest signalling`` (captures into the ledger) and ``context load network`` (profile)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Table

from custodiet.cli.app import console, context_load_app, error_line, fail, ingest_app, store

if TYPE_CHECKING:
    from custodiet.context.network import Registry
    from custodiet.ingest.signalling import FileSummary
    from custodiet.store import Store

BIG_FILE = 8 << 20  # show a progress bar above this size


@ingest_app.command("signalling")
def ingest_signalling(
    files: list[Path] = typer.Argument(..., help="pcap or pcapng captures (SS7 over SIGTRAN, Diameter)."),
) -> None:
    """Decode signalling captures: every MAP invoke and Diameter request becomes an event.

    Frames that carry signalling but cannot be decoded go to quarantine with their frame number
    and reason; frames without signalling (ARP, GTP, SCTP control...) are counted in the summary.

    Exits 1 when a capture is cut short or corrupt part-way (its frames before that are stored) or a
    file cannot be read, 2 when no file could be read.
    """
    # Only the decoder is imported here. The store and registry (Arrow, DuckDB, the ledger, phonenumbers)
    # are imported by ``open_store``, which ``ingest_capture`` calls once the decoding child is forked.
    from custodiet.ingest.signalling.ingest import FileSummary, ingest_capture

    opened: list[tuple[Store, Registry]] = []

    def open_store() -> tuple[Store, Registry]:
        if not opened:
            from custodiet.context.network import NetworkProfileError, Registry

            st = store()
            try:
                opened.append((st, Registry.from_store(st)))
            except NetworkProfileError as exc:
                raise fail(f"the stored network profile is invalid: {exc}") from None
        return opened[0]

    from custodiet.ingest.guard import InputError, check_file

    summaries: list[FileSummary] = []
    for path in files:
        try:
            check_file(path)
        except InputError as exc:
            summaries.append(FileSummary(path.name, error=str(exc)))
            continue
        size = path.stat().st_size
        if size > BIG_FILE:
            from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

            with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                          TimeRemainingColumn(), console=console, transient=True) as bar:
                task = bar.add_task(path.name, total=size)

                def advance(n: int, bar: Progress = bar, task: TaskID = task) -> None:
                    bar.advance(task, n)

                summaries.append(ingest_capture(path, open_store, advance, head_start=not opened))
        else:
            summaries.append(ingest_capture(path, open_store, head_start=not opened))
    if not opened:
        open_store()  # no capture was read: an invalid network profile is still reported
    _print_summary(summaries)
    failed = [s for s in summaries if s.error]
    for s in failed:
        error_line(s.error or "")
    for s in summaries:
        if s.incomplete:
            error_line(f"incomplete capture: {s.incomplete} (the frames before it are stored)")
    if len(failed) == len(summaries):
        raise typer.Exit(2)
    if failed or any(s.incomplete for s in summaries):
        raise typer.Exit(1)


def _print_summary(summaries: list[FileSummary]) -> None:
    table = Table(title="signalling ingest")
    table.add_column("file", overflow="fold", min_width=16)
    for col in ("frames", "messages", "events", "stored", "dups", "quarantined"):
        table.add_column(col, justify="right")
    for s in summaries:
        if s.error:
            table.add_row(s.name, "-", "-", "-", "-", "-", "-")
            continue
        table.add_row(s.name, *(str(v) for v in (s.frames, s.messages, s.events, s.stored, s.duplicates,
                                                 s.quarantined)))
    console.print(table)
    for s in summaries:
        if s.error:
            continue
        parts = [f"{k}: {v}" for k, v in sorted(s.counts.items())]
        skipped = [f"{k}: {v}" for k, v in sorted(s.skipped.items(), key=lambda kv: -kv[1])]
        console.print(f"[bold]{s.name}[/] " + "; ".join(parts))
        if skipped:
            console.print("  frames without signalling — " + "; ".join(skipped), style="dim")


@context_load_app.command("network")
def load_network(
    file: Path = typer.Argument(..., help="Home network profile (TOML): [home] and [[partner]] tables."),
) -> None:
    """Validate the home network profile and keep it as <home>/context/network.toml."""
    from custodiet.context.network import NetworkProfileError, save_profile

    st = store()
    try:
        profile = save_profile(st, file)
    except NetworkProfileError as exc:
        raise fail(str(exc)) from None
    console.print(f"network profile {escape(file.name)} loaded: home [bold]{escape(profile.home.name)}[/] "
                  f"({profile.home.country}), {len(profile.home.gt_prefixes)} GT prefixes, "
                  f"{len(profile.partners)} partners")
