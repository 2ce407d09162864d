"""The stages depend on each other only where the architecture says so; what several share lives in
the core package (`maskwatch`)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("ingest", "inference", "storage", "alerts", "training")
ALLOWED: dict[str, set[str]] = {
    "ingest": set(),
    "inference": {"ingest"},  # the scale-out benchmark samples a clip as ingest does
    "storage": set(),
    "alerts": {"storage"},  # the alert outbox is a table of the violations' database
    "training": {"inference"},  # crops made as inference makes them; the classifier it exports
}


def imported_stages(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        names += [a.name for a in node.names] if isinstance(node, ast.Import) else []
        found.update(n.split(".")[0] for n in names if n.split(".")[0] in STAGES)
    return found


def test_stages_import_only_the_stages_they_are_allowed_to() -> None:
    wrong = {
        f"{path.relative_to(ROOT)} imports {other}"
        for stage in STAGES
        for path in (ROOT / stage).rglob("*.py")
        for other in imported_stages(path) - ALLOWED[stage] - {stage}
    }
    assert not wrong, sorted(wrong)


def test_the_check_sees_imports(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import ingest.reader\nfrom inference.crops import crop_face\nfrom maskwatch import boxes\n")
    assert imported_stages(module) == {"ingest", "inference"}


def imports_devtools(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        names += [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if any(n.split(".")[0] == "devtools" for n in names):
            return True
    return False


def test_the_product_never_imports_the_development_tools() -> None:
    """`devtools/` (clip makers, benchmarks) is not installed: nothing installed may need it."""
    wrong = [
        str(path.relative_to(ROOT))
        for package in (*STAGES, "maskwatch")
        for path in (ROOT / package).rglob("*.py")
        if imports_devtools(path)
    ]
    assert not wrong, wrong
