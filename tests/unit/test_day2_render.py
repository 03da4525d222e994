"""What the day-2 guards rely on, as rendered: the identity record, the checksums that decide and explain a
rollout, and credentials that do not change between renders in GitOps mode. The guards themselves need a
live cluster (`lookup`): tests/smoke/test_upgrade_guards.py replays each one."""

import base64
import json

import pytest

from harness.helm import NAMESPACE, RELEASE, documents, run
from harness.query import jp1
from harness.tools import CHART

pytestmark = pytest.mark.unit

LICENSE = "$.spec.template.metadata.annotations['checksum/license']"
POD_TEMPLATE = "$.metadata.annotations['checksum/pod-template']"
GITOPS = {
    "auth": {
        "generate": False,
        "erlangCookie": {"existingSecret": "vault-cookie"},
        "dashboard": {"existingSecret": "vault-dashboard"},
    },
    "apiKey": {"existingSecret": "vault-api-key"},
    "mqttAuth": {"enabled": True, "existingSecret": "vault-mqtt-users"},
    "license": {"key": "evaluation"},
    "replicaCount": 3,
}


def test_identity_record_holds_every_node_name_input_and_outlives_uninstall(template):
    record = template().one("ConfigMap", "emqx-ee-identity")
    assert record["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert record["data"] == {
        "statefulSet": "emqx-ee",
        "namespace": "emqx",
        "serviceName": "emqx-ee-headless",
        "selector": '{"app.kubernetes.io/instance":"emqx-ee","app.kubernetes.io/name":"emqx-ee"}',
        "emqxName": "emqx",
        "clusterDomain": "cluster.local",
    }


def test_identity_record_name_depends_on_the_release_name_only(template):
    m = template({"fullnameOverride": "brokers", "nameOverride": "mq", "namespaceOverride": "elsewhere"})
    record = m.one("ConfigMap", "emqx-ee-identity")
    assert record["metadata"]["namespace"] == NAMESPACE
    assert record["data"]["statefulSet"] == "brokers" and record["data"]["namespace"] == "elsewhere"
    assert template(release="mqtt").one("ConfigMap", "mqtt-emqx-ee-identity")


def test_a_new_license_key_rolls_the_nodes(template):
    before = jp1(template({"license": {"key": "evaluation"}}).statefulset, LICENSE)
    after = jp1(template({"license": {"key": "customer-key"}}).statefulset, LICENSE)
    assert before != after and len(before) == 64


@pytest.mark.parametrize("license", [{}, {"existingSecret": "lic", "key": "ignored"}])
def test_no_license_checksum_without_a_chart_managed_key(template, license):
    annotations = template({"license": license}).statefulset["spec"]["template"]["metadata"]["annotations"]
    assert "checksum/license" not in annotations


def test_pod_template_checksum_follows_the_pod_template_only(template):
    base = template().statefulset
    assert jp1(template({"replicaCount": 0}).statefulset, POD_TEMPLATE) == jp1(base, POD_TEMPLATE), (
        "scaling does not change the pod template"
    )
    assert jp1(template({"emqxConfig": {"log.console.level": "debug"}}).statefulset, POD_TEMPLATE) != jp1(
        base, POD_TEMPLATE
    )
    assert jp1(template({"image": {"tag": "6.2.1"}}).statefulset, POD_TEMPLATE) != jp1(base, POD_TEMPLATE)


def test_generated_credentials_change_on_every_render_without_a_cluster(helm4, template):
    """The hazard GitOps mode exists for: `helm template` cannot see the live Secret. The session's render of
    the defaults against a fresh one (run() does not cache)."""
    fresh = run([helm4.path, "template", RELEASE, str(CHART), "-n", NAMESPACE])
    cookie = next(d for d in documents(fresh) if d["kind"] == "Secret")["data"]["erlang-cookie"]
    assert cookie != template().one("Secret", "emqx-ee")["data"]["erlang-cookie"]


def test_gitops_mode_renders_the_same_objects_every_time(helm4):
    cmd = [helm4.path, "template", RELEASE, str(CHART), "-n", NAMESPACE, "-f", "-"]
    first, second = (run(cmd, json.dumps(GITOPS)) for _ in range(2))
    assert first == second, "two renders differ: a GitOps tool would apply a change on every sync"
    secret = next(d for d in documents(first) if d["kind"] == "Secret")
    assert set(secret["data"]) == {"license-key"}, "nothing generated, only the license from values"
    assert base64.b64decode(secret["data"]["license-key"]) == b"evaluation"
