"""Commands: signalling."""

from __future__ import annotations
