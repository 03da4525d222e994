"""The real node of the kwok cluster (scripts/node.sh): its recorded status and the images built for it."""

from __future__ import annotations

import functools
import importlib.util
import subprocess
from types import ModuleType

import pytest

from .cluster import STATE, Kubectl
from .statefulset import wait_ready
from .tools import ROOT


def node_status() -> dict[str, str]:
    """$STATE/real-node.env as a dict: NODE_STATUS up|down, NODE_NAME, NODE_LABEL, NODE_REASON."""
    path = STATE / "real-node.env"
    if not path.exists():
        return {"NODE_STATUS": "down", "NODE_REASON": f"{path} is missing: scripts/cluster.sh up did not start it"}
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


@functools.cache
def oci_image() -> ModuleType:
    """scripts/oci_image.py, the packer and reader of the node's image tarballs, as a module."""
    spec = importlib.util.spec_from_file_location("oci_image", ROOT / "scripts" / "oci_image.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.cache
def image(name: str) -> str:
    """The full name of a node image (scripts/node-image.sh ref NAME): pause, debian or standin."""
    return subprocess.run(
        [str(ROOT / "scripts" / "node-image.sh"), "ref", name], capture_output=True, text=True, check=True
    ).stdout.strip()


# The controllers of the chart's pods and of the tests' own.
WORKLOADS = ("statefulsets", "deployments", "replicasets", "jobs")


def stop_real_node_pods(kubectl: Kubectl, namespace: str) -> None:
    """Stop what `namespace` runs on the real node and leave every other object in place: its pods' controllers
    go first (so that none makes a pod again), then its pods there, at once (no grace period, no preStop)."""
    node = node_status()
    if node.get("NODE_STATUS") != "up":
        return
    api, on_node = kubectl.api, f"spec.nodeName={node['NODE_NAME']}"
    if not api.client.get(api.resource("pods"), namespace=namespace, field_selector=on_node, limit=1).items:
        return
    for kind in WORKLOADS:
        api.delete_all(kind, namespace, propagationPolicy="Background")
    api.delete_all("pods", namespace, on_node, gracePeriodSeconds=0)


def on_real_node(node: dict[str, str], **values) -> dict:
    """Values that run the chart's pods, its test Pod and its rollback guard's Job on the real node: the pods
    from the stand-in image, the guard from the Debian image's python3."""
    label = node["NODE_LABEL"]
    repository, tag = image("standin").rsplit(":", 1)
    local = {"repository": repository, "tag": tag, "pullPolicy": "Never"}
    python, python_tag = image("debian").rsplit(":", 1)
    return {
        "image": local,
        "rollbackGuard": {"image": {"repository": python, "tag": python_tag, "pullPolicy": "Never"}},
        "nodeSelector": {label: "true"},
        "tolerations": [{"key": label, "operator": "Exists", "effect": "NoSchedule"}],
        "tests": {"image": local, "timeoutSeconds": 6, "deleteOnSuccess": False},
        "persistence": {"enabled": False},
        "minReadySeconds": 0,
        "resources": {"requests": {"cpu": "10m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
        "startupProbe": {"initialDelaySeconds": 0, "periodSeconds": 1},
    } | values


def logs(kubectl: Kubectl, namespace: str, pod: str, *extra: str) -> str:
    """The emqx container's log (empty when the kubelet cannot give it)."""
    return kubectl.run("logs", "-n", namespace, pod, "-c", "emqx", *extra, check=False).stdout


def up(kubectl: Kubectl, namespace: str, replicas: int, cores: int | None = None) -> None:
    """Wait for `replicas` Ready EMQX pods, `cores` of them the StatefulSet's (all by default); fail at once,
    with the stand-in's own words, when one exits (it refuses to start where EMQX would, and the kubelet
    restarts it)."""

    def ready_or_exited() -> dict | bool:
        for pod in kubectl.get("pods", namespace):
            for c in pod["status"].get("containerStatuses") or []:
                ended = c.get("lastState", {}).get("terminated") or c["state"].get("terminated")
                if c["name"] == "emqx" and ended and ended.get("exitCode"):
                    return pod
        cores = [p for p in kubectl.get("pods", namespace) if p["metadata"]["name"] != "emqx-ee-test"]
        return len(cores) == replicas and all(
            c["ready"] for p in cores for c in p["status"].get("containerStatuses") or [{"ready": False}]
        )

    found = kubectl.wait_for(ready_or_exited, f"{replicas} Ready EMQX pods in {namespace}", namespace, timeout=120)
    if isinstance(found, dict):
        name = found["metadata"]["name"]
        said = kubectl.run("logs", "-n", namespace, name, "-c", "emqx", "--previous", check=False).stdout
        pytest.fail(f"{name}: the emqx container exited:\n{said or logs(kubectl, namespace, name)}")
    wait_ready(kubectl, namespace, replicas if cores is None else cores, timeout=60)
