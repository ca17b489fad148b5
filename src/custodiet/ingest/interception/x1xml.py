"""X1 XML (ETSI TS 103 221-1) provisioning messages: the writer (reader to follow)."""

from __future__ import annotations

from custodiet.ingest.interception.x1write import X1_NS, X1_VERSION, write_x1_xml

__all__ = ["X1_NS", "X1_VERSION", "write_x1_xml"]
