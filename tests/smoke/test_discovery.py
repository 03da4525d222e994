"""Discovery strategies on a live cluster with RBAC authorization: k8s discovery's ServiceAccount may GET the
headless Service's Endpoints (ekka's exact request) and nothing else, and that object names every core by the
hostname EMQX builds its node names from; switching strategies on a running release is accepted and rolled."""

import pytest

from harness.helm import emqx_settings
from harness.statefulset import node_host, pods, wait_ready, wait_updated

pytestmark = pytest.mark.smoke

K8S = {"replicaCount": 3, "minReadySeconds": 0, "license": {"key": "evaluation"}, "discovery": "k8s"}


def can_i(kubectl, namespace, *args):
    account = f"system:serviceaccount:{namespace}:emqx-ee"
    proc = kubectl.run("auth", "can-i", *args, "-n", namespace, "--as", account, check=False)
    return proc.stdout.strip() == "yes"


def test_k8s_discovery_may_read_exactly_the_headless_endpoints(release, kubectl, namespace):
    release().install(K8S)
    wait_ready(kubectl, namespace, 3)
    assert can_i(kubectl, namespace, "get", "endpoints/emqx-ee-headless")
    for denied in (
        ("list", "endpoints"),
        ("watch", "endpoints"),
        ("get", "endpoints/emqx-ee"),
        ("get", "endpointslices.discovery.k8s.io"),
        ("get", "secrets"),
        ("get", "pods"),
        ("create", "endpoints"),
    ):
        assert not can_i(kubectl, namespace, *denied), f"the discovery account may {' '.join(denied)}"
    account = f"system:serviceaccount:{namespace}:emqx-ee"
    path = f"/api/v1/namespaces/{namespace}/endpoints/emqx-ee-headless"
    assert kubectl.run("get", "--raw", path, "--as", account, check=False).returncode == 0, "ekka's request"
    endpoints = kubectl.get("endpoints", namespace, "emqx-ee-headless")
    suffix = emqx_settings(kubectl.get("statefulset", namespace, "emqx-ee"))["EMQX_CLUSTER__K8S__SUFFIX"]
    named = {
        f"{a['hostname']}.emqx-ee-headless.{namespace}.{suffix}" for s in endpoints["subsets"] for a in s["addresses"]
    }
    assert named == {node_host(p) for p in pods(kubectl, namespace)}, "ekka's node names must be the EMQX_HOSTs"


def test_switching_to_k8s_discovery_and_back_is_rolled_and_cleaned_up(release, kubectl, namespace):
    rel = release()
    dns = {**K8S, "discovery": "dns"}
    rel.install(dns)
    wait_ready(kubectl, namespace, 3)
    assert not can_i(kubectl, namespace, "get", "endpoints/emqx-ee-headless")
    rel.upgrade(K8S)
    wait_updated(kubectl, namespace, 3)
    assert can_i(kubectl, namespace, "get", "endpoints/emqx-ee-headless")
    rel.upgrade(dns)
    wait_updated(kubectl, namespace, 3)
    assert not can_i(kubectl, namespace, "get", "endpoints/emqx-ee-headless"), "the Role goes with the mode"
    assert kubectl.get("role", namespace) == []
