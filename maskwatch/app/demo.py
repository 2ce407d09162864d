"""`maskwatch demo`: the whole service on a clip the project renders itself."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

from maskwatch.app.runtime import Runtime
from maskwatch.app.shared import devtools_missing
from maskwatch.config import Settings


def run_demo(settings: Settings, config_path: Path) -> int:
    from maskwatch.storage.db import create_db_engine
    from maskwatch.storage.violations import list_events

    try:
        from devtools.demo_media import DEMO_CLIP_ACTORS, DEMO_CLIP_VIOLATIONS, write_demo_clip
    except ModuleNotFoundError as exc:
        raise devtools_missing("demo", exc) from None

    clip = Path(settings.cameras[0].url)
    print(
        f"rendering the demo clip {clip} ({len(DEMO_CLIP_ACTORS)} people: "
        + ", ".join(a.name for a in DEMO_CLIP_ACTORS)
        + ")"
    )
    write_demo_clip(clip)
    db_url = settings.database.url
    if db_url.startswith("sqlite:///"):  # a fresh review log each run
        for suffix in ("", "-wal", "-shm"):
            Path(db_url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    runtime = Runtime(settings)
    runtime.start()
    if runtime.wait(threading.Event(), until_sources_finish=True):
        return 1  # the failing stage was logged

    engine = create_db_engine(db_url)
    rows = list_events(engine)
    engine.dispose()
    print()
    print(f"{'id':>3}  {'camera':<22} {'label':<15} {'score':>5}  snapshot")
    for r in sorted(rows, key=lambda r: r.id):
        print(f"{r.id:>3}  {r.camera_name:<22} {r.label:<15} {r.score:>5.2f}  {r.snapshot_path}")
    found = Counter(r.label for r in rows)
    summary = ", ".join(f"{n} {label}" for label, n in sorted(found.items())) or "none"
    print(
        f"\n{len(rows)} violation(s) recorded ({summary}); the clip has {sum(DEMO_CLIP_VIOLATIONS.values())} "
        "people not wearing a mask properly (no mask: without_mask; mask on the chin: mask_incorrect) and one "
        "who puts a mask on (not a violation)."
    )
    print(
        f"review them in the console: make console  (or .venv/bin/maskwatch serve --config {config_path} --demo-user)"
    )
    print(f"or in the terminal: .venv/bin/maskwatch events list --config {config_path}")
    return 0 if found == Counter(DEMO_CLIP_VIOLATIONS) else 1
