"""The fault suite: real processes, a real RTSP server, redis-server and PostgreSQL owned by the
test, each fault injected for real (kill, SIGSTOP, stop). Each case is bounded in time, and
records how long detection and recovery took and what was lost (runs/faults.jsonl; the table
is printed at the end of the run)."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path
from typing import Any

import pytest
import redis

from maskwatch.config import parse_settings
from maskwatch.messages import DOWN_STATES
from tests.support.factories import record_violations
from tests.support.pipeline import Pipeline, fast_config, report_row, wait_until
from tests.support.receivers import smtp_server, webhook_receiver
from tests.support.services import OwnPostgres, OwnRedis, free_port

pytestmark = [pytest.mark.service, pytest.mark.shared, pytest.mark.slow, pytest.mark.faults]

FOUR_PEOPLE = "four-people-putting-on-masks.mp4"  # 16.6 s; four people without masks at first


def video(shared: Path, name: str) -> str:
    return str(shared / "videos" / name)


def yunet(shared: Path) -> dict[str, Any]:
    # The faster detector keeps the 2-core CI quick; which detector runs is irrelevant to the faults.
    model = shared / "weights" / "face_detection_yunet_2023mar.onnx"
    return {"detector": {"backend": "yunet", "model_path": str(model)}}


def base_config(tmp_path: Path, redis_srv: OwnRedis, pg: OwnPostgres, db: str, **sections: Any) -> dict[str, Any]:
    return fast_config(
        queue={"url": redis_srv.url},
        database={"url": pg.create_database(db)},
        snapshots={"dir": str(tmp_path / "snapshots")},
        **sections,
    )


def test_rtsp_server_killed_then_restarted(
    rtsp_server: Any, shared: Path, own_redis: OwnRedis, own_postgres: OwnPostgres, tmp_path: Path, fault_report: Path
) -> None:
    port = free_port()
    mount = f"cam={video(shared, 'woman-with-mask.mp4')}"
    server = rtsp_server([mount], port=port)
    with webhook_receiver() as hook:
        cameras = [{"id": "cam", "name": "Lobby", "url": server.url("cam"), "sample_fps": 1}]
        cfg = base_config(
            tmp_path, own_redis, own_postgres, "f1", cameras=cameras, alerts={"webhooks": [{"url": hook.url}]}
        )
        pipe = Pipeline(tmp_path, cfg)
        pipe.start("record", "alerts", "ingest")
        try:
            wait_until(lambda: pipe.camera("cam").state == "online", 30, "camera online")
            server.stop()
            detect = wait_until(lambda: pipe.camera("cam").state in DOWN_STATES, 15, "camera seen down")
            wait_until(lambda: hook.accepted("camera_offline"), 15, "camera_offline alert delivered")
            time.sleep(2)  # stays down a while past the alert
            sent_before = pipe.camera("cam").frames_sent
            rtsp_server([mount], port=port)
            recover = wait_until(lambda: pipe.camera("cam").state == "online", 15, "camera online again")
            wait_until(lambda: pipe.camera("cam").frames_sent > sent_before + 2, 15, "frames flowing again")
            wait_until(lambda: hook.accepted("camera_online"), 15, "camera_online alert delivered")
            time.sleep(1.5)  # room for a duplicate to show up, if there were one
        finally:
            codes = pipe.stop()
    assert codes == dict.fromkeys(codes, 0), {n: pipe.log(n)[-2000:] for n in codes}
    # Back within the back-off cap (2 s) plus connecting and reporting.
    assert recover <= 2 + 3
    assert [len(hook.accepted(t)) for t in ("camera_offline", "camera_online")] == [1, 1]
    assert hook.accepted_twice() == []
    assert pipe.states("cam")[:4] == ["connecting", "online", "offline", "online"]
    report_row(
        fault_report,
        fault="1. RTSP server killed, restarted",
        detect_s=detect,
        recover_s=recover,
        lost="nothing (no frames exist while the camera is gone); 1 offline + 1 online alert",
    )


def test_rtsp_server_frozen(
    rtsp_server: Any, shared: Path, own_redis: OwnRedis, own_postgres: OwnPostgres, tmp_path: Path, fault_report: Path
) -> None:
    server = rtsp_server([f"cam={video(shared, 'woman-with-mask.mp4')}"])
    cameras = [{"id": "cam", "name": "Lobby", "url": server.url("cam"), "sample_fps": 1}]
    cfg = base_config(tmp_path, own_redis, own_postgres, "f2", cameras=cameras)
    pipe = Pipeline(tmp_path, cfg)
    pipe.start("record", "ingest")
    try:
        wait_until(lambda: pipe.camera("cam").state == "online", 30, "camera online")
        os.kill(server.proc.pid, signal.SIGSTOP)
        frozen_at = time.monotonic()
        detect = wait_until(lambda: pipe.camera("cam").state in DOWN_STATES, 15, "stall detected")
        time.sleep(max(0.0, 15 - (time.monotonic() - frozen_at)))
        sent_before = pipe.camera("cam").frames_sent
        os.kill(server.proc.pid, signal.SIGCONT)
        recover = wait_until(
            lambda: pipe.camera("cam").state == "online" and pipe.camera("cam").frames_sent > sent_before,
            20,
            "streaming again after SIGCONT",
        )
        states = pipe.states("cam")
    finally:
        os.kill(server.proc.pid, signal.SIGCONT)
        codes = pipe.stop()
    assert codes == dict.fromkeys(codes, 0), {n: pipe.log(n)[-2000:] for n in codes}
    assert "stalled" in states
    assert detect <= 3 + 2  # stall_timeout_s, plus the health report's trip to the database
    # After SIGCONT: at most one back-off (2 s cap) and a failing open (2 s) to sit out, then connect.
    assert recover <= 2 + 2 + 3
    report_row(
        fault_report,
        fault="2. RTSP server frozen (SIGSTOP 15 s)",
        detect_s=detect,
        recover_s=recover,
        lost="nothing (the camera sent nothing while frozen)",
    )


def test_inference_worker_killed_mid_batch(
    shared: Path, own_redis: OwnRedis, own_postgres: OwnPostgres, tmp_path: Path, fault_report: Path
) -> None:
    cameras = [{"id": "four", "name": "Four", "url": video(shared, FOUR_PEOPLE), "sample_fps": 3, "realtime": False}]
    with webhook_receiver() as hook:
        cfg = base_config(
            tmp_path,
            own_redis,
            own_postgres,
            "f3",
            cameras=cameras,
            analyzer=yunet(shared),
            alerts={"webhooks": [{"url": hook.url}]},
        )
        pipe = Pipeline(tmp_path, cfg)
        pipe.start("record", "alerts")
        victim = pipe.start("infer", name="infer-1")
        pipe.start("infer", name="infer-2")
        time.sleep(4)  # both workers loaded and waiting
        pipe.start("ingest")
        client = redis.Redis.from_url(own_redis.url)
        victim_name = f"infer-{socket.gethostname()}-{victim.pid}"

        def victim_holds_frames() -> bool:
            consumers = client.xinfo_consumers("maskwatch:frames:four", "inference")
            return any(c["name"].decode() == victim_name and c["pending"] > 0 for c in consumers)

        try:
            wait_until(victim_holds_frames, 30, "the victim worker holding a batch", poll=0.01)
            victim.kill()
            killed_at = time.monotonic()
            detect = wait_until(lambda: "took over" in pipe.log("infer-2"), 30, "the frames taken over")
            wait_until(lambda: pipe.camera("four").state == "finished", 60, "the recording sent completely")
            sent = pipe.camera("four").frames_sent
            wait_until(lambda: pipe.frames_recorded("four") >= sent, 60, "every frame sent recorded")
            recover = time.monotonic() - killed_at
            wait_until(lambda: len(hook.accepted()) >= len(pipe.violations()) > 0, 20, "alerts delivered")
            time.sleep(1.5)
        finally:
            codes = pipe.stop()
            client.close()
    assert codes.pop("infer-1") == -signal.SIGKILL
    assert codes == dict.fromkeys(codes, 0), {n: pipe.log(n)[-2000:] for n in codes}
    assert pipe.frames_recorded("four") == sent
    violations = pipe.violations()
    assert len(violations) == 4 and {label for _, label, _ in violations} == {"without_mask"}
    assert len(hook.accepted()) == 4 and hook.accepted_twice() == []
    report_row(
        fault_report,
        fault="3. inference worker SIGKILLed mid-batch",
        detect_s=detect,
        recover_s=recover,
        lost=f"nothing: {sent}/{sent} frames recorded, 4 violations, each alerted once",
    )


def test_database_stopped_mid_run(
    shared: Path, own_redis: OwnRedis, own_postgres: OwnPostgres, tmp_path: Path, fault_report: Path
) -> None:
    clip = {"id": "four", "name": "Four", "url": video(shared, FOUR_PEOPLE), "sample_fps": 3}
    # The same recording without an outage, as fast as it decodes: the reference.
    (tmp_path / "base").mkdir()
    base_cfg = base_config(
        tmp_path / "base",
        own_redis,
        own_postgres,
        "f4base",
        cameras=[{**clip, "realtime": False}],
        analyzer=yunet(shared),
    )
    base = Pipeline(tmp_path / "base", base_cfg)
    base.start("record", "infer", "ingest")
    try:
        wait_until(lambda: base.camera("four").state == "finished", 90, "reference: recording sent")
        sent = base.camera("four").frames_sent
        wait_until(lambda: base.frames_recorded("four") >= sent, 90, "reference: every frame recorded")
    finally:
        base.stop()
    reference = base.violations()
    redis.Redis.from_url(own_redis.url).flushall()

    # The same recording at its own pace, with the database stopped for 20 s from its 3rd second.
    (tmp_path / "outage").mkdir()
    cfg = base_config(tmp_path / "outage", own_redis, own_postgres, "f4", cameras=[clip], analyzer=yunet(shared))
    pipe = Pipeline(tmp_path / "outage", cfg)
    pipe.start("record", "infer", "ingest")
    try:
        wait_until(lambda: pipe.frames_recorded("four") >= 3, 60, "first frames recorded")
        own_postgres.stop()
        detect = wait_until(lambda: "unavailable" in pipe.log("record"), 15, "recorder reports the outage")
        time.sleep(20 - detect)
        own_postgres.start()
        restarted = time.monotonic()
        wait_until(lambda: pipe.camera("four").state == "finished", 60, "recording sent")
        wait_until(lambda: pipe.frames_recorded("four") >= sent, 60, "every frame recorded")
        recover = time.monotonic() - restarted
    finally:
        codes = pipe.stop()
    assert codes == dict.fromkeys(codes, 0), {n: pipe.log(n)[-2000:] for n in codes}
    assert pipe.camera("four").frames_sent == sent and pipe.frames_recorded("four") == sent
    assert len(reference) == 4
    assert pipe.violations() == reference
    # One line per outage, not one per retry (a periodic job that runs meanwhile says so on its own line).
    assert pipe.log("record").count("recorder: database unavailable") == 1
    report_row(
        fault_report,
        fault="4. database stopped 20 s mid-run",
        detect_s=detect,
        recover_s=recover,
        lost=f"nothing: {sent}/{sent} frames recorded, violations identical to the reference run",
    )


def test_redis_restarted_mid_run(
    rtsp_server: Any, shared: Path, own_redis: OwnRedis, own_postgres: OwnPostgres, tmp_path: Path, fault_report: Path
) -> None:
    server = rtsp_server([f"cam={video(shared, 'woman-with-mask.mp4')}"])
    cameras = [{"id": "cam", "name": "Lobby", "url": server.url("cam"), "sample_fps": 2}]
    cfg = base_config(tmp_path, own_redis, own_postgres, "f5", cameras=cameras, analyzer=yunet(shared))
    pipe = Pipeline(tmp_path, cfg)
    pipe.start("record", "infer", "ingest")
    try:
        wait_until(lambda: pipe.frames_recorded("cam") >= 6, 60, "frames recorded")
        own_redis.stop()
        stopped = time.monotonic()
        detect = wait_until(lambda: "unavailable" in pipe.log("ingest"), 15, "ingest reports the outage")
        time.sleep(max(0.0, 3 - (time.monotonic() - stopped)))
        recorded_before = pipe.frames_recorded("cam")
        dropped_before = pipe.camera("cam").frames_dropped
        own_redis.start()
        recover = wait_until(lambda: pipe.frames_recorded("cam") >= recorded_before + 4, 40, "frames recorded again")
        wait_until(lambda: pipe.camera("cam").frames_dropped > dropped_before, 15, "drops reported")
        camera = pipe.camera("cam")
        alive = pipe.alive()
    finally:
        codes = pipe.stop()
    assert all(alive.values()), alive
    assert codes == dict.fromkeys(codes, 0), {n: pipe.log(n)[-2000:] for n in codes}
    for stage in ("ingest", "infer", "record"):
        assert "available again" in pipe.log(stage), stage
    dropped = camera.frames_dropped
    report_row(
        fault_report,
        fault="5. Redis restarted mid-run",
        detect_s=detect,
        recover_s=recover,
        lost=f"{dropped} frames sampled while Redis was down, dropped and counted (ingest never waits); "
        "queued entries kept (AOF)",
    )


def test_webhook_failing_then_recovering(own_postgres: OwnPostgres, tmp_path: Path, fault_report: Path) -> None:
    with webhook_receiver() as flaky, webhook_receiver() as healthy:
        cfg = fast_config(
            cameras=[{"id": "cam-1", "name": "Entrance", "url": "rtsp://127.0.0.1:9/x"}],
            database={"url": own_postgres.create_database("f6")},
            snapshots={"dir": str(tmp_path / "snapshots")},
            alerts={"webhooks": [{"url": flaky.url}, {"url": healthy.url}]},
        )
        pipe = Pipeline(tmp_path, cfg)
        record_violations(parse_settings(cfg), n=3)
        # The outage starts with the dispatcher, not with the receiver: setting up the database takes seconds.
        flaky.fail_until = time.monotonic() + 8
        pipe.start("alerts")
        try:
            healthy_s = wait_until(lambda: len(healthy.accepted()) == 3, 20, "healthy endpoint served")
            detect = wait_until(lambda: any(r["status"] == 500 for r in flaky.received), 20, "first failure")
            wait_until(lambda: len(flaky.accepted()) == 3, 30, "flaky endpoint served after recovery")
            recover = time.monotonic() - flaky.fail_until
            time.sleep(1.5)
        finally:
            codes = pipe.stop()
    assert codes == {"alerts": 0}, pipe.log("alerts")[-2000:]
    assert healthy_s <= 5  # not held back by the failing endpoint (process start included)
    assert flaky.accepted_twice() == [] and healthy.accepted_twice() == []
    assert {r["headers"]["Idempotency-Key"] for r in flaky.accepted()} == {
        r["headers"]["Idempotency-Key"] for r in healthy.accepted()
    }
    assert recover <= 2 + 1.5  # the back-off cap, plus the poll
    failures = sum(r["status"] == 500 for r in flaky.received)
    report_row(
        fault_report,
        fault="6. webhook answers 500 for 8 s, then 200",
        detect_s=detect,
        recover_s=recover,
        lost=f"nothing: 3/3 alerts once each on both endpoints ({failures} failed attempts retried)",
    )


def test_smtp_down_then_up(own_postgres: OwnPostgres, tmp_path: Path, fault_report: Path) -> None:
    port = free_port()
    cfg = fast_config(
        cameras=[{"id": "cam-1", "name": "Entrance", "url": "rtsp://127.0.0.1:9/x"}],
        database={"url": own_postgres.create_database("f7")},
        snapshots={"dir": str(tmp_path / "snapshots")},
        alerts={
            "email": {
                "host": "127.0.0.1",
                "port": port,
                "starttls": False,
                "sender": "mw@example.org",
                "recipients": ["ops@example.org"],
            }
        },
    )
    pipe = Pipeline(tmp_path, cfg)
    record_violations(parse_settings(cfg), n=2)
    pipe.start("alerts")
    try:
        detect = wait_until(lambda: "Connection refused" in pipe.log("alerts"), 20, "delivery failure logged")
        time.sleep(4)
        with smtp_server(port=port) as smtp:
            recover = wait_until(lambda: len(smtp.messages) == 2, 20, "e-mails delivered after recovery")
            time.sleep(1.5)
            count = len(smtp.messages)
    finally:
        codes = pipe.stop()
    assert codes == {"alerts": 0}, pipe.log("alerts")[-2000:]
    assert count == 2 and [s for _, _, s in pipe.outbox()] == ["delivered", "delivered"]
    assert recover <= 2 + 1.5
    report_row(
        fault_report,
        fault="7. SMTP server down, then up",
        detect_s=detect,
        recover_s=recover,
        lost="nothing: 2/2 e-mails delivered once",
    )


def test_wrong_credentials_among_good_cameras(
    rtsp_server: Any, shared: Path, own_redis: OwnRedis, own_postgres: OwnPostgres, tmp_path: Path, fault_report: Path
) -> None:
    server = rtsp_server(
        [
            f"a={video(shared, 'woman-with-mask.mp4')}",
            f"b={video(shared, 'man-without-mask.mp4')}",
            f"locked={video(shared, 'woman-with-mask.mp4')},auth=viewer/right-pass",
        ]
    )
    locked = server.url("locked").replace("rtsp://", "rtsp://viewer:Wr0ng-Secret@")
    cameras = [
        {"id": "a", "name": "A", "url": server.url("a"), "sample_fps": 2},
        {"id": "bad", "name": "Bad password", "url": locked, "sample_fps": 2},
        {"id": "b", "name": "B", "url": server.url("b"), "sample_fps": 2},
    ]
    cfg = base_config(tmp_path, own_redis, own_postgres, "f8", cameras=cameras)
    pipe = Pipeline(tmp_path, cfg)
    pipe.start("record", "ingest")
    try:
        detect = wait_until(lambda: "401" in pipe.camera("bad").detail, 20, "credentials refused reported")
        start = {c: pipe.camera(c).frames_sent for c in ("a", "b")}
        time.sleep(6)
        rates = {c: (pipe.camera(c).frames_sent - start[c]) / 6 for c in ("a", "b")}
        states = {c: pipe.camera(c).state for c in ("a", "b", "bad")}
        detail = pipe.camera("bad").detail
    finally:
        codes = pipe.stop()
    assert codes == dict.fromkeys(codes, 0), {n: pipe.log(n)[-2000:] for n in codes}
    assert states == {"a": "online", "b": "online", "bad": "offline"}
    assert all(r >= 1.4 for r in rates.values()), rates  # ~2 fps each, unaffected
    assert "check the camera user and password" in detail
    everything = "".join(pipe.log(n) for n in codes) + detail
    assert "Wr0ng-Secret" not in everything and "viewer:***@" in everything
    report_row(
        fault_report,
        fault="8. wrong credentials among good cameras",
        detect_s=detect,
        recover_s=None,
        lost=f"nothing: good cameras at {rates['a']:.1f} and {rates['b']:.1f} fps (2 configured)",
    )
