"""Inference stage: face detection, mask classification, and the batched worker that runs them
on queued frames."""
