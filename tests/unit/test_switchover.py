"""Switch-overs without a cluster to read (`helm template`, GitOps tools): `lookup` sees nothing, so the client
Service and the NetworkPolicy follow the values at once and NOTES announce no hold. What the chart does on a
live release (the client Service held on the cores until the replicants are Ready, old ports admitted until
every pod has rolled) is proved on the cluster in tests/smoke/test_switchover.py."""

import pytest

from harness.helm import notes
from harness.netpol import External, Pod, truth_table

pytestmark = pytest.mark.unit

LICENSED = {"license": {"key": "evaluation"}, "replicaCount": 3}
NS = "emqx"
MEMBER = {"emqx-ee/cluster": "emqx-ee"}
CLIENT = External("203.0.113.7")
NEIGHBOUR = Pod(NS, "neighbour", {"app": "neighbour"}, "10.0.0.20")
PROBED = (8883, 9883, 18083, 18084)


def admitted(manifests):
    """{pod: ports of PROBED} the rendered NetworkPolicy lets an outside client and a pod of the namespace reach
    on a member pod."""
    node = Pod(NS, "emqx-ee-0", MEMBER, "10.0.0.10", [(p, "TCP", "") for p in PROBED])
    table = truth_table(
        manifests.of_kind("NetworkPolicy"), {NS: {}}, [node, NEIGHBOUR], [], externals=[CLIENT], default_namespace=NS
    )
    return {
        src.key: {port for (s, d, port, _), ok in table.items() if ok and s == src.key and d == node.key}
        for src in (CLIENT, NEIGHBOUR)
    }


def test_without_a_cluster_the_client_service_selects_the_replicants_at_once(template, helm4):
    values = {**LICENSED, "replicants": {"enabled": True}}
    selector = template(values).one("Service", "emqx-ee")["spec"]["selector"]
    assert selector == {"app.kubernetes.io/name": "emqx-ee-replicant", "app.kubernetes.io/instance": "emqx-ee"}
    text = notes(helm4, values)
    assert "the client Service emqx-ee sends MQTT clients to them" in text
    assert "sends the MQTT clients to the cores" not in text


def test_without_a_cluster_a_port_change_admits_the_new_ports_only(template, helm4):
    tls = {"tls": {"testCertificate": True}}
    values = {**LICENSED, **tls, "listeners": {"mqtts": {"containerPort": 9883}}, "dashboard": {"containerPort": 18084}}
    assert admitted(template(values)) == {CLIENT.key: {9883}, NEIGHBOUR.key: {9883, 18084}}
    assert admitted(template({**LICENSED, **tls})) == {CLIENT.key: {8883}, NEIGHBOUR.key: {8883, 18083}}
    assert "still admits" not in notes(helm4, values)
