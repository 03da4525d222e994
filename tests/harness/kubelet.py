"""The checks a kubelet makes before it starts a pod's containers, run against what the API server holds.

On kwok every pod becomes Ready whatever its spec says: a secretKeyRef naming a key the Secret lacks would
pass the smoke suite and fail on a real node with CreateContainerConfigError. `violations` is a pure function
of the pod and the namespace's objects, so its own tests need no cluster; `assert_startable` feeds it live.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .cluster import Kubectl

PROBES = ("startupProbe", "readinessProbe", "livenessProbe")


class Namespace:
    """The objects of a namespace that pods refer to, by name (data keys for Secrets and ConfigMaps)."""

    def __init__(
        self,
        secrets: Iterable[dict[str, Any]],
        configmaps: Iterable[dict[str, Any]],
        serviceaccounts: Iterable[dict[str, Any]],
        claims: Iterable[dict[str, Any]],
    ):
        self.secrets = {s["metadata"]["name"]: set(s.get("data") or {}) for s in secrets}
        self.configmaps = {
            c["metadata"]["name"]: set(c.get("data") or {}) | set(c.get("binaryData") or {}) for c in configmaps
        }
        self.serviceaccounts = {a["metadata"]["name"] for a in serviceaccounts}
        self.claims = {c["metadata"]["name"] for c in claims}


def _ref(found: dict[str, set[str]], kind: str, name: str, key: str | None, optional: bool, where: str) -> list[str]:
    if optional:
        return []
    if name not in found:
        return [f"{where}: {kind} {name} does not exist"]
    if key is not None and key not in found[name]:
        return [f"{where}: {kind} {name} has no key {key} (it has {sorted(found[name])})"]
    return []


def violations(pod: dict[str, Any], ns: Namespace) -> list[str]:
    """What would stop a kubelet from starting `pod` (empty when nothing would)."""
    spec, name = pod["spec"], pod["metadata"]["name"]
    problems: list[str] = []
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    for c in spec.get("initContainers", []) + spec.get("containers", []):
        where = f"pod {name} container {c['name']}"
        for e in c.get("env", []):
            ref = e.get("valueFrom", {})
            if "secretKeyRef" in ref:
                r = ref["secretKeyRef"]
                problems += _ref(
                    ns.secrets, "Secret", r["name"], r["key"], r.get("optional", False), f"{where} env {e['name']}"
                )
            if "configMapKeyRef" in ref:
                r = ref["configMapKeyRef"]
                problems += _ref(
                    ns.configmaps,
                    "ConfigMap",
                    r["name"],
                    r["key"],
                    r.get("optional", False),
                    f"{where} env {e['name']}",
                )
        for source in c.get("envFrom", []):
            if "secretRef" in source:
                r = source["secretRef"]
                problems += _ref(ns.secrets, "Secret", r["name"], None, r.get("optional", False), f"{where} envFrom")
            if "configMapRef" in source:
                r = source["configMapRef"]
                problems += _ref(
                    ns.configmaps, "ConfigMap", r["name"], None, r.get("optional", False), f"{where} envFrom"
                )
        for mount in c.get("volumeMounts", []):
            if mount["name"] not in volumes:
                problems.append(f"{where}: volumeMount {mount['name']} names no volume of the pod")
        ports = {p["name"] for p in c.get("ports", []) if "name" in p}
        for probe_kind in PROBES:
            probe = c.get(probe_kind) or {}
            for handler in ("httpGet", "tcpSocket", "grpc"):
                port = (probe.get(handler) or {}).get("port")
                if isinstance(port, str) and port not in ports:
                    problems.append(
                        f"{where}: {probe_kind} port {port} is not a declared container port {sorted(ports)}"
                    )
    for volume in volumes.values():
        where = f"pod {name} volume {volume['name']}"
        if "secret" in volume:
            v = volume["secret"]
            problems += _ref(ns.secrets, "Secret", v["secretName"], None, v.get("optional", False), where)
            for item in v.get("items", []):
                problems += _ref(ns.secrets, "Secret", v["secretName"], item["key"], v.get("optional", False), where)
        if "configMap" in volume:
            v = volume["configMap"]
            problems += _ref(ns.configmaps, "ConfigMap", v["name"], None, v.get("optional", False), where)
            for item in v.get("items", []):
                problems += _ref(ns.configmaps, "ConfigMap", v["name"], item["key"], v.get("optional", False), where)
        for source in (volume.get("projected") or {}).get("sources", []):
            for kind, found, field in (("Secret", ns.secrets, "secret"), ("ConfigMap", ns.configmaps, "configMap")):
                if field in source:
                    s = source[field]
                    problems += _ref(found, kind, s["name"], None, s.get("optional", False), where)
                    for item in s.get("items", []):
                        problems += _ref(found, kind, s["name"], item["key"], s.get("optional", False), where)
        if "persistentVolumeClaim" in volume and volume["persistentVolumeClaim"]["claimName"] not in ns.claims:
            problems.append(f"{where}: claim {volume['persistentVolumeClaim']['claimName']} does not exist")
    for secret in spec.get("imagePullSecrets", []):
        problems += _ref(ns.secrets, "Secret", secret["name"], None, False, f"pod {name} imagePullSecrets")
    account = spec.get("serviceAccountName", "default")
    if account not in ns.serviceaccounts:
        problems.append(f"pod {name}: service account {account} does not exist")
    return problems


def service_violations(service: dict[str, Any], pods: Iterable[dict[str, Any]]) -> list[str]:
    """Named targetPorts of `service` that a selected pod does not declare (traffic would go nowhere)."""
    selector = service["spec"].get("selector") or {}
    problems = []
    for pod in pods:
        labels = pod["metadata"].get("labels", {})
        if not selector or any(labels.get(k) != v for k, v in selector.items()):
            continue
        declared = {p["name"] for c in pod["spec"]["containers"] for p in c.get("ports", []) if "name" in p}
        for port in service["spec"].get("ports", []):
            target = port.get("targetPort")
            if isinstance(target, str) and target not in declared:
                problems.append(
                    f"Service {service['metadata']['name']} port {port['name']}: pod "
                    f"{pod['metadata']['name']} declares no port {target}"
                )
    return problems


def assert_startable(kubectl: Kubectl, namespace: str) -> None:
    """Fail when a kubelet would refuse to start a pod of `namespace`, or a Service targets an undeclared port."""
    pods = [p for p in kubectl.get("pods", namespace) if not p["metadata"].get("deletionTimestamp")]
    ns = Namespace(
        kubectl.get("secrets", namespace),
        kubectl.get("configmaps", namespace),
        kubectl.get("serviceaccounts", namespace),
        kubectl.get("pvc", namespace),
    )
    problems = [p for pod in pods for p in violations(pod, ns)]
    problems += [p for svc in kubectl.get("services", namespace) for p in service_violations(svc, pods)]
    assert not problems, "a kubelet would not start these pods (kwok did):\n  " + "\n  ".join(problems)
