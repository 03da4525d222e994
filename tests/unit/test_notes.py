"""NOTES.txt: warnings first, then commands for the chosen Service type, what `helm uninstall` keeps, then
`helm test`. These are install NOTES (Helm 4's client-only dry run; Helm 3's needs a reachable cluster);
the upgrade NOTES need the live StatefulSet and are checked in tests/smoke/test_upgrade_notes.py."""

import pytest

from harness.helm import notes

pytestmark = pytest.mark.unit

LICENSED = {"license": {"existingSecret": "lic"}}


def test_default_notes_have_no_warning_and_end_with_helm_test(helm4):
    text = notes(helm4)
    assert "WARNING" not in text
    assert "is starting as StatefulSet emqx/emqx-ee with 1 node(s)" in text
    assert "kubectl -n emqx port-forward svc/emqx-ee 1883:1883" in text
    assert text.strip().splitlines()[-1].strip() == "helm test emqx-ee -n emqx --logs"


def test_one_node_is_named_not_given_a_range(helm4):
    assert "(pods emqx-ee-0, stable names)" in notes(helm4)
    assert "(pods emqx-ee-0..2, stable names)" in notes(helm4, {"replicaCount": 3, **LICENSED})


def test_no_persistence_warns_first(helm4):
    text = notes(helm4, {"persistence": {"enabled": False}})
    assert text.lstrip().startswith("WARNING: persistence.enabled=false"), text[:200]


def test_license_in_values_warns_and_load_balanced_mqtt_does_not_expose_the_dashboard(helm4):
    text = notes(helm4, {"license": {"key": "evaluation"}, "service": {"type": "LoadBalancer"}})
    assert "license.existingSecret" in text
    assert "dashboard" not in "\n".join(line for line in text.splitlines() if line.startswith("WARNING"))
    assert "status.loadBalancer.ingress[0].ip" in text and "mqttx conn -l mqtt" in text


def test_open_dashboard_load_balancer_warns_and_a_restricted_one_does_not(helm4):
    text = notes(helm4, {"dashboard": {"service": {"type": "LoadBalancer"}}})
    assert "WARNING: the dashboard and REST API (port 18083) are published through a LoadBalancer" in text
    assert "dashboard.service.loadBalancerSourceRanges" in text
    restricted = {"dashboard": {"service": {"type": "LoadBalancer", "loadBalancerSourceRanges": ["192.0.2.0/24"]}}}
    assert "WARNING" not in notes(helm4, restricted)


def test_node_port_dashboard_warning_points_at_node_port_values(helm4):
    text = notes(helm4, {"dashboard": {"service": {"type": "NodePort"}}})
    warning = next(line for line in text.splitlines() if line.startswith("WARNING"))
    assert "dashboard.service.nodePort" in warning
    assert "loadBalancerSourceRanges" not in text, "that value does not exist for NodePort"


def test_node_port_mqtt_commands(helm4):
    text = notes(helm4, {"service": {"type": "NodePort"}})
    assert "jsonpath='{.spec.ports[?(@.name==\"mqtt\")].nodePort}'" in text


def test_connect_command_follows_the_first_enabled_listener(helm4):
    text = notes(helm4, {"listeners": {"mqtt": {"enabled": False}}})
    assert "mqttx conn -l ws -h 127.0.0.1 -p 8083" in text, "mqtts is off without a certificate"
    text = notes(helm4, {"listeners": {"mqtt": {"enabled": False}}, "tls": {"testCertificate": True}})
    assert "mqttx conn -l mqtts -h 127.0.0.1 -p 8883 --insecure" in text
    assert "port-forward svc/emqx-ee-dashboard 18083:18083" in text


def test_uninstall_keeps_claims_secret_and_identity_and_says_how_to_purge(helm4):
    text = notes(helm4)
    assert "Uninstalling keeps the data" in text
    assert "kubectl -n emqx delete pvc,secret,pod -l app.kubernetes.io/instance=emqx-ee" in text
    assert "kubectl -n emqx delete configmap emqx-ee-identity" in text


def test_claims_deleted_with_the_release_are_called_so(helm4):
    text = notes(helm4, {"persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Delete"}})
    assert "whenDeleted=Delete removes them" in text


def test_zero_replicas_is_a_full_stop(helm4):
    text = notes(helm4, {"replicaCount": 0})
    assert "is stopped (replicaCount=0)" in text and "--set replicaCount=<N>" in text
    for absent in ("is starting", "helm test", "exec emqx-ee-0", "0..-1"):
        assert absent not in text, f"{absent!r} makes no sense with no node"


@pytest.mark.parametrize("guard", ["allowIdentityChange", "allowCookieChange"])
def test_escape_hatches_warn_to_be_dropped(helm4, guard):
    text = notes(helm4, {"upgradeGuards": {guard: True}})
    assert f"WARNING: upgradeGuards.{guard} is on" in text and "Leave it out of the next command" in text


@pytest.mark.parametrize(("replicas", "warned"), [(1, False), (2, True), (3, False), (4, True), (5, False)])
def test_even_node_counts_warn_that_a_split_cannot_heal(helm4, replicas, warned):
    text = notes(helm4, {"replicaCount": replicas, **LICENSED})
    assert (f"WARNING: replicaCount={replicas} is even" in text) == warned, text[:400]
