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
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from maskwatch.config import Settings
from storage.models import CameraStatusEvent, DeliveryAttempt, EvaluationCount, OutboxAlert, Violation, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetentionResult:
    violations: int
    files: int


def apply_retention(engine: Engine, retention_days: int, now: dt.datetime | None = None) -> RetentionResult:
    """Delete violations older than the retention period, with their alerts and snapshot files.

    Alerts still pending are kept (with their violation) until they are delivered or dead.
    """
    cutoff = (now or utcnow()) - dt.timedelta(days=retention_days)
    files = 0
    with Session(engine) as s, s.begin():
        # (NOT IN over a NULL would match nothing: camera alerts have no violation.)
        pending = select(OutboxAlert.violation_id).where(
            OutboxAlert.state == "pending", OutboxAlert.violation_id.is_not(None)
        )
        old = s.scalars(select(Violation).where(Violation.started_at < cutoff, Violation.id.not_in(pending))).all()
        ids = [v.id for v in old]
        outbox_ids = select(OutboxAlert.id).where(OutboxAlert.violation_id.in_(ids))
        s.execute(delete(DeliveryAttempt).where(DeliveryAttempt.outbox_id.in_(outbox_ids)))
        s.execute(delete(OutboxAlert).where(OutboxAlert.violation_id.in_(ids)))
        for v in old:
            for path in (v.snapshot_path, v.crop_path):
                try:
                    Path(path).unlink()
                    files += 1
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    log.warning("retention: cannot remove %s: %s", path, exc)
        s.execute(delete(Violation).where(Violation.id.in_(ids)))
    with Session(engine) as s, s.begin():
        # Camera alerts and status history age out with the violations.
        camera_alerts = select(OutboxAlert.id).where(
            OutboxAlert.violation_id.is_(None), OutboxAlert.state != "pending", OutboxAlert.created_at < cutoff
        )
        s.execute(delete(DeliveryAttempt).where(DeliveryAttempt.outbox_id.in_(camera_alerts)))
        s.execute(
            delete(OutboxAlert).where(
                OutboxAlert.violation_id.is_(None), OutboxAlert.state != "pending", OutboxAlert.created_at < cutoff
            )
        )
        s.execute(delete(CameraStatusEvent).where(CameraStatusEvent.at < cutoff))
        s.execute(delete(EvaluationCount).where(EvaluationCount.hour < cutoff))
    log.info(
        "retention: removed %d violation(s) older than %d days and %d snapshot file(s)", len(ids), retention_days, files
    )
    return RetentionResult(len(ids), files)


def compliance_report(engine: Engine, hours: int = 24, now: dt.datetime | None = None) -> list[dict[str, object]]:
    """People evaluated and violations per camera over the last `hours`; logged hourly."""
    since = (now or utcnow()) - dt.timedelta(hours=hours)
    with Session(engine) as s:
        rows = s.execute(
            select(EvaluationCount.camera_id, func.sum(EvaluationCount.people), func.sum(EvaluationCount.violations))
            .where(EvaluationCount.hour >= since.replace(minute=0, second=0, microsecond=0))
            .group_by(EvaluationCount.camera_id)
        ).all()
    report = []
    for camera_id, people, violations in rows:
        people, violations = int(people or 0), int(violations or 0)
        rate = 1.0 - violations / people if people else None
        report.append({"camera_id": camera_id, "people": people, "violations": violations, "compliance": rate})
        log.info(
            "report %dh: camera=%s people=%d violations=%d compliance=%s",
            hours,
            camera_id,
            people,
            violations,
            f"{rate:.1%}" if rate is not None else "n/a",
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
        args=(engine, settings.snapshots.retention_days),
        id="retention",
        next_run_time=dt.datetime.now(dt.timezone.utc),
    )
    scheduler.add_job(_logged(compliance_report), "cron", minute=0, args=(engine,), id="report")
    scheduler.start()
    return scheduler
