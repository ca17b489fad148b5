"""Commands over the store itself: pseudonym, stats, events, quarantine."""

from __future__ import annotations

import typer

from custodiet.cli.app import DocFormat, RowFormat, app, fail, print_json, print_rows, print_table, store, time_option
from custodiet.vocabulary import SUBJECT_KINDS


@app.command()
def pseudonym(
    kind: str = typer.Argument(..., help=f"Subject kind: {', '.join(SUBJECT_KINDS)}."),
    value: str = typer.Argument(..., help="The identifier, in any accepted form."),
) -> None:
    """Print the pseudonym of one identifier (as stored in `subject`)."""
    from custodiet.identifiers import InvalidIdentifier

    if kind not in SUBJECT_KINDS:
        raise fail(f"unknown subject kind {kind!r}; use one of {', '.join(SUBJECT_KINDS)}")
    try:
        typer.echo(store().pseudonymiser.of_raw(kind, value))
    except InvalidIdentifier as exc:
        raise fail(str(exc)) from None


@app.command()
def stats(fmt: DocFormat = typer.Option(DocFormat.table, "--format", help="json or table.")) -> None:
    """Counts of what the store holds."""
    from custodiet.ledger.snapshot import take
    from custodiet.store import CONTEXT_SCHEMAS

    st = store()
    snapshot = take(st)  # one signed state: counts agree with each other and with `head`
    con = st.connect(snapshot=snapshot)
    doc: dict[str, object] = {
        "events": con.execute("SELECT count(*) FROM events").fetchall()[0][0],
        "quarantined": con.execute("SELECT count(*) FROM quarantine").fetchall()[0][0],
        "actors": con.execute("SELECT count(DISTINCT actor) FROM events").fetchall()[0][0],
        "segments": len(snapshot.segments),
    }
    first, last = con.execute("SELECT min(ts), max(ts) FROM events").fetchall()[0]
    doc["first_ts"] = first.isoformat() if first else None
    doc["last_ts"] = last.isoformat() if last else None
    doc["by_channel"] = dict(con.execute("SELECT channel, count(*) FROM events GROUP BY 1 ORDER BY 1").fetchall())
    doc["context"] = {n: con.execute(f"SELECT count(*) FROM {n}").fetchall()[0][0] for n in CONTEXT_SCHEMAS}
    if fmt is DocFormat.json:
        print_json(doc)
    else:
        print_table([{"what": k, "count": v} for k, v in doc.items()], title=f"store {st.home}")


@app.command()
def events(
    channel: str | None = typer.Option(None, help="Only this channel."),
    actor: str | None = typer.Option(None, help="Only this actor."),
    since: str | None = typer.Option(None, help="From this time on (ISO 8601; no zone means UTC)."),
    until: str | None = typer.Option(None, help="Before this time (ISO 8601)."),
    limit: int | None = typer.Option(None, min=1, help="At most this many events."),
    fmt: RowFormat = typer.Option(RowFormat.table, "--format", help="jsonl or table."),
) -> None:
    """Print stored events with all canonical fields, oldest first."""
    where, params = [], []
    start = None if since is None else time_option(since, "--since")
    end = None if until is None else time_option(until, "--until")
    for clause, value in (("channel = ?", channel), ("actor = ?", actor), ("ts >= ?", start), ("ts < ?", end)):
        if value is not None:
            where.append(clause)
            params.append(value)
    from custodiet.events import EVENT_FIELDS

    sql = f"SELECT {', '.join(EVENT_FIELDS)} FROM events"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY ts, event_id" + (f" LIMIT {int(limit)}" if limit else "")
    con = store().connect()
    rows = con.execute(sql, params).to_arrow_table().to_pylist()
    if fmt is RowFormat.jsonl:
        print_rows(rows, fmt)
    else:  # every field, one line per event (cells cut to the terminal's width; jsonl has them whole)
        print_table(rows, EVENT_FIELDS, wrap=False)


@app.command()
def quarantine(
    channel: str | None = typer.Option(None, help="Only records rejected on this channel (portal, context, ...)."),
    fmt: RowFormat = typer.Option(RowFormat.table, "--format", help="jsonl or table."),
) -> None:
    """List every rejected record: where it was (file and line), why, and its raw text."""
    from custodiet.quarantine import list_quarantine

    rows = list_quarantine(store(), channel)
    if fmt is RowFormat.jsonl:
        print_rows(rows, fmt)
    else:
        print_table(rows, ["source", "line", "reason", "raw"], title=f"{len(rows)} quarantined records")
