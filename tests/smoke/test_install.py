"""`helm install` on a real API server in a namespace that enforces Pod Security "restricted": Helm 3
installs the chart too, a privileged pod is refused (the enforcement is real), and bad values are refused
before anything exists. Every cluster scenario is installed by `ct install` (test_chart_testing.py).

On kwok, "Ready" is the simulated kubelet's verdict (no EMQX process runs); on kind EMQX runs for real.
"""

import pytest

from harness.cluster import Release
from harness.helm import HelmError
from harness.statefulset import pods, wait_ready
from harness.tools import helm as helm_cli

pytestmark = pytest.mark.smoke


def test_helm3_installs_the_chart_too(release, kubectl, namespace):
    release(helm=helm_cli(3)).install({})
    wait_ready(kubectl, namespace, 1)


def test_restricted_namespace_refuses_a_privileged_pod(release, kubectl, namespace):
    """Negative control: the namespace really enforces "restricted", so the admissions above mean something."""
    release().install({"containerSecurityContext": {"privileged": True, "allowPrivilegeEscalation": True}})

    def refusal():
        return [
            e["message"]
            for e in kubectl.get("events", namespace)
            if e["reason"] == "FailedCreate" and "restricted" in e["message"]
        ]

    messages = kubectl.wait_for(refusal, "a PodSecurity FailedCreate event", namespace, ("events",), timeout=60)
    assert "privileged" in messages[0], messages
    assert pods(kubectl, namespace) == []


def test_bad_values_are_refused_before_anything_is_created(release, kubectl, namespace):
    with pytest.raises(HelmError) as caught:
        release().install({"replicaCount": 3})
    assert "/license/key" in caught.value.stderr
    for kind in ("statefulsets", "services", "configmaps", "secrets", "persistentvolumeclaims"):
        found = [
            o["metadata"]["name"] for o in kubectl.get(kind, namespace) if o["metadata"]["name"] != "kube-root-ca.crt"
        ]
        assert found == [], f"{kind} created by a refused install: {found}"
    listed = kubectl.run("get", "secrets", "-n", namespace, "-l", "owner=helm", "-o", "name").stdout
    assert listed == "", f"helm recorded a release: {listed}"


def test_the_api_server_refuses_an_unknown_field_without_helms_own_validation(release, kubectl, namespace):
    """Release skips Helm 4's client-side OpenAPI validation (harness.cluster.Release); the API server's strict
    field validation of server-side apply refuses the same mistakes, naming the field, and nothing is made."""
    bad = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "typo"}, "dataa": {"k": "v"}}
    with pytest.raises(HelmError) as caught:
        release().install({"extraObjects": [bad]})
    assert ".dataa: field not declared in schema" in caught.value.stderr, caught.value.stderr
    assert not kubectl.exists("configmap", namespace, "typo")


def test_helm3_drops_an_unknown_field_with_its_own_validation_as_without(cluster, namespace, kubectl, tmp_path):
    """Release skips Helm 3's client-side OpenAPI validation too (harness.cluster.Release): on a server that
    validates fields, Helm 3's check leaves it to the server, which warns of an unknown field and drops it. Both
    ways, with Helm 3 itself: the install passes and the object lacks the field."""
    chart = tmp_path / "typo"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: typo\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("{}\n")
    (chart / "templates" / "configmap.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndataa:\n  k: v\n"
    )
    for name, checked in (("checked", True), ("unchecked", False)):
        Release(helm_cli(3), cluster.kubeconfig, namespace, name, openapi_validation=checked).install({}, chart)
        made = kubectl.get("configmap", namespace, name)
        assert "dataa" not in made and "data" not in made, made
