"""Commands: ``simulate signalling`` (a world with planted attacks) and ``signalling report``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from custodiet.cli.app import app, console, fail, simulate_app, store

signalling_app = typer.Typer(help="Signalling monitor (SS7 MAP, Diameter): reports.", no_args_is_help=True)
app.add_typer(signalling_app, name="signalling")


class ReportFormat(StrEnum):
    html = "html"
    json = "json"
    md = "md"


@simulate_app.command("signalling")
def simulate_signalling_cmd(
    out: Path = typer.Option(..., "--out", help="Folder for map.pcap, diameter.pcap, network.toml, truth.json."),
    seed: int = typer.Option(1, "--seed", help="Random seed: the same seed writes the same files."),
    subscribers: int = typer.Option(1000, "--subscribers", min=60, max=1000, help="Home subscribers."),
    days: int = typer.Option(7, "--days", min=1, max=60, help="Days of traffic."),
) -> None:
    """Write a signalling world: real encoded M3UA/SCCP/TCAP/MAP and Diameter captures of a home network's
    interconnect, legitimate roaming from many partners, planted attacks of every FS.11/FS.19 category, a
    probing sweep and a coordinated campaign; plus the home network profile and truth.json.

    Then: ``custodiet context load network OUT/network.toml``, ``custodiet ingest signalling OUT/*.pcap``,
    ``custodiet evaluate --truth OUT/truth.json``.
    """
    from custodiet.simulate.signalling import simulate_signalling

    try:
        truth = simulate_signalling(out, seed, subscribers=subscribers, days=days)
    except OSError as exc:
        raise fail(f"{out}: cannot write the world there: {exc.strerror or exc}") from None
    console.print(f"wrote {out}: {truth['legitimate_messages']:,} legitimate requests, "
                  f"{len(truth['attacks']):,} planted attacks, {len(truth['campaigns'])} campaign(s)")


@signalling_app.command("report")
def report_cmd(
    fmt: ReportFormat = typer.Option(ReportFormat.md, "--format", help="html, json or md."),
    out: Path | None = typer.Option(None, "--out", help="Write to this file instead of standard output."),
    top: int = typer.Option(10, "--top", min=1, help="Rows in the operator, country and subscriber tables."),
) -> None:
    """Attacks by category, by source operator and country (with shares), the most attacked subscribers,
    campaigns with their member networks, and a chart over time.

    Runs the signalling detectors over the store (in memory; stored findings are not changed).
    """
    from custodiet.detect.signalling.evaluate import signalling_findings
    from custodiet.ledger.snapshot import take
    from custodiet.report.render import RENDERERS
    from custodiet.report.signalling import build_report

    st = store()
    if not take(st).size:  # the signed events: a file no head covers is not one
        raise fail(f"no events in {st.home}: ingest signalling captures first")
    report = build_report(st, signalling_findings(st), top=top)
    text = RENDERERS[fmt.value](report)
    if out is None:
        typer.echo(text, nl=False)
    else:
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise fail(f"{out}: cannot write the report: {exc.strerror or exc}") from None
        console.print(f"wrote {out}")
