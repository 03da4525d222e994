"""The smoke suite's namespaces: each test's own, enforcing Pod Security "restricted", and what happens to it
when the test ends (tests/smoke/conftest.py says why)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from pytest_helm_charts.clusters import Cluster
from pytest_helm_charts.k8s.namespace import ensure_namespace_exists

from .cluster import ClusterInfo, Kubectl, diagnostics
from .real_node import stop_real_node_pods
from .volumes import ensure_free_volumes

RESTRICTED = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": "latest",
    "pod-security.kubernetes.io/warn": "restricted",
}


DISPOSABLE = os.environ.get("EMQX_EE_DISPOSABLE_CLUSTER") == "1"


@contextmanager
def fresh_namespace(
    cluster: ClusterInfo,
    kube_cluster: Cluster,
    kubectl: Kubectl,
    failed: Callable[[], bool],
    module: Any,
    disposable: bool = DISPOSABLE,
) -> Iterator[str]:
    """A new namespace that enforces Pod Security "restricted"; what the cluster saw is printed on failure."""
    if cluster.runtime == "kwok":
        ensure_free_volumes(cluster.kubeconfig, 24)
    name = f"smoke-{secrets.token_hex(3)}"
    created, _ = ensure_namespace_exists(kube_cluster.kube_client, name, extra_metadata={"labels": RESTRICTED})
    yield name
    if failed():
        print(f"\n===== what the cluster saw in {name} =====\n{diagnostics(kubectl, name)}")
    if not disposable or getattr(module, "DELETE_NAMESPACES", False):
        created.delete()
    elif cluster.runtime == "kwok":
        stop_real_node_pods(kubectl, name)
