"""Commands: simulate (synthetic worlds with planted ground truth)."""

from __future__ import annotations

import time
from datetime import date, datetime
from pathlib import Path

import typer

from custodiet.cli.app import fail, simulate_app
from custodiet.simulate.portal.config import PortalConfig


def _parse_date(text: str) -> date:
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise fail(f"--end {text!r} is not a date like 2026-06-30") from None


@simulate_app.command("portal")
def simulate_portal(
    out: Path = typer.Option(..., "--out", help="Folder to write the world into (created if missing)."),
    seed: int = typer.Option(..., "--seed", help="Random seed; the same seed gives byte-identical files."),
    actors: int = typer.Option(PortalConfig.actors, "--actors", help="Number of portal accounts (officers)."),
    days: int = typer.Option(PortalConfig.days, "--days", help="Length of the world in days."),
    end: str = typer.Option(PortalConfig.end.isoformat(), "--end", help="Last (local) day of the world."),
) -> None:
    """Write a portal world: access_log.csv, actors/cases/case_subjects/protected.csv, leaks/, truth.json.

    Units of officers work their cases (verification cells look up strangers all day); planted abusers
    of every kind (bulk and quiet sellers, VIP snooping, stalking, enumeration, case misuse, a hijacked
    account, ramp-up) act among them, and samples of the sellers' data turn up for sale in leaks/.
    """
    from custodiet.simulate.portal import generate

    cfg = PortalConfig(seed=seed, actors=actors, days=days, end=_parse_date(end))
    began = time.perf_counter()
    try:
        truth = generate(cfg, out)
    except ValueError as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(f"{out}: cannot write the world there: {exc.strerror or exc}") from None
    took = time.perf_counter() - began
    typer.echo(f"wrote {out}: {truth['events']:,} events, {actors} actors, {days} days "
                  f"({truth['start']} to {truth['end']}), {len(truth['abusers'])} planted abusers, "
                  f"{len(truth['leaks'])} leaks in {took:.1f} s")
