"""Storage stage: violation events, snapshots and migrations (the streaming-service issue)."""
