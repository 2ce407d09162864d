"""Camera status in the database: state changes as events, camera_offline / camera_online
alerts after a grace period, and coverage gaps (when a camera was not watched).

The recorder is the only writer of camera rows, so these run on its thread, inside its
transactions.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from maskwatch.config import Settings
from maskwatch.messages import DOWN_STATES, CameraHealth
from maskwatch.storage.models import Camera, CameraStatusEvent, iso_utc, utcnow
from maskwatch.storage.outbox import alert_channels, enqueue

log = logging.getLogger(__name__)

# Not camera faults: a recording that ended, maskwatch shut down, a camera switched off in config.
NEUTRAL_STATES = ("finished", "stopped", "disabled")
# A camera that failed: maskwatch stopping leaves it down, with its reason (`CameraStatus.transition`).
FAULT_STATES = ("stalled", "offline")
# The ingest watchdog appends its reconnect schedule to an offline camera's detail ("...; retry 3 at
# 14:02:07 UTC"; older rows "...; retry 3 in 4.0 s"): right for the camera's current state, noise in
# the reason for a period.
RETRY_SCHEDULE = re.compile(r"; retry \d+ (?:at \d\d:\d\d:\d\d UTC|in [\d.]+ s)$")
STOPPED_REASON = "maskwatch stopped"


def camera_reason(detail: str, camera_id: str) -> str:
    """Why a camera is down, for a message that names the camera already and is read later: without
    the reader's "camera <id> (<url>): " prefix and without the watchdog's retry schedule."""
    named = re.compile(rf"camera {re.escape(camera_id)} \(.*?\): ")
    return named.sub("", RETRY_SCHEDULE.sub("", detail.strip()))


def _utc(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc)


class CameraStatus:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.channels = alert_channels(settings) if settings.alerts.camera_alerts else []
        self.grace = dt.timedelta(seconds=settings.alerts.camera_grace_s)
        self.silence = dt.timedelta(seconds=settings.ingest.health_interval_s * settings.ingest.silence_factor)
        self.started = utcnow()

    def apply_health(self, s: Session, cam: Camera, h: CameraHealth) -> None:
        at = _utc(h.at)
        if at < cam.updated_at and cam.state != "unknown":
            return  # an older report delivered late: the row already says something newer
        cam.frames_sent, cam.frames_dropped, cam.updated_at = h.frames_sent, h.frames_dropped, at
        self.transition(s, cam, h.state, h.detail, at)

    def transition(self, s: Session, cam: Camera, state: str, detail: str, at: dt.datetime) -> None:
        if state == "stopped" and cam.state in FAULT_STATES:
            self._stopped_while_down(s, cam, detail, at)
            return
        cam.detail = detail
        if state == cam.state:
            return
        s.add(CameraStatusEvent(camera_id=cam.id, state=state, detail=detail, at=at))
        cam.state = state
        if state == "online":
            if cam.offline_alerted and cam.down_since is not None:
                self._alert(s, cam, "camera_online", at)
            cam.down_since, cam.offline_alerted = None, False
        elif state in DOWN_STATES:
            if cam.down_since is None:
                cam.down_since = at
        elif not cam.offline_alerted:  # neutral: no outage to report, now or when it returns
            cam.down_since = None

    @staticmethod
    def _stopped_while_down(s: Session, cam: Camera, detail: str, at: dt.datetime) -> None:
        """Stopping maskwatch does not mend a camera: the row keeps its down state (the last thing
        known of the camera) and the history records the stop, for coverage gaps. Like any stop, it
        raises no alert: an outage not yet alerted is timed afresh when the camera is watched again."""
        last = s.scalars(
            select(CameraStatusEvent.state)
            .where(CameraStatusEvent.camera_id == cam.id)
            .order_by(CameraStatusEvent.at.desc(), CameraStatusEvent.id.desc())
            .limit(1)
        ).first()
        if last != "stopped":
            s.add(CameraStatusEvent(camera_id=cam.id, state="stopped", detail=detail, at=at))
        cam.detail = detail or cam.detail
        if not cam.offline_alerted:
            cam.down_since = None

    def check(self, s: Session, now: dt.datetime | None = None) -> None:
        """Cameras whose ingest fell silent are offline; outages past the grace period alert once."""
        now = now or utcnow()
        # Right after the recorder (re)starts, the ingest's reports may still be on their way.
        silent = (
            s.scalars(
                select(Camera).where(Camera.state.not_in(NEUTRAL_STATES), Camera.updated_at < now - self.silence)
            ).all()
            if now - self.started >= self.silence
            else []
        )
        for cam in silent:
            if cam.state != "offline":
                log.warning(
                    "camera %s: no health report since %s; is its ingest running?", cam.id, iso_utc(cam.updated_at)
                )
                self.transition(s, cam, "offline", f"ingest not reporting since {iso_utc(cam.updated_at)}", now)
        due = s.scalars(
            select(Camera).where(
                Camera.down_since.is_not(None),
                Camera.offline_alerted.is_(False),
                Camera.state.in_(DOWN_STATES),
                Camera.down_since <= now - self.grace,
            )
        ).all()
        for cam in due:
            self._alert(s, cam, "camera_offline", now)
            cam.offline_alerted = True

    def _alert(self, s: Session, cam: Camera, kind: str, at: dt.datetime) -> None:
        assert cam.down_since is not None
        payload: dict[str, object] = {
            "type": kind,
            # One outage is one offline and one online alert, whoever writes them and how often.
            "event_key": f"{kind}:{cam.id}:{iso_utc(cam.down_since)}",
            "camera_id": cam.id,
            "camera_name": cam.name,
            "state": cam.state,
            "detail": cam.detail,
            "down_since": iso_utc(cam.down_since),
            "at": iso_utc(at),
        }
        if kind == "camera_offline":
            # What a message says, kept in the channel for days: `detail` is the state of the moment.
            payload["reason"] = camera_reason(cam.detail, cam.id) or cam.state
        if kind == "camera_online":
            payload["down_for_s"] = round((at - cam.down_since).total_seconds(), 1)
        level = logging.WARNING if kind == "camera_offline" else logging.INFO
        log.log(
            level,
            "%s: camera=%s since=%s detail=%s",
            kind,
            cam.id,
            payload["down_since"],
            cam.detail,
            extra={"camera_id": cam.id, "event_key": payload["event_key"]},
        )
        if self.channels:
            enqueue(s, self.channels, kind, payload)


@dataclass(frozen=True)
class CoverageGap:
    camera_id: str
    start: dt.datetime
    end: dt.datetime | None  # None: still not watched
    reason: str

    @property
    def seconds(self) -> float | None:
        return None if self.end is None else (self.end - self.start).total_seconds()

    def seconds_within(self, until: dt.datetime) -> float:
        """How long of it lies before `until` (an ongoing gap lasts until then)."""
        end = until if self.end is None else min(self.end, until)
        return max(0.0, (end - self.start).total_seconds())


class _OpenGap:
    """A gap being read from the history: its start, and the most telling reasons seen in it."""

    def __init__(self, camera_id: str, start: dt.datetime) -> None:
        self.camera_id = camera_id
        self.start = start
        self.end_note = ""  # why watching ended for good, the camera being down: removed, say
        self.fault = ""  # the first reason the camera itself gave
        self.stopped_first: bool | None = None  # maskwatch stopped in the gap, before the fault or after

    def add(self, state: str, detail: str) -> None:
        if state == "stopped":
            if self.stopped_first is None:
                self.stopped_first = not self.fault
        elif not self.fault:
            self.fault = camera_reason(detail, self.camera_id)

    @property
    def reason(self) -> str:
        if self.stopped_first is None:
            parts: tuple[str, ...] = (self.fault,)
        elif not self.fault:
            parts = (STOPPED_REASON,)
        else:
            parts = (STOPPED_REASON, self.fault) if self.stopped_first else (self.fault, STOPPED_REASON)
        return "; then ".join(p for p in (*parts, self.end_note) if p)


def coverage_gaps(
    engine: Engine, since: dt.datetime, until: dt.datetime | None = None, camera_id: str | None = None
) -> list[CoverageGap]:
    """Periods in [since, until] when a camera was not watched: down, or maskwatch stopped.

    A gap's reason is the first one the camera gave (connection refused, no frame for 10 s), with
    maskwatch stopping meanwhile said too, and the camera's removal or switching off if that ended it;
    a reconnect attempt that gave no reason does not hide it."""
    until = until or utcnow()
    with Session(engine) as s:
        query = (
            select(CameraStatusEvent)
            .where(CameraStatusEvent.at <= until)
            .order_by(CameraStatusEvent.camera_id, CameraStatusEvent.at, CameraStatusEvent.id)
        )
        if camera_id is not None:
            query = query.where(CameraStatusEvent.camera_id == camera_id)
        events = s.scalars(query).all()
    gaps: list[CoverageGap] = []
    open_gap: dict[str, _OpenGap] = {}
    for e in events:
        if e.state in (*DOWN_STATES, "stopped"):
            open_gap.setdefault(e.camera_id, _OpenGap(e.camera_id, e.at)).add(e.state, e.detail)
        elif e.camera_id in open_gap:
            gap = open_gap.pop(e.camera_id)
            if e.state == "disabled":  # the gap ends because nobody watches the camera any more
                gap.end_note = e.detail
            if e.at >= since:
                gaps.append(CoverageGap(e.camera_id, max(gap.start, since), e.at, gap.reason))
    for cam, gap in open_gap.items():
        gaps.append(CoverageGap(cam, max(gap.start, since), None, gap.reason))
    return sorted(gaps, key=lambda g: (g.camera_id, g.start))


def not_watched_seconds(gaps: list[CoverageGap], until: dt.datetime) -> dict[str, float]:
    """Per camera, how long its gaps (as `coverage_gaps` gives them, all of them) lasted up to `until`."""
    out: dict[str, float] = {}
    for g in gaps:
        out[g.camera_id] = out.get(g.camera_id, 0.0) + g.seconds_within(until)
    return out
