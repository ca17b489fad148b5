"""Commands: simulate."""

from __future__ import annotations
