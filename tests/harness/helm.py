"""`helm template` as a function: values in as data, read-only manifests out, one render per input.

Every distinct (helm binary, chart, values, release, namespace) is rendered once per
test session. The manifests are frozen so that no test can change what another test sees.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from .tools import CHART, Helm

RELEASE = "emqx-ee"
NAMESPACE = "emqx"


class HelmError(Exception):
    """helm exited non-zero; `stderr` is what it said."""

    def __init__(self, cmd: list[str], returncode: int, stderr: str):
        self.cmd, self.returncode, self.stderr = cmd, returncode, stderr
        super().__init__(f"{' '.join(cmd)} exited {returncode}:\n{stderr}")


class FrozenDict(dict):
    """A dict that refuses changes (jsonpath-ng still sees a dict)."""

    def _refuse(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("rendered manifests are read-only")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _refuse  # type: ignore[assignment]
    __ior__ = _refuse  # type: ignore[assignment]


class FrozenList(list):
    """A list that refuses changes."""

    def _refuse(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("rendered manifests are read-only")

    __setitem__ = __delitem__ = append = extend = insert = pop = remove = clear = sort = reverse = _refuse  # type: ignore[assignment]
    __iadd__ = __imul__ = _refuse  # type: ignore[assignment]


def freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return FrozenDict({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return FrozenList(freeze(v) for v in value)
    return value


class Manifests:
    """The objects of one render, with lookups that fail loudly."""

    def __init__(self, docs: list[dict[str, Any]], source: str):
        self.docs = FrozenList(freeze(d) for d in docs)
        self.source = source

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.docs)

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [d for d in self.docs if d["kind"] == kind]

    def one(self, kind: str, name: str | None = None) -> dict[str, Any]:
        found = [d for d in self.of_kind(kind) if name is None or d["metadata"]["name"] == name]
        if len(found) != 1:
            names = [d["metadata"]["name"] for d in self.of_kind(kind)]
            raise AssertionError(f"{self.source}: expected one {kind} {name or ''}, found {names}")
        return found[0]

    def maybe(self, kind: str, name: str | None = None) -> dict[str, Any] | None:
        found = [d for d in self.of_kind(kind) if name is None or d["metadata"]["name"] == name]
        return found[0] if found else None

    @property
    def statefulset(self) -> dict[str, Any]:
        return self.one("StatefulSet")

    def workloads(self) -> list[dict[str, Any]]:
        """Every object with a pod template."""
        return [d for d in self.docs if d["kind"] in ("StatefulSet", "Deployment", "DaemonSet", "Job")]

    def pod_specs(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """(object, pod spec) of everything that runs pods: workloads' templates and bare Pods (helm test)."""
        return [(d, d["spec"]["template"]["spec"]) for d in self.workloads()] + [
            (d, d["spec"]) for d in self.of_kind("Pod")
        ]

    def pod_labels(self) -> list[tuple[dict[str, Any], dict[str, str]]]:
        """(object, labels its pods get) of everything that runs pods."""
        return [(d, d["spec"]["template"]["metadata"]["labels"]) for d in self.workloads()] + [
            (d, d["metadata"]["labels"]) for d in self.of_kind("Pod")
        ]


_cache: dict[str, Any] = {}


def run(cmd: list[str], stdin: str = "") -> str:
    """Run a helm command with `stdin`; its stdout, or HelmError carrying helm's stderr."""
    proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise HelmError(cmd, proc.returncode, proc.stderr)
    return proc.stdout


def _cached(key: tuple, produce: Any) -> Any:
    """Memoise results and HelmErrors alike, so a rejected input is also run once."""
    skey = json.dumps(key, sort_keys=True, default=str)
    if skey not in _cache:
        try:
            _cache[skey] = produce()
        except HelmError as err:
            _cache[skey] = err
    result = _cache[skey]
    if isinstance(result, HelmError):
        raise result
    return result


def render(
    helm: Helm,
    values: Mapping[str, Any] | None = None,
    *,
    release: str = RELEASE,
    namespace: str = NAMESPACE,
    chart: Path = CHART,
    kube_version: str | None = None,
) -> Manifests:
    """Render the chart with `helm template` (for `kube_version`, as `--kube-version` sets it); raises HelmError
    with helm's stderr on failure."""
    values_json = json.dumps(values or {}, sort_keys=True)
    cmd = [helm.path, "template", release, str(chart), "--namespace", namespace, "-f", "-"]
    if kube_version:
        cmd += ["--kube-version", kube_version]

    def produce() -> Manifests:
        docs = [d for d in yaml.safe_load_all(run(cmd, values_json)) if d]
        return Manifests(docs, f"{helm} template {release} {values_json}")

    return _cached(("template", cmd, values_json), produce)


def notes(
    helm: Helm, values: Mapping[str, Any] | None = None, *, release: str = RELEASE, namespace: str = NAMESPACE
) -> str:
    """NOTES.txt as `helm install --dry-run=client` prints it (Helm 4: needs no cluster)."""
    values_json = json.dumps(values or {}, sort_keys=True)
    cmd = [helm.path, "install", release, str(CHART), "--namespace", namespace, "--dry-run=client", "-f", "-"]

    def produce() -> str:
        out = run(cmd, values_json)
        return out.split("\nNOTES:\n", 1)[1] if "\nNOTES:\n" in out else ""

    return _cached(("notes", cmd, values_json), produce)


def lint(helm: Helm, values_file: Path, chart: Path = CHART) -> str:
    """`helm lint --strict` with one values file; raises HelmError on failure."""
    cmd = [helm.path, "lint", "--strict", str(chart), "-f", str(values_file)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise HelmError(cmd, proc.returncode, proc.stdout + proc.stderr)
    return proc.stdout
