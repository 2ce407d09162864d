"""Camera status in the database: state history, offline/online alerts after the grace period,
silent ingest, and coverage gaps (SQLite and a real Postgres)."""

import datetime as dt

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from maskwatch.config import Settings, parse_settings
from maskwatch.messages import CameraHealth
from maskwatch.storage.cameras import CameraStatus, camera_reason, coverage_gaps
from maskwatch.storage.db import create_db_engine, upgrade
from maskwatch.storage.models import Camera, CameraStatusEvent, OutboxAlert

T0 = dt.datetime(2026, 11, 26, 2, 0, tzinfo=dt.timezone.utc)


def settings(grace_s: float = 60) -> Settings:
    return parse_settings(
        {
            "alerts": {
                "webhooks": [{"url": "http://127.0.0.1:9/hook"}],
                "camera_grace_s": grace_s,
                "email": {"host": "127.0.0.1", "sender": "a@b.c", "recipients": ["d@e.f"]},
            },
            "ingest": {"health_interval_s": 10, "silence_factor": 3},
        }
    )


class Harness:
    def __init__(self, database_url: str, grace_s: float = 60) -> None:
        self.engine: Engine = create_db_engine(database_url)
        upgrade(self.engine)
        self.status = CameraStatus(settings(grace_s))
        self.status.started = T0 - dt.timedelta(hours=1)
        with Session(self.engine) as s, s.begin():
            s.add(Camera(id="cam", name="Gate", url="rtsp://***@h/s", updated_at=T0))

    def health(self, state: str, at: dt.datetime, detail: str = "") -> None:
        with Session(self.engine) as s, s.begin():
            cam = s.get(Camera, "cam")
            assert cam is not None
            self.status.apply_health(s, cam, CameraHealth("cam", state, detail, 0, 0, at.timestamp()))

    def check(self, at: dt.datetime) -> None:
        with Session(self.engine) as s, s.begin():
            self.status.check(s, at)

    def alerts(self) -> list[tuple[str, str]]:
        with Session(self.engine) as s:
            return [(a.kind, a.channel) for a in s.scalars(select(OutboxAlert).order_by(OutboxAlert.id))]

    def payloads(self, kind: str) -> list[dict]:
        with Session(self.engine) as s:
            return [a.payload for a in s.scalars(select(OutboxAlert).where(OutboxAlert.kind == kind))]


def secs(n: float) -> dt.timedelta:
    return dt.timedelta(seconds=n)


def test_outage_longer_than_grace_alerts_once_each_way(database_url: str) -> None:
    h = Harness(database_url)
    h.health("connecting", T0)
    h.health("online", T0 + secs(1))
    h.health("stalled", T0 + secs(100), "no frame for 10 s")
    h.health("offline", T0 + secs(101), "connection refused; retry 1 in 1.0 s")
    h.check(T0 + secs(159))
    assert h.alerts() == []  # still within the grace period (60 s from the stall)
    h.check(T0 + secs(161))
    h.check(T0 + secs(200))
    assert h.alerts() == [("camera_offline", "webhook:0"), ("camera_offline", "email")]
    (offline,) = h.payloads("camera_offline")[:1]
    assert offline["down_since"] == "2026-11-26T02:01:40Z" and "refused" in offline["detail"]
    # What a message says: the reason, without the retry schedule, which the message would freeze.
    assert (offline["detail"], offline["reason"]) == ("connection refused; retry 1 in 1.0 s", "connection refused")
    assert camera_reason("connection refused; retry 12 at 14:02:07 UTC", "c") == "connection refused"
    h.health("online", T0 + secs(400))
    assert [k for k, _ in h.alerts()].count("camera_online") == 2
    online = h.payloads("camera_online")[0]
    assert online["down_for_s"] == 300.0 and online["event_key"] == "camera_online:cam:2026-11-26T02:01:40Z"
    with Session(h.engine) as s:
        states = [e.state for e in s.scalars(select(CameraStatusEvent).order_by(CameraStatusEvent.id))]
        cam = s.get(Camera, "cam")
        assert cam is not None and cam.down_since is None and not cam.offline_alerted
    assert states == ["connecting", "online", "stalled", "offline", "online"]
    (gap,) = [g for g in coverage_gaps(h.engine, T0 + secs(60), T0 + secs(500)) if g.seconds and g.seconds > 5]
    assert (gap.start, gap.end, gap.reason) == (T0 + secs(100), T0 + secs(400), "no frame for 10 s")
    h.engine.dispose()


def test_short_outage_raises_no_alert(database_url: str) -> None:
    h = Harness(database_url)
    h.health("online", T0)
    h.health("offline", T0 + secs(10), "stream ended")
    h.check(T0 + secs(50))
    h.health("online", T0 + secs(55))
    h.check(T0 + secs(200))
    assert h.alerts() == []
    h.engine.dispose()


def test_silent_ingest_counts_as_offline(database_url: str) -> None:
    h = Harness(database_url, grace_s=0)
    h.health("online", T0)
    h.check(T0 + secs(29))  # 3 health intervals of 10 s not yet over
    assert h.alerts() == []
    h.check(T0 + secs(31))
    with Session(h.engine) as s:
        cam = s.get(Camera, "cam")
        assert cam is not None and cam.state == "offline" and cam.detail.startswith("ingest not reporting")
    h.check(T0 + secs(32))
    assert [k for k, _ in h.alerts()] == ["camera_offline", "camera_offline"]
    h.engine.dispose()


def test_maskwatch_stopping_is_not_an_outage_alert_but_a_coverage_gap(database_url: str) -> None:
    h = Harness(database_url, grace_s=0)
    h.health("online", T0)
    h.health("stopped", T0 + secs(10))
    h.check(T0 + secs(3600))
    assert h.alerts() == []
    h.health("connecting", T0 + secs(3600))
    h.health("online", T0 + secs(3601))
    assert h.alerts() == []
    (gap,) = coverage_gaps(h.engine, T0, T0 + secs(4000))
    assert (gap.start, gap.end) == (T0 + secs(10), T0 + secs(3601))
    h.engine.dispose()


def test_late_health_reports_do_not_undo_newer_ones(database_url: str) -> None:
    h = Harness(database_url)
    h.health("online", T0 + secs(10))
    h.health("offline", T0 + secs(5), "old news")
    with Session(h.engine) as s:
        cam = s.get(Camera, "cam")
        assert cam is not None and cam.state == "online"
    h.engine.dispose()


def test_a_camera_down_when_maskwatch_stops_stays_down_with_why(database_url: str) -> None:
    h = Harness(database_url, grace_s=60)
    h.health("connecting", T0)
    h.health("offline", T0 + secs(1), "connection refused; retry 1 in 0.5 s")
    h.health("offline", T0 + secs(3), "connection refused; retry 2 in 1.0 s")
    h.health("stopped", T0 + secs(5), "maskwatch stopped; the camera was offline: connection refused")
    h.health("stopped", T0 + secs(5), "maskwatch stopped; the camera was offline: connection refused")  # said twice
    with Session(h.engine) as s:
        cam = s.get(Camera, "cam")
        assert cam is not None and cam.state == "offline" and cam.down_since is None
        assert cam.detail == "maskwatch stopped; the camera was offline: connection refused"
        states = [e.state for e in s.scalars(select(CameraStatusEvent).order_by(CameraStatusEvent.id))]
    assert states == ["connecting", "offline", "stopped"]
    h.check(T0 + secs(3600))  # maskwatch stopping raises no alert, however long it stays stopped
    assert h.alerts() == []
    (gap,) = coverage_gaps(h.engine, T0, T0 + secs(3600))
    assert (gap.end, gap.reason) == (None, "connection refused; then maskwatch stopped")

    # Started again an hour later: the outage is timed from then, and one gap covers it all.
    h.health("connecting", T0 + secs(3600))
    h.health("offline", T0 + secs(3601), "connection refused; retry 1 in 0.5 s")
    h.check(T0 + secs(3650))
    assert h.alerts() == []  # within the grace period since it was watched again
    h.check(T0 + secs(3662))
    assert [k for k, _ in h.alerts()] == ["camera_offline", "camera_offline"]
    assert h.payloads("camera_offline")[0]["down_since"] == "2026-11-26T03:00:00Z"
    h.health("online", T0 + secs(3700))
    (gap,) = coverage_gaps(h.engine, T0, T0 + secs(4000))
    assert (gap.start, gap.end) == (T0, T0 + secs(3700))
    assert gap.reason == "connection refused; then maskwatch stopped"
    h.engine.dispose()


def test_a_gap_that_began_with_a_stop_says_so_first(database_url: str) -> None:
    h = Harness(database_url)
    h.health("online", T0)
    h.health("stopped", T0 + secs(10), "maskwatch stopped")
    with Session(h.engine) as s:
        cam = s.get(Camera, "cam")
        assert cam is not None and (cam.state, cam.detail) == ("stopped", "maskwatch stopped")
    h.health("connecting", T0 + secs(100))
    h.health("offline", T0 + secs(101), "host 10.0.0.9:554 unreachable (No route to host); retry 1 in 0.5 s")
    h.health("online", T0 + secs(200))
    h.health("stopped", T0 + secs(300), "")  # from an ingest that gives no reason
    (first, second) = coverage_gaps(h.engine, T0, T0 + secs(400))
    assert first.reason == "maskwatch stopped; then host 10.0.0.9:554 unreachable (No route to host)"
    assert (second.start, second.end, second.reason) == (T0 + secs(300), None, "maskwatch stopped")
    h.engine.dispose()


def test_a_camera_removed_while_down_ends_its_gap_saying_so(database_url: str) -> None:
    h = Harness(database_url)
    h.health("connecting", T0)
    h.health("offline", T0 + secs(1), "camera cam (rtsp://***@h/s): connection refused; retry 1 in 0.5 s")
    h.check(T0 + secs(100))  # alerted: the outage outlasted the grace period
    h.health("disabled", T0 + secs(120), "removed from the configuration")
    with Session(h.engine) as s:
        cam = s.get(Camera, "cam")
        assert cam is not None and (cam.state, cam.detail) == ("disabled", "removed from the configuration")
        states = [e.state for e in s.scalars(select(CameraStatusEvent).order_by(CameraStatusEvent.id))]
    assert states == ["connecting", "offline", "disabled"]
    assert h.payloads("camera_offline")[0]["reason"] == "connection refused"  # the camera is named by the alert
    (gap,) = coverage_gaps(h.engine, T0, T0 + secs(3600))
    assert (gap.start, gap.end) == (T0, T0 + secs(120))
    assert gap.reason == "connection refused; then removed from the configuration"
    h.engine.dispose()
