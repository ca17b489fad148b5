"""An independent interception-oversight world: warrants, the X1 task messages an operator's ADMF sent to its
network elements, and the oversight truth, written from the shared file contract and public descriptions of
real practice, importing nothing from ``custodiet``.

    python bench/worlds/interception_world.py --out DIR --seed N [--agencies N] [--tasks N] [--days N]
    python bench/worlds/interception_world.py --check DIR

writes ``warrants.csv``, ``x1.jsonl``, ``x1.xml`` (the same messages, in another order, as concatenated
``X1Request`` documents) and ``truth.json``. ``--check DIR`` reads the files back, recomputes every task's class
and every quarterly report with this world's own reading of the rules (``interception_judge``) and fails
unless they equal the truth. Deterministic per seed: the same seed gives byte-identical files.

Modules: ``interception_model`` (actors, warrants, background tasks), ``interception_plant`` (planted errors,
agencies out of line), this one (the files, the self-check, the command line) and ``interception_judge`` (the
rules, the reports and the readers, shared by the generator's truth and the self-check).

What each part imitates, and where its numbers come from:

- **Messages** follow ETSI TS 103 221-1 (X1): ActivateTask/ModifyTask/DeactivateTask requests from an ADMF
  to the NE that hosts the task; a ModifyTask carries the complete task details; an xId lives on one NE.
  The XML uses the element names and order of the published schema (TS_103_221_01.xsd, as the JAXB classes
  generated from it in sipgate/li-lib-x1x2x3 and the X1 samples of public implementations show them):
  ``X1Request/x1RequestMessage[@xsi:type]`` with ``admfIdentifier, neIdentifier, messageTimestamp, version,
  x1TransactionId``, then ``taskDetails`` (``xId, targetIdentifiers, deliveryType, listOfDIDs,
  listOfMediationDetails, listOfServiceTypes``) or ``xId``. In that schema the mediation details are
  ``LIID, deliveryType (HI2Only|HI3Only|HI2andHI3), StartTime, EndTime``; ``--spec-mediation-names`` writes
  the contract's spelling (``lIID, startTime, endTime``) instead. Target identifiers are typed by
  TS 103 280 (``InternationalE164`` digits only, ``IMSI``, ``IMEI`` of 14 digits). Documents use a default
  namespace, ``ns1:`` or ``x1:`` prefixes, hold 1-40 messages each, and are concatenated in one file.
- **Warrants** follow the UK Investigatory Powers Act regime (targeted interception warrants of six months
  issued by a Secretary of State or Scottish Ministers, urgent warrants of five days) or, in other
  worlds, a court-order regime as the Telenor/Telia/Vodafone transparency reports describe it (court orders of
  one to three months, prosecutors' urgent orders of a few days). Renewals get a new warrant id; tasks move
  onto them with a ModifyTask before the old warrant ends (sometimes exactly at its end).
- **Agencies** differ in volume (log-normal weights), in their share of content and location warrants,
  several targets per warrant, several tasks per warrant on different NEs (switch, IMS core, packet core),
  how soon they activate after issue, how often they stop early, and how they write identifiers (``+`` or
  not, 14- or 15-digit IMEIs) and times (``Z``, an offset or no zone).
- **Planted errors** follow the commissioner's categories and their 2014 shares (IOCCO: wrong identifier 45%
  of reportable errors, wrong period 27%, wrong data type 13%; the rest here split between no warrant and
  stretched warrants), with a Dirichlet spread per world and an overall error rate of 0.4-6% of tasks: a
  digit slip in a number, the wrong person's number, a Modify adding an unlisted target; activation days
  before the warrant, running long after it, reactivation after expiry; content or location on a
  metadata-only warrant; an lIID typo or a made-up one; one warrant reused for many tasks.
- **Near misses** that are not errors are listed in truth (``near_misses``): deactivation late by less than
  the grace, a Modify adding a target the warrant lists, a renewal exactly at the old warrant's end, an
  activation at the very second a warrant starts.
- **Agencies out of line** (class 6) are planted in some worlds: one whose activations grow several-fold
  over the period while its warrants do not (deactivate/reactivate cycles on its running tasks, their density
  rising as t^2-t^4), or one whose share of uncovered tasks (25-50%) is many times its peers' (kept under 8%).
- **Noise**: retransmitted identical messages, files not in time order, deactivations minutes after a
  warrant ends, tasks still running at the end of the input, reactivations within validity.
- **Sizes**: 3-12 agencies, 100-3,000 warrants, 60-400 days; a default world stops at about 15k messages
  (well under 20k) and takes about a second; ``--tasks N`` scales it without that cap.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.worlds import interception_judge as J  # noqa: E402
from bench.worlds.interception_model import DAY, GRACE_S, STRETCH_FACTOR, Agency, H, luhn_digit, quarter_start  # noqa: E402
from bench.worlds.interception_plant import PlantedWorld  # noqa: E402

GENERATOR = "independent-interception-world/1"


class World(PlantedWorld):
    """A planted world and its files: ``build()`` plans everything, ``write(out)`` writes the files."""

    # -- the files ------------------------------------------------------------------------------------------

    def fmt_ts(self, t: dt.datetime, admf: str) -> str:
        off = self.admf_offset[admf]
        if off is None:
            return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        tz = dt.timezone(off)
        return t.astimezone(tz).isoformat(timespec="microseconds")

    def messages(self) -> list[dict[str, Any]]:
        out = []
        for t in self.tasks:        # nothing within two seconds of a quarter boundary: reports cut there
            for e in t.evs:
                q = quarter_start(e.ts + dt.timedelta(seconds=2))
                if abs((e.ts - q).total_seconds()) < 2:
                    e.ts = q + dt.timedelta(seconds=3)
            assert all(a.ts < b.ts for a, b in zip(t.evs, t.evs[1:], strict=False)), t.xid
        for t in self.tasks:
            admf = self.ne_admf[t.ne]
            for e in t.evs:
                m: dict[str, Any] = {
                    "messageType": {"A": "ActivateTaskRequest", "M": "ModifyTaskRequest",
                                    "D": "DeactivateTaskRequest"}[e.typ],
                    "messageTimestamp": self.fmt_ts(e.ts, admf), "admfIdentifier": admf, "neIdentifier": t.ne,
                    "version": self.admf_version[admf], "x1TransactionId": self.uuid(), "xId": t.xid}
                if e.typ != "D":
                    key = {"msisdn": "e164Number", "imsi": "imsi", "imei": "imei"}
                    m["targetIdentifiers"] = [{key[k]: v} for k, v in e.targets]
                    m["deliveryType"] = e.delivery
                    m["listOfDIDs"] = list(t.agency.dids)
                    if e.lals:
                        m["listOfServiceTypes"] = ["LALS"]
                    w = e.w
                    md = {"lIID": e.liid}
                    if w is not None:
                        md["startTime"] = self.fmt_ts(w.vf, admf)
                        md["endTime"] = self.fmt_ts(w.vt, admf)
                    else:
                        md["startTime"] = self.fmt_ts(e.ts, admf)
                        md["endTime"] = self.fmt_ts(e.ts + DAY * 90, admf)
                    m["listOfMediationDetails"] = [md]
                out.append((e.ts, m))
        out.sort(key=lambda p: (p[0], p[1]["xId"]))
        return [m for _, m in out]

    def disorder(self, msgs: list[dict[str, Any]], p: float) -> list[dict[str, Any]]:
        """Local disorder: some messages land up to 40 places later, as NE batches and retries interleave."""
        r = self.r
        out = list(msgs)
        for i in range(len(out) - 1):
            if r.random() < p:
                j = min(len(out) - 1, i + r.randint(1, 40))
                out[i], out[j] = out[j], out[i]
        ts = [J.parse_ts(m["messageTimestamp"]) for m in out]
        if all(a <= b for a, b in zip(ts, ts[1:], strict=False)):    # a tiny world: displace one at least
            i = len(out) // 2
            j = next((k for k in range(i + 1, len(out)) if ts[k] > ts[i]), None)
            if j is not None:
                out[i], out[j] = out[j], out[i]
        return out

    def retransmit(self, msgs: list[dict[str, Any]], rate: float) -> list[dict[str, Any]]:
        r = self.r
        out = list(msgs)
        dups = sorted(r.sample(range(len(msgs)), max(1, int(len(msgs) * rate))))
        for k, i in enumerate(dups):
            pos = min(len(out), i + k + 1 + r.randint(0, 30))
            out.insert(pos, msgs[i])
        return out

    def warrant_rows(self) -> list[list[str]]:
        rows = []
        for w in sorted(self.warrants, key=lambda w: (w.vf, w.wid)):
            ag = w.agency

            def t(x: dt.datetime, ag: Agency = ag) -> str:
                if ag.tz == "Z":
                    return x.strftime("%Y-%m-%dT%H:%M:%SZ")
                if ag.tz == "+00:00":
                    return x.isoformat(timespec="seconds")
                if ag.tz == "local":
                    return x.astimezone(dt.timezone(H)).isoformat(timespec="seconds")
                return x.strftime("%Y-%m-%dT%H:%M:%S")
            for kind, v in w.targets:
                if kind == "msisdn" and self.r.random() < ag.plus:
                    v = "+" + v
                if kind == "imei" and self.r.random() < ag.imei15:
                    v = v + luhn_digit(v)
                rows.append([w.wid, ag.name, w.issuer, w.level, v, kind, ";".join(w.kinds), t(w.vf), t(w.vt)])
        return rows

    def xml(self, msgs: list[dict[str, Any]]) -> str:
        r = self.r
        styles = r.sample(["default", "ns1", "x1"], r.randint(1, 3))
        decl = r.choice(["always", "never", "some"])
        out = io.StringIO()
        i = 0
        while i < len(msgs):
            n = 1 if r.random() < 0.2 else r.randint(2, 40)
            chunk = msgs[i:i + n]
            i += n
            style = r.choice(styles)
            pretty = r.random() < 0.6
            if decl == "always" or decl == "some" and r.random() < 0.5:
                out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
            out.write(self.xml_doc(chunk, style, pretty))
            out.write("\n")
        return out.getvalue()

    def xml_doc(self, msgs: list[dict[str, Any]], style: str, pretty: bool) -> str:
        p = "" if style == "default" else style + ":"
        xmlns = f'xmlns="{J.X1_NS}"' if style == "default" else f'xmlns:{style}="{J.X1_NS}"'
        nl = "\n" if pretty else ""

        def ind(k: int) -> str:
            return "  " * k if pretty else ""

        def el(k: int, name: str, text: str) -> str:
            return f"{ind(k)}<{p}{name}>{escape(text)}</{p}{name}>{nl}"

        lid, st, et = ("lIID", "startTime", "endTime") if self.spec_names else ("LIID", "StartTime", "EndTime")
        hi = {"X2Only": "HI2Only", "X3Only": "HI3Only", "X2andX3": "HI2andHI3"}
        parts = [f'<{p}X1Request {xmlns} xmlns:xsi="{J.XSI_NS}">{nl}']
        for m in msgs:
            parts.append(f'{ind(1)}<{p}x1RequestMessage xsi:type="{p}{m["messageType"]}">{nl}')
            for k in ("admfIdentifier", "neIdentifier", "messageTimestamp", "version", "x1TransactionId"):
                parts.append(el(2, k, m[k]))
            if m["messageType"] == "DeactivateTaskRequest":
                parts.append(el(2, "xId", m["xId"]))
            else:
                parts.append(f"{ind(2)}<{p}taskDetails>{nl}")
                parts.append(el(3, "xId", m["xId"]))
                parts.append(f"{ind(3)}<{p}targetIdentifiers>{nl}")
                for tgt in m["targetIdentifiers"]:
                    (k, v), = tgt.items()
                    parts.append(f"{ind(4)}<{p}targetIdentifier>{nl}{el(5, k, v)}{ind(4)}</{p}targetIdentifier>{nl}")
                parts.append(f"{ind(3)}</{p}targetIdentifiers>{nl}")
                parts.append(el(3, "deliveryType", m["deliveryType"]))
                parts.append(f"{ind(3)}<{p}listOfDIDs>{nl}")
                parts.extend(el(4, "dId", d) for d in m["listOfDIDs"])
                parts.append(f"{ind(3)}</{p}listOfDIDs>{nl}")
                md = m["listOfMediationDetails"][0]
                parts.append(f"{ind(3)}<{p}listOfMediationDetails>{nl}{ind(4)}<{p}mediationDetails>{nl}")
                parts.append(el(5, lid, md["lIID"]))
                parts.append(el(5, "deliveryType", hi[m["deliveryType"]]))
                parts.append(el(5, st, md["startTime"]))
                parts.append(el(5, et, md["endTime"]))
                parts.append(f"{ind(4)}</{p}mediationDetails>{nl}{ind(3)}</{p}listOfMediationDetails>{nl}")
                if m.get("listOfServiceTypes"):
                    parts.append(f"{ind(3)}<{p}listOfServiceTypes>{nl}")
                    parts.extend(el(4, "serviceType", s) for s in m["listOfServiceTypes"])
                    parts.append(f"{ind(3)}</{p}listOfServiceTypes>{nl}")
                parts.append(f"{ind(2)}</{p}taskDetails>{nl}")
            parts.append(f"{ind(1)}</{p}x1RequestMessage>{nl}")
        parts.append(f"</{p}X1Request>")
        return "".join(parts)

    def write(self, out: Path) -> dict[str, Any]:
        r = self.r
        out.mkdir(parents=True, exist_ok=True)
        msgs = self.messages()
        msgs = self.retransmit(msgs, r.uniform(0.002, 0.02))
        jl = self.disorder(msgs, r.uniform(0.01, 0.15))
        xm = self.disorder(msgs, r.uniform(0.01, 0.15))
        buf = io.StringIO()
        wr = csv.writer(buf, lineterminator="\n")
        wr.writerow(["warrant_id", "agency", "issuer", "authority_level", "target", "target_kind", "data_kinds",
                     "valid_from", "valid_to"])
        wr.writerows(self.warrant_rows())
        (out / "warrants.csv").write_text(buf.getvalue(), encoding="utf-8")
        (out / "x1.jsonl").write_text("".join(json.dumps(m, separators=(",", ":")) + "\n" for m in jl),
                                      encoding="utf-8")
        (out / "x1.xml").write_text(self.xml(xm), encoding="utf-8")
        # truth, from the planted plan, checked against this world's reading of the rules
        warrants = J.read_warrants(out / "warrants.csv")
        tasks, reports, _ = J.truth_from(msgs, warrants, GRACE_S, STRETCH_FACTOR)
        wrong = [(t.xid, t.intended, t.how, tasks[t.xid]["class"]) for t in self.tasks
                 if tasks[t.xid]["class"] != t.intended]
        if wrong:
            raise AssertionError(f"seed {self.seed}: planted classes the rules do not confirm: {wrong[:5]}")
        near = sorted(t.xid for t in self.tasks if t.near and t.intended == "covered")
        truth = {
            "world": "interception", "seed": self.seed, "generator": GENERATOR,
            "grace_seconds": GRACE_S, "stretch_factor": STRETCH_FACTOR,
            "files": {"warrants": "warrants.csv", "x1_jsonl": ["x1.jsonl"], "x1_xml": ["x1.xml"]},
            "tasks": tasks,
            "agencies_out_of_line": self.out_of_line,
            "reports": reports,
            "near_misses": near,
            "near_miss_kinds": dict(sorted(Counter(t.near for t in self.tasks if t.xid in set(near)).items())),
            "planted": [{"xId": t.xid, "class": t.intended, "how": t.how}
                        for t in sorted(self.tasks, key=lambda t: t.xid) if t.intended != "covered"],
            "class6": self.class6,
            "params": {**self.params, "start": self.S.isoformat(), "end": self.E.isoformat(),
                       "messages": len(msgs), "unique_messages": len({J.canonical(m) for m in msgs}),
                       "xml_mediation_names": "contract" if self.spec_names else "xsd"},
        }
        (out / "truth.json").write_text(json.dumps(truth, indent=1, sort_keys=False) + "\n", encoding="utf-8")
        return truth


def generate(out: Path, seed: int, agencies: int | None = None, tasks: int | None = None, days: int | None = None,
             spec_names: bool = False) -> dict[str, Any]:
    """Build the world of `seed` and write it into `out`; returns the truth."""
    w = World(seed, agencies, tasks, days, spec_names)
    w.build()
    return w.write(out)


# ---- self-check ---------------------------------------------------------------------------------------------


def activation_growth(tasks: dict[str, J.Task], warrants: dict[str, J.Warrant], truth: dict[str, Any],
                      start: dt.datetime, end: dt.datetime) -> dict[str, dict[str, float]]:
    """Per agency: activations and warrants starting in the last quarter of the period over the first quarter,
    and the share of uncovered tasks."""
    q = (end - start) / 4
    out: dict[str, dict[str, float]] = {}
    acts: Counter[tuple[str, int]] = Counter()
    for x, t in tasks.items():
        ag = truth["tasks"][x]["agency"]
        for ts, m in t.msgs:
            if m["messageType"] == "ActivateTaskRequest":
                acts[(ag, 0 if ts < start + q else 3 if ts >= end - q else 1)] += 1
    wcount: Counter[tuple[str, int]] = Counter()
    for w in warrants.values():
        if start <= w.valid_from < start + q:
            wcount[(w.agency, 0)] += 1
        elif end - q <= w.valid_from < end:
            wcount[(w.agency, 3)] += 1
    per = Counter(v["agency"] for v in truth["tasks"].values())
    unc = Counter(v["agency"] for v in truth["tasks"].values() if v["class"] != "covered")
    for ag in sorted(per):
        if ag == "unknown":
            continue
        out[ag] = {"activation_growth": round((acts[(ag, 3)] + 1) / (acts[(ag, 0)] + 1), 2),
                   "warrant_growth": round((wcount[(ag, 3)] + 1) / (wcount[(ag, 0)] + 1), 2),
                   "uncovered_share": round(unc[ag] / per[ag], 3), "tasks": per[ag]}
    return out


def check(out: Path) -> dict[str, Any]:
    """Re-read the files, recompute the truth from them alone, and assert it equals truth.json."""
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    warrants = J.read_warrants(out / truth["files"]["warrants"])
    jl = [m for f in truth["files"]["x1_jsonl"] for m in J.read_jsonl(out / f)]
    xm = [m for f in truth["files"]["x1_xml"] for m in J.read_xml(out / f)]
    cj, cx = Counter(J.canonical(m) for m in jl), Counter(J.canonical(m) for m in xm)
    assert cj == cx, f"JSON and XML hold different messages: {len(cj - cx)} only in JSON, {len(cx - cj)} only in XML"
    assert jl != sorted(jl, key=lambda m: J.parse_ts(m["messageTimestamp"])), "JSON lines are in perfect time order"
    tasks, reports, objs = J.truth_from(jl, warrants, truth["grace_seconds"], truth["stretch_factor"])
    assert tasks == truth["tasks"], "task classes differ from truth"
    strip = lambda rep: {k: {kk: vv for kk, vv in v.items() if kk != "longest"} for k, v in rep.items()}  # noqa: E731
    assert strip(reports) == strip(truth["reports"]), "reports differ from truth"
    for x in truth["near_misses"]:
        assert tasks[x]["class"] == "covered", x
    for c in J.CLASSES:
        assert any(v["class"] == c for v in tasks.values()), f"no task of class {c}"
    start, end = J.parse_ts(truth["params"]["start"]), J.parse_ts(truth["params"]["end"])
    assert J.quarter_of(start) != J.quarter_of(end), "the period does not cross a quarter boundary"
    assert len(reports) >= 2, "tasks in one quarter only"
    stats = activation_growth(objs, warrants, truth, start, end)
    peers = sorted(s["uncovered_share"] for a, s in stats.items() if a not in truth["agencies_out_of_line"])
    med = peers[len(peers) // 2] if peers else 0.0
    for ag, c6 in truth["class6"].items():
        s = stats[ag]
        if c6["kind"] == "activation growth":
            assert s["activation_growth"] >= 3 * max(1.0, s["warrant_growth"]), (ag, s)
        else:
            assert s["uncovered_share"] >= max(0.2, 3 * med), (ag, s, med)
    for ag, s in stats.items():
        if ag not in truth["agencies_out_of_line"] and s["tasks"] >= 25:
            assert s["uncovered_share"] < 0.2, (ag, s)
        if ag not in truth["agencies_out_of_line"] and s["tasks"] >= 60:
            assert s["activation_growth"] < 2 * max(1.0, s["warrant_growth"]), (ag, s)
    return {"tasks": len(tasks), "messages": sum(cj.values()), "classes": dict(Counter(v["class"] for v in
                                                                                        tasks.values())),
            "quarters": sorted(reports), "agencies": stats}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, help="folder to write the world into")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--agencies", type=int, help="number of agencies (default: drawn, 3-12)")
    ap.add_argument("--tasks", type=int, help="about this many tasks (default: drawn, <= ~20k messages)")
    ap.add_argument("--days", type=int, help="period length in days (default: drawn, 60-400)")
    ap.add_argument("--spec-mediation-names", action="store_true",
                    help="write lIID/startTime/endTime in the XML instead of the XSD's LIID/StartTime/EndTime")
    ap.add_argument("--check", type=Path, metavar="DIR", help="re-read a written world and verify its truth")
    a = ap.parse_args(argv)
    if a.check:
        res = check(a.check)
        print(json.dumps({k: v for k, v in res.items() if k != "agencies"}))
        return 0
    if a.out is None:
        ap.error("--out or --check is required")
    truth = generate(a.out, a.seed, a.agencies, a.tasks, a.days, a.spec_mediation_names)
    p = truth["params"]
    print(f"seed {a.seed}: {p['agencies']} agencies, {p['warrants']} warrants, {p['tasks']} tasks, "
          f"{p['messages']} messages over {p['days']} days; out of line: {truth['agencies_out_of_line']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
