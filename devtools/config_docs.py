"""Writes docs/configuration.md from the configuration model (`maskwatch.config.Settings`): every
key with its type, default, bounds and description, section by section, so the reference cannot
drift from what `maskwatch config check` accepts.

    python -m devtools.config_docs            # (re)writes docs/configuration.md
    python -m devtools.config_docs --check    # exit 1 if the file is not what the model gives
"""

from __future__ import annotations

import argparse
import enum
import json
import re
import sys
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union

import annotated_types
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from maskwatch.config import Settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"

INTRO = """\
# Configuration reference

<!-- Generated from maskwatch/config by `python -m devtools.config_docs`: edit the field
descriptions there, not this file (tests/unit/test_config_docs.py fails while it is stale). -->

Every key `maskwatch` reads from its YAML file, section by section. Unknown keys are errors, and
so are values outside the bounds below; `maskwatch config check FILE` validates a file and prints
it with the secrets masked. A value may name environment variables, `"${NAME}"`, which are filled
in when the file is read (`"${NAME:-default}"`: the default when NAME is unset or empty): keep
passwords and tokens out of the file that way. Relative paths are read from the current
directory. Examples:
`configs/default.yaml` (every section with its defaults), `configs/production.example.yaml`.
`[]` after a key means a list of entries.
"""

BOUND_SYMBOLS = (
    (annotated_types.Ge, "ge", "≥"),
    (annotated_types.Gt, "gt", ">"),
    (annotated_types.Le, "le", "≤"),
    (annotated_types.Lt, "lt", "<"),
)


@dataclass
class Table:
    """One model, documented once under every path it appears at."""

    model: type[BaseModel]
    paths: list[str] = field(default_factory=list)


def _args(annotation: Any) -> tuple[Any, ...]:
    return typing.get_args(annotation)


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (Union, types.UnionType)


def _unwrap_annotated(annotation: Any) -> tuple[Any, list[Any]]:
    """The type inside `Annotated[...]`, and the constraints it carries."""
    metadata: list[Any] = []
    while typing.get_origin(annotation) is typing.Annotated:
        base, *extra = _args(annotation)
        for item in extra:
            metadata.extend(item.metadata if isinstance(item, FieldInfo) else [item])
        annotation = base
    return annotation, metadata


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The section model a field holds, directly, as an option or as list entries."""
    annotation, _ = _unwrap_annotated(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in _args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _is_list(annotation: Any) -> bool:
    annotation, _ = _unwrap_annotated(annotation)
    if _is_union(annotation):
        return any(_is_list(a) for a in _args(annotation) if a is not type(None))
    return typing.get_origin(annotation) is list


SIMPLE_TYPES: dict[Any, str] = {
    bool: "bool",
    int: "integer",
    float: "number",
    str: "string",
    Path: "path",
    SecretStr: "secret string",
}


def type_name(annotation: Any) -> str:
    """A reader's name for a field's type: `integer`, `one of: a, b`, `list of [number, number]`."""
    annotation, _ = _unwrap_annotated(annotation)
    if annotation in SIMPLE_TYPES:
        return SIMPLE_TYPES[annotation]
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return "one of: " + ", ".join(str(a) for a in _args(annotation))
    if _is_union(annotation):
        options = [a for a in _args(annotation) if a is not type(None)]
        name = " or ".join(type_name(a) for a in options)
        return f"{name} or null" if len(options) < len(_args(annotation)) else name
    if origin is list:
        return f"list of {type_name(_args(annotation)[0])}"
    if origin is tuple:
        return "[" + ", ".join(type_name(a) for a in _args(annotation)) + "]"
    if origin is dict:
        key, value = _args(annotation)
        return f"map of {type_name(key)} to {type_name(value)}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "section"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "one of: " + ", ".join(str(m.value) for m in annotation)
    return getattr(annotation, "__name__", str(annotation))


def _constraint(item: Any) -> str | None:
    for kind, attr, symbol in BOUND_SYMBOLS:
        if isinstance(item, kind):
            return f"{symbol} {getattr(item, attr)}"
    pattern = getattr(item, "pattern", None)
    if isinstance(pattern, str):
        return f"matches `{pattern}`"
    return None


def _length(metadata: list[Any], unit: str) -> str | None:
    low = next((m.min_length for m in metadata if isinstance(m, annotated_types.MinLen)), None)
    high = next((m.max_length for m in metadata if isinstance(m, annotated_types.MaxLen)), None)
    if low is not None and high is not None:
        return f"{low}–{high} {unit}"
    if low == 1:
        return "not empty"
    if low is not None:
        return f"at least {low} {unit}"
    if high is not None:
        return f"at most {high} {unit}"
    return None


def _constraints(metadata: list[Any], unit: str) -> list[str]:
    found = [c for c in map(_constraint, metadata) if c]
    length = _length(metadata, unit)
    return [length, *found] if length else found


def _each(annotation: Any) -> list[str]:
    """Bounds on the entries of a list or tuple (`list[tuple[Fraction, Fraction]]`: each ≥ 0, ≤ 1)."""
    found: list[str] = []
    for arg in _args(annotation):
        inner, metadata = _unwrap_annotated(arg)
        for c in _constraints(metadata, "characters") + _each(inner):
            if c not in found:
                found.append(c)
    return found


def bounds(info: FieldInfo) -> str:
    """A field's bounds: its own (ranges, lengths, patterns), then those on each of its entries."""
    annotation, metadata = _unwrap_annotated(info.annotation)
    options = [a for a in _args(annotation) if a is not type(None)] if _is_union(annotation) else [annotation]
    own = list(metadata) + list(info.metadata)
    entries: list[str] = []
    for option in options:  # `Annotated[...] | None`: the bounds sit on the option
        inner, extra = _unwrap_annotated(option)
        own += extra
        if typing.get_origin(inner) in (list, tuple, dict):
            entries += _each(inner)
    unit = "entries" if _is_list(info.annotation) else "characters"
    text = _constraints(own, unit)
    if entries:
        text.append("each " + ", ".join(dict.fromkeys(entries)))
    return ", ".join(text)


def default(info: FieldInfo) -> str:
    if info.default_factory is not None:
        value = info.default_factory()  # type: ignore[call-arg]
        return "(the section's defaults)" if isinstance(value, BaseModel) else f"`{json.dumps(value)}`"
    if info.default is PydanticUndefined:
        return "required"
    value = info.default
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, enum.Enum):
        value = value.value
    return f"`{json.dumps(value)}`"


def _cell(text: str) -> str:
    return re.sub(r"\s+", " ", text).replace("|", "\\|").strip()


def _summary(model: type[BaseModel]) -> str:
    doc = model.__doc__ or ""
    return _cell(doc.split("\n\n", 1)[0])


def _walk(model: type[BaseModel], path: str, tables: dict[type[BaseModel], Table]) -> None:
    tables.setdefault(model, Table(model)).paths.append(path)
    for name, info in model.model_fields.items():
        inner = _model_in(info.annotation)
        if inner is not None:
            _walk(inner, f"{path}.{name}" + ("[]" if _is_list(info.annotation) else ""), tables)


def _rows(model: type[BaseModel], path: str) -> Iterator[str]:
    yield "| key | type | default | bounds | description |"
    yield "|---|---|---|---|---|"
    for name, info in model.model_fields.items():
        inner = _model_in(info.annotation)
        description = info.description or ""
        if inner is not None:
            where = f"{path}.{name}" + ("[]" if _is_list(info.annotation) else "")
            description = f"{description} See `{where}`.".strip()
        cells = (f"`{name}`", type_name(info.annotation), default(info), bounds(info), description)
        yield "| " + " | ".join(_cell(c) for c in cells) + " |"


def _section(name: str, info: FieldInfo, said: set[str]) -> Iterator[str]:
    """`said`: module docstrings already shown (one module may hold several sections)."""
    model = _model_in(info.annotation)
    if model is None:  # a plain top-level key
        yield f"## `{name}`\n"
        yield from _rows(Settings, "")
        return
    top = name + ("[]" if _is_list(info.annotation) else "")
    tables: dict[type[BaseModel], Table] = {}
    _walk(model, top, tables)
    for table in tables.values():
        level = "##" if table.paths[0] == top else "###"
        yield f"{level} " + ", ".join(f"`{p}`" for p in table.paths) + "\n"
        about = _cell(info.description or "") if table.model is model else ""
        about = about or _summary(table.model)
        if not about and table.model is model and model.__module__ not in said:
            said.add(model.__module__)
            about = _cell((sys.modules[model.__module__].__doc__ or "").split("\n\n", 1)[0])
        if about:
            yield about + "\n"
        yield from _rows(table.model, table.paths[0])
        yield ""


def render() -> str:
    parts = [INTRO]
    said: set[str] = set()
    for name, info in Settings.model_fields.items():
        parts.append("\n".join(_section(name, info, said)).rstrip() + "\n")
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only compare: exit 1 if the file is stale")
    parser.add_argument("--out", type=Path, default=DOC, help=f"where to write (default: {DOC})")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.out.read_text() if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is stale: run `python -m devtools.config_docs`", file=sys.stderr)
            return 1
        print(f"{args.out} is current")
        return 0
    args.out.write_text(text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
