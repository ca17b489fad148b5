"""Commands: ``ingest interception`` (X1 task messages into the ledger)."""

from __future__ import annotations

from pathlib import Path

import typer

from custodiet.cli.app import DocFormat, err_console, error_line, ingest_app, print_json, print_table, store


@ingest_app.command("interception")
def ingest_interception(
    files: list[Path] = typer.Argument(..., help="X1 task messages: JSON lines or X1 XML, optionally .gz."),
    fmt: DocFormat = typer.Option(DocFormat.table, "--format", help="Summary as json or table."),
) -> None:
    """Read X1 (ETSI TS 103 221-1) task messages: every Activate, Modify and Deactivate becomes one event per
    target, on the interception channel, with the agency of the warrant its lIID names.

    Load the warrants first (`custodiet context load warrants FILE`): a message whose warrant is unknown at
    ingest keeps `unknown` as its actor (oversight still judges it against the warrants loaded when it runs).
    Messages that cannot be read go to quarantine with their line. Exits 1 when a file is cut short (its
    messages before the cut are stored) or cannot be read, 2 when no file could be read.
    """
    from custodiet.ingest.interception.ingest import ingest_x1

    st = store()
    if not st.context_path("warrants").exists():
        err_console.print("no warrants loaded: the events' actor will be `unknown` "
                          "(load them with: custodiet context load warrants FILE)", markup=False)
    summaries = [ingest_x1(st, path) for path in files]
    rows = [{**s.as_dict(), "skipped": sum(s.skipped.values()), "complete": "no" if s.incomplete else "yes"}
            for s in summaries if not s.error]
    if fmt is DocFormat.json:
        print_json({"files": [s.as_dict() for s in summaries]})
    elif rows:
        print_table(rows, ["name", "form", "messages", "events", "stored", "duplicates", "quarantined", "skipped",
                           "complete"], title="ingest interception")
        if any(s.quarantined for s in summaries):
            err_console.print("see the rejected messages with: custodiet quarantine --channel interception",
                              markup=False)
    failed = [s for s in summaries if s.error]
    for s in failed:
        error_line(s.error or "")
    for s in summaries:
        if s.incomplete:
            error_line(f"incomplete file: {s.incomplete} (the messages before it are stored)")
    if failed and len(failed) == len(summaries):
        raise typer.Exit(2)
    if failed or any(s.incomplete for s in summaries):
        raise typer.Exit(1)
