"""Observing the chart's StatefulSet on a live cluster: its pods by ordinal, claims, readiness, rollouts.
Every wait also checks what a kubelet would refuse before starting a pod (harness.kubelet): kwok does not."""

from __future__ import annotations

from typing import Any

from .cluster import Kubectl, progress
from .kubelet import assert_startable


def ordinal(pod: dict[str, Any]) -> int:
    return int(pod["metadata"]["name"].rsplit("-", 1)[1])


def is_ready(pod: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod.get("status", {}).get("conditions", []))


def ready_since(pod: dict[str, Any]) -> str:
    return next(c["lastTransitionTime"] for c in pod["status"]["conditions"] if c["type"] == "Ready")


def data_volume(pod: dict[str, Any]) -> dict[str, Any]:
    """The pod's `emqx-data` volume (a claim, or an emptyDir without persistence)."""
    return next(v for v in pod["spec"]["volumes"] if v["name"] == "emqx-data")


def claim_of(pod: dict[str, Any]) -> str:
    return data_volume(pod)["persistentVolumeClaim"]["claimName"]


def node_host(pod: dict[str, Any]) -> str:
    """The host part of the pod's EMQX node name: EMQX_HOST with $(POD_NAME) expanded as the kubelet does."""
    env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
    return env["EMQX_HOST"].replace("$(POD_NAME)", pod["metadata"]["name"])


def pods(kubectl: Kubectl, namespace: str, release: str = "emqx-ee") -> list[dict[str, Any]]:
    """The StatefulSet's pods (not helm test pods), by ordinal."""
    found = kubectl.get(
        "pods", namespace, selector=f"app.kubernetes.io/name=emqx-ee,app.kubernetes.io/instance={release}"
    )
    return sorted(found, key=ordinal)


def claims(kubectl: Kubectl, namespace: str) -> dict[str, dict[str, Any]]:
    return {c["metadata"]["name"]: c for c in kubectl.get("pvc", namespace)}


def wait_ready(kubectl: Kubectl, namespace: str, replicas: int, name: str = "emqx-ee", timeout: float = 300) -> None:
    """Wait until the StatefulSet has exactly `replicas` pods, all Ready."""

    def done() -> bool:
        sts = kubectl.get("statefulset", namespace, name)
        status = sts.get("status", {})
        current = [
            p
            for p in pods(kubectl, namespace, sts["metadata"]["labels"]["app.kubernetes.io/instance"])
            if not p["metadata"].get("deletionTimestamp")
        ]
        return (
            status.get("observedGeneration") == sts["metadata"]["generation"]
            and status.get("readyReplicas", 0) == replicas == len(current)
            and all(is_ready(p) for p in current)
        )

    progress(f"waiting for {replicas} Ready pods of {namespace}/{name}")
    kubectl.wait_for(done, f"{replicas} Ready pods of StatefulSet {namespace}/{name}", namespace, timeout=timeout)
    assert_startable(kubectl, namespace)


def scale(kubectl: Kubectl, namespace: str, replicas: int, name: str = "emqx-ee") -> None:
    progress(f"scaling {namespace}/{name} to {replicas}")
    kubectl.run("scale", f"statefulset/{name}", "-n", namespace, f"--replicas={replicas}")


def wait_updated(kubectl: Kubectl, namespace: str, updated: int, name: str = "emqx-ee", timeout: float = 300) -> None:
    """Wait until `updated` pods run the StatefulSet's update revision and all pods are Ready."""

    def done() -> bool:
        sts = kubectl.get("statefulset", namespace, name)
        status = sts.get("status", {})
        revision = status.get("updateRevision")
        current = pods(kubectl, namespace, sts["metadata"]["labels"]["app.kubernetes.io/instance"])
        on_revision = [p for p in current if p["metadata"]["labels"].get("controller-revision-hash") == revision]
        return (
            status.get("observedGeneration") == sts["metadata"]["generation"]
            and len(on_revision) == updated
            and all(is_ready(p) for p in current)
            and len(current) == sts["spec"]["replicas"]
        )

    progress(f"waiting for {updated} updated pods of {namespace}/{name}")
    kubectl.wait_for(done, f"{updated} pods of {namespace}/{name} on the update revision", namespace, timeout=timeout)
    assert_startable(kubectl, namespace)
