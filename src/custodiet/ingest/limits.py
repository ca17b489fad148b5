"""Ingest tunables shared by every tabular adapter."""

from __future__ import annotations

from datetime import timedelta

FIELD_LIMIT = 1024  # characters in one field; a longer one rejects the record
FUTURE_SKEW = timedelta(minutes=5)  # clock difference tolerated before a ts counts as in the future
BATCH_ROWS = 1_000_000  # events per ledger batch (one segment and one signed head each)
