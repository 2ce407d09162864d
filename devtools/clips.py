"""Test and benchmark clips made with the project's own tools: H.264 with a fixed frame rate
and keyframe interval, like a CCTV camera's stream."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av


def transcode_clip(
    src: Path,
    dst: Path,
    size: tuple[int, int] = (1280, 720),
    fps: int = 25,
    keyframe_s: float = 2.0,
    max_seconds: float | None = None,
    preset: str = "veryfast",
) -> Path:
    """Re-encode `src` to H.264 MP4 at `size` and `fps`, with a keyframe every `keyframe_s` seconds.

    `preset`: x264's. Its GOP structure differs between presets: from `medium` on, P-frames refer
    to B-frames too."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    gop = max(1, round(fps * keyframe_s))
    with av.open(str(src)) as inp, av.open(str(dst), mode="w") as out:
        # A fixed GOP without scene-cut keyframes: what a camera set to an "I-frame interval" sends.
        x264 = f"keyint={gop}:min-keyint={gop}:scenecut=0"
        stream = out.add_stream("libx264", rate=fps, options={"preset": preset, "crf": "26", "x264-params": x264})
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        src_stream = inp.streams.video[0]
        n = 0
        for frame in inp.decode(src_stream):
            t = frame.time or 0.0
            # Resample to the target rate by repeating or skipping source frames.
            while n / fps <= t + 1e-6:
                if max_seconds is not None and n / fps >= max_seconds:
                    break
                out_frame = frame.reformat(width=size[0], height=size[1], format="yuv420p")
                out_frame.pts = n
                out_frame.time_base = Fraction(1, fps)
                out_frame.pict_type = av.video.frame.PictureType.NONE  # the source's I-frames must not force ours
                for packet in stream.encode(out_frame):
                    out.mux(packet)
                n += 1
        for packet in stream.encode():
            out.mux(packet)
    return dst
