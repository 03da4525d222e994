"""Fixtures of the smoke suite: the local cluster, a fresh Pod-Security-restricted namespace per test
(pods, claims and events printed when the test fails), and helm releases.

Namespaces are deleted as each test ends, without waiting: the namespace controller needs 5-15 s per
namespace, which would add up test by test. When scripts/test.sh is about to remove the cluster it started
(EMQX_EE_DISPOSABLE_CLUSTER=1), they are left for it: deleting a namespace has the control plane list and
delete every kind of object in it and finalize each pod, a good part of its work over a session, for nothing
a test reads. A module that needs its namespaces gone sets DELETE_NAMESPACES = True (the drills, whose nodes
must be empty before they go). What a namespace left that way runs on the real node is stopped, though: each
container there (a stand-in clustering with its peers, its probes, a client) would run until the cluster goes.

Without a cluster the smoke tests skip with a loud reason; scripts/test.sh always brings one up and
sets EMQX_EE_REQUIRE_CLUSTER=1, which turns that skip into a failure.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytest_helm_charts.clusters import Cluster

from harness.cluster import (
    ClusterInfo,
    Dns,
    Kubectl,
    Release,
    cluster_info,
    port_forward_dns,
    wait_until,
)
from harness.namespaces import fresh_namespace
from harness.real_node import image, node_status
from harness.tools import Helm, go_module_dir, tool, versions


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture(scope="session")
def cluster() -> ClusterInfo:
    info = cluster_info()
    if info is None:
        reason = "NO CLUSTER: smoke tests need `scripts/cluster.sh up` (scripts/test.sh does it for you)"
        if os.environ.get("EMQX_EE_REQUIRE_CLUSTER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    # pytest-helm-charts reads KUBECONFIG and runs `kubectl` from PATH: point both at the local cluster.
    os.environ["KUBECONFIG"] = info.kubeconfig
    os.environ["PATH"] = f"{Path(tool('kubectl')).parent}{os.pathsep}{os.environ['PATH']}"
    return info


@pytest.fixture(scope="session")
def kubectl(cluster: ClusterInfo) -> Kubectl:
    return Kubectl(cluster.kubeconfig)


@pytest.fixture(scope="session")
def dns(cluster: ClusterInfo) -> Iterator[Dns]:
    if cluster.dns_server:
        yield Dns(cluster.dns_server)
        return
    forward, server = port_forward_dns(cluster.kubeconfig)
    try:
        yield Dns(server)
    finally:
        forward.terminate()


@pytest.fixture
def namespace(
    request: pytest.FixtureRequest,
    cluster: ClusterInfo,
    kube_cluster: Cluster,
    kubectl: Kubectl,
) -> Iterator[str]:
    """A fresh namespace for this test, deleted when it ends (left to the cluster when it is disposable)."""

    def failed() -> bool:
        report = getattr(request.node, "report_call", None)
        return report is not None and report.failed

    with fresh_namespace(cluster, kube_cluster, kubectl, failed, request.module) as name:
        yield name


@pytest.fixture(scope="module")
def module_namespace(
    request: pytest.FixtureRequest,
    cluster: ClusterInfo,
    kube_cluster: Cluster,
    kubectl: Kubectl,
) -> Iterator[str]:
    """One namespace shared by the tests of a module (one install, many checks against it)."""
    failures = request.session.testsfailed

    def failed() -> bool:
        return request.session.testsfailed > failures

    with fresh_namespace(cluster, kube_cluster, kubectl, failed, request.module) as name:
        yield name


@pytest.fixture
def release(cluster: ClusterInfo, namespace: str, helm4: Helm) -> Callable[..., Release]:
    """Factory of releases of the chart in this test's namespace (Helm 4 unless told otherwise)."""

    def _release(name: str = "emqx-ee", helm: Helm | None = None, detect_service_monitor: bool = False) -> Release:
        return Release(helm or helm4, cluster.kubeconfig, namespace, name, detect_service_monitor)

    return _release


@pytest.fixture(scope="module")
def cert_manager_crds(cluster: ClusterInfo, kubectl: Kubectl) -> Path:
    """cert-manager's real CRDs (from its Go module), established: the API server then validates Certificates
    and Issuers, and Helm's .Capabilities lists their APIs. Its controller does not run here."""
    crds = go_module_dir("github.com/cert-manager/cert-manager", versions()["CERT_MANAGER_VERSION"]) / "deploy/crds"
    kubectl.run("apply", "--server-side", "-f", str(crds))
    kubectl.wait_for(lambda: kubectl.established("certificates.cert-manager.io"), "the Certificate CRD", None, ("crd",))
    kubectl.wait_for(lambda: kubectl.established("issuers.cert-manager.io"), "the Issuer CRD", None, ("crd",))
    return crds


@pytest.fixture(scope="module")
def real_node(cluster: ClusterInfo, kubectl: Kubectl) -> dict[str, str]:
    """The node's name, label and address; the test fails (never skips) on kwok when the node is not up."""
    if cluster.runtime != "kwok":
        pytest.skip("REAL NODE: scripts/node.sh runs on the kwok runtime only; on kind every node is real")
    status = node_status()
    if status.get("NODE_STATUS") != "up":
        pytest.fail(f"the real node is not up: {status.get('NODE_REASON') or 'no reason recorded'}")
    node = kubectl.get("node", None, status["NODE_NAME"])
    ready = [c for c in node["status"]["conditions"] if c["type"] == "Ready"]
    assert ready and ready[0]["status"] == "True", f"{status['NODE_NAME']} is not Ready: {ready}"
    return status


@pytest.fixture(scope="module")
def standin_node(real_node, kubectl) -> dict[str, str]:
    """The real node, holding the stand-in image of this checkout (`scripts/cluster.sh up` builds and imports it;
    its tag is the hash of its inputs, so a changed stand-in needs that again)."""

    def held() -> bool:
        node = kubectl.get("node", None, real_node["NODE_NAME"])
        return image("standin") in {name for i in node["status"].get("images", []) for name in i.get("names", [])}

    # The kubelet lists a newly imported image in the Node's status at its next status update.
    try:
        wait_until(held, f"{image('standin')} in the status of {real_node['NODE_NAME']}", timeout=60, interval=2)
    except TimeoutError:
        pytest.fail(f"{image('standin')} is not on {real_node['NODE_NAME']}: run scripts/cluster.sh up to import it")
    return real_node
