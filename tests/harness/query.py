"""JSONPath over rendered manifests (jsonpath-ng), failing loudly when a path matches nothing."""

from __future__ import annotations

from functools import cache
from typing import Any

from jsonpath_ng.ext.parser import ExtendedJsonPathParser

# jsonpath_ng.ext.parse() builds a new parser, and its LALR tables (50 ms), for every expression: build it once.
_PARSER = ExtendedJsonPathParser()


@cache
def _compiled(expr: str):
    return _PARSER.parse(expr)


def describe(doc: Any) -> str:
    if isinstance(doc, dict) and "kind" in doc:
        return f"{doc['kind']}/{doc.get('metadata', {}).get('name', '?')}"
    return type(doc).__name__


def jp_all(doc: Any, expr: str) -> list[Any]:
    """Every value at `expr`; an empty list when nothing matches (for checks of absence)."""
    return [m.value for m in _compiled(expr).find(doc)]


def jp(doc: Any, expr: str) -> list[Any]:
    """Every value at `expr`; raises when nothing matches."""
    values = jp_all(doc, expr)
    if not values:
        raise AssertionError(f"JSONPath {expr} matched nothing in {describe(doc)}")
    return values


def jp1(doc: Any, expr: str) -> Any:
    """The single value at `expr`; raises unless exactly one matches."""
    values = jp(doc, expr)
    if len(values) != 1:
        raise AssertionError(f"JSONPath {expr} matched {len(values)} values in {describe(doc)}: {values}")
    return values[0]


def env_value(pod_spec_owner: Any, name: str, container: str = "emqx") -> Any:
    """The `env` entry `name` of a container in a workload (the whole entry: value or valueFrom)."""
    return jp1(pod_spec_owner, f'$.spec.template.spec.containers[?name="{container}"].env[?name="{name}"]')
