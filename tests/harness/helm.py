"""`helm template` as a function: values in as data, read-only manifests out, one render per input.

Every distinct (helm binary, chart, values, release, namespace) is rendered once per
test session. The manifests are frozen so that no test can change what another test sees.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml

from .tools import CHART, Helm

T = TypeVar("T")

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


def helm_env() -> dict[str, str]:
    """The environment for helm: a render lives for a tenth of a second, and Go's garbage collector took a third
    of its CPU time. Off, with a memory limit far above a render's 60 MB as the safety net; the output does not
    depend on it."""
    return {**os.environ, "GOGC": "off", "GOMEMLIMIT": "1GiB"}


def run(cmd: list[str], stdin: str = "") -> str:
    """Run a helm command with `stdin`; its stdout, or HelmError carrying helm's stderr."""
    proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=120, env=helm_env())
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
        # libyaml's parser (PyYAML's safe constructors): a render parses five times faster than in Python.
        docs = [d for d in yaml.load_all(run(cmd, values_json), Loader=yaml.CSafeLoader) if d]
        return Manifests(docs, f"{helm} template {release} {values_json}")

    return _cached(("template", cmd, values_json), produce)


def in_parallel(calls: Iterable[Callable[[], T]]) -> list[T]:
    """The results of `calls`, made two at a time: each starts a helm (or other) process whose start-up is
    most of its time, and the machine has two cores. Raises the first exception, once every call has ended."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(call) for call in calls]
    return [f.result() for f in futures]


def render_many(helm: Helm, values: Sequence[Mapping[str, Any]], **kwargs: Any) -> list[Manifests]:
    """render() of each of `values` (with the same keyword arguments), two at a time."""
    return in_parallel(partial(render, helm, v, **kwargs) for v in values)


def prefetch(calls: Iterable[Callable[[], Any]]) -> None:
    """Run cached helm calls (render, lint) two at a time, for the tests that ask for them one by one next:
    each finds its result, or its own HelmError, in the cache."""

    def quietly(call: Callable[[], Any]) -> None:
        try:
            call()
        except HelmError:
            pass  # cached: the test that asks for it sees it

    in_parallel(partial(quietly, call) for call in calls)


class Background(Generic[T]):
    """A slow call that one process makes over everything (checkov, ct lint). conftest starts it in a thread
    as soon as a test that needs it is collected (its module lists it in START_EARLY), so that it runs on the
    second core while the other tests render; result() waits for it, or makes the call if nothing started it."""

    _worker = ThreadPoolExecutor(max_workers=1)  # one such job at a time, beside the tests' own work

    def __init__(self, call: Callable[[], T]) -> None:
        self._call = call
        self._future: Future[T] | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._future is None:
                self._future = self._worker.submit(self._call)

    def result(self) -> T:
        self.start()
        assert self._future is not None
        return self._future.result()


# A run of 20 or more base64 characters in a Secret's decoded value: a generated password, key or certificate.
_RANDOM = re.compile(r"[A-Za-z0-9+/=\n]{20,}")


def comparable(manifests: Manifests) -> list[dict[str, Any]]:
    """The objects as plain data, with what differs on every render masked: the random runs in Secrets'
    values (generated credentials, certificates made by genCA), decoded so that the rest is compared."""
    out = json.loads(json.dumps(manifests.docs))
    for doc in out:
        if doc["kind"] == "Secret":
            for key, value in (doc.get("data") or {}).items():
                doc["data"][key] = _RANDOM.sub("<random>", base64.b64decode(value).decode())
    return out


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
    """`helm lint --strict` with one values file (once per session and content); raises HelmError on failure."""
    cmd = [helm.path, "lint", "--strict", str(chart), "-f", str(values_file)]

    def produce() -> str:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=helm_env())
        if proc.returncode != 0:
            raise HelmError(cmd, proc.returncode, proc.stdout + proc.stderr)
        return proc.stdout

    return _cached(("lint", helm.path, str(chart), values_file.read_text()), produce)
