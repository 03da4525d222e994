"""Per-pod storage through the real scheduler and PV controller: one claim per pod, bound, mounted.

On kwok, volumes come from a pool of pre-created PVs in the `standard` StorageClass
(WaitForFirstConsumer); binding is done by kube-scheduler and the PV controller, never patched.
"""

import pytest

from harness.statefulset import claim_of, claims, data_volume, pods, wait_ready

pytestmark = pytest.mark.smoke


def test_each_pod_gets_its_own_bound_claim(release, kubectl, namespace):
    release().install({"replicaCount": 3, "license": {"key": "evaluation"}})
    wait_ready(kubectl, namespace, 3)
    found = claims(kubectl, namespace)
    assert sorted(found) == [f"emqx-data-emqx-ee-{i}" for i in range(3)]
    volumes = set()
    for pod in pods(kubectl, namespace):
        claim = found[f"emqx-data-{pod['metadata']['name']}"]
        assert claim["status"]["phase"] == "Bound", claim["status"]
        volumes.add(claim["spec"]["volumeName"])
        assert claim_of(pod) == claim["metadata"]["name"]
        mount = next(m for m in pod["spec"]["containers"][0]["volumeMounts"] if m["name"] == "emqx-data")
        assert mount["mountPath"] == "/opt/emqx/data"
    assert len(volumes) == 3, "every pod must have a volume of its own"


def test_no_persistence_creates_no_claims(release, kubectl, namespace):
    release().install({"persistence": {"enabled": False}})
    wait_ready(kubectl, namespace, 1)
    assert claims(kubectl, namespace) == {}
    assert "emptyDir" in data_volume(pods(kubectl, namespace)[0])
