"""Render the signalling report (``signalling.build_report``) as JSON, Markdown or self-contained HTML.

HTML has no external assets: styles inline and the chart an SVG generated here (stacked bars of attacks
per day or hour, one colour per category). Markdown shows the same series as a text sparkline and table.
"""

from __future__ import annotations

from html import escape
from typing import Any

from custodiet.report.common import html_page, html_table, md_table, to_json
from custodiet.report.signalling import CATEGORY_LABELS, CATEGORY_ORDER

SPARK = "▁▂▃▄▅▆▇█"
COLOURS = {"fs11-cat1": "#b2182b", "fs11-cat2": "#ef8a62", "fs11-cat3": "#fddbc7", "fs19-cat1": "#2166ac",
           "fs19-cat2": "#67a9cf", "fs19-cat3": "#d1e5f0", "spoofing": "#762a83", "probing": "#999999"}


def sparkline(values: list[int]) -> str:
    top = max(values, default=0)
    if top == 0:
        return SPARK[0] * len(values)
    return "".join(SPARK[min(len(SPARK) - 1, (v * (len(SPARK) - 1) + top - 1) // top)] for v in values)


def _tables(r: dict[str, Any], subject: Any) -> dict[str, tuple[list[str], list[list[Any]]]]:
    """The report's tables, shared by Markdown and HTML: title -> (headers, rows); ``subject`` formats a
    subscriber pseudonym for the format."""
    def shares(items: list[dict[str, Any]], key: str) -> list[list[Any]]:
        return [[o[key], o["attacks"], f"{o['share']}%"] for o in items]

    return {
        "Attacks by category": (["category", "attacks", "share"], shares(r["by_category"], "label")),
        "By source operator": (["operator", "attacks", "share"], shares(r["by_operator"], "name")),
        "By country": (["country", "attacks", "share"], shares(r["by_country"], "name")),
        "Most attacked subscribers": (["subscriber (pseudonym)", "attacks", "networks", "operations"], [
            [subject(s["subject"][:16]), s["attacks"], s["networks"], ", ".join(s["operations"])]
            for s in r["top_subjects"]]),
    }


def to_markdown(r: dict[str, Any]) -> str:
    t, w = r["totals"], r["window"]
    lines = ["# Signalling report", "",
             f"{t['attacks']:,} flagged requests from {t['networks']:,} networks in {t['countries']:,} countries "
             f"against {t['subjects']:,} subscriber identities, {w['start'] or '-'} to {w['end'] or '-'}; "
             f"{t['findings']:,} findings, {t['campaigns']:,} campaign(s)."]
    for title, (headers, rows) in _tables(r, lambda s: f"`{s}`").items():
        lines += ["", f"## {title}", "", *md_table(headers, rows)]
    lines += ["", "## Campaigns", ""]
    if not r["campaigns"]:
        lines.append("None found.")
    for i, c in enumerate(r["campaigns"], 1):
        lines += [f"{i}. {c['summary']}", f"   Member senders: {', '.join(c['actors'])} "
                                         f"({', '.join(c['countries'])})."]
    tl = r["timeline"]
    counts = [b["attacks"] for b in tl["buckets"]]
    lines += ["", f"## Attacks per {tl['bucket']}", "", f"`{sparkline(counts)}` (max {max(counts, default=0)})", ""]
    lines += md_table([tl["bucket"] + " (UTC)", "attacks", "by category"],
                       [[b["start"], b["attacks"], ", ".join(f"{k} {v}" for k, v in b["by_category"].items())]
                        for b in tl["buckets"]])
    return "\n".join(lines) + "\n"


def chart_svg(timeline: dict[str, Any], width: int = 760, height: int = 220) -> str:
    """Stacked bar chart of attacks per bucket and category, as an inline SVG element."""
    buckets = timeline["buckets"]
    left, bottom, top_pad = 40, 28, 10
    plot_w, plot_h = width - left - 10, height - bottom - top_pad
    peak = max((b["attacks"] for b in buckets), default=0) or 1
    bar_w = plot_w / max(len(buckets), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="attacks per {timeline["bucket"]}">',
             f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{left + plot_w}" y2="{top_pad + plot_h}" stroke="#444"/>',
             f'<text x="4" y="{top_pad + 10}" font-size="11">{peak}</text>',
             f'<text x="4" y="{top_pad + plot_h}" font-size="11">0</text>']
    for i, b in enumerate(buckets):
        x = left + i * bar_w
        y = top_pad + plot_h
        for cat in CATEGORY_ORDER:
            n = b["by_category"].get(cat, 0)
            if not n:
                continue
            h = plot_h * n / peak
            y -= h
            parts.append(f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{max(bar_w - 2, 1):.1f}" height="{h:.1f}" '
                         f'fill="{COLOURS[cat]}"><title>{escape(b["start"])}: {n} {escape(cat)}</title></rect>')
        if len(buckets) <= 16 or i % max(1, len(buckets) // 8) == 0:
            label = b["start"][5:10] if timeline["bucket"] == "day" else b["start"][5:13].replace("T", " ")
            parts.append(f'<text x="{x + 2:.1f}" y="{height - 10}" font-size="10">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def to_html(r: dict[str, Any]) -> str:
    t, w = r["totals"], r["window"]
    legend = " ".join(f'<span style="background:{COLOURS[c]};padding:0 .6em">&nbsp;</span> {escape(CATEGORY_LABELS[c])}'
                      for c in CATEGORY_ORDER)
    campaigns = "".join(f"<li>{escape(c['summary'])}<br><small>senders: {escape(', '.join(c['actors']))}</small></li>"
                        for c in r["campaigns"]) or "<li>None found.</li>"
    sections = [
        f"<h1>Signalling report</h1><p>{t['attacks']:,} flagged requests from {t['networks']:,} networks in "
        f"{t['countries']:,} countries against {t['subjects']:,} subscriber identities, "
        f"{escape(w['start'] or '-')} to {escape(w['end'] or '-')}; {t['findings']:,} findings.</p>",
        f"<h2>Attacks per {escape(r['timeline']['bucket'])}</h2>{chart_svg(r['timeline'])}<p>{legend}</p>",
        *(f"<h2>{escape(title)}</h2>" + html_table(headers, rows)
          for title, (headers, rows) in _tables(r, str).items()),
        f"<h2>Campaigns</h2><ol>{campaigns}</ol>",
    ]
    return html_page("Signalling report", sections)


RENDERERS = {"json": to_json, "md": to_markdown, "html": to_html}
