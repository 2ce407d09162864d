"""The architecture, as the imports show it.

- The core (`maskwatch/*.py`, `maskwatch/config/`, `maskwatch/queue/`) imports no stage, no
  composition root and no development tool.
- A stage (`ingest/ inference/ storage/ alerts/ training/ console/`, imported as
  `maskwatch.<stage>`) imports the core and only the stages listed for it in `ALLOWED`; never the
  composition root (`maskwatch/app/`) nor `devtools/`.
- The composition root imports `devtools/` only inside the commands that need it (`bench`, `demo`),
  so an installed maskwatch runs without it.
- Everything imports the stages as `maskwatch.<stage>`: the bare folder names are not import names.
- No module of the product takes part in an import cycle.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

ROOT = Path(__file__).resolve().parents[2]
STAGES = ("ingest", "inference", "storage", "alerts", "training", "console")
ALLOWED: dict[str, set[str]] = {
    "ingest": set(),
    "inference": set(),
    "storage": set(),
    "alerts": {"storage"},  # the alert outbox is a table of the violations' database
    "training": {"inference"},  # crops made as inference makes them; the classifier it exports
    "console": {"storage"},  # the console shows and reviews what storage holds
}


@dataclass(frozen=True)
class Import:
    module: str  # as written, made absolute
    lazy: bool  # inside a function: runs only when that function does
    typing_only: bool  # under `if TYPE_CHECKING:`


def product_modules() -> dict[str, Path]:
    """Every installed module by its import name; the stages are reached through maskwatch/'s links."""
    found: dict[str, Path] = {}
    roots = {"maskwatch": ROOT / "maskwatch", **{f"maskwatch.{s}": ROOT / s for s in STAGES}}
    for prefix, folder in roots.items():
        for path in folder.rglob("*.py"):  # rglob does not follow the links, so each file is seen once
            parts = path.relative_to(folder).with_suffix("").parts
            parts = parts[:-1] if parts[-1] == "__init__" else parts
            found[".".join((prefix, *parts))] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name | ast.Attribute) and "TYPE_CHECKING" in ast.unparse(node.test)


def imports_of(path: Path, module: str) -> list[Import]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[Import] = []

    def visit(node: ast.AST, lazy: bool, typing_only: bool) -> None:
        if isinstance(node, ast.Import):
            found.extend(Import(a.name, lazy, typing_only) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], base]).strip(".")
            found.append(Import(base, lazy, typing_only))
            found.extend(Import(f"{base}.{a.name}", lazy, typing_only) for a in node.names)
        lazy = lazy or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        typing_only = typing_only or (isinstance(node, ast.If) and _is_type_checking(node))
        for child in ast.iter_child_nodes(node):
            visit(child, lazy, typing_only)

    visit(ast.parse(path.read_text(), str(path)), False, False)
    return found


def layer(module: str) -> str:
    """core, app, a stage's name, devtools, tests or outside (third-party, standard library)."""
    parts = module.split(".")
    if parts[0] in ("devtools", "tests"):
        return parts[0]
    if parts[0] in STAGES:
        return "bare-stage"
    if parts[0] != "maskwatch":
        return "outside"
    if len(parts) > 1 and parts[1] in STAGES:
        return parts[1]
    if len(parts) > 1 and parts[1] in ("app", "__main__"):
        return "app"
    return "core"


def wrong_imports() -> list[str]:
    wrong = []
    for module, path in product_modules().items():
        here = layer(module)
        for imp in imports_of(path, module):
            there = layer(imp.module)
            where = f"{path.relative_to(ROOT)} imports {imp.module}"
            if there == "bare-stage":
                wrong.append(f"{where} (import it as maskwatch.{imp.module})")
            elif there == "tests":
                wrong.append(f"{where} (the product never imports its tests)")
            elif here == "core" and there not in ("core", "outside"):
                wrong.append(f"{where} (the core imports no stage, no app and no devtools)")
            elif here in STAGES and there not in ("core", "outside", here, *ALLOWED[here]):
                wrong.append(f"{where} ({here} may import only the core and {sorted(ALLOWED[here]) or 'no stage'})")
            elif here == "app" and there == "devtools" and not imp.lazy:
                wrong.append(f"{where} (devtools is imported only inside the commands that need it)")
    return wrong


def test_each_layer_imports_only_what_the_architecture_allows() -> None:
    assert not wrong_imports(), "\n".join(wrong_imports())


def test_nothing_imports_a_stage_by_its_bare_folder_name() -> None:
    outside_product = [*(ROOT / "devtools").rglob("*.py"), *(ROOT / "tests").rglob("*.py")]
    wrong = [
        f"{path.relative_to(ROOT)} imports {imp.module}"
        for path in outside_product
        for imp in imports_of(path, "devtools.x")
        if layer(imp.module) == "bare-stage"
    ]
    assert not wrong, wrong


def import_cycles() -> list[list[str]]:
    """Groups of product modules that import each other, directly or around a loop."""
    modules = product_modules()
    names = sorted(modules)
    index = {name: i for i, name in enumerate(names)}
    edges = {
        (index[module], index[imp.module])
        for module, path in modules.items()
        for imp in imports_of(path, module)
        if imp.module in index
        and imp.module != module
        and not imp.typing_only
        # a package importing its own submodules to re-export them is not a cycle
        and not imp.module.startswith(module + ".")
    }
    rows, cols = zip(*edges, strict=True) if edges else ((), ())
    graph = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(names), len(names)))
    _, component = connected_components(graph, directed=True, connection="strong")
    groups: dict[int, list[str]] = {}
    for name, c in zip(names, component, strict=True):
        groups.setdefault(int(c), []).append(name)
    return [g for g in groups.values() if len(g) > 1]


def test_no_module_of_the_product_is_part_of_an_import_cycle() -> None:
    assert not import_cycles(), import_cycles()


def test_the_checks_see_what_they_must(tmp_path: Path) -> None:
    """The rules above would pass vacuously if the scan missed imports: check it on known code."""
    module = tmp_path / "m.py"
    module.write_text(
        "import ingest.reader\n"
        "from maskwatch.inference.crops import crop_face\n"
        "from . import sibling\n"
        "def f():\n    import devtools.machine\n"
        "if TYPE_CHECKING:\n    from maskwatch.app import cli\n"
    )
    found = {(i.module, i.lazy, i.typing_only) for i in imports_of(module, "maskwatch.storage.m")}
    assert ("ingest.reader", False, False) in found
    assert ("maskwatch.inference.crops", False, False) in found
    assert ("maskwatch.storage.sibling", False, False) in found
    assert ("devtools.machine", True, False) in found
    assert ("maskwatch.app", False, True) in found
    assert [
        layer(m) for m in ("ingest.x", "maskwatch.console.app", "maskwatch.app.cli", "maskwatch.queue", "yaml")
    ] == [
        "bare-stage",
        "console",
        "app",
        "core",
        "outside",
    ]
    modules = product_modules()
    assert "maskwatch.ingest.reader" in modules and "maskwatch.config" in modules
    assert "maskwatch.storage.record.tracking" in modules


def test_an_injected_cycle_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("import maskwatch.b\n")
    b.write_text("def f():\n    import maskwatch.a\n")
    monkeypatch.setattr(f"{__name__}.product_modules", lambda: {"maskwatch.a": a, "maskwatch.b": b})
    assert import_cycles() == [["maskwatch.a", "maskwatch.b"]]
