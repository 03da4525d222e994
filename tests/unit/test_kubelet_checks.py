"""The harness's stand-in for the kubelet's pre-start checks (harness.kubelet) catches what kwok lets through:
each broken reference below is one a real node would refuse with CreateContainerConfigError or similar."""

import copy

import pytest

from harness.kubelet import Namespace, service_violations, violations

pytestmark = pytest.mark.unit


def namespace():
    return Namespace(
        secrets=[{"metadata": {"name": "emqx-ee"}, "data": {"erlang-cookie": "eA==", "dashboard-password": "eA=="}}],
        configmaps=[{"metadata": {"name": "emqx-ee-config"}, "data": {"EMQX_A": "b"}}],
        serviceaccounts=[{"metadata": {"name": "emqx-ee"}}, {"metadata": {"name": "default"}}],
        claims=[{"metadata": {"name": "emqx-data-emqx-ee-0"}}],
    )


GOOD = {
    "metadata": {"name": "emqx-ee-0", "labels": {"app": "emqx"}},
    "spec": {
        "serviceAccountName": "emqx-ee",
        "containers": [
            {
                "name": "emqx",
                "ports": [{"name": "dashboard", "containerPort": 18083}],
                "env": [
                    {"name": "C", "valueFrom": {"secretKeyRef": {"name": "emqx-ee", "key": "erlang-cookie"}}},
                    {"name": "O", "valueFrom": {"secretKeyRef": {"name": "nope", "key": "x", "optional": True}}},
                ],
                "envFrom": [{"configMapRef": {"name": "emqx-ee-config"}}],
                "readinessProbe": {"httpGet": {"path": "/status", "port": "dashboard"}},
                "volumeMounts": [{"name": "emqx-data", "mountPath": "/opt/emqx/data"}],
            }
        ],
        "volumes": [{"name": "emqx-data", "persistentVolumeClaim": {"claimName": "emqx-data-emqx-ee-0"}}],
    },
}


def broken(change):
    pod = copy.deepcopy(GOOD)
    change(pod["spec"])
    return pod


BREAKS = {
    "cookie-key": (
        lambda s: s["containers"][0]["env"][0]["valueFrom"]["secretKeyRef"].update(key="cookie"),
        "no key cookie",
    ),
    "secret-missing": (
        lambda s: s["containers"][0]["env"][0]["valueFrom"]["secretKeyRef"].update(name="gone"),
        "Secret gone",
    ),
    "configmap-missing": (lambda s: s["containers"][0]["envFrom"][0]["configMapRef"].update(name="x"), "ConfigMap x"),
    "mount-without-volume": (lambda s: s["containers"][0]["volumeMounts"][0].update(name="logs"), "volumeMount logs"),
    "probe-port": (lambda s: s["containers"][0]["readinessProbe"]["httpGet"].update(port="admin"), "port admin"),
    "claim-missing": (lambda s: s["volumes"][0]["persistentVolumeClaim"].update(claimName="c"), "claim c"),
    "pull-secret": (lambda s: s.update(imagePullSecrets=[{"name": "registry"}]), "Secret registry"),
    "service-account": (lambda s: s.update(serviceAccountName="robot"), "service account robot"),
    "projected-key": (
        lambda s: s["volumes"].append(
            {
                "name": "p",
                "projected": {"sources": [{"secret": {"name": "emqx-ee", "items": [{"key": "tls.crt", "path": "c"}]}}]},
            }
        ),
        "no key tls.crt",
    ),
}


def test_a_sound_pod_passes():
    assert violations(GOOD, namespace()) == []


@pytest.mark.parametrize(("change", "message"), list(BREAKS.values()), ids=list(BREAKS))
def test_each_broken_reference_is_caught(change, message):
    problems = violations(broken(change), namespace())
    assert any(message in p for p in problems), problems


def test_a_service_targeting_an_undeclared_port_is_caught():
    service = {
        "metadata": {"name": "emqx-ee"},
        "spec": {"selector": {"app": "emqx"}, "ports": [{"name": "mqtt", "targetPort": "mqtt"}]},
    }
    assert service_violations(service, [GOOD]) == ["Service emqx-ee port mqtt: pod emqx-ee-0 declares no port mqtt"]
    assert service_violations({**service, "spec": {**service["spec"], "selector": {"app": "other"}}}, [GOOD]) == []
