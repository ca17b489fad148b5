"""The bundle's readable report: one self-contained HTML page (no external asset), and its PDF by Chromium.

The report shows the case, its chain of custody, its findings with their sentences, a table of the events
behind them (ids, times, accounts, pseudonymised subjects, leaf indices), the signed head the proofs lead
to, and how to verify the bundle. It holds nothing the store does not: subjects are keyed pseudonyms.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from html import escape
from pathlib import Path
from typing import Any

from custodiet.ledger.signing import fingerprint

CHROMIUM_ENV = "CUSTODIET_CHROMIUM"
PDF_TIMEOUT = 180  # seconds

STYLE = """
@page { size: A4 landscape; margin: 12mm; }
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 10pt; margin: 1.5em; color: #111; }
h1 { font-size: 16pt; margin-bottom: 0.2em; } h2 { font-size: 12.5pt; margin-top: 1.4em; }
table { border-collapse: collapse; width: 100%; margin: 0.4em 0; }
th, td { border: 1px solid #bbb; padding: 2px 5px; text-align: left; vertical-align: top; }
th { background: #eee; } td.mono, span.mono { font-family: "DejaVu Sans Mono", monospace; font-size: 8pt;
  word-break: break-all; }
.sentence { font-style: italic; } .meta td:first-child { width: 12em; font-weight: bold; }
pre { background: #f4f4f4; padding: 0.5em; white-space: pre-wrap; font-size: 8.5pt; }
table.events { font-size: 8pt; }
@media print { body { margin: 0; } }
"""


class ChromiumError(RuntimeError):
    """Chromium is missing, or did not print the PDF; the message says which."""


def _cell(value: Any, mono: bool = False) -> str:
    text = "" if value is None else str(value)
    return f'<td class="mono">{escape(text)}</td>' if mono else f"<td>{escape(text)}</td>"


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(r) + "</tr>" for r in rows)
    thead = f"<thead><tr>{head}</tr></thead>" if any(headers) else ""
    return f"<table>{thead}<tbody>{body}</tbody></table>"


def _history_what(record: dict[str, Any]) -> str:
    if record["action"] == "open":
        return f"opened: {record['title']} ({len(record['finding_ids'])} findings)"
    if record["action"] == "note":
        return f"note: {record['text']}"
    if record["action"] == "status":
        return f"status {record['from']} → {record['status']}" + (
            f"; outcome: {record['outcome']}" if record.get("outcome") else "")
    return record["action"]


def render_html(case: dict[str, Any], findings: list[dict[str, Any]], events: list[dict[str, Any]],
                proofs: dict[str, dict[str, Any]], head: dict[str, Any]) -> str:
    """The report as one HTML page (``proofs`` by event id)."""
    title = f"Evidence bundle — {case['case_id']}: {case['title']}"
    meta = _table(["", ""], [
        [_cell("case"), _cell(f"{case['case_id']} — {case['title']}")],
        [_cell("status"), _cell(case["status"] + (f" (outcome: {case['outcome']})" if case.get("outcome") else ""))],
        [_cell("opened"), _cell(f"{case['opened_at']} by {case['opened_by']}")],
        [_cell("last change"), _cell(case["updated_at"])],
        [_cell("findings / events"), _cell(f"{len(findings)} / {len(events)}")],
    ]).replace("<table>", '<table class="meta">', 1)
    history = _table(["seq", "time (UTC)", "by", "what"],
                     [[_cell(r["seq"]), _cell(r["ts"]), _cell(r["by"]), _cell(_history_what(r))]
                      for r in case["history"]])
    finding_parts = []
    for f in findings:
        actors = ", ".join(f.get("actors") or [f["actor"]])
        finding_parts.append(
            f"<h3>{escape(f['detector'])} (revision {escape(str(f['revision']))}) — {escape(f['severity'])}, "
            f"score {float(f['score']):.3f}</h3>"
            f'<p class="sentence">{escape(f["summary"])}</p>'
            + _table(["finding id", "actor(s)", "window (UTC)", "subjects", "events"],
                     [[_cell(f["finding_id"], True), _cell(actors), _cell(f"{f['window_start']} – {f['window_end']}"),
                       _cell(len(f.get("subjects") or [])), _cell(len(f.get("event_ids") or []))]]))
    event_rows = [[_cell(e["event_id"], True), _cell(e["ts"]), _cell(e["channel"]), _cell(e["actor"]),
                   _cell(e["actor_org"]), _cell(e["subject"], True), _cell(e["subject_kind"]), _cell(e["data_kind"]),
                   _cell(e["operation"]), _cell(e["authority"]), _cell(e["outcome"]), _cell(e["records"]),
                   _cell(e["source"]), _cell(proofs[e["event_id"]]["leaf_index"])] for e in events]
    events_table = _table(["event id", "time (UTC)", "channel", "actor", "unit", "subject (pseudonym)", "kind",
                           "data", "operation", "authority", "outcome", "records", "source", "leaf"],
                          event_rows).replace("<table>", '<table class="events">', 1)
    head_table = _table(["", ""], [
        [_cell("tree size"), _cell(head["tree_size"])],
        [_cell("root hash"), _cell(head["root_hash"], True)],
        [_cell("signed at"), _cell(head["timestamp"])],
        [_cell("public key"), _cell(f"{head['public_key']} ({fingerprint(head['public_key'])})", True)],
        [_cell("signature"), _cell(head["signature"], True)],
    ]).replace("<table>", '<table class="meta">', 1)
    how = (
        "<p>Every event in this bundle is a leaf of the ledger's Merkle tree (RFC 9162). Its file "
        "<code>events/ID.json</code> holds the event's fields; <code>proofs/ID.json</code> its inclusion proof; "
        "<code>head.json</code> the signed tree head all proofs lead to. To check the bundle with no access to "
        "the store, run:</p>"
        "<pre>custodiet evidence verify bundle.zip --public-key LEDGER_PUBLIC_KEY</pre>"
        "<p>with the ledger's public key as you received it from the operator, out of band (not the key this "
        f"bundle carries: its head names key {escape(fingerprint(head['public_key']))}, and the check shows that "
        "the two are the same). The check rebuilds "
        "each event's leaf from its JSON (the <code>cev1</code> encoding, then SHA-256 with the leaf prefix "
        "0x00), folds its inclusion proof up to the root, compares that root with the signed head's, and "
        "checks the head's Ed25519 signature and the case's hash chain. <code>docs/evidence.md</code> describes "
        "every byte, with a short verifier in Python that needs only <code>hashlib</code> and "
        "<code>cryptography</code>. This report is a rendering of the bundle's JSON files: the JSON files are "
        "the evidence.</p>"
        "<p>Subjects are keyed pseudonyms (HMAC-SHA256): the store holds no cleartext identifier.</p>")
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head><body>"
        f"<h1>{escape(title)}</h1>{meta}"
        f"<h2>Findings</h2>{''.join(finding_parts)}"
        f"<h2>Events ({len(events)})</h2>{events_table}"
        f"<h2>Chain of custody</h2>{history}"
        f"<h2>Signed tree head</h2>{head_table}"
        f"<h2>How to verify</h2>{how}"
        "</body></html>\n")


def find_chromium() -> str:
    """The Chromium to print with: ``CUSTODIET_CHROMIUM``, else ``chromium`` (Debian) on the PATH."""
    configured = os.environ.get(CHROMIUM_ENV, "").strip()
    if configured:
        found = shutil.which(configured)
        if found is None:
            raise ChromiumError(f"{CHROMIUM_ENV}={configured}: no such program; report.pdf needs Chromium")
        return found
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    raise ChromiumError("report.pdf needs Chromium, and none was found: install it (Debian: apt-get install "
                          f"chromium) or set {CHROMIUM_ENV} to its path")


def html_to_pdf(html: str) -> bytes:
    """Print an HTML page to PDF with headless Chromium (no network: the page has no external asset)."""
    chromium = find_chromium()
    with tempfile.TemporaryDirectory(prefix="custodiet-report-") as tmp:
        page, pdf = Path(tmp) / "report.html", Path(tmp) / "report.pdf"
        page.write_text(html, encoding="utf-8")
        cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--no-first-run", "--disable-extensions", "--disable-background-networking", "--no-pdf-header-footer",
               f"--user-data-dir={Path(tmp) / 'profile'}", f"--print-to-pdf={pdf}", page.as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=PDF_TIMEOUT,
                                  env={**os.environ, "HOME": tmp})
        except subprocess.TimeoutExpired:
            raise ChromiumError(f"{chromium} did not print report.pdf within {PDF_TIMEOUT} s") from None
        except OSError as exc:
            raise ChromiumError(f"{chromium} cannot be run ({exc.strerror})") from None
        data = pdf.read_bytes() if pdf.exists() else b""
        if not data.startswith(b"%PDF"):
            last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
            raise ChromiumError(f"{chromium} did not print report.pdf (exit {proc.returncode}: {last})")
        return data
