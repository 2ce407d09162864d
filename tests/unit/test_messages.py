"""Stage messages survive the queue encoding, and bad entries are rejected precisely."""

import json

import pytest

from maskwatch.messages import CameraHealth, FaceObservation, FrameMessage, FrameResult, MessageError

FRAME = FrameMessage("cam-1", 7, 1_790_000_000.25, 640, 360, b"\xff\xd8jpeg-bytes\x00\x01")


def test_frame_roundtrip_keeps_binary_as_is() -> None:
    fields = FRAME.to_fields()
    assert fields["jpeg"] == FRAME.jpeg
    assert FrameMessage.from_fields(fields) == FRAME


def test_result_roundtrip() -> None:
    face = FaceObservation((1.0, 2.0, 30.5, 40.0), "without_mask", 0.8, 0.9, {"without_mask": 0.89})
    result = FrameResult(FRAME, (face,))
    assert FrameResult.from_fields(result.to_fields()) == result


def test_health_roundtrip() -> None:
    h = CameraHealth("cam-1", "stalled", "no frame for 10 s", 100, 3, 1.5)
    assert CameraHealth.from_fields(h.to_fields()) == h


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "missing or malformed 'meta'"),
        ({"meta": b"{not json"}, "missing or malformed 'meta'"),
        ({"meta": json.dumps({"v": 99}).encode()}, "schema version 99"),
        ({"meta": json.dumps({"v": 1, "camera_id": "c"}).encode(), "jpeg": b""}, "bad meta field"),
    ],
)
def test_bad_frames(fields: dict, message: str) -> None:
    with pytest.raises(MessageError, match=message):
        FrameMessage.from_fields(fields)


def test_frame_without_jpeg() -> None:
    fields = FRAME.to_fields()
    del fields["jpeg"]
    with pytest.raises(MessageError, match="missing 'jpeg'"):
        FrameMessage.from_fields(fields)
