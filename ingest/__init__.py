"""RTSP ingest stage: decodes camera streams and queues sampled frames (the streaming-service issue)."""
