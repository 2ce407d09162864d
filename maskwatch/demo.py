"""`maskwatch demo`: the product working on media the project renders itself."""

from __future__ import annotations

from pathlib import Path

from inference.analyzer import FaceAnalyzer
from inference.detect_images import detect_images
from maskwatch.config import Settings
from maskwatch.demo_media import write_demo_images
from maskwatch.labels import VIOLATIONS


def run_demo(settings: Settings, out_dir: Path) -> int:
    scenes = write_demo_images(out_dir / "scenes")
    analyzer = FaceAnalyzer(settings.analyzer)
    report = detect_images(
        analyzer, list(scenes), json_out=out_dir / "detections.json", annotate_dir=out_dir / "annotated"
    )
    print()
    header = f"{'scene':<10} {'people':>6} {'faces':>5}  {'expected violations':>19}  {'found violations':>16}"
    print(f"{header}  annotated image")
    for path, people in scenes.items():
        faces = report.results.get(path.stem, [])
        expected = sum(p.label in VIOLATIONS for p in people)
        found = sum(f["label"] in VIOLATIONS for f in faces)
        print(
            f"{path.stem:<10} {len(people):>6} {len(faces):>5}  {expected:>19}  {found:>16}  "
            f"{out_dir / 'annotated' / (path.stem + '.jpg')}"
        )
    print(f"\nJSON results: {out_dir / 'detections.json'}")
    return 1 if report.failed else 0
