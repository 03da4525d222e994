"""Stable network identity through real DNS (CoreDNS with its kubernetes plugin, as in clusters).

The headless Service's SRV records name every pod by its stable FQDN, which is exactly the host
part of that pod's EMQX node name; A records list every pod IP, Ready or not. On kwok, pod IPs come
from kwok's pool and "not Ready" is held by a stage (annotation kwok.emqx-ee.test/not-ready); on kind
a long readiness delay holds the pods unready while EMQX runs.
"""

import pytest

from harness.cluster import wait_until
from harness.statefulset import is_ready, node_host, pods, wait_ready

pytestmark = pytest.mark.smoke

THREE = {"replicaCount": 3, "license": {"key": "evaluation"}}
HEADLESS = "emqx-ee-headless.{ns}.svc.cluster.local"


def test_pods_have_stable_names_hostnames_and_subdomain(release, kubectl, namespace):
    release().install(THREE)
    wait_ready(kubectl, namespace, 3)
    for i, pod in enumerate(pods(kubectl, namespace)):
        assert pod["metadata"]["name"] == f"emqx-ee-{i}"
        assert pod["spec"]["hostname"] == f"emqx-ee-{i}"
        assert pod["spec"]["subdomain"] == "emqx-ee-headless"


def test_dns_names_every_pod_and_srv_targets_are_the_node_hosts(release, kubectl, dns, namespace):
    release().install(THREE)
    wait_ready(kubectl, namespace, 3)
    headless = HEADLESS.format(ns=namespace)
    live = pods(kubectl, namespace)
    ips = {p["status"]["podIP"] for p in live}
    wait_until(lambda: dns.a(headless) == ips, f"A records of {headless} = {ips}", timeout=30)
    fqdns = {f"{p['metadata']['name']}.{headless}" for p in live}
    assert dns.srv_targets(headless) == fqdns
    assert {node_host(p) for p in live} == fqdns, "EMQX_HOST must be the SRV target"
    for pod in live:
        assert dns.a(node_host(pod)) == {pod["status"]["podIP"]}, f"{node_host(pod)} resolves to another pod"


def test_headless_service_publishes_pods_that_are_not_ready(release, kubectl, dns, namespace):
    release().install(
        {
            **THREE,
            "podAnnotations": {"kwok.emqx-ee.test/not-ready": "hold"},
            "readinessProbe": {"initialDelaySeconds": 600},
        }
    )

    def three_pods_with_ips():
        found = pods(kubectl, namespace)
        return found if len(found) == 3 and all(p["status"].get("podIP") for p in found) else None

    live = kubectl.wait_for(three_pods_with_ips, "3 pods with IPs", namespace)
    assert not any(is_ready(p) for p in live), "precondition: the pods are held not Ready"
    headless = HEADLESS.format(ns=namespace)
    ips = {p["status"]["podIP"] for p in live}
    wait_until(lambda: dns.a(headless) == ips, f"A records of not-Ready pods under {headless}", timeout=30)
    assert len(dns.srv_targets(headless)) == 3
    client = f"emqx-ee.{namespace}.svc.cluster.local"
    slices = kubectl.get("endpointslices", namespace, selector="kubernetes.io/service-name=emqx-ee")
    ready = [e for s in slices for e in s.get("endpoints") or [] if e["conditions"].get("ready")]
    assert ready == [], f"the client Service {client} must not route to not-Ready pods"
