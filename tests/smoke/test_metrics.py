"""Metrics on a live cluster: with prometheus-operator's real CRDs installed (from its Go module at
PROMETHEUS_OPERATOR_VERSION), the cluster serves monitoring.coreos.com/v1, so a plain `helm install` renders
the ServiceMonitor (capability detection, no `force`) and the API server validates it. Its selectors are
then resolved the way Prometheus's service discovery does, through the real EndpointSlices: they must
name exactly the EMQX nodes of the release, cores and replicants, on the metrics port. No Prometheus runs
here, so no scrape is made."""

import pytest

from harness.statefulset import wait_ready
from harness.tools import go_module_dir, versions

pytestmark = pytest.mark.smoke

CRD = "example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml"


@pytest.fixture(scope="module")
def service_monitor_crd(cluster, kubectl):
    path = go_module_dir(
        "github.com/prometheus-operator/prometheus-operator", versions()["PROMETHEUS_OPERATOR_VERSION"]
    )
    kubectl.run("apply", "--server-side", "-f", str(path / CRD))
    try:
        kubectl.wait_for(
            lambda: kubectl.established("servicemonitors.monitoring.coreos.com"),
            "the ServiceMonitor API",
            None,
            ("crd",),
        )
        yield
    finally:
        # Later tests must see the cluster as it was: without this API, helm renders no ServiceMonitor.
        kubectl.run("delete", "-f", str(path / CRD), "--wait=true")
        kubectl.wait_for(
            lambda: "monitoring.coreos.com/v1" not in kubectl.api.group_versions(),
            "discovery to drop the ServiceMonitor API",
            None,
            ("crd",),
        )


def selected_endpoints(kubectl, namespace, monitor):
    """(pod name, port) pairs the monitor's selectors reach through the EndpointSlices."""
    selector = ",".join(f"{k}={v}" for k, v in monitor["spec"]["selector"]["matchLabels"].items())
    found = set()
    for ns in monitor["spec"]["namespaceSelector"]["matchNames"]:
        for service in kubectl.get("services", ns, selector=selector):
            name = service["metadata"]["name"]
            for eps in kubectl.get("endpointslices", ns, selector=f"kubernetes.io/service-name={name}"):
                ports = {p["name"]: p["port"] for p in eps.get("ports") or []}
                for endpoint in eps.get("endpoints") or []:
                    found.add((endpoint["targetRef"]["name"], ports.get(monitor["spec"]["endpoints"][0]["port"])))
    return found


def test_service_monitor_selects_exactly_the_emqx_nodes(release, kubectl, namespace, service_monitor_crd):
    rel = release(detect_service_monitor=True)
    rel.install(
        {"replicaCount": 2, "license": {"key": "evaluation"}, "replicants": {"enabled": True, "replicaCount": 2}}
    )
    wait_ready(kubectl, namespace, 2)
    kubectl.wait_for(
        lambda: kubectl.get("deployment", namespace, "emqx-ee-replicant")["status"].get("readyReplicas") == 2,
        "2 replicants",
        namespace,
        ("deployments",),
    )
    monitor = kubectl.get("servicemonitor", namespace, "emqx-ee")
    assert monitor["spec"]["endpoints"][0]["path"] == "/api/v5/prometheus/stats"
    nodes = {p["metadata"]["name"] for p in kubectl.get("pods", namespace, selector="emqx-ee/cluster=emqx-ee")}
    assert len(nodes) == 4 and {"emqx-ee-0", "emqx-ee-1"} <= nodes
    kubectl.wait_for(
        lambda: {pod for pod, _ in selected_endpoints(kubectl, namespace, monitor)} == nodes,
        "the metrics EndpointSlices to list every node",
        namespace,
        ("endpointslices",),
    )
    assert {port for _, port in selected_endpoints(kubectl, namespace, monitor)} == {18083}
    password = monitor["spec"]["endpoints"][0]["basicAuth"]["password"]
    assert password["key"] in kubectl.get("secret", namespace, password["name"])["data"], "Prometheus finds the key"


def test_service_monitor_changes_on_a_running_release(release, kubectl, namespace, service_monitor_crd):
    """Day 2: the scrape interval and turning the ServiceMonitor off land with `helm upgrade`, and restart
    no node (the ServiceMonitor is not in the pod template)."""
    values = {"replicaCount": 2, "minReadySeconds": 0, "license": {"key": "evaluation"}}
    rel = release(detect_service_monitor=True)
    rel.install(values)
    wait_ready(kubectl, namespace, 2)
    uids = {p["metadata"]["uid"] for p in kubectl.get("pods", namespace, selector="emqx-ee/cluster=emqx-ee")}
    assert kubectl.get("servicemonitor", namespace, "emqx-ee")["spec"]["endpoints"][0]["interval"] == "30s"
    rel.upgrade({**values, "metrics": {"serviceMonitor": {"interval": "60s"}}})
    assert kubectl.get("servicemonitor", namespace, "emqx-ee")["spec"]["endpoints"][0]["interval"] == "60s"
    rel.upgrade({**values, "metrics": {"serviceMonitor": {"enabled": False}}})
    assert not kubectl.exists("servicemonitor", namespace, "emqx-ee"), "turned off, it is removed"
    now = {p["metadata"]["uid"] for p in kubectl.get("pods", namespace, selector="emqx-ee/cluster=emqx-ee")}
    assert now == uids, "no node restarted"


def test_api_server_refuses_a_broken_service_monitor(kubectl, namespace, service_monitor_crd):
    """The CRD's schema bites on the live API server too (what the unit sweep validates offline)."""
    bad = (
        '{"apiVersion":"monitoring.coreos.com/v1","kind":"ServiceMonitor","metadata":{"name":"bad"},'
        '"spec":{"endpoints":[{"port":"metrics","scheme":"gopher"}]}}'
    )
    result = kubectl.run("apply", "-n", namespace, "-f", "-", stdin=bad, check=False)
    assert result.returncode != 0 and "scheme" in result.stderr, result.stderr
