"""Shared by the simulator tests: the small world's config, a CSV reader and the log's time parser."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from custodiet.simulate.portal import PortalConfig

SMALL = PortalConfig(seed=11, actors=70, days=45, end=date(2026, 3, 31))


def iso(text: str) -> datetime:
    """A time as the world writes it (``2026-04-02T02:18:01.514Z``)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def read_csv(path: Path) -> pa.Table:
    """Every column as text, empty fields as null: the way an ingest would first see them."""
    names = path.read_text(encoding="utf-8").split("\n", 1)[0].split(",")
    convert = pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=True)
    return pacsv.read_csv(path, convert_options=convert)
