"""Names fit Kubernetes limits, also with the longest release name Helm accepts (53 characters)."""

import re

import pytest

from harness.query import env_value

pytestmark = pytest.mark.unit

LONG_RELEASE = "a-very-long-release-name-for-emqx-enterprise-brokers1"  # 53 characters
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def test_long_release_names_fit(template):
    m = template({"replicaCount": 3, "license": {"key": "evaluation"}}, release=LONG_RELEASE)
    sts = m.statefulset
    name = sts["metadata"]["name"]
    assert len(name) <= 52, f"StatefulSet name {name} leaves no room for the revision hash"
    assert DNS_LABEL.match(name)
    for i in range(3):
        assert len(f"{name}-{i}") <= 63, "pod name must be a DNS label (it is the pod's hostname)"
    assert len(sts["spec"]["serviceName"]) <= 63
    for doc in m:
        assert len(doc["metadata"]["name"]) <= 63 and DNS_LABEL.match(doc["metadata"]["name"]), doc["metadata"]["name"]
        for value in doc["metadata"].get("labels", {}).values():
            assert len(value) <= 63, value
    host = env_value(sts, "EMQX_HOST")["value"].replace("$(POD_NAME)", f"{name}-2")
    assert len(host) <= 253 and all(len(label) <= 63 for label in host.split("."))


def test_release_containing_the_chart_name_is_not_repeated(template):
    assert template(release="emqx-ee").statefulset["metadata"]["name"] == "emqx-ee"
    assert template(release="prod").statefulset["metadata"]["name"] == "prod-emqx-ee"


def test_overrides(template):
    assert template({"fullnameOverride": "mqtt"}).statefulset["metadata"]["name"] == "mqtt"
    m = template({"nameOverride": "broker"}, release="prod")
    assert m.statefulset["metadata"]["name"] == "prod-broker"
    assert m.statefulset["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] == "broker"
