"""Commands: portal."""

from __future__ import annotations
