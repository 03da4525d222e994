"""The scenarios of charts/emqx-ee/ci/*-values.yaml: one list for chart-testing, render and smoke suites."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .tools import CHART

DEFAULTS = yaml.safe_load((CHART / "values.yaml").read_text())


def effective_values(override: dict[str, Any], base: dict[str, Any] = DEFAULTS) -> dict[str, Any]:
    """values.yaml with `override` on top, as Helm coalesces them (None removes a key)."""
    out = dict(base)
    for key, value in override.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            out[key] = effective_values(value, base[key])
        else:
            out[key] = value
    return out


def served(values: dict[str, Any], name: str) -> bool:
    """Whether the pods serve listener `name` of effective `values` rendered without a cluster: the TLS
    listeners need a certificate (tls.enabled) or the opt-in to EMQX's test certificate (tls.testCertificate);
    templates/_listeners.tpl."""
    if not values["listeners"][name]["enabled"]:
        return False
    tls = values["tls"]
    return name not in ("mqtts", "wss") or tls["enabled"] or tls.get("testCertificate", False)


@dataclass(frozen=True)
class Scenario:
    name: str
    path: Path
    values_text: str
    smoke: bool

    @property
    def values(self) -> dict[str, Any]:
        """A fresh copy on every call, so no test can change another's (libyaml parses it in microseconds)."""
        return yaml.load(self.values_text, Loader=yaml.CSafeLoader) or {}

    def __str__(self) -> str:
        return self.name


def scenarios() -> list[Scenario]:
    """Every ci/ scenario. A `# smoke: no` comment keeps a scenario off clusters (render-only)."""
    found = []
    for path in sorted((CHART / "ci").glob("*-values.yaml")):
        text = path.read_text()
        smoke = not any(line.strip().startswith("# smoke: no") for line in text.splitlines())
        found.append(Scenario(path.name.removesuffix("-values.yaml"), path, text, smoke))
    return found
