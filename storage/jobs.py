"""Periodic jobs of the recorder process, on APScheduler: retention and the compliance report.

(Camera health is checked by the recorder loop itself, every second: it owns the camera rows.)"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine, delete, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from maskwatch.config import Settings
from maskwatch.storage.compliance import compliance_stats
from maskwatch.storage.erase import delete_violations, referenced_files
from maskwatch.storage.models import (
    CameraStatusEvent,
    DeliveryAttempt,
    EvaluationCount,
    OutboxAlert,
    Violation,
    utcnow,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetentionResult:
    violations: int
    files: int


def apply_retention(
    engine: Engine,
    retention_days: int,
    now: dt.datetime | None = None,
    keep_unreviewed: bool = False,
    snapshots_root: Path | None = None,
) -> RetentionResult:
    """Delete violations older than the retention period, with their alerts, reviews and snapshot
    files, and snapshot files no violation refers to (a write whose transaction failed).

    Alerts still pending are kept (with their violation) until they are delivered or dead; with
    `keep_unreviewed`, so are violations nobody has reviewed yet.
    """
    cutoff = (now or utcnow()) - dt.timedelta(days=retention_days)
    files = 0
    with Session(engine) as s, s.begin():
        # (NOT IN over a NULL would match nothing: camera alerts have no violation.)
        pending = select(OutboxAlert.violation_id).where(
            OutboxAlert.state == "pending", OutboxAlert.violation_id.is_not(None)
        )
        query = select(Violation).where(Violation.started_at < cutoff, Violation.id.not_in(pending))
        if keep_unreviewed:
            query = query.where(Violation.review_state != "unreviewed")
        old = s.scalars(query).all()
        ids = [v.id for v in old]
        files += delete_violations(s, old, "retention")
    with Session(engine) as s, s.begin():
        # Camera alerts and status history age out with the violations.
        old_camera_alerts = (
            OutboxAlert.violation_id.is_(None),
            OutboxAlert.state != "pending",
            OutboxAlert.created_at < cutoff,
        )
        s.execute(
            delete(DeliveryAttempt).where(
                DeliveryAttempt.outbox_id.in_(select(OutboxAlert.id).where(*old_camera_alerts))
            )
        )
        s.execute(delete(OutboxAlert).where(*old_camera_alerts))
        s.execute(delete(CameraStatusEvent).where(CameraStatusEvent.at < cutoff))
        s.execute(delete(EvaluationCount).where(EvaluationCount.hour < cutoff))
    orphans = remove_orphans(engine, snapshots_root, utcnow() - ORPHAN_AGE) if snapshots_root else 0
    log.info(
        "retention: removed %d violation(s) older than %d days, %d of their snapshot file(s), %d orphaned file(s)",
        len(ids),
        retention_days,
        files,
        orphans,
    )
    return RetentionResult(len(ids), files + orphans)


ORPHAN_AGE = dt.timedelta(hours=1)  # younger files may belong to a transaction still in flight


def remove_orphans(engine: Engine, root: Path, older_than: dt.datetime) -> int:
    """Snapshot files (and half-written .tmp files) that no violation refers to."""
    if not root.is_dir():
        return 0
    with Session(engine) as s:
        known = referenced_files(s)
    removed = 0
    for path in root.rglob("*"):
        if path.suffix not in (".jpg", ".tmp") or not path.is_file() or path.resolve() in known:
            continue
        try:
            if dt.datetime.fromtimestamp(path.stat().st_mtime, dt.timezone.utc) < older_than:
                path.unlink()
                removed += 1
        except OSError as exc:
            log.warning("retention: cannot remove orphaned %s: %s", path, exc)
    return removed


def queue_daily_report(settings: Settings, engine: Engine, now: dt.datetime | None = None) -> None:
    """Yesterday's report (UTC) as an e-mail in the outbox: the alerts stage sends and retries it."""
    from maskwatch.storage.outbox import enqueue
    from maskwatch.storage.report import build_report, render_report

    today = (now or utcnow()).replace(hour=0, minute=0, second=0, microsecond=0)
    report = build_report(engine, today - dt.timedelta(days=1), today)
    payload = {
        "type": "report",
        "event_key": f"report:{today.date().isoformat()}",
        "title": f"Compliance {(today - dt.timedelta(days=1)).date().isoformat()}",
        "text": render_report(report, "csv"),
        "html": render_report(report, "html"),
    }
    with Session(engine) as s, s.begin():
        enqueue(s, ["email"], "report", payload)
    log.info("daily report for %s queued for e-mail", payload["title"])


def compliance_report(engine: Engine, hours: int = 24, now: dt.datetime | None = None) -> list[dict[str, object]]:
    """People evaluated, violations and dismissed false positives per camera over the last `hours`
    (from the start of that hour), logged hourly: the numbers the console and the report show."""
    until = now or utcnow()
    since = (until - dt.timedelta(hours=hours)).replace(minute=0, second=0, microsecond=0)
    report: list[dict[str, object]] = []
    for camera_id, t in sorted(compliance_stats(engine, since, until).totals().items()):
        rate = t.compliance
        report.append(
            {
                "camera_id": camera_id,
                "people": t.people,
                "violations": t.violations,
                "false_positives": t.false_positives,
                "compliance": rate,
            }
        )
        log.info(
            "report %dh: camera=%s people=%d violations=%d compliance=%s false_positives=%d",
            hours,
            camera_id,
            t.people,
            t.violations,
            f"{rate:.1%}" if rate is not None else "n/a",
            t.false_positives,
        )
    return report


def _logged(job: Callable[..., object]) -> Callable[..., None]:
    """A database outage makes a job skip its run with one line, not a traceback; it runs again later."""

    @functools.wraps(job)
    def run(*args: object) -> None:
        try:
            job(*args)
        except SQLAlchemyError as exc:
            log.error("job %s skipped, database unavailable: %s", job.__name__, getattr(exc, "orig", None) or exc)

    return run


def start_jobs(settings: Settings, engine: Engine) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
    scheduler.add_job(
        _logged(apply_retention),
        "interval",
        hours=6,
        args=(
            engine,
            settings.snapshots.retention_days,
            None,
            settings.snapshots.keep_unreviewed,
            settings.snapshots.dir,
        ),
        id="retention",
        next_run_time=dt.datetime.now(dt.timezone.utc),
    )
    scheduler.add_job(_logged(compliance_report), "cron", minute=0, args=(engine,), id="report")
    if settings.reports.daily_email and settings.alerts.email is not None:
        scheduler.add_job(
            _logged(queue_daily_report),
            "cron",
            hour=settings.reports.hour_utc,
            args=(settings, engine),
            id="daily-report",
        )
    scheduler.start()
    return scheduler
