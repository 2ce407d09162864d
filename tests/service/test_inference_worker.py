"""The inference stage over real queues: batching across cameras, results, dead-lettering, reclaim."""

import threading
import time
from collections.abc import Iterator

import cv2
import numpy as np
import pytest

from devtools.demo_media import DEMO_SCENES, render_scene
from maskwatch.config import Settings, parse_settings
from maskwatch.inference.analyzer import FaceAnalyzer
from maskwatch.inference.worker import InferenceWorker
from maskwatch.messages import FrameMessage, FrameResult
from maskwatch.queue import Queue, open_queue
from maskwatch.streams import DEAD_LETTER, RESULTS, frames_stream

SETTINGS = parse_settings(
    {
        "cameras": [{"id": "a", "name": "A", "url": "rtsp://127.0.0.1/a"}, {"id": "b", "name": "B", "url": "x.mp4"}],
        "inference": {"batch_frames": 4, "batch_wait_ms": 50, "reclaim_idle_ms": 1000},
    }
)


@pytest.fixture(scope="module")
def analyzer() -> FaceAnalyzer:
    return FaceAnalyzer(SETTINGS.analyzer)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.service)])
def queue(request: pytest.FixtureRequest) -> Iterator[Queue]:
    q = open_queue("memory://" if request.param == "memory" else request.getfixturevalue("redis_url"))
    yield q
    q.close()


def frame(camera: str, seq: int, scene: str = "entrance") -> FrameMessage:
    jpeg = cv2.imencode(".jpg", render_scene(DEMO_SCENES[scene]))[1].tobytes()
    return FrameMessage(camera, seq, 1_790_000_000.0 + seq, 1280, 720, jpeg)


def publish(queue: Queue, settings: Settings, frames: list[FrameMessage]) -> None:
    for f in frames:
        queue.publish(frames_stream(f.camera_id), f.to_fields(), settings.queue.frames_maxlen)


def results(queue: Queue) -> list[FrameResult]:
    queue.ensure_group(RESULTS, "check")
    return [FrameResult.from_fields(d.fields) for d in queue.read("check", "t", [RESULTS], 1000, 100)]


def test_batches_across_cameras_and_labels_faces(queue: Queue, analyzer: FaceAnalyzer) -> None:
    worker = InferenceWorker(SETTINGS, queue, analyzer, consumer="w1")
    publish(
        queue, SETTINGS, [frame("a", 0), frame("b", 0, "hall"), frame("a", 1), frame("b", 1, "hall"), frame("a", 2)]
    )
    batch = worker._collect(200)
    assert len(batch) >= 4  # batch_frames (Redis may deliver up to that many from each stream)
    done = worker.process(batch)
    while done < 5:
        done += worker.process(worker._collect(200))
    assert done == 5
    got = results(queue)
    assert sorted((r.frame.camera_id, r.frame.seq) for r in got) == [("a", 0), ("a", 1), ("a", 2), ("b", 0), ("b", 1)]
    by_cam = {r.frame.camera_id: r for r in got}
    assert len(by_cam["a"].faces) == 3 and len(by_cam["b"].faces) == 4
    assert sum(f.label == "without_mask" for f in by_cam["a"].faces) == 1
    assert queue.backlog(frames_stream("a")) == 0  # acknowledged after publishing


def test_each_camera_counts_the_faces_of_its_areas_and_a_reload_changes_them(
    queue: Queue, analyzer: FaceAnalyzer
) -> None:
    # The entrance scene: faces at x = 250 (without mask), 640 and 1030; camera a ignores the
    # right third of its picture, camera b watches only its left third.
    cameras = SETTINGS.model_dump()["cameras"]
    cameras[0]["ignore_areas"] = [{"x1": 0.67, "y1": 0, "x2": 1, "y2": 1}]
    cameras[1]["watch_areas"] = [{"x1": 0, "y1": 0, "x2": 0.33, "y2": 1}]
    settings = SETTINGS.model_copy(update={"cameras": parse_settings({"cameras": cameras}).cameras})
    worker = InferenceWorker(settings, queue, analyzer, consumer="w1")
    publish(queue, settings, [frame("a", 0), frame("b", 0)])
    while worker.process(worker._collect(200)):
        pass
    by_cam = {r.frame.camera_id: r for r in results(queue)}
    assert [round(f.box[0], -2) for f in sorted(by_cam["a"].faces, key=lambda f: f.box[0])] == [200, 600]
    assert [f.label for f in by_cam["b"].faces] == ["without_mask"]
    assert by_cam["b"].frame.jpeg  # its one face is a violation: the snapshot travels on

    worker.reconfigure(SETTINGS)  # areas removed
    publish(queue, SETTINGS, [frame("b", 1)])
    while worker.process(worker._collect(200)):
        pass
    assert len(results(queue)[-1].faces) == 3


def test_corrupt_frame_is_dead_lettered_and_the_rest_processed(queue: Queue, analyzer: FaceAnalyzer) -> None:
    worker = InferenceWorker(SETTINGS, queue, analyzer, consumer="w1")
    bad = FrameMessage("a", 9, 1.0, 10, 10, b"\xff\xd8 not a jpeg")
    publish(queue, SETTINGS, [bad, frame("a", 10)])
    assert worker.process(worker._collect(200)) == 1
    assert queue.backlog(DEAD_LETTER) == 1
    assert [r.frame.seq for r in results(queue)] == [10]


def test_frames_held_by_a_dead_worker_are_reclaimed(queue: Queue, analyzer: FaceAnalyzer) -> None:
    dead = InferenceWorker(SETTINGS, queue, analyzer, consumer="dead")
    alive = InferenceWorker(SETTINGS, queue, analyzer, consumer="alive")
    publish(queue, SETTINGS, [frame("a", 0), frame("a", 1)])
    held = dead._collect(200)
    assert len(held) == 2  # ...and then the worker dies without acknowledging
    alive.reclaimer.last_check = time.monotonic()
    assert alive._collect(100) == []
    time.sleep(1.1)
    alive.reclaimer.last_check = 0.0
    reclaimed = alive._collect(100)
    assert sorted(d.id for d in reclaimed) == sorted(d.id for d in held)
    assert alive.process(reclaimed) == 2


def test_run_stops_on_signal(queue: Queue, analyzer: FaceAnalyzer) -> None:
    worker = InferenceWorker(SETTINGS, queue, analyzer, consumer="w1")
    publish(queue, SETTINGS, [frame("b", i, "queue") for i in range(3)])
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop, 100))
    thread.start()
    deadline = time.monotonic() + 30
    while worker.stats.frames < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join(5)
    assert not thread.is_alive() and worker.stats.frames == 3


def test_results_carry_the_image_only_when_a_violation_is_seen(queue: Queue, analyzer: FaceAnalyzer) -> None:
    """Besides the live picture's one frame per camera and interval (the first of each second here)."""
    worker = InferenceWorker(SETTINGS, queue, analyzer, consumer="w1")
    nobody = cv2.imencode(".jpg", render_scene([]))[1].tobytes()
    later = [FrameMessage("b", i, 1.0 + i * 0.25, 1280, 720, nobody) for i in range(4)]
    publish(queue, SETTINGS, [frame("a", 0), *later])
    while worker.process(worker._collect(200)):
        pass
    got = results(queue)
    (a,) = [r for r in got if r.frame.camera_id == "a"]
    assert a.frame.jpeg[:2] == b"\xff\xd8"  # an unmasked face: a snapshot may be needed
    b = sorted((r for r in got if r.frame.camera_id == "b"), key=lambda r: r.frame.seq)
    assert all(r.faces == () for r in b)
    assert [bool(r.frame.jpeg) for r in b] == [True, False, False, False]  # the live picture's one


@pytest.mark.parametrize(
    ("width", "height", "jpeg", "reason"),
    [
        (0, 0, b"", "empty frame"),
        (20_000, 20_000, b"\xff\xd8", "larger than any camera frame"),
        (1280, 720, b"\xff\xd8garbage", "JPEG does not decode"),
        (640, 360, None, "the message says 640x360"),
    ],
)
def test_unusable_frames_are_dead_lettered_with_the_reason(
    width: int, height: int, jpeg: bytes | None, reason: str, analyzer: FaceAnalyzer
) -> None:
    queue = open_queue("memory://")
    worker = InferenceWorker(SETTINGS, queue, analyzer, consumer="w1")
    good = frame("a", 1)
    bad = FrameMessage("a", 0, 1_790_000_000.0, width, height, good.jpeg if jpeg is None else jpeg)
    publish(queue, SETTINGS, [bad, good])
    assert worker.process(worker._collect(200)) == 1
    queue.ensure_group(DEAD_LETTER, "x")
    (dead,) = queue.read("x", "t", [DEAD_LETTER], 10, 10)
    assert reason in dead.fields["reason"].decode() and "camera a frame 0" in dead.fields["reason"].decode()
    assert len(results(queue)) == 1


def test_full_results_queue_pauses_inference_instead_of_dropping(analyzer: FaceAnalyzer) -> None:
    settings = SETTINGS.model_copy(update={"queue": SETTINGS.queue.model_copy(update={"results_maxlen": 2})})
    queue = open_queue("memory://")
    worker = InferenceWorker(settings, queue, analyzer, consumer="w1")
    for i in range(2):
        queue.publish(RESULTS, FrameResult(frame("a", 100 + i), ()).to_fields(), 10)
    publish(queue, settings, [frame("a", 0), frame("a", 1)])
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop, 50), daemon=True)
    thread.start()
    time.sleep(1.5)
    assert worker.stats.frames == 0 and queue.backlog(frames_stream("a")) == 2  # held back, not dropped
    queue.ensure_group(RESULTS, "rec")
    queue.ack("rec", queue.read("rec", "r", [RESULTS], 10, 10))  # the recorder catches up
    deadline = time.monotonic() + 20
    while worker.stats.frames < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join(10)
    assert worker.stats.frames == 2 and queue.backlog(RESULTS) == 2


@pytest.mark.service
def test_redis_that_comes_back_empty_gets_its_groups_again(redis_url: str, analyzer: FaceAnalyzer) -> None:
    """A Redis restarted without persistence has lost the consumer groups: the worker recreates them."""
    import redis as redis_client

    queue = open_queue(redis_url)
    worker = InferenceWorker(SETTINGS, queue, analyzer, consumer="w1")
    redis_client.Redis.from_url(redis_url).flushdb()
    publish(queue, SETTINGS, [frame("a", 0)])
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop, 50), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while worker.stats.frames < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join(10)
    assert worker.stats.frames == 1
    queue.close()


def test_a_removed_camera_stops_being_exported_as_backlog(queue: Queue, analyzer: FaceAnalyzer) -> None:
    """An autoscaler reads the backlog gauge: a camera removed by a reload must leave it, not stay
    at its last value."""
    from maskwatch import metrics

    worker = InferenceWorker(SETTINGS, queue, analyzer, consumer="w1")
    publish(queue, SETTINGS, [frame("a", 0), frame("b", 0)])
    worker._report_lag()
    exported = {s.labels["camera"] for m in metrics.QUEUE_BACKLOG.collect() for s in m.samples}
    assert {"a", "b"} <= exported
    only_a = SETTINGS.model_copy(update={"cameras": SETTINGS.cameras[:1]})
    worker.reconfigure(only_a)
    worker._adopt_streams()
    worker._report_lag()
    exported = {s.labels["camera"] for m in metrics.QUEUE_BACKLOG.collect() for s in m.samples}
    assert "a" in exported and "b" not in exported


def test_a_frame_without_violations_carries_its_picture_once_per_live_interval(
    queue: Queue, analyzer: FaceAnalyzer
) -> None:
    """The record stage's live pictures come from these: without them a camera nobody violates at
    would never show a picture in the console."""
    worker = InferenceWorker(SETTINGS, queue, analyzer, consumer="w1")
    empty = cv2.imencode(".jpg", np.full((360, 640, 3), 128, np.uint8))[1].tobytes()
    start = 1_790_000_000.0  # a whole second: live_picture_s (1 s) slots start here
    times = [start, start + 0.3, start + 0.6, start + 1.1, start + 1.5]
    frames = [FrameMessage("a", i, t, 640, 360, empty) for i, t in enumerate(times)]
    publish(queue, SETTINGS, frames)
    while worker.process(worker._collect(200)):
        pass
    carried = {r.frame.seq: bool(r.frame.jpeg) for r in results(queue)}
    assert carried == {0: True, 1: False, 2: False, 3: True, 4: False}
