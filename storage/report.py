"""The compliance report (`maskwatch report`, and the daily e-mail): per camera, people
evaluated, violations and compliance with their denominators, and how long it was not watched;
the busiest hours; coverage gaps."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass
from html import escape
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from maskwatch.storage.cameras import CoverageGap, coverage_gaps, not_watched_seconds
from maskwatch.storage.compliance import StatRow, compliance_stats, hourly_totals
from maskwatch.storage.models import Camera, iso_utc, utcnow


@dataclass(frozen=True)
class Report:
    since: dt.datetime
    until: dt.datetime
    cameras: dict[str, str]  # id -> name
    totals: dict[str, StatRow]
    hours: dict[int, tuple[int, int]]
    gaps: list[CoverageGap]  # those of a minute or longer
    not_watched_s: dict[str, float]  # per camera, all its gaps in the period together

    def to_json(self) -> dict[str, Any]:
        return {
            "since": iso_utc(self.since),
            "until": iso_utc(self.until),
            "cameras": [
                {
                    **t.to_json(),
                    "camera_name": self.cameras.get(cid, cid),
                    "bucket": None,
                    "not_watched_s": round(self.not_watched_s.get(cid, 0.0), 1),
                }
                for cid, t in sorted(self.totals.items())
            ],
            "busiest_hours_utc": [
                {"hour": h, "people": p, "violations": v}
                for h, (p, v) in sorted(self.hours.items(), key=lambda kv: -kv[1][0])[:5]
            ],
            "coverage_gaps": [
                {
                    "camera_id": g.camera_id,
                    "from": iso_utc(g.start),
                    "to": iso_utc(g.end) if g.end else None,
                    "seconds": g.seconds,
                    "reason": g.reason,
                }
                for g in self.gaps
            ],
        }


def build_report(
    engine: Engine, since: dt.datetime, until: dt.datetime | None = None, camera: str | None = None
) -> Report:
    until = until or utcnow()
    stats = compliance_stats(engine, since, until, camera, "hour")
    with Session(engine) as s:
        names = {c.id: c.name for c in s.scalars(select(Camera))}
    every_gap = coverage_gaps(engine, since, until, camera)
    gaps = [g for g in every_gap if g.seconds is None or g.seconds >= 60]
    return Report(
        since, until, names, stats.totals(), hourly_totals(stats), gaps, not_watched_seconds(every_gap, until)
    )


def _pct(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.1f}"


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def render_report(report: Report, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(report.to_json(), indent=1) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow(
            [
                "camera_id",
                "camera_name",
                "people",
                "violations",
                "dismissed",
                "compliance_pct",
                "since",
                "until",
                "not_watched_s",
            ]
        )
        period = [iso_utc(report.since), iso_utc(report.until)]
        for cid, t in sorted(report.totals.items()):
            name = report.cameras.get(cid, cid)
            unwatched = f"{report.not_watched_s.get(cid, 0.0):.0f}"
            w.writerow([cid, name, t.people, t.violations, t.false_positives, _pct(t.compliance), *period, unwatched])
        return out.getvalue()
    data = report.to_json()
    rows = "".join(
        f"<tr><td>{escape(c['camera_name'])}</td><td>{c['people']}</td><td>{c['violations']}</td>"
        f"<td>{c['false_positives']}</td><td>{_pct(c['compliance'])}</td><td>{_duration(c['not_watched_s'])}</td></tr>"
        for c in data["cameras"]
    )
    hours = "".join(
        f"<li>{h['hour']:02d}:00 UTC: {h['people']} people, {h['violations']} violations</li>"
        for h in data["busiest_hours_utc"]
    )
    gaps = "".join(
        f"<li>{escape(g['camera_id'])}: {g['from']} → {g['to'] or 'still down'}: {escape(g['reason'])}</li>"
        for g in data["coverage_gaps"]
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>maskwatch report</title></head><body>"
        f"<h1>Compliance {data['since']} – {data['until']}</h1>"
        f"<table border='1' cellpadding='4'><tr><th>Camera</th><th>People</th><th>Violations</th>"
        f"<th>Dismissed</th><th>Compliance %</th><th>Not watched</th></tr>{rows}</table>"
        f"<h2>Busiest hours</h2><ul>{hours or '<li>none</li>'}</ul>"
        f"<h2>Coverage gaps (1 min or longer)</h2><ul>{gaps or '<li>none: every camera was watched</li>'}</ul>"
        f"</body></html>\n"
    )
