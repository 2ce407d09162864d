"""Review to retrain: the face crops of reviewed violations, in the folder-per-class layout
`maskwatch train` reads (confirmed -> their label; false positives -> the reviewer's label)."""

from __future__ import annotations

import logging
import shutil
from collections import Counter
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from maskwatch.storage.models import Violation

log = logging.getLogger(__name__)


def export_reviewed(engine: Engine, out: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    with Session(engine) as s:
        rows = s.scalars(
            select(Violation).where(Violation.review_state.in_(("confirmed", "false_positive"))).order_by(Violation.id)
        ).all()
    for v in rows:
        label = v.review_label or (v.label if v.review_state == "confirmed" else "with_mask")
        src = Path(v.crop_path)
        if not src.is_file():
            log.warning("violation %d: face crop %s is gone (retention?); not exported", v.id, src)
            continue
        folder = out / label
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, folder / f"{v.camera_id}-{v.id}.jpg")
        counts[label] += 1
    return counts
