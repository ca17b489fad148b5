"""Commands: signalling_ingest."""

from __future__ import annotations
