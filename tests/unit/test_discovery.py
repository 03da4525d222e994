"""Cluster discovery strategies: each renders one coherent set of EMQX settings, and k8s discovery gets exactly
the API access EMQX's k8s discovery uses (GET of the headless Service's Endpoints) and nothing more."""

import json

import pytest

from harness.helm import HelmError
from harness.query import jp1

pytestmark = pytest.mark.unit

THREE = {"replicaCount": 3, "license": {"key": "evaluation"}}


def config(m):
    return m.settings()


def cluster_settings(m):
    return {k: v for k, v in config(m).items() if k.startswith("EMQX_CLUSTER__")}


def test_dns_is_the_default_and_needs_no_api_access(template):
    m = template(THREE)
    assert cluster_settings(m) == {
        "EMQX_CLUSTER__DISCOVERY_STRATEGY": "dns",
        "EMQX_CLUSTER__DNS__NAME": "emqx-ee-headless.emqx.svc.cluster.local",
        "EMQX_CLUSTER__DNS__RECORD_TYPE": "srv",
    }
    assert [r["metadata"]["name"] for r in m.of_kind("Role")] == ["emqx-ee-rollback-guard"], "the hook's only"


def test_k8s_discovery_names_nodes_as_their_hosts(template):
    m = template({**THREE, "discovery": "k8s", "clusterDomain": "example.internal"})
    assert cluster_settings(m) == {
        "EMQX_CLUSTER__DISCOVERY_STRATEGY": "k8s",
        "EMQX_CLUSTER__K8S__SERVICE_NAME": "emqx-ee-headless",
        "EMQX_CLUSTER__K8S__NAMESPACE": "emqx",
        "EMQX_CLUSTER__K8S__ADDRESS_TYPE": "hostname",
        "EMQX_CLUSTER__K8S__SUFFIX": "svc.example.internal",
    }, "ekka names a node <name>@<hostname>.<service>.<namespace>.<suffix>, which must equal EMQX_HOST"
    host = jp1(m.statefulset, "$.spec.template.spec.containers[0].env[?name='EMQX_HOST'].value")
    assert host == "$(POD_NAME).emqx-ee-headless.emqx.svc.example.internal"
    assert not any("//" in v for v in config(m).values()), "an unquoted // starts a HOCON comment"


def test_k8s_discovery_role_allows_exactly_one_get(template):
    m = template({**THREE, "discovery": "k8s"})
    assert m.one("Role", "emqx-ee-discovery")["rules"] == [
        {"apiGroups": [""], "resources": ["endpoints"], "resourceNames": ["emqx-ee-headless"], "verbs": ["get"]}
    ]
    binding = m.one("RoleBinding", "emqx-ee-discovery")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "emqx-ee-discovery"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "emqx-ee", "namespace": "emqx"}]
    mount = jp1(m.statefulset, "$.spec.template.spec.containers[?name='emqx'].volumeMounts[?name='kube-api-access']")
    assert mount == {
        "name": "kube-api-access",
        "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
        "readOnly": True,
    }


def test_k8s_discovery_binds_an_existing_service_account_by_name(template):
    m = template({**THREE, "discovery": "k8s", "serviceAccount": {"create": False, "name": "brokers"}})
    assert m.one("RoleBinding", "emqx-ee-discovery")["subjects"][0]["name"] == "brokers"


def test_k8s_discovery_refuses_the_namespace_default_service_account(template):
    with pytest.raises(HelmError) as caught:
        template({**THREE, "discovery": "k8s", "serviceAccount": {"create": False}})
    assert "default ServiceAccount" in caught.value.stderr and "serviceAccount.name" in caught.value.stderr


def test_static_seeds_are_the_core_node_names(template):
    seeds = json.loads(config(template({**THREE, "discovery": "static"}))["EMQX_CLUSTER__STATIC__SEEDS"])
    assert seeds == [f"emqx@emqx-ee-{i}.emqx-ee-headless.emqx.svc.cluster.local" for i in range(3)]


@pytest.mark.parametrize(
    "path", ["cluster.discovery_strategy", "cluster.dns.name", "cluster.k8s.apiserver", "cluster.static.seeds"]
)
def test_discovery_settings_come_from_the_discovery_value_only(template, path):
    with pytest.raises(HelmError) as caught:
        template({"emqxConfig": {path: "x"}})
    assert f"emqxConfig.{path} cannot be set here" in caught.value.stderr and "discovery" in caught.value.stderr
