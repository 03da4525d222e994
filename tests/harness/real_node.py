"""The real node of the kwok cluster (scripts/node.sh): its recorded status and the images built for it."""

from __future__ import annotations

import functools
import subprocess

from .cluster import STATE
from .tools import ROOT


def node_status() -> dict[str, str]:
    """$STATE/real-node.env as a dict: NODE_STATUS up|down, NODE_NAME, NODE_LABEL, NODE_REASON."""
    path = STATE / "real-node.env"
    if not path.exists():
        return {"NODE_STATUS": "down", "NODE_REASON": f"{path} is missing: scripts/cluster.sh up did not start it"}
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


@functools.cache
def image(name: str) -> str:
    """The full name of a node image (scripts/node-image.sh ref NAME): pause, debian or standin."""
    return subprocess.run(
        [str(ROOT / "scripts" / "node-image.sh"), "ref", name], capture_output=True, text=True, check=True
    ).stdout.strip()


def on_real_node(node: dict[str, str], **values) -> dict:
    """Values that run the chart's pods and its test Pod on the real node, from the stand-in image."""
    label = node["NODE_LABEL"]
    repository, tag = image("standin").rsplit(":", 1)
    local = {"repository": repository, "tag": tag, "pullPolicy": "Never"}
    return {
        "image": local,
        "nodeSelector": {label: "true"},
        "tolerations": [{"key": label, "operator": "Exists", "effect": "NoSchedule"}],
        "tests": {"image": local, "timeoutSeconds": 6, "deleteOnSuccess": False},
        "persistence": {"enabled": False},
        "minReadySeconds": 0,
        "resources": {"requests": {"cpu": "10m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
        "startupProbe": {"initialDelaySeconds": 0, "periodSeconds": 1},
    } | values
