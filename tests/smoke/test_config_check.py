"""EMQX's own config check before an upgrade changes anything (templates/job-config-check.yaml), run for real:
on kind, EMQX's `emqx check_config` in the release's image (the users' CI); on kwok, the real node's kubelet
runs the stand-in's (a model of EMQX's check, scripts/node/emqx_standin, not EMQX). The chart's own checks are
off for these upgrades (emqxConfigCheck.allowUnknown), so the hook alone stands between a value EMQX refuses and
the nodes. What the stand-in cannot parse (rule SQL and the other values NOTES name) it passes."""

from __future__ import annotations

import pytest

from harness.cluster import wait_until
from harness.helm import HelmError
from harness.real_node import on_real_node, up
from harness.statefulset import wait_ready

pytestmark = [pytest.mark.smoke, pytest.mark.day2]

JOB = "emqx-ee-config-check"


def objects_of_the_nodes(rel, kubectl) -> dict:
    """Every object of the release but the hook's own (its failed Job and Pod stay for their logs)."""
    return {k: v for k, v in rel.state(kubectl)["objects"].items() if JOB not in k}


def test_the_hook_stops_an_upgrade_emqx_would_not_boot_and_lets_a_good_one_through(request, cluster, release, kubectl):
    rel = release()
    namespace = rel.namespace
    if cluster.runtime == "kind":  # every node is real, and runs EMQX itself
        values = {"replicaCount": 1, "minReadySeconds": 0}
        rel.install(values)
        wait_ready(kubectl, namespace, 1)
    else:
        values = on_real_node(request.getfixturevalue("standin_node"))
        rel.install(values)
        up(kubectl, namespace, 1)
    before = objects_of_the_nodes(rel, kubectl)

    unchecked = {"emqxConfigCheck": {"allowUnknown": True}}
    with pytest.raises(HelmError) as caught:
        rel.upgrade(values | unchecked | {"emqxConfig": {"mqtt.max_packet_size": "banana"}})
    assert "pre-upgrade hooks failed" in caught.value.stderr and JOB in caught.value.stderr, caught.value.stderr
    assert objects_of_the_nodes(rel, kubectl) == before, "a refused upgrade changed the nodes' objects"
    log = kubectl.run("logs", "-n", namespace, f"job/{JOB}", check=False).stdout
    assert "failed_to_check_schema" in log and "max_packet_size" in log.lower(), log

    good = {"emqxConfig": {"mqtt.max_packet_size": "2MB"}}
    rel.upgrade(values | unchecked | good)

    def rolled() -> bool:
        pods = [p for p in kubectl.get("pods", namespace) if p["metadata"]["name"] == "emqx-ee-0"]
        env = {e["name"]: e.get("value") for p in pods for e in p["spec"]["containers"][0]["env"]}
        return env.get("EMQX_MQTT__MAX_PACKET_SIZE") == "2MB"

    wait_until(rolled, "emqx-ee-0 with the checked setting", timeout=120)
    assert not kubectl.get("jobs", namespace, selector="app.kubernetes.io/component=config-check"), (
        "a passed check deletes its Job (hook-succeeded)"
    )
    wait_ready(kubectl, namespace, 1)

    # Both values of the check changed later touch the hook only: without it the same settings go through
    # unchecked, and its Pod's annotations are its own. Neither rolls a node.
    before = objects_of_the_nodes(rel, kubectl)
    rel.upgrade(values | good | {"emqxConfigCheck": {"allowUnknown": True, "withEmqx": False}})
    assert not [h for h in rel.hooks(4) if h["metadata"]["name"] == JOB], "withEmqx=false still ran the check"
    annotations = {"example.com/owner": "mqtt-team"}
    rel.upgrade(values | good | {"emqxConfigCheck": {"allowUnknown": True, "annotations": annotations}})
    (job,) = [h for h in rel.hooks(5) if h["metadata"]["name"] == JOB]
    assert job["spec"]["template"]["metadata"]["annotations"] == annotations, job
    assert objects_of_the_nodes(rel, kubectl) == before, "a change to the check rolled or changed the nodes"
