"""The rollback guard's hooks: a pre-rollback Job (with its ServiceAccount, Role, RoleBinding and ConfigMap,
hooks created in that order) that embeds what its revision gives the nodes, and the fingerprints on the
StatefulSet it compares them with. The script itself: test_rollback_guard_script.py; on a live cluster:
tests/smoke/test_rollback.py."""

import base64
import hashlib
import json

import pytest

from harness.query import jp1
from harness.tools import CHART

pytestmark = pytest.mark.unit

LICENSED = {"replicaCount": 3, "license": {"key": "evaluation"}}
GUARD = "emqx-ee-rollback-guard"
HOOK_KINDS = ["ServiceAccount", "Role", "RoleBinding", "ConfigMap", "Job"]
FROM_SECRETS = {
    "auth": {"erlangCookie": {"existingSecret": "vault-cookie", "existingSecretKey": "cookie"}},
    "apiKey": {"existingSecret": "ops-keys", "existingSecretKey": "keys"},
}


def fingerprint(value: str, namespace: str = "emqx", release: str = "emqx-ee") -> str:
    """The documented fingerprint: SHA-256 of "emqx-ee:<release namespace>/<release>:<credential>"."""
    return hashlib.sha256(f"emqx-ee:{namespace}/{release}:{value}".encode()).hexdigest()


def guard_objects(m):
    return [d for d in m if d["metadata"]["name"] == GUARD and d["kind"] in HOOK_KINDS]


def expected(m, name=GUARD):
    return json.loads(m.one("ConfigMap", name)["data"]["expected.json"])


def secret_text(m, key, name="emqx-ee"):
    return base64.b64decode(m.one("Secret", name)["data"][key]).decode()


def test_hooks_are_pre_rollback_and_created_in_dependency_order(template):
    objects = guard_objects(template(LICENSED))
    assert sorted(d["kind"] for d in objects) == sorted(HOOK_KINDS)
    for d in objects:
        a = d["metadata"]["annotations"]
        assert a["helm.sh/hook"] == "pre-rollback", d["kind"]
        assert a["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded", d["kind"]
    weight = {d["kind"]: int(d["metadata"]["annotations"]["helm.sh/hook-weight"]) for d in objects}
    assert sorted(HOOK_KINDS, key=weight.get) == HOOK_KINDS, weight


def test_config_map_holds_the_script_and_the_job_runs_it(template):
    m = template(LICENSED)
    assert m.one("ConfigMap", GUARD)["data"]["rollback-guard.py"] == (CHART / "files" / "rollback-guard.py").read_text()
    job = m.one("Job", GUARD)
    pod = job["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["command"] == ["python3", "-B", "/opt/rollback-guard/rollback-guard.py"]
    assert {e["name"]: e["value"] for e in container["env"]} == {"EXPECTED_FILE": "/opt/rollback-guard/expected.json"}
    assert jp1(pod, "$.volumes[?name='rollback-guard'].configMap.name") == GUARD
    assert pod["serviceAccountName"] == GUARD and pod["restartPolicy"] == "Never"
    assert job["spec"]["backoffLimit"] == 0, "a refusal is final: no retry"
    assert container["terminationMessagePolicy"] == "FallbackToLogsOnError", "the refusal shows in the Pod status"
    mounts = {v["name"]: v["mountPath"] for v in container["volumeMounts"]}
    assert mounts["kube-api-access"] == "/var/run/secrets/kubernetes.io/serviceaccount"


def test_job_is_restricted_like_the_test_pod(template):
    m = template(LICENSED)
    job = m.one("Job", GUARD)["spec"]["template"]["spec"]
    test = m.one("Pod")["spec"]
    assert job["securityContext"] == test["securityContext"]
    assert job["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True
    assert job["containers"][0]["securityContext"]["capabilities"] == {"drop": ["ALL"]}


def test_job_runs_where_the_cores_may_run(template):
    placement = {
        "nodeSelector": {"pool": "mqtt"},
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "mqtt", "effect": "NoSchedule"}],
    }
    job = template(LICENSED | placement).one("Job", GUARD)["spec"]["template"]["spec"]
    assert (job["nodeSelector"], job["tolerations"]) == (placement["nodeSelector"], placement["tolerations"])
    default = template(LICENSED).one("Job", GUARD)["spec"]["template"]["spec"]
    assert "nodeSelector" not in default and "tolerations" not in default


def test_role_reads_only_the_statefulset_and_identity_record_by_name(template):
    m = template({**LICENSED, "fullnameOverride": "brokers"})
    role = m.one("Role", "brokers-rollback-guard")
    assert sorted(role["rules"], key=lambda r: r["resources"]) == [
        {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["emqx-ee-identity"], "verbs": ["get"]},
        {"apiGroups": ["apps"], "resources": ["statefulsets"], "resourceNames": ["brokers"], "verbs": ["get"]},
    ]
    binding = m.one("RoleBinding", "brokers-rollback-guard")
    assert binding["roleRef"]["name"] == "brokers-rollback-guard"
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "brokers-rollback-guard", "namespace": "emqx"}]


def test_namespace_override_reads_the_record_in_the_release_namespace(template):
    m = template({**LICENSED, "namespaceOverride": "brokers"})
    roles = {r["metadata"]["namespace"]: r["rules"] for r in m.of_kind("Role")}
    assert [r["resources"] for r in roles["emqx"]] == [["configmaps"]]
    assert [r["resources"] for r in roles["brokers"]] == [["statefulsets"]]
    for binding in m.of_kind("RoleBinding"):
        assert binding["subjects"][0]["namespace"] == "brokers", "the Job and its ServiceAccount move with the nodes"


def test_expectation_embeds_the_identity_of_the_values(template):
    values = {**LICENSED, "emqxName": "broker", "clusterDomain": "example.internal", "fullnameOverride": "mq"}
    e = expected(template(values, release="prod", namespace="iot"), "mq-rollback-guard")
    assert e["identity"] == {
        "statefulSet": "mq",
        "namespace": "iot",
        "serviceName": "mq-headless",
        "selector": {"app.kubernetes.io/name": "emqx-ee", "app.kubernetes.io/instance": "prod"},
        "emqxName": "broker",
        "clusterDomain": "example.internal",
    }
    assert (e["release"], e["releaseNamespace"], e["identityRecord"], e["replicaCount"]) == (
        "prod",
        "iot",
        "prod-emqx-ee-identity",
        3,
    )
    assert e["revision"] == 1, "helm template renders revision 1"
    assert e["chartSecret"] == "mq", "the Secret a rollback rewrites"


def test_expectation_embeds_the_immutable_fields(template):
    persistence = {
        "size": "16Gi",
        "storageClass": "fast",
        "labels": {"tier": "gold"},
        "accessModes": ["ReadWriteOncePod"],
    }
    e = expected(template({**LICENSED, "podManagementPolicy": "OrderedReady", "persistence": persistence}))
    assert e["immutable"]["podManagementPolicy"] == "OrderedReady"
    assert e["immutable"]["claimTemplate"] == {
        "size": "16Gi",
        "storageClassName": "fast",
        "accessModes": ["ReadWriteOncePod"],
        "labels": {"app.kubernetes.io/name": "emqx-ee", "app.kubernetes.io/instance": "emqx-ee", "tier": "gold"},
        "annotations": {},
        "selector": {},
    }
    assert (
        expected(template({**LICENSED, "persistence": {"storageClass": "-"}}))["immutable"]["claimTemplate"][
            "storageClassName"
        ]
        == ""
    )
    assert "storageClassName" not in expected(template(LICENSED))["immutable"]["claimTemplate"], "cluster default"
    assert expected(template({**LICENSED, "persistence": {"enabled": False}}))["immutable"]["claimTemplate"] is None


def test_generated_credentials_are_fingerprinted_as_the_secret_holds_them(template):
    """Within one render the Secret's new random cookie and key are the ones fingerprinted (the chart makes a
    generated credential once per render), on the StatefulSet and in the hook alike."""
    m = template(LICENSED, release="prod", namespace="iot")
    cookie = fingerprint(secret_text(m, "erlang-cookie", "prod-emqx-ee"), "iot", "prod")
    api_key = fingerprint(secret_text(m, "api-key-bootstrap", "prod-emqx-ee"), "iot", "prod")
    annotations = m.statefulset["metadata"]["annotations"]
    assert (annotations["checksum/erlang-cookie"], annotations["checksum/api-key-bootstrap"]) == (cookie, api_key)
    e = expected(m, "prod-emqx-ee-rollback-guard")
    assert e["cookie"] == {"secret": "prod-emqx-ee", "key": "erlang-cookie", "fingerprint": cookie}
    assert e["apiKey"] == {
        "enabled": True,
        "secret": "prod-emqx-ee",
        "key": "api-key-bootstrap",
        "fingerprint": api_key,
    }


def test_fingerprints_never_roll_the_nodes(template):
    """On the StatefulSet's metadata, outside the pod template: two renders with different random cookies have
    the same pod template."""
    first, second = template(LICENSED), template(LICENSED, release="emqx-ee", namespace="emqx", kube_version="1.33.0")
    assert secret_text(first, "erlang-cookie") != secret_text(second, "erlang-cookie")
    for m in (first, second):
        assert not {"checksum/erlang-cookie", "checksum/api-key-bootstrap"} & set(
            m.statefulset["spec"]["template"]["metadata"]["annotations"]
        )
    pod_template = [m.statefulset["metadata"]["annotations"]["checksum/pod-template"] for m in (first, second)]
    assert pod_template[0] == pod_template[1]


def test_credentials_lookup_cannot_see_have_no_fingerprint(template):
    """Secrets the user gives are read with lookup, which sees nothing under helm template (GitOps tools): no
    fingerprint, and the guard compares the Secrets named instead."""
    m = template({**LICENSED, **FROM_SECRETS})
    assert not {"checksum/erlang-cookie", "checksum/api-key-bootstrap"} & set(m.statefulset["metadata"]["annotations"])
    e = expected(m)
    assert e["cookie"] == {"secret": "vault-cookie", "key": "cookie", "fingerprint": ""}
    assert e["apiKey"] == {"enabled": True, "secret": "ops-keys", "key": "keys", "fingerprint": ""}


def test_guard_can_be_disabled_and_the_fingerprints_stay(template):
    m = template({**LICENSED, "rollbackGuard": {"enabled": False}})
    assert guard_objects(m) == []
    assert "checksum/erlang-cookie" in m.statefulset["metadata"]["annotations"], "later revisions compare with it"


def test_guard_image_resources_and_annotations_come_from_values(template):
    values = {
        "rollbackGuard": {
            "image": {"repository": "mirror.example/python", "tag": "3.12-alpine", "pullPolicy": "Always"},
            "resources": {"limits": {"memory": "48Mi"}},
            "annotations": {"sidecar.istio.io/inject": "false"},
        }
    }
    job = template({**LICENSED, **values}).one("Job", GUARD)
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert (container["image"], container["imagePullPolicy"]) == ("mirror.example/python:3.12-alpine", "Always")
    assert container["resources"]["limits"]["memory"] == "48Mi"
    assert job["spec"]["template"]["metadata"]["annotations"] == {"sidecar.istio.io/inject": "false"}


def test_guard_pod_is_not_selected_by_the_services_or_the_pdb(every_scenario):
    for scenario, m in every_scenario:
        labels = m.one("Job", GUARD.replace("emqx-ee", m.statefulset["metadata"]["name"]))["spec"]["template"]
        labels = labels["metadata"]["labels"]
        for obj in m.of_kind("Service") + m.of_kind("PodDisruptionBudget"):
            selector = obj["spec"].get("selector") or {}
            selector = selector.get("matchLabels", selector)
            assert selector and not all(labels.get(k) == v for k, v in selector.items()), (
                f"{scenario.name}: {obj['kind']}/{obj['metadata']['name']} selects the rollback guard's Pod"
            )


def test_long_names_fit(template):
    m = template({**LICENSED, "fullnameOverride": "x" * 52})
    names = {d["metadata"]["name"] for d in m if d["kind"] in HOOK_KINDS and "rollback-guard" in d["metadata"]["name"]}
    assert len(names) == 1 and len(names.pop()) <= 63, "the Job's pods carry its name in a 63-character label"
