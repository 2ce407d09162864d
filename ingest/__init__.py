"""Ingest stage: decodes camera streams, samples frames and queues them, with camera health."""
