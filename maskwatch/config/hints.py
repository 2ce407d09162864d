"""Validation errors in an operator's words: a misspelled key gets the key it was probably meant
to be, a web user's `password` points to `password_hash`, and a YAML syntax error says where."""

from __future__ import annotations

import difflib
import inspect
import typing
from collections.abc import Sequence

import yaml
from pydantic import BaseModel
from pydantic_core import ErrorDetails

HASH_PASSWORD = (
    "a web user holds password_hash, never the password: run `maskwatch users hash-password` and put what it "
    "prints in password_hash"
)


def _model_in(annotation: object) -> type[BaseModel] | None:
    """The model a field holds, directly or inside list[...], X | None or Annotated[...]."""
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def keys_at(model: type[BaseModel], loc: Sequence[int | str]) -> list[str]:
    """The keys the model accepts at `loc` (a path of keys and list indexes), or [] when unknown."""
    current: type[BaseModel] | None = model
    for part in loc:
        if isinstance(part, int):
            continue  # a list item: the field's annotation already named its model
        field = current.model_fields.get(part) if current is not None else None
        current = _model_in(field.annotation) if field is not None else None
    return list(current.model_fields) if current is not None else []


def unknown_key(loc: Sequence[int | str], model: type[BaseModel] | None) -> str:
    """What to say about a key the model does not have."""
    key = str(loc[-1]) if loc else ""
    if key == "password" and len(loc) >= 3 and loc[-3] == "users":
        return f"unknown key: {HASH_PASSWORD}"
    known = keys_at(model, loc[:-1]) if model is not None else []
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return f"unknown key: did you mean `{close[0]}`?"
    if known:
        return f"unknown key (keys here: {', '.join(known)})"
    return "unknown key"


def error_message(err: ErrorDetails, model: type[BaseModel] | None = None) -> str:
    """One validation error's message; `model`: the model validated, to suggest the keys it has."""
    if err["type"] == "finite_number":
        return "NaN and infinity are not allowed: give a finite number"
    if err["type"] == "extra_forbidden":
        return unknown_key(err["loc"], model)
    return err["msg"]


def yaml_problem(exc: yaml.YAMLError) -> str:
    """Where a YAML syntax error is and what it is, without quoting the line (it may hold a secret)."""
    if not isinstance(exc, yaml.MarkedYAMLError) or exc.problem_mark is None:
        return str(exc.__class__.__name__)
    mark = exc.problem_mark
    text = f"line {mark.line + 1}, column {mark.column + 1}: {exc.problem or 'syntax error'}"
    if exc.context and exc.context_mark is not None:
        start = exc.context_mark
        text += f" ({exc.context} that starts at line {start.line + 1}, column {start.column + 1})"
    return text
