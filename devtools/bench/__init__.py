"""Benchmarks: single-core speeds, the pipeline under load, the naive baseline and scale-out."""
