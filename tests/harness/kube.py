"""Reads and waits through the official Kubernetes Python client: no process per read, and waits that
wake up on watch events, so a wait returns the moment a controller acts instead of at the next poll.

Objects come back as plain dicts shaped like `kubectl get -o json` (list items carry kind and
apiVersion), so tests read them the same way whichever way they were fetched.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

import urllib3
from kubernetes import config, dynamic, watch
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.exceptions import NotFoundError, ResourceNotFoundError

# How long a wait lets the events of one change gather before it checks again (seconds).
COALESCE = 0.1
# Core and apps first, then anything else: `events` must mean v1 Events (reason, involvedObject), as in kubectl.
GROUP_ORDER = {"": 0, "apps": 1}


def until(
    check: Callable[[], Any],
    what: str,
    timeout: float,
    pause: Callable[[float], Any],
    report: Callable[[str], None] = print,
) -> Any:
    """Evaluate `check` until it returns something truthy, calling `pause(seconds left)` between rounds; raise
    TimeoutError naming `what`. Every 10 s `report` says what is still awaited."""
    start = last_report = time.monotonic()
    while True:
        result = check()
        if result:
            return result
        now = time.monotonic()
        if now - start > timeout:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        if now - last_report >= 10:
            report(f"still waiting for {what} ({now - start:.0f}s)")
            last_report = now
        pause(timeout - (now - start))


class Kube:
    """One API client per kubeconfig, with kubectl's names for resources (pods, pvc, sts, servicemonitor ...)."""

    def __init__(self, kubeconfig: str):
        self.client = dynamic.DynamicClient(config.new_client_from_config(kubeconfig))
        self._names: dict[str, list[Any]] | None = None
        self._watches = Watches(self)

    def resource(self, name: str) -> Any:
        """The API resource kubectl would pick for `name` (plural, singular, short name or kind)."""
        name = name.lower()
        for attempt in range(2):
            if self._names is None:
                self._names = self._index()
            if name in self._names:
                return min(self._names[name], key=lambda r: (GROUP_ORDER.get(r.group, 2), not r.preferred))
            if attempt == 0:
                self.client.resources.invalidate_cache()  # a CRD may have been installed since discovery
                self._names = None
        raise ResourceNotFoundError(f"the server has no resource type {name!r}")

    def _index(self) -> dict[str, list[Any]]:
        names: dict[str, list[Any]] = {}
        for entry in self.client.resources:
            for r in entry if isinstance(entry, list) else [entry]:
                if not r.name or "/" in r.name or r.kind.endswith("List"):
                    continue  # subresources (pods/log) and list kinds
                for key in {r.name, r.singular_name, r.kind.lower(), *(r.short_names or [])}:
                    names.setdefault(key.lower(), []).append(r)
        return names

    def group_versions(self) -> set[str]:
        """The API group versions discovery lists now (as `kubectl api-versions` prints them)."""
        core = self.client.request("GET", "/api")
        groups = self.client.request("GET", "/apis")
        return set(core.versions) | {v.groupVersion for g in groups.groups for v in g.versions}

    def get(self, kind: str, namespace: str | None = None, name: str | None = None, selector: str | None = None) -> Any:
        """One object (by name) or the list of items, as dicts; NotFoundError when a named object is missing."""
        resource = self.resource(kind)
        ns = namespace if resource.namespaced else None
        # The raw JSON: the client's ResourceInstance wrapping, undone again by to_dict(), took half the smoke
        # workers' CPU time.
        if name:
            return json.loads(resource.get(name=name, namespace=ns, serialize=False).data)
        items = json.loads(resource.get(namespace=ns, label_selector=selector, serialize=False).data)["items"]
        for item in items:
            item.setdefault("kind", resource.kind)
            item.setdefault("apiVersion", resource.group_version)
        return items

    def create(self, body: dict[str, Any]) -> None:
        """Create one object (a dict with kind, apiVersion and metadata, namespace included if it has one)."""
        resource = self.client.resources.get(api_version=body["apiVersion"], kind=body["kind"])
        resource.create(body=body, namespace=body["metadata"].get("namespace"), serialize=False)

    def delete_all(self, kind: str, namespace: str, field_selector: str = "", **options: Any) -> None:
        """Delete every `kind` object of `namespace` (that `field_selector` picks) in one request; `options` are
        DeleteOptions (propagationPolicy, gracePeriodSeconds). The namespace is a field selector too: the client
        deletes a collection only when a name or selector narrows it."""
        selector = ",".join(filter(None, [f"metadata.namespace={namespace}", field_selector]))
        body = {"apiVersion": "v1", "kind": "DeleteOptions", **options}
        self.resource(kind).delete(namespace=namespace, field_selector=selector, body=body)

    def exists(self, kind: str, namespace: str | None, name: str) -> bool:
        try:
            self.get(kind, namespace, name)
        except NotFoundError:
            return False
        return True

    def wait(
        self,
        check: Callable[[], Any],
        what: str,
        watch: Iterable[tuple[str, str | None]],
        timeout: float = 120,
        report: Callable[[str], None] = print,
        fallback: float = 3.0,
    ) -> Any:
        """Evaluate `check` now and after every change to the watched (kind, namespace) pairs until it returns
        something truthy; raise TimeoutError naming `what`. A check every `fallback` seconds regardless covers
        what no watched kind reports (a status another controller writes on another kind)."""
        changed = threading.Event()
        keys = [(kind, ns if self.resource(kind).namespaced else None) for kind, ns in watch]
        for key in keys:  # before the first check: a change after it wakes the next
            self._watches.subscribe(key, changed)

        def checked() -> Any:
            changed.clear()  # before the check: a change during the check wakes the next round
            return check()

        def pause(left: float) -> None:
            if changed.wait(min(fallback, max(0.05, left))):
                # One change comes as a burst of events (a pod's status, then its StatefulSet's, its endpoints'):
                # one check after the burst instead of one per event, each a LIST.
                time.sleep(COALESCE)

        try:
            return until(checked, what, timeout, pause, report)
        finally:
            for key in keys:
                self._watches.unsubscribe(key, changed)


class Watches:
    """One watch per (kind, namespace), shared by the waits of a process: each wait subscribes an Event that
    every event of the watch sets. The API server ends a watch after TIMEOUT seconds; the watch is then
    reopened from the last version it saw (replaying nothing) while anything subscribes, and ends otherwise.
    So the next wait on the same namespace (most tests wait several times) finds it open. Each reopening is
    a new TLS connection, since the client closes a watch's connection: reopened every 2 s for each wait,
    the handshakes cost the smoke workers 5 core-seconds."""

    TIMEOUT = 15

    def __init__(self, kube: Kube) -> None:
        self._kube = kube
        self._lock = threading.Lock()
        self._subscribers: dict[tuple[str, str | None], set[threading.Event]] = {}

    def subscribe(self, key: tuple[str, str | None], changed: threading.Event) -> None:
        with self._lock:
            if key not in self._subscribers:
                self._subscribers[key] = set()
                threading.Thread(target=self._watch, args=(key,), daemon=True).start()
            self._subscribers[key].add(changed)

    def unsubscribe(self, key: tuple[str, str | None], changed: threading.Event) -> None:
        with self._lock:
            self._subscribers[key].discard(changed)

    def _notify(self, key: tuple[str, str | None]) -> None:
        with self._lock:
            for changed in self._subscribers[key]:
                changed.set()

    def _wanted(self, key: tuple[str, str | None]) -> bool:
        """Whether anything subscribes to `key`; when nothing does, the watch is forgotten (under the lock, so
        that a later subscribe starts a new one)."""
        with self._lock:
            if self._subscribers[key]:
                return True
            del self._subscribers[key]
            return False

    def _watch(self, key: tuple[str, str | None]) -> None:
        kind, namespace = key
        resource = self._kube.resource(kind)
        version = None
        while self._wanted(key):
            try:
                for event in watch.Watch().stream(
                    resource.get,
                    namespace=namespace,
                    serialize=False,
                    timeout_seconds=self.TIMEOUT,
                    resource_version=version,
                ):
                    # events stay raw JSON: nothing reads them but their version
                    version = event["raw_object"]["metadata"]["resourceVersion"]
                    self._notify(key)
            except ApiException:  # an ERROR event, such as 410 Gone (the version is too old): watch from now on
                version = None
            except (urllib3.exceptions.HTTPError, OSError):
                time.sleep(0.2)  # the API server dropped the stream: watch again


@cache
def kube(kubeconfig: str) -> Kube:
    """The client of one kubeconfig, made once (discovery is cached with it)."""
    return Kube(kubeconfig)
