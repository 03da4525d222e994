"""Day 2 of the drain before stop: a release of chart 0.3.0 (from git history, before the drain) upgraded to the
working tree gets the hook, the boot step and the longer grace period in one roll, and NOTES say so; changing
the drain's settings, batch size and turning it off each roll the pods, and NOTES say which pods still drain
the old way (a roll stops the old pods with the old template's hook); a rollback to 0.3.0 takes it all back."""

from __future__ import annotations

import pytest

from harness.helm import HelmError
from harness.statefulset import pods, wait_ready, wait_updated
from harness.tools import chart_from_git

pytestmark = pytest.mark.smoke

BASE = {"replicaCount": 3, "minReadySeconds": 0, "license": {"key": "evaluation"}}


def hooks(kubectl, namespace):
    """{pod: (preStop command or None, grace period)} of the live pods."""
    out = {}
    for pod in pods(kubectl, namespace):
        emqx = next(c for c in pod["spec"]["containers"] if c["name"] == "emqx")
        command = emqx.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command")
        out[pod["metadata"]["name"]] = (command, pod["spec"]["terminationGracePeriodSeconds"])
    return out


def test_upgrades_from_0_3_0_and_drain_changes_roll_and_say_so(release, kubectl, namespace, tmp_path):
    rel = release()
    rel.install(BASE, chart=chart_from_git("0.3.0", tmp_path))
    wait_ready(kubectl, namespace, 3)
    assert all(command is None for command, _ in hooks(kubectl, namespace).values()), "0.3.0 has no hook"

    # --reuse-values keeps 0.3.0's values, without this version's new blocks: refused by name, nothing changes.
    before = rel.state(kubectl)
    with pytest.raises(HelmError) as refused:
        rel.upgrade(reuse_values=True)
    assert "the values lack gracefulShutdown" in str(refused.value) and "--reset-then-reuse-values" in str(
        refused.value
    ), refused.value
    assert rel.state(kubectl) == before, "a refused upgrade changed the release or its objects"

    out = rel.upgrade(BASE)
    assert "the nodes now drain before they stop (gracefulShutdown: clients leave at 500 connections/s)" in out, out
    assert "a boot step now clears a node evacuation saved at the last stop" in out, out
    assert "terminationGracePeriodSeconds is now 120" in out, out
    assert "restart one at a time, from emqx-ee-2 down to emqx-ee-0, each draining its clients first" in out, out
    wait_updated(kubectl, namespace, 3)
    for name, (command, grace) in hooks(kubectl, namespace).items():
        assert command and command[command.index("--timeout") + 1] == "90" and grace == 120, name

    faster = {
        **BASE,
        "gracefulShutdown": {"connEvictRate": 2000},
        "podDisruptionBudget": {"maxUnavailable": 2},
        "updateStrategy": {"rollingUpdate": {"maxUnavailable": 2}},
    }
    out = rel.upgrade(faster)
    assert "the drain settings changed (gracefulShutdown.*): the pods that stop in this roll drain with the old" in out
    assert "restart up to 2 at a time (updateStrategy.rollingUpdate.maxUnavailable" in out, out
    wait_updated(kubectl, namespace, 3)
    for name, (command, _) in hooks(kubectl, namespace).items():
        assert command[command.index("--conn-evict-rate") + 1] == "2000", name

    off = {**faster, "gracefulShutdown": {"enabled": False}}
    out = rel.upgrade(off)
    assert "the drain before stop is off (gracefulShutdown.enabled=false)" in out, out
    assert "each draining its clients first" not in out, out
    wait_updated(kubectl, namespace, 3)
    assert all(command is None for command, _ in hooks(kubectl, namespace).values())
    assert "The pod template is unchanged: no node restarts." in rel.upgrade(off)

    # helm rollback to 0.3.0 (revision 1) applies its manifests as they were: no hook, no boot step, the old
    # grace period (docs/operations.md: a node killed mid-drain then needs `emqx ctl rebalance stop`).
    rel._helm("rollback", rel.name, "1")
    wait_updated(kubectl, namespace, 3)
    for pod in pods(kubectl, namespace):
        emqx = next(c for c in pod["spec"]["containers"] if c["name"] == "emqx")
        assert "lifecycle" not in emqx and "args" not in emqx, pod["metadata"]["name"]
        assert pod["spec"]["terminationGracePeriodSeconds"] == 60, pod["metadata"]["name"]
