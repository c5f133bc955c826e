"""Rewrite generated JSON Schemas into the plain subset every MCP host accepts.

Pydantic emits `$defs`/`$ref`, `anyOf` with `null` for optional fields and a
title on every property. Some hosts reject references and unions outright, and
all of it costs tokens in every conversation. The rewrite inlines references,
turns `X | None` into plain `X` (optional by not being required), and drops
titles. Validation is unaffected: the SDK validates with the pydantic models.
"""

import types
from typing import Any, Literal, Union, cast, get_args, get_origin

from pydantic import BaseModel

Schema = dict[str, Any]

_SCALARS = {str: "string", int: "integer", float: "number", bool: "boolean"}

# `additionalProperties: false` only restates what validation enforces anyway.
_DROPPED_KEYS = {"title", "$defs", "additionalProperties"}


def portable(schema: Schema) -> Schema:
    """Return a self-contained copy of `schema` without refs, null unions or titles."""
    definitions = cast(Schema, schema.get("$defs", {}))
    return _rewrite(schema, definitions)


def outline_of(model: type[BaseModel]) -> Schema:
    """A model's output schema cut to its top-level fields, read off the fields.

    Hosts pay for every tools/list byte in every conversation, and a model
    reads the answer, not its schema: nested objects are described only as
    objects, and which fields are optional is left unsaid. Generating the
    whole schema only to cut it would cost about a millisecond per tool at
    every start-up; tests hold this equal to the cut of the whole schema.
    """
    properties = {
        name: _outline_type(field.annotation)
        for name, field in model.model_fields.items()
    }
    return {"properties": properties, "type": "object"}


def _outline_type(annotation: Any) -> Schema:
    origin, arguments = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType):
        # `X | None` is X, optional by not being required.
        kept = [arg for arg in arguments if arg is not type(None)]
        if len(kept) == 1:
            return _outline_type(kept[0])

    if origin in (list, tuple, set, frozenset) and arguments:
        return {"items": _outline_type(arguments[0]), "type": "array"}

    kinds: set[type] = {type(arg) for arg in arguments}
    if origin is Literal and len(kinds) == 1:
        return {"enum": list(arguments), "type": _SCALARS[kinds.pop()]}

    if annotation in _SCALARS:
        return {"type": _SCALARS[annotation]}

    # Nested objects are only named as objects: their fields are not shown.
    model = isinstance(annotation, type) and issubclass(annotation, BaseModel)
    if model or origin is dict or annotation is dict:
        return {"type": "object"}

    msg = f"no outline for a field of type {annotation!r}; add it to outline_of"
    raise TypeError(msg)


def _rewrite(node: Any, definitions: Schema) -> Any:
    if isinstance(node, list):
        return [_rewrite(item, definitions) for item in cast(list[Any], node)]

    if not isinstance(node, dict):
        return node

    schema = cast(Schema, node)
    ref = schema.get("$ref")
    if isinstance(ref, str):
        target = definitions[ref.rsplit("/", 1)[-1]]
        merged = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        return _rewrite(merged, definitions)

    schema = _without_null_branch(schema)
    return {
        key: _rewrite(value, definitions)
        if key != "properties"
        else _properties(value, definitions)
        for key, value in schema.items()
        if key not in _DROPPED_KEYS and not (key == "default" and value is None)
    }


def _properties(properties: Schema, definitions: Schema) -> Schema:
    # Keys here are property names, which may well be called "title".
    return {name: _rewrite(value, definitions) for name, value in properties.items()}


def _without_null_branch(schema: Schema) -> Schema:
    """`anyOf: [X, {type: null}]` becomes X, keeping the outer description."""
    branches = schema.get("anyOf")
    if not isinstance(branches, list):
        return schema

    kept = [b for b in cast(list[Schema], branches) if b.get("type") != "null"]
    if len(kept) != 1:
        return schema

    rest = {key: value for key, value in schema.items() if key != "anyOf"}
    return {**kept[0], **rest}
