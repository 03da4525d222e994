"""A pool of pre-created PersistentVolumes for the local kwok cluster (static provisioning).

No volume plugin runs on a simulated node, so volumes are created ahead, as an administrator of a
bare-metal cluster would; binding them to claims is left to the real scheduler and PV controller.
Run as `python -m harness.volumes --free N` to make sure N volumes are Available.
"""

from __future__ import annotations

import argparse
import secrets

from .cluster import Kubectl
from .kube import kube
from .scenarios import effective_values, scenarios

POOL_LABEL = "emqx-ee.test/volume-pool"
STORAGE_CLASS = "standard"
CAPACITY = "20Gi"


def free_volumes(kubeconfig: str) -> int:
    pool = Kubectl(kubeconfig).get("pv", None, selector=POOL_LABEL)
    return sum(1 for pv in pool if pv.get("status", {}).get("phase") == "Available")


def volume(name: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": name, "labels": {POOL_LABEL: "true"}},
        "spec": {
            "capacity": {"storage": CAPACITY},
            "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": STORAGE_CLASS,
            "hostPath": {"path": f"/var/lib/emqx-ee-pool/{name}"},
        },
    }


def ensure_free_volumes(kubeconfig: str, count: int) -> int:
    """Create volumes until `count` are Available; returns how many were created."""
    missing = count - free_volumes(kubeconfig)
    if missing <= 0:
        return 0
    for _ in range(missing):  # through the API client: topped up before most smoke tests, a kubectl each was 0.1 s CPU
        kube(kubeconfig).create(volume(f"pool-{secrets.token_hex(4)}"))
    return missing


def claims_of_cluster_scenarios() -> int:
    """Claims that installing every cluster scenario once creates (ct install): released volumes are retained,
    not reused, so the pool must hold this many free ones beforehand."""
    total = 0
    for scenario in scenarios():
        values = effective_values(scenario.values)
        if scenario.smoke and values["persistence"]["enabled"]:
            total += int(values["replicaCount"])
    return total


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--free", type=int, default=24)
    parser.add_argument(
        "--for-scenarios", action="store_true", help="as many more as ct install of every scenario claims"
    )
    args = parser.parse_args()
    # ct keeps installing for minutes while other smoke tests claim volumes too: its claims come on top.
    wanted = args.free + claims_of_cluster_scenarios() if args.for_scenarios else args.free
    created = ensure_free_volumes(args.kubeconfig, wanted)
    print(f"volume pool: {created} created, {wanted} or more Available")
