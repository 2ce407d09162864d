"""The stages a process can run, by name, and how each is built.

Each factory imports its stage when called, so a process loads only what its stages need: an
ingest process never loads the detector, an alerts process never loads PyAV.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from maskwatch.config import Settings
from maskwatch.queue import Queue
from maskwatch.stages import Stage


@dataclass
class Resources:
    """What stages are built from: the settings, the queue, and the database, opened and migrated
    at most once per process (on first use, so processes that never write it never connect)."""

    settings: Settings
    queue: Queue
    open_database: Callable[[], Engine]


def _ingest(r: Resources) -> Stage:
    from maskwatch.ingest.stage import IngestStage

    return IngestStage(r.settings, r.queue)


def _infer(r: Resources) -> Stage:
    from maskwatch.inference.worker import InferenceWorker

    return InferenceWorker(r.settings, r.queue)


def _record(r: Resources) -> Stage:
    from maskwatch.storage.record.stage import RecorderStage

    return RecorderStage(r.settings, r.queue, r.open_database())


def _alerts(r: Resources) -> Stage:
    from maskwatch.alerts.dispatcher import Dispatcher

    return Dispatcher(r.settings, r.open_database())


# In pipeline order: frames flow from each stage to the next.
STAGES: dict[str, Callable[[Resources], Stage]] = {
    "ingest": _ingest,
    "infer": _infer,
    "record": _record,
    "alerts": _alerts,
}
