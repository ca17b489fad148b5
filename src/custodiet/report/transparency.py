"""Render the transparency report (``custodiet.oversight.report``) as JSON, Markdown or self-contained HTML.

HTML has no external assets: the chart is an SVG drawn here, one bar per agency, its tasks split into
covered and each error class.
"""

from __future__ import annotations

from html import escape
from typing import Any

from custodiet.oversight.judge import CLASSES
from custodiet.report.common import html_page, html_table, md_table, to_json

LABELS = {"covered": "covered", "no_warrant": "no warrant", "wrong_identifier": "wrong identifier",
          "wrong_period": "wrong period", "wrong_data_type": "wrong data type", "stretched": "warrant stretched"}
COLOURS = {"covered": "#4d9221", "no_warrant": "#b2182b", "wrong_identifier": "#d6604d",
           "wrong_period": "#f4a582", "wrong_data_type": "#92c5de", "stretched": "#4393c3"}
PARTS = ("covered", *CLASSES)


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def _tables(r: dict[str, Any]) -> dict[str, tuple[list[str], list[list[Any]]]]:
    rows = [*r["agencies"], {**r["totals"], "agency": "all agencies"}]
    levels = sorted(r["totals"]["by_authority_level"])
    return {
        "Tasks by agency": (["agency", "tasks", "started", "ended", "targets", "covered", "uncovered", "covered share"],
                            [[a["agency"], a["tasks"], a["started"], a["ended"], a["targets"], a["covered"],
                              a["uncovered"], _share(a["covered"], a["tasks"])] for a in rows]),
        "By data kind": (["agency", "content", "metadata", "location"],
                         [[a["agency"], *(a["by_data_kind"][k] for k in ("content", "metadata", "location"))]
                          for a in rows]),
        "By authority level": (["agency", *levels],
                               [[a["agency"], *(a["by_authority_level"].get(k, 0) for k in levels)] for a in rows]),
        "Errors by class": (["agency", *(LABELS[c] for c in CLASSES)],
                            [[a["agency"], *(a["errors"][c] for c in CLASSES)] for a in rows]),
        "Longest-running tasks": (["task (xId)", "agency", "active since", "days"],
                                  [[t["xId"], t["agency"], t["since"], t["days"]] for t in r["longest"]]),
    }


def _headline(r: dict[str, Any]) -> str:
    t = r["totals"]
    return (f"{t['tasks']:,} interception tasks were active in {r['period']} ({r['start'][:10]} to {r['end'][:10]}, "
            f"UTC), {t['started']:,} started and {t['ended']:,} ended, on {t['targets']:,} targets; "
            f"{t['covered']:,} ({_share(t['covered'], t['tasks'])}) were covered by a valid warrant.")


def to_markdown(r: dict[str, Any]) -> str:
    lines = [f"# Interception transparency report, {r['period']}", "", _headline(r)]
    for title, (headers, rows) in _tables(r).items():
        lines += ["", f"## {title}", "", *md_table(headers, [[str(c) for c in row] for row in rows])]
    return "\n".join(lines) + "\n"


def chart_svg(r: dict[str, Any], width: int = 760) -> str:
    """One horizontal bar per agency: its tasks, covered and by error class."""
    agencies = r["agencies"]
    left, bar_h, gap, top = 150, 18, 6, 8
    height = top + len(agencies) * (bar_h + gap) + 8
    peak = max((a["tasks"] for a in agencies), default=0) or 1
    scale = (width - left - 60) / peak
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="tasks by agency and error class">']
    for i, a in enumerate(agencies):
        y = top + i * (bar_h + gap)
        parts.append(f'<text x="4" y="{y + bar_h - 5}" font-size="12">{escape(a["agency"][:22])}</text>')
        x = float(left)
        for part in PARTS:
            n = a["covered"] if part == "covered" else a["errors"][part]
            if not n:
                continue
            w = n * scale
            parts.append(f'<rect x="{x:.1f}" y="{y}" width="{max(w, 1):.1f}" height="{bar_h}" '
                         f'fill="{COLOURS[part]}"><title>{escape(a["agency"])}: {n} {LABELS[part]}</title></rect>')
            x += w
        parts.append(f'<text x="{x + 4:.1f}" y="{y + bar_h - 5}" font-size="11">{a["tasks"]}</text>')
    parts.append("</svg>")
    return "".join(parts)


def to_html(r: dict[str, Any]) -> str:
    legend = " ".join(f'<span style="background:{COLOURS[p]};padding:0 .6em">&nbsp;</span> {escape(LABELS[p])}'
                      for p in PARTS)
    sections = [f"<h1>Interception transparency report, {escape(r['period'])}</h1><p>{escape(_headline(r))}</p>",
                f"<h2>Tasks by agency</h2>{chart_svg(r)}<p>{legend}</p>",
                *(f"<h2>{escape(title)}</h2>" + html_table(headers, rows)
                  for title, (headers, rows) in _tables(r).items())]
    return html_page(f"Interception transparency report {r['period']}", sections)


RENDERERS = {"json": to_json, "md": to_markdown, "html": to_html}
