"""Ingest against a real RTSP server on 127.0.0.1 serving real H.264."""

import contextlib
import itertools
import socket
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from maskwatch.config import Settings, parse_settings
from maskwatch.ingest.reader import CameraReader, StreamEnded
from maskwatch.ingest.stage import IngestStage
from maskwatch.messages import CameraHealth, FrameMessage
from maskwatch.queue import Queue, open_queue
from maskwatch.streams import HEALTH, frames_stream

pytestmark = [pytest.mark.service, pytest.mark.shared]


def settings_for(cameras: list[dict], **ingest: float) -> Settings:
    cfg = {"open_timeout_s": 3, "stall_timeout_s": 3, "backoff_initial_s": 0.3, "backoff_max_s": 2, **ingest}
    return parse_settings({"cameras": cameras, "ingest": cfg, "queue": {"frames_maxlen": 1000}})


class Running:
    def __init__(self, settings: Settings, queue: Queue | None = None) -> None:
        self.queue = queue or open_queue("memory://")
        self.stage = IngestStage(settings, self.queue)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.stage.run, args=(self.stop,), daemon=True)
        self.thread.start()

    def wait_for(self, condition: Callable[[], bool], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, "timed out"
            time.sleep(0.05)

    def health(self) -> list[CameraHealth]:
        self.queue.ensure_group(HEALTH, "t")
        return [CameraHealth.from_fields(d.fields) for d in self.queue.read("t", "t", [HEALTH], 10_000, 10)]

    def frames(self, camera: str) -> list[FrameMessage]:
        self.queue.ensure_group(frames_stream(camera), "t")
        return [
            FrameMessage.from_fields(d.fields) for d in self.queue.read("t", "t", [frames_stream(camera)], 10_000, 10)
        ]

    def close(self) -> None:
        self.stop.set()
        self.thread.join(15)
        assert not self.thread.is_alive()


def video(shared: Path, name: str) -> str:
    return str(shared / "videos" / name)


def test_samples_rtsp_at_configured_rate(rtsp_server, shared: Path) -> None:
    server = rtsp_server([f"w={video(shared, 'woman-with-mask.mp4')}"])
    run = Running(settings_for([{"id": "w", "name": "W", "url": server.url("w"), "sample_fps": 4}]))
    dog = run.stage.watchdogs[0]
    run.wait_for(lambda: dog.frames_sent >= 12)
    run.close()
    frames = run.frames("w")
    assert [f.seq for f in frames] == list(range(len(frames)))
    gaps = [b.captured_at - a.captured_at for a, b in itertools.pairwise(frames)]
    # 4 fps from stream timestamps (the median: frames of the burst on connect are dated at arrival)
    assert 0.2 <= statistics.median(gaps) <= 0.3
    assert (frames[0].width, frames[0].height) == (720, 404)
    assert frames[0].jpeg[:2] == b"\xff\xd8"
    assert "online" in [h.state for h in run.health()]


def test_live_frames_are_never_dated_after_they_arrived(rtsp_server, shared: Path) -> None:
    """The server sends what it has buffered at once on connect (as cameras that keep a buffer may):
    frames dated by the reader's start plus their stream time were up to 0.79 s in the future."""
    server = rtsp_server([f"w={video(shared, 'woman-with-mask.mp4')}"])
    settings = settings_for([{"id": "w", "name": "W", "url": server.url("w"), "sample_fps": 25, "decode": "all"}])
    sent: list[tuple[float, FrameMessage]] = []
    reader = CameraReader(settings.cameras[0], settings.ingest, lambda f: sent.append((time.time(), f)))
    stop = threading.Event()
    connecting = time.time()
    thread = threading.Thread(target=reader.run, args=(stop,), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while len(sent) < 75 and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.05)
    stop.set()
    thread.join(10)
    assert len(sent) >= 75
    ahead = [round(f.captured_at - at, 3) for at, f in sent if f.captured_at > at]
    assert not ahead, f"{len(ahead)} frames dated after they were published, by up to {max(ahead)} s"
    times = [f.captured_at for _, f in sent]
    assert connecting - 1.0 < times[0] and all(b > a for a, b in itertools.pairwise(times))
    # Live, the frames keep the stream's rhythm (25 fps; this server's pacing wanders by 4 %).
    assert times[-1] - times[-26] == pytest.approx(1.0, abs=0.05)


def test_frozen_stream_is_detected_and_restarted(rtsp_server, shared: Path) -> None:
    server = rtsp_server([f"f={video(shared, 'man-without-mask.mp4')},freeze=1.5"])
    run = Running(settings_for([{"id": "f", "name": "F", "url": server.url("f")}], stall_timeout_s=2))
    run.wait_for(lambda: any(h.state == "stalled" for h in run.health()) or run.stage.watchdogs[0].state == "stalled")
    run.wait_for(lambda: run.stage.watchdogs[0].state == "online")  # the restart reconnects
    run.close()


def test_server_death_and_return(rtsp_server, shared: Path, caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    clip = f"w={video(shared, 'woman-with-mask.mp4')}"
    server = rtsp_server([clip], port=port)
    url = server.url("w").replace("rtsp://", "rtsp://viewer:hunter2@")
    run = Running(settings_for([{"id": "w", "name": "W", "url": url}]))
    dog = run.stage.watchdogs[0]
    run.wait_for(lambda: dog.state == "online")
    server.stop()
    run.wait_for(lambda: dog.state == "offline" and "refused" in dog.detail)
    sent = dog.frames_sent
    rtsp_server([clip], port=port)
    run.wait_for(lambda: dog.state == "online" and dog.frames_sent > sent)
    run.close()
    texts = [r.getMessage() for r in caplog.records] + [h.detail for h in run.health()]
    assert not any("hunter2" in t for t in texts)
    assert any("viewer:***@" in t for t in texts)


def test_wrong_path_is_reported_and_other_cameras_keep_running(rtsp_server, shared: Path) -> None:
    server = rtsp_server([f"w={video(shared, 'woman-with-mask.mp4')}"])
    run = Running(
        settings_for(
            [{"id": "bad", "name": "Bad", "url": server.url("nope")}, {"id": "w", "name": "W", "url": server.url("w")}]
        )
    )
    bad, good = run.stage.watchdogs
    run.wait_for(lambda: "not found (404)" in bad.detail and good.frames_sent >= 3)
    run.close()


def test_full_queue_drops_oldest_and_counts(rtsp_server, shared: Path) -> None:
    server = rtsp_server([f"w={video(shared, 'woman-with-mask.mp4')}"])
    settings = settings_for([{"id": "w", "name": "W", "url": server.url("w"), "sample_fps": 10}])
    settings = settings.model_copy(update={"queue": settings.queue.model_copy(update={"frames_maxlen": 5})})
    run = Running(settings)
    dog = run.stage.watchdogs[0]
    run.wait_for(lambda: dog.frames_sent >= 15)
    run.close()
    assert run.queue.backlog(frames_stream("w")) == 5
    assert dog.frames_dropped == dog.frames_sent - 5


def test_keyframe_only_decode_samples_keyframes(tmp_path: Path, shared: Path) -> None:
    from devtools.clips import transcode_clip

    clip = transcode_clip(
        shared / "videos" / "woman-with-mask.mp4", tmp_path / "gop1s.mp4", (640, 360), 25, 1.0, max_seconds=8
    )
    base = {"name": "C", "url": str(clip), "realtime": False, "sample_fps": 1}
    run = Running(settings_for([{"id": "key", "decode": "keyframes", **base}, {"id": "all", "decode": "all", **base}]))
    key, full = run.stage.watchdogs
    run.wait_for(lambda: key.finished.is_set() and full.finished.is_set())
    run.close()

    def times(camera: str) -> list[float]:
        frames = run.frames(camera)
        return [round(f.captured_at - frames[0].captured_at, 2) for f in frames]

    assert times("key") == times("all") == [float(i) for i in range(8)]  # keyframes every 1 s = the sampling rate


def test_auto_decode_switches_to_keyframes_when_they_are_frequent_enough(tmp_path: Path, shared: Path) -> None:
    from devtools.clips import transcode_clip
    from maskwatch.ingest.reader import CameraReader

    clip = transcode_clip(
        shared / "videos" / "woman-with-mask.mp4", tmp_path / "gop1s.mp4", (640, 360), 25, 1.0, max_seconds=8
    )
    settings = settings_for([{"id": "c", "name": "C", "url": str(clip), "realtime": False, "sample_fps": 1}])
    sent: list[FrameMessage] = []
    reader = CameraReader(settings.cameras[0], settings.ingest, sent.append)
    with pytest.raises(StreamEnded):
        reader.run(threading.Event())
    assert reader.keyframes_only
    assert len(sent) == 8
    # Every frame up to the third keyframe (51, to measure two GOPs), a few already in flight in
    # the decoder (B-frame reordering), then only the remaining 6 keyframes: far below the 200 of a full decode.
    assert reader.counters.decoded <= 51 + 8 + 6


def still_then_moving(tmp_path: Path) -> Path:
    """10 fps, 320 x 240: 3 s of a still picture, then a square moving right along y 100-140."""
    import numpy as np

    from devtools.demo_media import write_clip

    def picture(n: int) -> np.ndarray:
        image = np.full((240, 320, 3), 90, np.uint8)
        x = 10 + 8 * max(0, n - 30)
        image[100:140, x : x + 40] = 230
        return image

    return write_clip(tmp_path / "still-then-moving.mp4", (picture(n) for n in range(60)), fps=10)


def read_gated(clip: Path, **camera: object) -> tuple[list[FrameMessage], "CameraReader"]:
    from maskwatch.ingest.reader import CameraReader

    cfg = {"id": "m", "name": "M", "url": str(clip), "realtime": False, "sample_fps": 5, "motion": {"keepalive_s": 100}}
    settings = settings_for([{**cfg, **camera}])
    sent: list[FrameMessage] = []
    reader = CameraReader(settings.cameras[0], settings.ingest, sent.append)
    with pytest.raises(StreamEnded):
        reader.run(threading.Event())
    return sent, reader


def test_motion_gate_sends_only_frames_that_changed(tmp_path: Path) -> None:
    sent, reader = read_gated(still_then_moving(tmp_path))
    assert reader.counters.sampled == 30
    times = [round(f.captured_at - sent[0].captured_at, 1) for f in sent]
    # The first frame, then nothing until the square moves at 3.0 s, then every sampled frame.
    assert times[0] == 0.0 and times[1] >= 3.0 and len(sent) == 1 + 15 - 1
    assert reader.counters.motion_skipped == 30 - len(sent)


def test_motion_gate_sees_only_what_the_cameras_areas_count(tmp_path: Path) -> None:
    clip = still_then_moving(tmp_path)
    band = {"x1": 0, "y1": 0.35, "x2": 1, "y2": 0.65}  # where the square moves
    ignored, _ = read_gated(clip, ignore_areas=[band])
    assert len(ignored) == 1  # the first frame only: all the motion is in the ignore area
    watched, _ = read_gated(clip, watch_areas=[band])
    everything, _ = read_gated(clip)
    assert len(watched) == len(everything) == 15
    elsewhere, _ = read_gated(clip, watch_areas=[{"x1": 0, "y1": 0, "x2": 1, "y2": 0.3}])
    assert len(elsewhere) == 1


def test_disabled_camera_reports_and_reads_nothing(shared: Path) -> None:
    run = Running(
        settings_for([{"id": "off", "name": "Off", "url": video(shared, "woman-with-mask.mp4"), "enabled": False}])
    )
    dog = run.stage.watchdogs[0]
    run.wait_for(lambda: dog.state == "disabled")
    run.close()
    assert dog.frames_sent == 0 and next(h.state for h in run.health()) == "disabled"


def test_reload_adds_removes_and_restarts_only_what_changed(rtsp_server, shared: Path) -> None:
    server = rtsp_server([f"a={video(shared, 'woman-with-mask.mp4')}", f"b={video(shared, 'man-without-mask.mp4')}"])
    cam_a = {"id": "a", "name": "A", "url": server.url("a")}
    cam_b = {"id": "b", "name": "B", "url": server.url("b")}
    run = Running(settings_for([cam_a, {"id": "gone", "name": "G", "url": server.url("b")}]))
    dog_a, dog_gone = run.stage.watchdogs
    run.wait_for(lambda: dog_a.state == "online" and dog_gone.state == "online")
    added, removed, restarted = run.stage.reconfigure(settings_for([cam_a, cam_b]))
    assert (added, removed, restarted) == (["b"], ["gone"], [])
    dog_b = next(w for w in run.stage.watchdogs if w.camera.id == "b")
    run.wait_for(lambda: dog_b.frames_sent >= 2)
    assert run.stage.watchdogs[0] is dog_a and dog_a.state == "online"  # untouched: same connection
    assert dog_gone.state == "disabled" and "removed" in dog_gone.detail
    _, _, restarted = run.stage.reconfigure(settings_for([{**cam_a, "sample_fps": 1}, cam_b]))
    assert restarted == ["a"]
    run.close()


def _audio_only(path: Path) -> Path:
    import av
    import numpy as np

    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=16_000)
        for i in range(20):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16_000, i * 1024
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


@pytest.mark.parametrize(
    ("make_url", "reason"),
    [
        (lambda d: str(d / "missing.mp4"), "no such file"),
        (lambda d: str((d / "notes.mp4").write_text("not a video") and d / "notes.mp4"), "not a video stream"),
        (lambda d: str(_audio_only(d / "audio.m4a")), "source has no video stream"),
        (lambda d: "rtsp://admin:pw123@no-such-camera.invalid/stream", "does not resolve"),
    ],
    ids=["missing-file", "text-file", "audio-only", "unknown-host"],
)
def test_bad_sources_get_a_precise_reason(tmp_path: Path, make_url: Callable[[Path], str], reason: str) -> None:
    from maskwatch.ingest.reader import CameraReader, SourceError

    settings = settings_for([{"id": "c", "name": "C", "url": make_url(tmp_path)}])
    with pytest.raises(SourceError) as err:
        CameraReader(settings.cameras[0], settings.ingest, lambda f: None).run(threading.Event())
    assert reason in str(err.value) and str(err.value).startswith("camera c (")
    assert "pw123" not in str(err.value)


def test_auto_decode_skips_frames_nothing_refers_to(tmp_path: Path, shared: Path) -> None:
    from devtools.clips import transcode_clip
    from maskwatch.ingest.reader import CameraReader

    # x264's default GOP has B-frames, as many cameras' streams do; keyframes every 4 s stay rarer
    # than the sampling, so `auto` decodes every reference frame but skips the B-frames.
    clip = transcode_clip(shared / "videos" / "woman-with-mask.mp4", tmp_path / "b.mp4", (640, 360), 25, 4.0, 8)
    counts = {}
    for mode in ("all", "auto"):
        settings = settings_for(
            [{"id": "c", "name": "C", "url": str(clip), "realtime": False, "sample_fps": 2, "decode": mode}]
        )
        sent: list[FrameMessage] = []
        reader = CameraReader(settings.cameras[0], settings.ingest, sent.append)
        with pytest.raises(StreamEnded):
            reader.run(threading.Event())
        counts[mode] = (reader.counters.decoded, len(sent))
    assert counts["all"][0] == 200 and counts["auto"][0] < 0.7 * counts["all"][0], counts
    assert counts["auto"][1] == counts["all"][1] == 16  # the same sampling rate


def test_auto_decode_skips_the_rest_of_a_gop_after_its_last_sample(tmp_path: Path, shared: Path) -> None:
    from devtools.clips import transcode_clip
    from maskwatch.ingest.reader import CameraReader

    # Keyframes every 2 s, a sample every 1 s: once the keyframe interval is known (two intervals),
    # the frames between the mid-GOP sample and the next keyframe are never decoded.
    clip = transcode_clip(shared / "videos" / "woman-with-mask.mp4", tmp_path / "g.mp4", (640, 360), 25, 2.0, 9.6)
    sampled: dict[str, list[float]] = {}
    readers = {}
    for mode in ("all", "auto"):
        settings = settings_for(
            [{"id": "c", "name": "C", "url": str(clip), "realtime": False, "sample_fps": 1, "decode": mode}]
        )
        sent: list[FrameMessage] = []
        readers[mode] = reader = CameraReader(settings.cameras[0], settings.ingest, sent.append)
        with pytest.raises(StreamEnded):
            reader.run(threading.Event())
        sampled[mode] = [round(f.captured_at - sent[0].captured_at, 2) for f in sent]
    assert sampled["all"] == [float(i) for i in range(10)]
    # The same samples, give or take the B-frames `auto` never decodes (a frame or two later).
    assert sampled["auto"] == pytest.approx(sampled["all"], abs=0.081)
    assert readers["all"].counters.packets_skipped == 0
    # GOPs from 4 s on skip what follows their second sample: up to 23 + 23 + 14 packets, less those
    # the decoder had taken (B-frame reordering delays its output) before that sample came out.
    assert readers["auto"].counters.packets_skipped >= 40, readers["auto"].counters


def _read_all(clip: Path, mode: str, sample_fps: float) -> tuple[CameraReader, dict[float, bytes]]:
    """The reader after reading `clip` to its end, and its frames' JPEGs by stream time."""
    settings = settings_for(
        [{"id": "c", "name": "C", "url": str(clip), "realtime": False, "sample_fps": sample_fps, "decode": mode}]
    )
    sent: list[FrameMessage] = []
    reader = CameraReader(settings.cameras[0], settings.ingest, sent.append)
    with pytest.raises(StreamEnded):
        reader.run(threading.Event())
    return reader, {round(f.captured_at - sent[0].captured_at, 2): f.jpeg for f in sent}


@pytest.mark.parametrize(
    ("preset", "skip_mode", "decoded_at_most", "reason"),
    [
        # x264's faster presets: no P-frame refers to a B-frame, so none needs decoding.
        # Its last sample of each group is flushed out of the decoder: 83 frames (91 without).
        ("veryfast", "BIDIR", 86, "decoded identically without B-frames"),
        # Its default preset: P-frames refer to reference B-frames, which must stay.
        ("medium", "NONREF", 200, "a P-frame refers to a B-frame"),
        # No B-frames at all, as from many cameras: the check ends early.
        ("ultrafast", "NONREF", 210, "nothing more to skip"),
    ],
)
def test_auto_decode_skips_every_b_frame_only_where_no_p_frame_refers_to_one(
    tmp_path: Path,
    shared: Path,
    caplog: pytest.LogCaptureFixture,
    preset: str,
    skip_mode: str,
    decoded_at_most: int,
    reason: str,
) -> None:
    from devtools.clips import transcode_clip

    source = shared / "videos" / "four-people-putting-on-masks.mp4"
    clip = transcode_clip(source, tmp_path / "b.mp4", (640, 360), 25, 2.0, 12, preset=preset)
    every, frames = _read_all(clip, "all", 25)
    with caplog.at_level("DEBUG", logger="maskwatch.ingest.reader"):
        auto, samples = _read_all(clip, "auto", 1)
    assert auto.skip_mode == skip_mode, caplog.text
    assert ("skipping all B-frames" in caplog.text) == (skip_mode == "BIDIR") and reason in caplog.text
    # Only a verdict that changes the decoding is news for an operator (INFO); "as before" is DEBUG.
    (verdict,) = [r for r in caplog.records if "B-frame check" in r.getMessage()]
    assert verdict.levelname == ("INFO" if skip_mode == "BIDIR" else "DEBUG")
    assert len(samples) == 12 and auto.counters.decoded <= decoded_at_most, auto.counters
    assert (auto.counters.drains >= 3) == (skip_mode == "BIDIR"), auto.counters
    # Every sample is bit for bit the frame a decoder of every frame produced at that time.
    assert every.counters.decoded == 300
    for t, jpeg in samples.items():
        assert jpeg == frames[t], t


def test_b_frame_check_runs_on_rtsp_streams(rtsp_server, tmp_path: Path, shared: Path) -> None:
    from devtools.clips import transcode_clip

    source = shared / "videos" / "four-people-putting-on-masks.mp4"
    clip = transcode_clip(source, tmp_path / "b.mp4", (640, 360), 25, 2.0, 12)
    server = rtsp_server([f"b={clip}"])
    settings = settings_for([{"id": "b", "name": "B", "url": server.url("b"), "sample_fps": 1}])
    stop = threading.Event()
    reader = CameraReader(settings.cameras[0], settings.ingest, lambda f: None)
    thread = threading.Thread(target=reader.run, args=(stop,), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while reader.skip_mode != "BIDIR" and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.1)
    stop.set()
    thread.join(10)
    assert reader.skip_mode == "BIDIR"


def test_b_frame_checks_take_turns_and_give_their_slot_back(tmp_path: Path, shared: Path) -> None:
    from devtools.clips import transcode_clip

    source = shared / "videos" / "four-people-putting-on-masks.mp4"
    clip = transcode_clip(source, tmp_path / "b.mp4", (640, 360), 25, 2.0, 12)
    slots = threading.BoundedSemaphore(1)

    def read(realtime: bool, stop_after_s: float | None = None) -> CameraReader:
        camera = {"id": "c", "name": "C", "url": str(clip), "realtime": realtime, "sample_fps": 1}
        settings = settings_for([camera])
        reader = CameraReader(settings.cameras[0], settings.ingest, lambda f: None, bframe_checks=slots)
        stop = threading.Event()
        if stop_after_s is not None:
            threading.Timer(stop_after_s, stop.set).start()
        with contextlib.suppress(StreamEnded):
            reader.run(stop)
        return reader

    slots.acquire()  # another camera is checking: this one decodes as before, to the end
    assert read(realtime=False).skip_mode == "NONREF"
    slots.release()
    assert read(realtime=False).skip_mode == "BIDIR"
    assert read(realtime=True, stop_after_s=1.5).skip_mode == "NONREF"  # stopped mid-check
    assert slots.acquire(blocking=False)  # both gave the slot back
