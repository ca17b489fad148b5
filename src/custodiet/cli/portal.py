"""Commands: `ingest portal` and `context load actors|cases|case-subjects|protected`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from custodiet.cli.app import (
    DocFormat,
    context_load_app,
    err_console,
    error_line,
    fail,
    ingest_app,
    print_json,
    print_table,
    store,
)
from custodiet.context.specs import SPECS
from custodiet.ingest.limits import BATCH_ROWS

MAX_SHRINK = 0.10  # as context.load.MAX_SHRINK (not imported here: the CLI's start-up stays light)

if TYPE_CHECKING:
    from custodiet.ingest.portal import IngestSummary

_STEPS = ("reading", "pseudonymising", "validating", "deduplicating", "writing")


@ingest_app.command("portal")
def ingest_portal_cmd(
    files: list[Path] = typer.Argument(..., help="Portal access logs: .csv, .jsonl or .parquet, optionally .gz."),
    fmt: DocFormat = typer.Option(DocFormat.table, "--format", help="Summary as json or table."),
    batch_rows: int = typer.Option(BATCH_ROWS, "--batch-rows", min=1,
                                   help="Events per ledger batch (one segment and one signed head each)."),
) -> None:
    """Read portal access logs into the ledger. Bad records go to quarantine; nothing is stored twice.

    Exits 0 when every file was processed (even with quarantined records), 1 when a file could not be
    read at all or is incomplete (a truncated gzip stream, a last record cut short: its whole records are
    stored, the cut one quarantined); the other files are still ingested.
    """
    from custodiet.ingest.portal import ingest_portal
    from custodiet.ingest.tabular import InputError

    st = store()
    summaries: list[IngestSummary] = []
    unreadable: list[str] = []
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                  console=err_console, transient=True) as progress:
        for path in files:
            task = progress.add_task(f"{path.name}: starting", total=len(_STEPS))

            def on_step(name: str, task: TaskID = task, path: Path = path) -> None:
                progress.update(task, description=f"{path.name}: {name}", completed=_STEPS.index(name))

            try:
                summaries.append(ingest_portal(st, path, on_step=on_step, batch_rows=batch_rows))
            except InputError as exc:
                unreadable.append(str(exc))
                error_line(str(exc))
            progress.update(task, completed=len(_STEPS))
    rows = [{**s.as_dict(), "complete": "no" if s.incomplete else "yes"} for s in summaries]
    if fmt is DocFormat.json:
        print_json({"files": rows, "unreadable": unreadable})
    elif rows:
        print_table(rows, ["file", "read", "stored", "duplicates", "quarantined", "blank_lines", "complete"],
                    title="ingest portal")
        if any(s.quarantined for s in summaries):
            err_console.print("see the rejected records with: custodiet quarantine")
    for s in summaries:
        if s.incomplete:
            error_line(f"incomplete file: {s.incomplete}")
    if unreadable or any(s.incomplete for s in summaries):
        raise typer.Exit(1)


def _register(kind: str) -> None:
    spec = SPECS[kind]

    def command(
        file: Path = typer.Argument(..., help="CSV, JSON lines or Parquet, optionally .gz."),
        append: bool = typer.Option(False, "--append", help="Add to the table instead of replacing it."),
        allow_shrink: bool = typer.Option(False, "--allow-shrink",
                                          help="Replace the table even if that removes many of its rows."),
        max_shrink: float = typer.Option(MAX_SHRINK, "--max-shrink", min=0.0, max=1.0,
                                         help="Share of the table's rows a replacement may remove."),
        fmt: DocFormat = typer.Option(DocFormat.table, "--format", help="Summary as json or table."),
    ) -> None:
        from custodiet.context.load import load_context
        from custodiet.ingest.tabular import InputError

        try:
            summary = load_context(store(), kind, file, append=append, max_shrink=max_shrink,
                                   allow_shrink=allow_shrink)
        except InputError as exc:
            raise fail(str(exc), 1) from None
        if fmt is DocFormat.json:
            print_json(summary.as_dict())
            return
        print_table([summary.as_dict()], ["table", "file", "read", "loaded", "quarantined", "previous", "added",
                                          "removed", "changed", "total"], title=f"context {kind}")
        for what, keys in summary.examples.items():
            more = getattr(summary, what) - len(keys)
            err_console.print(f"{what}: {', '.join(keys)}" + (f" and {more:,} more" if more > 0 else ""),
                              markup=False, soft_wrap=True)
        if summary.quarantined:
            err_console.print("see the rejected records with: custodiet quarantine --channel context")

    command.__doc__ = (f"Load {kind} (columns: {', '.join(spec.fields)}; required: {', '.join(spec.required)}). "
                       "Subjects are pseudonymised; bad records go to quarantine. The whole file is checked "
                       "before the table is replaced; an incomplete file, or one that would remove more than "
                       "--max-shrink of the table, changes nothing and exits 1.")
    context_load_app.command(kind)(command)


for _kind in SPECS:
    _register(_kind)
