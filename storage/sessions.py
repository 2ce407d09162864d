"""Console session generations, kept in the database so that a logout holds across console
processes and restarts."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from maskwatch.storage.models import SessionGeneration, utcnow


def session_generation(engine: Engine, user: str) -> int:
    with Session(engine) as s:
        row = s.get(SessionGeneration, user)
        return row.generation if row else 0


def next_session_generation(engine: Engine, user: str) -> int:
    """Ends every session `user` holds: the sessions of the generation before no longer match."""
    with Session(engine) as s, s.begin():
        row = s.get(SessionGeneration, user, with_for_update=True)
        if row is None:
            row = SessionGeneration(user=user, generation=0)
            s.add(row)
        row.generation += 1
        row.changed_at = utcnow()
        return row.generation
