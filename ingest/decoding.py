"""What the decoder of one camera may leave undecoded, decided from the stream itself.

Sampling 1 frame/s out of 25 needs only the frames the sampled ones are built from. Each policy
here drops a class of frames only once the stream shows that nothing sampled depends on them.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from typing import Literal

import av
import numpy as np

B_FRAME = int(av.video.frame.PictureType.B)


class KeyframeSkipper:
    """Decides which frames the decoder may skip: non-key frames always (`keyframes`), never
    (`all`), or (`auto`) frames nothing refers to from the start and non-key frames once two
    keyframe intervals were each at most the sampling period."""

    def __init__(self, mode: str, period: float) -> None:
        self.mode = mode
        self.period = period
        self._key_times: list[float] = []

    def initial(self, stream_fps: float | None) -> Literal["NONKEY", "NONREF"] | None:
        """FFmpeg's skip_frame setting to start with."""
        if self.mode == "keyframes":
            return "NONKEY"
        if self.mode == "auto" and stream_fps and self.period * stream_fps >= 2 - 1e-9:
            # Frames no other frame refers to (B-frames) need not be decoded when at most every
            # second frame is sampled: half the decoding on streams that have them (measured).
            return "NONREF"
        return None

    def observe(self, frame: av.VideoFrame, t: float) -> bool:
        """True when keyframe-only decoding should start now."""
        if self.mode != "auto" or not frame.key_frame:
            return False
        self._key_times.append(t)
        gaps = [b - a for a, b in itertools.pairwise(self._key_times[-3:])]
        return len(gaps) == 2 and max(gaps) <= self.period + 1e-3


class GopSkipper:
    """Skips whole packets between the last frame to be sampled in a group of pictures and the
    next keyframe: nothing after that frame is needed, since the keyframe decodes on its own.
    At 1 sample/s and a keyframe every 2 s, about half of each group is never decoded."""

    def __init__(self) -> None:
        self._keys: list[float] = []  # stream times of the last keyframes
        self._skipping = False

    def skip(self, packet: av.Packet) -> bool:
        if packet.is_keyframe:
            if packet.pts is not None and packet.time_base is not None:
                self._keys = [*self._keys[-2:], float(packet.pts * packet.time_base)]
            self._skipping = False
            return False
        return self._skipping and packet.size > 0  # the empty packet at the end flushes the decoder

    def ends_group(self, next_sample: float, frame_period: float) -> bool:
        """Whether a sample after which the next is due at stream time `next_sample` is the last
        one the current group of pictures holds."""
        gaps = [b - a for a, b in itertools.pairwise(self._keys)]
        if len(gaps) == 2 and abs(gaps[0] - gaps[1]) < frame_period:  # a regular keyframe interval
            return next_sample >= self._keys[-1] + gaps[-1] - frame_period / 2
        return False

    def sampled(self, next_sample: float, frame_period: float) -> None:
        """A frame was sampled; the next sample is due at stream time `next_sample`."""
        self._skipping = self.ends_group(next_sample, frame_period)

    def skip_to_keyframe(self) -> None:
        """The decoder was flushed: only a keyframe can follow."""
        self._skipping = True


class BFrameCheck:
    """Finds out whether a stream's B-frames can all be left undecoded, not only the ones nothing
    refers to.

    Encoders differ: x264's faster presets never let a P-frame refer to a B-frame, its default
    preset does (B-pyramid with more than one reference), and the standard allows both. So a
    second decoder that discards every B-frame runs beside the main one from a keyframe on, and
    every I- and P-frame the two produce is compared pixel for pixel. The answer is yes only when
    `FRAMES` of them were identical, across at least one keyframe after the first, and the
    I/P-frames alone still come at least twice per sampling period. On the benchmark's x264
    stream this decodes 117 frames in 216 (measured); on streams without reference B-frames it
    changes nothing, and the check ends after `FRAMES` frames.
    """

    FRAMES = 24
    PENDING = 16  # frames waiting for their twin; more means the decoders disagree on what they output
    # The second decoder holds its own reference frames, about 10 MB at 720p. Measured with 24
    # cameras in one process: 449 MB without checks, 687 MB with all checking at once, 537 MB
    # four at a time (all 24 skipping B-frames after 33 s). Cameras without a free slot decode as
    # before and try again at their next keyframe.
    AT_ONCE = 4

    def __init__(self, stream: av.VideoStream, period: float, slots: threading.Semaphore) -> None:
        self._codec = stream.codec_context.name
        self._extradata = stream.codec_context.extradata
        self._slots = slots
        self._probe: av.VideoCodecContext | None = None  # while checking, holding one of the slots
        self.period = period
        self._start_pts: int | None = None
        self._keyframes = 0
        self._main: dict[int, bytes] = {}
        self._probe_digests: dict[int, bytes] = {}
        self._last_time: float | None = None
        self.largest_gap = 0.0  # seconds between consecutive I/P-frames
        self.compared = 0
        self.b_frames = 0
        self.verdict: bool | None = None  # None while undecided
        self.reason = ""

    def _start(self, packet: av.Packet) -> av.VideoCodecContext | None:
        """The second decoder, started at a keyframe when a slot is free."""
        if not packet.is_keyframe or packet.pts is None or not self._slots.acquire(blocking=False):
            return None
        probe = av.CodecContext.create(self._codec, "r")
        if self._extradata:
            probe.extradata = self._extradata
        probe.thread_type = "SLICE"
        probe.skip_frame = "BIDIR"
        self._probe = probe  # type: ignore[assignment]
        self._start_pts = packet.pts
        return self._probe

    def feed(self, packet: av.Packet) -> None:
        """Every packet the main decoder gets, before it gets it."""
        probe = None if self.verdict is not None else self._probe or self._start(packet)
        if probe is None:
            return
        if packet.is_keyframe:
            self._keyframes += 1
        try:
            frames = probe.decode(packet)
        except av.error.FFmpegError as exc:
            self._conclude(False, f"the check's decoder failed ({exc})")
            return
        for frame in frames:
            self._pair(frame, self._probe_digests, self._main)

    def main_frame(self, frame: av.VideoFrame) -> None:
        """Every frame the main decoder outputs."""
        if self._probe is None or self._start_pts is None:  # not checking now
            return
        if frame.pts is not None and frame.pts < self._start_pts:  # decoded before the check began
            return
        if frame.pict_type == B_FRAME:
            self.b_frames += 1
            return
        if frame.time is not None:
            # Within a group of pictures only: the reader may skip the end of a group (GopSkipper),
            # so the distance to its next keyframe says nothing about the stream's spacing.
            if self._last_time is not None and not frame.key_frame:
                self.largest_gap = max(self.largest_gap, frame.time - self._last_time)
            self._last_time = frame.time
        self._pair(frame, self._main, self._probe_digests)

    def _pair(self, frame: av.VideoFrame, mine: dict[int, bytes], theirs: dict[int, bytes]) -> None:
        if frame.pts is None:
            self._conclude(False, "frames without timestamps cannot be paired")
            return
        try:
            digest = hashlib.blake2b(np.ascontiguousarray(frame.to_ndarray()).data).digest()
        except ValueError as exc:  # a pixel format to_ndarray does not know
            self._conclude(False, f"frames could not be compared ({exc})")
            return
        twin = theirs.pop(frame.pts, None)
        if twin is None:
            mine[frame.pts] = digest
            if len(mine) > self.PENDING:
                self._conclude(False, "the two decoders do not output the same I- and P-frames")
            return
        if twin != digest:
            self._conclude(False, "a P-frame refers to a B-frame")
            return
        self.compared += 1
        self._decide()

    def _decide(self) -> None:
        if self.compared < self.FRAMES:
            return
        if self.b_frames == 0:  # as on most cameras' streams: the check ends without waiting for a keyframe
            self._conclude(False, "no reference B-frames, nothing more to skip")
        elif self._keyframes < 2:
            return
        elif self.largest_gap > self.period / 2:
            self._conclude(False, f"I- and P-frames alone are up to {self.largest_gap:.2f} s apart")
        else:
            self._conclude(True, f"{self.compared} I- and P-frames decoded identically without B-frames")

    def _conclude(self, verdict: bool, reason: str) -> None:
        self.verdict, self.reason = verdict, reason
        self.close()

    def close(self) -> None:
        """Frees the second decoder and its slot (also when the reader stops mid-check)."""
        if self._probe is not None:
            self._probe = None
            self._slots.release()
        self._main.clear()
        self._probe_digests.clear()
