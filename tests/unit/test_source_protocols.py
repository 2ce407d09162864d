"""A camera source reaches only what maskwatch means: rtsp(s)://, http(s)://, a file path or a
device. The config refuses FFmpeg's other protocols, and FFmpeg gets a protocol whitelist, so that
nothing a stream refers to (HLS segments, an SDP's RTP ports, a concat list) reaches further."""

from __future__ import annotations

import base64
import functools
import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest

from maskwatch.config import ConfigError, parse_settings
from maskwatch.ingest.reader import resolve_source


def camera(url: str, name: str = "Door") -> dict[str, str]:
    return {"id": "c", "name": name, "url": url}


@pytest.mark.attack("point a camera at file:, concat:, subfile, data:", expected="the config refuses it")
@pytest.mark.parametrize(
    "url",
    [
        "file:/etc/passwd",
        "FILE:/etc/passwd",
        "concat:/etc/passwd|/etc/hosts",
        "subfile,,start,0,end,0,,:/etc/passwd",
        "crypto:/etc/passwd",
        "data:text/plain;base64,aGVsbG8=",
        "pipe:0",
        "tcp://10.0.0.2:80",
        "udp://10.0.0.2:5000",
        "hls+http://cam/x.m3u8",
        "ftp://cam/x.mp4",
        "rtsp:/cam/live",  # FFmpeg's rtsp all the same, without the `//` the config would check
        "clips,2024/a.mp4",
        "concat:rtsp://admin:pw-secret@cam/a|rtsp://cam/b",
    ],
)
def test_config_refuses_other_protocols(url: str) -> None:
    with pytest.raises(ConfigError, match="unsupported protocol") as info:
        parse_settings({"cameras": [camera(url)]})
    assert "cameras.0.url" in str(info.value) and "pw-secret" not in str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        "rtsp://admin:pw@10.0.0.2:554/Streaming/Channels/101",
        "RTSPS://cam.example.org/live",
        "http://cam/video.mjpg",
        "https://cam/live.m3u8",
        "/srv/recordings/door.mp4",
        "/srv/recordings/door:2024-01-01.mp4",
        "./concat:odd-name.mp4",
        "recordings/door.mp4",
        "door.mp4",
        "~/door.mp4",
        "0",
        "12",
        "C:\\recordings\\door.mp4",
        "C:/recordings/door.mp4",
    ],
)
def test_config_keeps_cameras_paths_and_devices(url: str) -> None:
    assert parse_settings({"cameras": [camera(url)]}).cameras[0].url == url


@pytest.mark.attack("inject control characters into a camera URL", expected="the config refuses it")
@pytest.mark.parametrize("url", ["rtsp://cam/live\r\nX-Injected: 1", "rtsp://cam/live\x00", "door\n.mp4"])
def test_config_refuses_control_characters_in_urls(url: str) -> None:
    with pytest.raises(ConfigError, match="control characters"):
        parse_settings({"cameras": [camera(url)]})


@pytest.mark.parametrize(
    ("url", "whitelist"),
    [
        ("rtsp://cam/live", "tcp,tls"),
        ("RTSPS://cam/live", "tcp,tls"),
        ("http://cam/live.m3u8", "http,https,tcp,tls,crypto"),
        ("https://cam/live.m3u8", "http,https,tcp,tls,crypto"),
        ("/srv/door.mp4", "file"),
        ("0", "file"),
    ],
)
def test_every_source_gets_a_protocol_whitelist(url: str, whitelist: str) -> None:
    assert resolve_source(url).options["protocol_whitelist"] == whitelist


def test_a_path_is_never_read_as_a_protocol() -> None:
    source = resolve_source("concat:/etc/passwd|/etc/hosts")
    assert source.is_file and source.target == "file:concat:/etc/passwd|/etc/hosts"


# --- FFmpeg itself, on fixtures that refer elsewhere ---------------------------------------------


def _recording(path: Path, frames: int = 10) -> Path:
    with av.open(str(path), "w", format="mpegts") as out:
        stream = out.add_stream("mpeg2video", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(frames):
            image = np.full((48, 64, 3), i * 20, np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode())
    return path


def _playlist(path: Path, segment: str) -> Path:
    path.write_text(f"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n{segment}\n#EXT-X-ENDLIST\n")
    return path


def frames_read(url: str) -> int:
    """Frames FFmpeg decodes from `url` the way the camera reader opens it."""
    source = resolve_source(url)
    with av.open(source.target, format=source.format, options=source.options, timeout=5) as container:
        return sum(1 for _ in container.decode(video=0))


REFUSED = (av.error.FFmpegError, OSError)


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[str]:
    """tmp_path over HTTP on 127.0.0.1: a camera that serves whatever the test puts there."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_recordings_and_http_streams_still_play(tmp_path: Path, served: str) -> None:
    _recording(tmp_path / "seg.ts")
    _playlist(tmp_path / "local.m3u8", "seg.ts")
    _playlist(tmp_path / "live.m3u8", f"{served}/seg.ts")
    assert frames_read(str(tmp_path / "seg.ts")) == 10
    assert frames_read(str(tmp_path / "local.m3u8")) == 10  # a recording in segments, next to it
    assert frames_read(f"{served}/seg.ts") == 10
    assert frames_read(f"{served}/live.m3u8") == 10  # an HLS camera


@pytest.mark.attack("name a file like a protocol", expected="read as a file only")
def test_a_path_naming_a_protocol_opens_no_protocol(tmp_path: Path) -> None:
    """Even past the config check: FFmpeg alone would open the subfile and concat protocols."""
    seg = _recording(tmp_path / "seg.ts")
    for url in (f"subfile,,start,0,end,0,,:{seg}", f"concat:{seg}|{seg}"):
        with pytest.raises(REFUSED):
            frames_read(url)


@pytest.mark.attack("make an HTTP camera open RTP ports (SDP)", expected="FFmpeg refuses to open it")
def test_an_http_camera_cannot_make_ffmpeg_open_rtp(tmp_path: Path, served: str) -> None:
    """An SDP served as the stream: FFmpeg alone opens the RTP/UDP ports it names and waits there."""
    (tmp_path / "x.sdp").write_text(
        "v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\nm=video 50004 RTP/AVP 96\n"
        "a=rtpmap:96 H264/90000\n"
    )
    source = resolve_source(f"{served}/x.sdp")
    started = time.monotonic()
    with pytest.raises(REFUSED):  # at opening, not after waiting for packets
        av.open(source.target, options=source.options, timeout=5).close()
    assert time.monotonic() - started < 2


@pytest.mark.attack("reach local files through an HTTP playlist", expected="FFmpeg refuses")
@pytest.mark.parametrize(
    "segment",
    [
        "file:/etc/passwd",
        "file:{tmp}/seg.ts",  # a local file that is a real video: only the whitelist stops it
        "/etc/passwd",
        "data:video/mp2t;base64,{data}",
    ],
)
def test_an_http_playlist_cannot_reach_local_files(tmp_path: Path, served: str, segment: str) -> None:
    seg = _recording(tmp_path / "seg.ts")
    data = base64.b64encode(seg.read_bytes()).decode()
    _playlist(tmp_path / "evil.m3u8", segment.format(tmp=tmp_path, data=data))
    with pytest.raises(REFUSED):
        frames_read(f"{served}/evil.m3u8")


@pytest.mark.attack("reach other protocols through a local playlist", expected="FFmpeg refuses")
@pytest.mark.parametrize("segment", ["file:/etc/passwd", "{served}/seg.ts", "crypto+file:{tmp}/seg.ts", "data:,x"])
def test_a_local_playlist_cannot_reach_elsewhere(tmp_path: Path, served: str, segment: str) -> None:
    _recording(tmp_path / "seg.ts")
    playlist = _playlist(tmp_path / "evil.m3u8", segment.format(tmp=tmp_path, served=served))
    with pytest.raises(REFUSED):
        frames_read(str(playlist))


@pytest.mark.attack("reach other protocols through a concat list", expected="FFmpeg refuses")
@pytest.mark.parametrize(
    "entry", ["file:/etc/passwd", "/etc/passwd", "{served}/seg.ts", "subfile,,start,0,end,0,,:seg.ts"]
)
def test_a_concat_list_cannot_reach_elsewhere(tmp_path: Path, served: str, entry: str) -> None:
    _recording(tmp_path / "seg.ts")
    listing = tmp_path / "evil.ffconcat"
    listing.write_text(f"ffconcat version 1.0\nfile '{entry.format(served=served)}'\n")
    with pytest.raises(REFUSED):
        frames_read(str(listing))
    with pytest.raises(REFUSED):
        frames_read(f"{served}/evil.ffconcat")
