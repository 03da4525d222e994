"""Bad input fails `helm template` with a short message that names the value, never a stack trace, under each
Helm major (each words schema errors and wraps `fail` messages itself)."""

import json
from functools import partial

import jsonschema
import pytest

from harness.helm import HelmError, prefetch, render
from harness.scenarios import effective_values
from harness.tools import CHART

pytestmark = pytest.mark.unit

CASES = {
    "replica-count-string": ({"replicaCount": "3"}, "replicaCount"),
    "replica-count-negative": ({"replicaCount": -1}, "replicaCount"),
    "unknown-root-key": ({"replicas": 3}, "replicas"),
    "unknown-nested-key": ({"persistence": {"sise": "1Gi"}}, "sise"),
    "service-type": ({"service": {"type": "Ingress"}}, "service/type"),
    "pull-policy": ({"image": {"pullPolicy": "Sometimes"}}, "pullPolicy"),
    "pod-management-policy": ({"podManagementPolicy": "Serial"}, "podManagementPolicy"),
    "update-strategy": ({"updateStrategy": {"type": "Recreate"}}, "updateStrategy/type"),
    "retention-policy": ({"persistentVolumeClaimRetentionPolicy": {"whenScaled": "Keep"}}, "whenScaled"),
    "size-not-a-quantity": ({"persistence": {"size": "10GB"}}, "persistence/size"),
    "size-with-space": ({"persistence": {"size": "10 Gi"}}, "persistence/size"),
    "access-modes-read-only": ({"persistence": {"accessModes": ["ReadOnlyMany"]}}, "persistence/accessModes"),
    "fullname-too-long": ({"fullnameOverride": "x" * 53}, "fullnameOverride"),
    "fullname-not-dns": ({"fullnameOverride": "EMQX_Brokers"}, "fullnameOverride"),
    "namespace-too-long": ({"namespaceOverride": "n" * 64}, "namespaceOverride"),
    "cluster-domain": ({"clusterDomain": "Cluster Local"}, "clusterDomain"),
    "image-digest": ({"image": {"digest": "latest"}}, "image/digest"),
    "node-port-range": ({"service": {"type": "NodePort", "nodePorts": {"mqtt": 80}}}, "nodePorts/mqtt"),
    "probe-period-zero": ({"readinessProbe": {"periodSeconds": 0}}, "readinessProbe/periodSeconds"),
    "liveness-success-threshold": ({"livenessProbe": {"successThreshold": 2}}, "livenessProbe/successThreshold"),
    "image-tag-integer": ({"image": {"tag": 6}}, "--set-string image.tag"),
    "image-tag-float-loses-digits": ({"image": {"tag": 6.10}}, "read as the number 6.1"),
    "pdb-max-unavailable-zero": ({"podDisruptionBudget": {"maxUnavailable": 0}}, "podDisruptionBudget/maxUnavailable"),
    "pdb-max-unavailable-zero-percent": (
        {"podDisruptionBudget": {"maxUnavailable": "0%"}},
        "podDisruptionBudget/maxUnavailable",
    ),
    "pdb-min-available-all": (
        {"replicaCount": 3, "license": {"key": "e"}, "podDisruptionBudget": {"minAvailable": 3}},
        "podDisruptionBudget.minAvailable=3 with replicaCount=3",
    ),
    "service-port-removed": ({"service": {"ports": {"mqtts": None}}}, "missing property 'mqtts'"),
    "gitops-without-existing-secrets": ({"auth": {"generate": False}}, "/auth/erlangCookie/existingSecret"),
    "unknown-guard": ({"upgradeGuards": {"allowEverything": True}}, "allowEverything"),
    "dashboard-node-port-on-client-service": (
        {"service": {"type": "NodePort", "nodePorts": {"dashboard": 31083}}},
        "dashboard",
    ),
    "listener-port-range": ({"listeners": {"mqtt": {"containerPort": 70000}}}, "listeners/mqtt/containerPort"),
    "unknown-listener": ({"listeners": {"quic": {"enabled": True}}}, "quic"),
    "emqx-config-bad-path": ({"emqxConfig": {"log console": "x"}}, "emqxConfig"),
    "emqx-config-cookie": ({"emqxConfig": {"node": {"cookie": "x"}}}, "emqxConfig.node.cookie"),
    "config-check-with-emqx": ({"emqxConfigCheck": {"withEmqx": "yes"}}, "emqxConfigCheck/withEmqx"),
    "config-check-annotations": ({"emqxConfigCheck": {"annotations": {"a": 1}}}, "emqxConfigCheck/annotations"),
    "anti-affinity-preset": ({"podAntiAffinityPreset": "medium"}, "podAntiAffinityPreset"),
    # The API server refuses duplicate env names, volume names, mount paths and container names only when the
    # StatefulSet is applied, after Helm has applied what comes before it (and Helm 3 drops a duplicate env
    # entry without a word): each is refused at render instead.
    "extra-env-node-host": ({"extraEnv": [{"name": "EMQX_HOST", "value": "x"}]}, "extraEnv[0] EMQX_HOST"),
    "extra-env-cookie": (
        {"extraEnv": [{"name": "EMQX_NODE__COOKIE", "value": "x"}]},
        "extraEnv[0] EMQX_NODE__COOKIE: the chart sets this variable itself, from auth.erlangCookie",
    ),
    "extra-env-pod-name": ({"extraEnv": [{"name": "POD_NAME", "value": "x"}]}, "extraEnv[0] POD_NAME"),
    "extra-env-license": (
        {"license": {"key": "e"}, "extraEnv": [{"name": "EMQX_LICENSE__KEY", "value": "x"}]},
        "from license.key or license.existingSecret",
    ),
    "extra-env-replicant-role": (
        {
            "license": {"key": "e"},
            "replicants": {"enabled": True},
            "extraEnv": [{"name": "EMQX_NODE__ROLE", "value": "x"}],
        },
        "from replicants.enabled",
    ),
    "extra-env-set-by-emqx-config": (
        {
            "emqxConfig": {"log": {"console": {"level": "debug"}}},
            "extraEnv": [{"name": "EMQX_LOG__CONSOLE__LEVEL", "value": "x"}],
        },
        "extraEnv[0] EMQX_LOG__CONSOLE__LEVEL: the chart sets this variable itself, from emqxConfig.log.console.level",
    ),
    "extra-env-derived-from-discovery": (
        {"extraEnv": [{"name": "EMQX_CLUSTER__DNS__RECORD_TYPE", "value": "a"}]},
        "EMQX_CLUSTER__DNS__RECORD_TYPE: the chart sets this variable itself, from discovery",
    ),
    "extra-env-derived-from-tls": (
        {
            "tls": {"enabled": True, "existingSecret": "t"},
            "extraEnv": [{"name": "EMQX_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__KEYFILE", "value": "a"}],
        },
        "from tls.*",
    ),
    "extra-env-twice": (
        {"extraEnv": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}, {"name": "A", "value": "3"}]},
        "extraEnv[2] A: extraEnv[0] sets it already",
    ),
    "extra-env-without-name": ({"extraEnv": [{"value": "1"}]}, "extraEnv/0"),
    "extra-volume-chart-name": ({"extraVolumes": [{"name": "emqx-log", "emptyDir": {}}]}, "extraVolumes[0] emqx-log"),
    "extra-volume-claim-name": ({"extraVolumes": [{"name": "emqx-data", "emptyDir": {}}]}, "extraVolumes[0] emqx-data"),
    "extra-volume-api-key": ({"extraVolumes": [{"name": "api-key", "emptyDir": {}}]}, "from apiKey.enabled"),
    "extra-volume-twice": (
        {"extraVolumes": [{"name": "v", "emptyDir": {}}, {"name": "v", "emptyDir": {}}]},
        "extraVolumes[1] v: extraVolumes[0] has that name already",
    ),
    "extra-mount-unknown-volume": (
        {"extraVolumeMounts": [{"name": "nowhere", "mountPath": "/x"}]},
        "extraVolumeMounts[0] nowhere: the pod has no volume of that name",
    ),
    "extra-mount-on-the-data-path": (
        {
            "extraVolumes": [{"name": "v", "emptyDir": {}}],
            "extraVolumeMounts": [{"name": "v", "mountPath": "/opt/emqx/data/"}],
        },
        "/opt/emqx/data is mounted there already, by the chart (emqx-data)",
    ),
    "extra-mount-path-twice": (
        {
            "extraVolumes": [{"name": "v", "emptyDir": {}}],
            "extraVolumeMounts": [{"name": "v", "mountPath": "/a"}, {"name": "v", "mountPath": "/a"}],
        },
        "extraVolumeMounts[1] v: /a is mounted there already, by extraVolumeMounts[0]",
    ),
    "extra-mount-without-path": ({"extraVolumeMounts": [{"name": "tmp"}]}, "mountPath"),
    "extra-volume-without-name": ({"extraVolumes": [{"emptyDir": {}}]}, "extraVolumes/0"),
    "init-container-without-name": ({"extraInitContainers": [{"image": "x"}]}, "extraInitContainers/0"),
    "sidecar-without-name": ({"extraContainers": [{"image": "x"}]}, "extraContainers/0"),
    "extra-container-emqx": ({"extraContainers": [{"name": "emqx", "image": "x"}]}, "extraContainers[0] emqx"),
    "init-container-named-like-a-sidecar": (
        {"extraInitContainers": [{"name": "s", "image": "x"}], "extraContainers": [{"name": "s", "image": "x"}]},
        "extraContainers[0] s: extraInitContainers[0] has a container of that name",
    ),
    "grace-period-below-the-drain": (
        {"terminationGracePeriodSeconds": 60},
        "gracefulShutdown.timeoutSeconds=90 + 30 s for EMQX's own stop = 120 s",
    ),
    "drain-rate-zero": ({"gracefulShutdown": {"sessEvictRate": 0}}, "gracefulShutdown/sessEvictRate"),
    "batch-above-the-budget": (
        {"replicaCount": 3, "license": {"key": "e"}, "updateStrategy": {"rollingUpdate": {"maxUnavailable": 2}}},
        "updateStrategy.rollingUpdate.maxUnavailable=2 would stop 2 of 3 cores at once",
    ),
}

# The cases that values.schema.json refuses by itself (editors and `helm lint --strict` see them too), with the
# values each of its errors points at; every other case passes the schema and is refused by the chart's own
# validation. A schema change that lets a case through, or refuses one the chart explains better, fails here.
SCHEMA_REFUSES = {
    "replica-count-string": ["/license", "/replicaCount"],  # the license rule reads "3" as no number
    "replica-count-negative": ["/replicaCount"],
    "unknown-root-key": ["/"],
    "unknown-nested-key": ["/persistence"],
    "config-check-with-emqx": ["/emqxConfigCheck/withEmqx"],
    "config-check-annotations": ["/emqxConfigCheck/annotations/a"],
    "service-type": ["/service/type"],
    "pull-policy": ["/image/pullPolicy"],
    "pod-management-policy": ["/podManagementPolicy"],
    "update-strategy": ["/updateStrategy/type"],
    "retention-policy": ["/persistentVolumeClaimRetentionPolicy/whenScaled"],
    "size-not-a-quantity": ["/persistence/size"],
    "size-with-space": ["/persistence/size"],
    "access-modes-read-only": ["/persistence/accessModes"],
    "fullname-too-long": ["/fullnameOverride"],
    "fullname-not-dns": ["/fullnameOverride"],
    "namespace-too-long": ["/namespaceOverride"],
    "cluster-domain": ["/clusterDomain"],
    "image-digest": ["/image/digest"],
    "node-port-range": ["/service/nodePorts/mqtt"],
    "probe-period-zero": ["/readinessProbe/periodSeconds"],
    "liveness-success-threshold": ["/livenessProbe/successThreshold"],
    "pdb-max-unavailable-zero": ["/podDisruptionBudget/maxUnavailable"],
    "pdb-max-unavailable-zero-percent": ["/podDisruptionBudget/maxUnavailable"],
    "service-port-removed": ["/service/ports"],
    "gitops-without-existing-secrets": [
        "/apiKey/existingSecret",
        "/auth/dashboard/existingSecret",
        "/auth/erlangCookie/existingSecret",
    ],
    "unknown-guard": ["/upgradeGuards"],
    "dashboard-node-port-on-client-service": ["/service/nodePorts"],
    "listener-port-range": ["/listeners/mqtt/containerPort"],
    "unknown-listener": ["/listeners"],
    "anti-affinity-preset": ["/podAntiAffinityPreset"],
    "extra-env-without-name": ["/extraEnv/0"],
    "extra-mount-without-path": ["/extraVolumeMounts/0"],
    "extra-volume-without-name": ["/extraVolumes/0"],
    "init-container-without-name": ["/extraInitContainers/0"],
    "sidecar-without-name": ["/extraContainers/0"],
    "drain-rate-zero": ["/gracefulShutdown/sessEvictRate"],
}

ALL_AT_ONCE = {
    "emqxConfig": {"Log.console.level": "debug", "nonsense.key": 1, "node.cookie": "x"},
    "extraEnv": [{"name": "EMQX_HOST", "value": "x"}],
    "extraVolumes": [{"name": "tmp", "emptyDir": {}}],
    "extraContainers": [{"name": "emqx", "image": "x"}],
    "tls": {"verifyClients": True},
}


@pytest.fixture(scope="session")
def rendered(helm):
    """Every case rendered by this major, two at a time; each test reads its own HelmError."""
    prefetch(partial(render, helm, values) for values, _ in CASES.values())


@pytest.mark.parametrize(("values", "names"), list(CASES.values()), ids=list(CASES))
def test_bad_values_are_rejected_with_a_message_naming_them(helm, rendered, values, names):
    with pytest.raises(HelmError) as caught:
        render(helm, values)
    stderr = caught.value.stderr
    assert names in stderr, f"helm's message does not name {names!r}:\n{stderr}"
    assert "goroutine" not in stderr and "panic" not in stderr, stderr
    assert len(stderr.splitlines()) <= 8, f"message too long:\n{stderr}"


@pytest.mark.parametrize(("values", "names"), list(CASES.values()), ids=list(CASES))
def test_the_schema_alone_refuses_exactly_its_cases(request, values, names):
    """values.schema.json is generated (scripts/values_schema.py): this table pins what it refuses."""
    case = request.node.callspec.id
    validator = jsonschema.Draft7Validator(json.loads((CHART / "values.schema.json").read_text()))
    found = sorted({"/" + "/".join(map(str, e.absolute_path)) for e in validator.iter_errors(effective_values(values))})
    assert found == SCHEMA_REFUSES.get(case, []), f"values.schema.json on {values}"


def test_every_schema_refusal_is_a_case():
    assert set(SCHEMA_REFUSES) <= set(CASES)


def test_every_refusal_is_reported_at_once(helm):
    """One render names every problem (bitnami's validateValues pattern), not the first only."""
    with pytest.raises(HelmError) as caught:
        render(helm, ALL_AT_ONCE)
    stderr = caught.value.stderr
    for names in (
        '"Log.console.level" has capital letters',
        'no config root "nonsense"',
        "emqxConfig.node.cookie cannot be set here",
        "extraEnv[0] EMQX_HOST",
        "extraVolumes[0] tmp",
        "extraContainers[0] emqx",
        "tls.verifyClients needs tls.enabled",
    ):
        assert names in stderr, f"{names!r} missing:\n{stderr}"


def test_extension_points_with_their_own_names_are_accepted(template):
    values = {
        "extraEnv": [{"name": "TZ", "value": "UTC"}],
        "extraVolumes": [{"name": "plugins", "emptyDir": {}}],
        "extraVolumeMounts": [
            {"name": "plugins", "mountPath": "/opt/emqx/plugins"},
            {"name": "tmp", "mountPath": "/x"},
        ],
        "extraInitContainers": [{"name": "fetch", "image": "busybox"}],
        "extraContainers": [{"name": "exporter", "image": "busybox"}],
    }
    spec = template(values).statefulset["spec"]["template"]["spec"]
    assert {"name": "TZ", "value": "UTC"} in spec["containers"][0]["env"]
    assert [c["name"] for c in spec["containers"]] == ["emqx", "exporter"]
    assert [c["name"] for c in spec["initContainers"]] == ["fetch"]


def test_one_node_needs_no_license(template):
    assert template({"replicaCount": 1}).statefulset["spec"]["replicas"] == 1


@pytest.mark.parametrize("license", [{"key": "evaluation"}, {"existingSecret": "lic"}])
def test_a_license_allows_more_nodes(template, license):
    assert template({"replicaCount": 3, "license": license}).statefulset["spec"]["replicas"] == 3
