"""Signalling captures (pcap / pcapng) to access events: SS7 MAP over M3UA, M2PA, M2UA or MTP2/MTP3
links (and SCCP-only captures), over IPv4 or IPv6, and Diameter over SCTP or TCP (any port).

Layers, each a small module: ``capture`` (pcap/pcapng), ``transport`` (link, IP, SCTP, TCP, MTP2),
``ss7`` (M3UA, M2PA, M2UA, MTP3 routing label, SCCP with XUDT reassembly), ``tcap``, ``map_ops``
(+ ``map_full``, pycrate, off the hot path), ``diameter``; ``decoder`` chains them, ``mapping`` builds
events, ``batch`` stores them (Arrow arrays from buffers, without pyarrow's pandas import), ``ingest``
runs a capture through them. ``parallel`` decodes (part of) a capture in a forked process and keeps its
result only where it equals one pass; the CLI forks it before its heavy imports, which then run while
the child decodes.

Every TCAP invoke (every component) addressed to a MAP subsystem and every Diameter request is an
event; bytes that cannot be decoded go to quarantine. Attributes every signalling event carries for
checking who sent it: ``transport`` ("sctp", "tcp", "mtp2", "mtp3", "sccp"), ``src_ip``, ``dst_ip``;
for SS7 also ``adaptation`` ("m3ua", "m2pa", "m2ua", "mtp3", "sccp"), ``opc``, ``dpc``,
``routing_context``, ``sccp_calling_gt``, ``sccp_called_gt``, ``sccp_calling_pc``, ``sccp_called_pc``,
``actor_from``; for Diameter ``origin_host``, ``origin_realm``. How the request ended: ``answered``,
``answer`` ("result", "error", "reject", "abort", "dialogue refused", "returned", "end", or "answer"
for Diameter), ``error_code``/``error_name``, ``abort_cause``, ``result_code``,
``experimental_result_code``, ``answer_frame``.
"""

from __future__ import annotations

from custodiet.ingest.signalling.decoder import CaptureDecoder, DiameterRecord, Failure, MapRecord
from custodiet.ingest.signalling.ingest import FileSummary, ingest_file

__all__ = ["CaptureDecoder", "DiameterRecord", "Failure", "FileSummary", "MapRecord", "ingest_file"]
