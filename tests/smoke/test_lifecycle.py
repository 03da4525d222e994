"""Storage outlives pods: scaling, pod deletion, upgrades and uninstall keep each ordinal's claim.

Claims are compared by UID, so a claim deleted and re-created under the same name would fail.
"""

import base64

import pytest

from harness.statefulset import claim_of, claims, pods, scale, wait_ready, wait_updated

pytestmark = pytest.mark.smoke

BASE = {"license": {"key": "evaluation"}, "minReadySeconds": 0}


def uids(found):
    return {name: c["metadata"]["uid"] for name, c in found.items()}


def test_scaling_keeps_and_reattaches_claims(release, kubectl, namespace):
    release().install({**BASE, "replicaCount": 3})
    wait_ready(kubectl, namespace, 3)
    scale(kubectl, namespace, 5)
    wait_ready(kubectl, namespace, 5)
    at_five = uids(claims(kubectl, namespace))
    assert sorted(at_five) == [f"emqx-data-emqx-ee-{i}" for i in range(5)], "new ordinals get new claims"

    scale(kubectl, namespace, 2)
    wait_ready(kubectl, namespace, 2)
    assert uids(claims(kubectl, namespace)) == at_five, "whenScaled=Retain keeps the claims of removed pods"

    scale(kubectl, namespace, 3)
    wait_ready(kubectl, namespace, 3)
    pod2 = pods(kubectl, namespace)[2]
    assert claim_of(pod2) == "emqx-data-emqx-ee-2"
    assert uids(claims(kubectl, namespace))["emqx-data-emqx-ee-2"] == at_five["emqx-data-emqx-ee-2"], (
        "ordinal 2 must get its old claim back"
    )
    assert claims(kubectl, namespace)["emqx-data-emqx-ee-2"]["status"]["phase"] == "Bound"


def test_deleted_pod_returns_with_its_name_and_claim(release, kubectl, namespace):
    release().install({**BASE, "replicaCount": 3})
    wait_ready(kubectl, namespace, 3)
    before = pods(kubectl, namespace)[1]
    claim_uid = claims(kubectl, namespace)["emqx-data-emqx-ee-1"]["metadata"]["uid"]
    kubectl.run("delete", "pod", "emqx-ee-1", "-n", namespace, "--wait=true")

    def replaced():
        now = pods(kubectl, namespace)
        return len(now) == 3 and now[1]["metadata"]["uid"] != before["metadata"]["uid"] and now[1]

    after = kubectl.wait_for(replaced, "emqx-ee-1 to come back", namespace)
    wait_ready(kubectl, namespace, 3)
    assert after["metadata"]["name"] == "emqx-ee-1"
    assert claim_of(after) == "emqx-data-emqx-ee-1"
    assert claims(kubectl, namespace)["emqx-data-emqx-ee-1"]["metadata"]["uid"] == claim_uid


def secret_data(kubectl, namespace):
    data = kubectl.get("secret", namespace, "emqx-ee")["data"]
    return {k: base64.b64decode(v).decode() for k, v in data.items()}


def test_config_upgrade_rolls_in_reverse_order_and_keeps_claims_and_secrets(release, kubectl, namespace):
    values = {**BASE, "replicaCount": 3, "minReadySeconds": 2}
    rel = release()
    rel.install(values)
    wait_ready(kubectl, namespace, 3)
    before_pods = {p["metadata"]["name"]: p["metadata"]["uid"] for p in pods(kubectl, namespace)}
    before_claims = uids(claims(kubectl, namespace))
    before_secret = secret_data(kubectl, namespace)

    rel.upgrade({**values, "emqxConfig": {"log.console.level": "debug"}})
    wait_updated(kubectl, namespace, 3)
    after = pods(kubectl, namespace)
    assert all(p["metadata"]["uid"] != before_pods[p["metadata"]["name"]] for p in after), "every pod is replaced"
    created = [p["metadata"]["creationTimestamp"] for p in after]
    assert created[2] < created[1] < created[0], f"rollout must go 2, 1, 0: {created}"
    assert uids(claims(kubectl, namespace)) == before_claims
    assert secret_data(kubectl, namespace) == before_secret, "cookie and dashboard password must survive upgrades"


def test_partition_leaves_lower_ordinals_untouched(release, kubectl, namespace):
    values = {**BASE, "replicaCount": 3, "updateStrategy": {"rollingUpdate": {"partition": 2}}}
    rel = release()
    rel.install(values)
    wait_ready(kubectl, namespace, 3)
    before = {p["metadata"]["name"]: p["metadata"]["uid"] for p in pods(kubectl, namespace)}
    rel.upgrade({**values, "emqxConfig": {"log.console.level": "debug"}})
    wait_updated(kubectl, namespace, 1)
    after = {p["metadata"]["name"]: p["metadata"]["uid"] for p in pods(kubectl, namespace)}
    assert after["emqx-ee-0"] == before["emqx-ee-0"] and after["emqx-ee-1"] == before["emqx-ee-1"]
    assert after["emqx-ee-2"] != before["emqx-ee-2"], "the canary ordinal is updated"


def test_uninstall_keeps_claims_and_reinstall_binds_them_again(release, kubectl, namespace):
    rel = release()
    rel.install({**BASE, "replicaCount": 2})
    wait_ready(kubectl, namespace, 2)
    before = claims(kubectl, namespace)
    secret = secret_data(kubectl, namespace)
    rel.uninstall()
    kubectl.wait_for(lambda: pods(kubectl, namespace) == [], "pods gone after uninstall", namespace)
    assert uids(claims(kubectl, namespace)) == uids(before), "whenDeleted=Retain keeps the data"
    assert secret_data(kubectl, namespace) == secret, "the generated Secret is kept (helm.sh/resource-policy)"

    rel.install({**BASE, "replicaCount": 2})
    wait_ready(kubectl, namespace, 2)
    again = claims(kubectl, namespace)
    assert uids(again) == uids(before)
    assert {n: c["spec"]["volumeName"] for n, c in again.items()} == {
        n: c["spec"]["volumeName"] for n, c in before.items()
    }
    assert secret_data(kubectl, namespace) == secret, "a reinstall keeps the cookie of the retained data"
