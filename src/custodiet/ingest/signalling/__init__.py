"""Signalling captures (pcap / pcapng) to access events: SS7 MAP over M3UA or M2PA/MTP3, and Diameter.

Layers, each a small module: ``capture`` (pcap/pcapng), ``transport`` (link, IP, SCTP, TCP), ``ss7``
(M3UA, M2PA/MTP3, SCCP with XUDT reassembly), ``tcap``, ``map_ops`` (+ ``map_full``, pycrate, off the
hot path), ``diameter``; ``decoder`` chains them, ``mapping`` builds events, ``batch`` stores them
(Arrow arrays from buffers, without pyarrow's pandas import), ``ingest`` runs a capture through them.
``parallel`` decodes (part of) a capture in a forked process and keeps its result only where it equals
one pass; the CLI forks it before its heavy imports, which then run while the child decodes.
"""

from __future__ import annotations

from custodiet.ingest.signalling.decoder import CaptureDecoder, DiameterRecord, Failure, MapRecord
from custodiet.ingest.signalling.ingest import FileSummary, ingest_file

__all__ = ["CaptureDecoder", "DiameterRecord", "Failure", "FileSummary", "MapRecord", "ingest_file"]
