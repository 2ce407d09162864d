"""Queue stream and consumer-group names shared by the stages."""

FRAMES_PREFIX = "maskwatch:frames:"
RESULTS = "maskwatch:results"
HEALTH = "maskwatch:health"
DEAD_LETTER = "maskwatch:dead-letter"

INFERENCE_GROUP = "inference"
RECORDER_GROUP = "recorder"


def frames_stream(camera_id: str) -> str:
    return FRAMES_PREFIX + camera_id
