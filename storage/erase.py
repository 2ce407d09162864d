"""Removing violations with everything that refers to them: their review events, the log of who
opened their pictures, their alerts and delivery attempts, their snapshot files and context pictures. Retention and
a person's erasure request (`maskwatch privacy erase`) both remove through here, so neither leaves
a face behind."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from maskwatch.storage.models import DeliveryAttempt, ImageView, OutboxAlert, ReviewEvent, Violation, ViolationFrame
from maskwatch.storage.snapshots import original_of

log = logging.getLogger(__name__)


def files_of(violation: Violation, context: Sequence[str] = ()) -> list[Path]:
    """Every file a violation may have: its frame, face crop, unblurred original and context pictures."""
    frame = violation.snapshot_path
    return [Path(frame), Path(violation.crop_path), original_of(frame), *(Path(p) for p in context)]


def context_paths(s: Session, ids: Sequence[int]) -> dict[int, list[str]]:
    """The context pictures of the violations `ids`, by violation."""
    found: dict[int, list[str]] = {}
    for vid, path in s.execute(
        select(ViolationFrame.violation_id, ViolationFrame.path).where(ViolationFrame.violation_id.in_(ids))
    ):
        found.setdefault(vid, []).append(path)
    return found


def referenced_files(s: Session) -> set[Path]:
    """Every snapshot file some violation refers to (resolved): what retention must not take for an orphan."""
    rows = s.execute(select(Violation.snapshot_path, Violation.crop_path)).all()
    known = {Path(p).resolve() for frame, crop in rows for p in (frame, crop, original_of(frame))}
    known.update(Path(p).resolve() for p in s.scalars(select(ViolationFrame.path)))
    return known


def remove_files(violation: Violation, why: str, context: Sequence[str] = ()) -> int:
    """The violation's files (`files_of`), where they exist."""
    removed = 0
    for path in files_of(violation, context):
        try:
            path.unlink()
            removed += 1
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning("%s: cannot remove %s: %s", why, path, exc)
    return removed


def delete_violations(s: Session, violations: Sequence[Violation], why: str) -> int:
    """Delete the violations and what refers to them, in the caller's transaction; files removed."""
    ids = [v.id for v in violations]
    context = context_paths(s, ids)
    outbox_ids = select(OutboxAlert.id).where(OutboxAlert.violation_id.in_(ids))
    s.execute(delete(DeliveryAttempt).where(DeliveryAttempt.outbox_id.in_(outbox_ids)))
    s.execute(delete(OutboxAlert).where(OutboxAlert.violation_id.in_(ids)))
    s.execute(delete(ReviewEvent).where(ReviewEvent.violation_id.in_(ids)))
    s.execute(delete(ImageView).where(ImageView.violation_id.in_(ids)))
    s.execute(delete(ViolationFrame).where(ViolationFrame.violation_id.in_(ids)))
    files = sum(remove_files(v, why, context.get(v.id, ())) for v in violations)
    s.execute(delete(Violation).where(Violation.id.in_(ids)))
    return files


@dataclass(frozen=True)
class Erasure:
    violations: int
    files: int
    alerts_unsent: int  # alerts still pending, which will now never be sent


def erase_range(
    engine: Engine, camera_id: str, since: dt.datetime, until: dt.datetime, by: str, dry_run: bool = False
) -> Erasure:
    """Everything recorded of one camera's violations that started in [since, until): for a data
    subject's request. Alerts not yet sent are dropped with them (and counted), since they carry
    the same person's picture. `dry_run`: count what would go, remove nothing."""
    with Session(engine) as s, s.begin():
        found = s.scalars(
            select(Violation).where(
                Violation.camera_id == camera_id, Violation.started_at >= since, Violation.started_at < until
            )
        ).all()
        unsent = len(
            s.scalars(
                select(OutboxAlert.id).where(
                    OutboxAlert.violation_id.in_([v.id for v in found]), OutboxAlert.state == "pending"
                )
            ).all()
        )
        if dry_run:
            context = context_paths(s, [v.id for v in found])
            files = sum(p.is_file() for v in found for p in files_of(v, context.get(v.id, ())))
            return Erasure(len(found), files, unsent)
        files = delete_violations(s, found, "privacy erase")
    done = Erasure(len(found), files, unsent)
    log.warning(
        "privacy erase by %s: camera %s, violations started %s to %s: %d violation(s), %d file(s) and %d unsent "
        "alert(s) removed",
        by,
        camera_id,
        since.isoformat(),
        until.isoformat(),
        done.violations,
        done.files,
        done.alerts_unsent,
        extra={"camera_id": camera_id},
    )
    return done
