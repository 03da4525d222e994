"""chart-testing's `ct install` of every cluster scenario, and the smoke suite's checks of what it installed.

ct installs each ci/*-values.yaml with `helm install --wait` and runs `helm test`. Here it installs them
all into one namespace that enforces Pod Security "restricted" and keeps them (`--skip-clean-up`), so
the per-scenario checks below read the releases ct made instead of installing every scenario a second
time. Each release is matched to its scenario by its user-supplied values (`helm get values`).
Uninstalling is covered once, in depth, by test_lifecycle.py; the namespace goes at the end of the module.

Two values go on top of each scenario here. `metrics.serviceMonitor.enabled=false`: ct's installs may overlap
test_metrics.py, which serves that API for a while, and the render suite covers the ServiceMonitor.
`minReadySeconds=0`: on kwok no process runs during it, so it only made ct wait (40 s for the five ordered
nodes of 04-ordered-ready); test_ordering.py shows it holding back an ordered rollout.

On kwok, ct's dump of container logs fails after each install (there is no kubelet to serve them);
ct treats that as information only.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from harness.cluster import Kubectl
from harness.helm import go_env, run
from harness.scenarios import Scenario, effective_values, scenarios
from harness.statefulset import pods, wait_ready
from harness.tools import ROOT, helm

pytestmark = pytest.mark.smoke

CLUSTER_SCENARIOS = [s for s in scenarios() if s.smoke]
CT_SET = {"metrics": {"serviceMonitor": {"enabled": False}}, "minReadySeconds": 0}


@pytest.fixture(scope="module")
def ct_install(cluster, module_namespace) -> tuple[subprocess.CompletedProcess, dict[str, str]]:
    """ct install into the module's namespace; returns ct's run and the release of each scenario by name."""
    proc = subprocess.run(
        [
            str(ROOT / "scripts" / "ct-install.sh"),
            *("--namespace", module_namespace, "--skip-clean-up"),
            "--helm-extra-set-args=--set=metrics.serviceMonitor.enabled=false --set=minReadySeconds=0",
        ],
        env={**go_env(), "KUBECONFIG": cluster.kubeconfig},
        capture_output=True,
        text=True,
        timeout=1200,
    )
    base = [helm(4).path, "--kubeconfig", cluster.kubeconfig, "-n", module_namespace]
    releases: dict[str, str] = {}
    for entry in json.loads(run([*base, "list", "-o", "json"])):
        supplied = json.loads(run([*base, "get", "values", entry["name"], "-o", "json"])) or {}
        scenario = next(
            (s.name for s in CLUSTER_SCENARIOS if effective_values(CT_SET, s.values) == supplied), f"? {entry['name']}"
        )
        releases[scenario] = entry["name"]
    return proc, releases


def test_ct_install_passes_for_every_cluster_scenario(ct_install):
    proc, releases = ct_install
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "All charts installed successfully" in proc.stdout
    assert sorted(releases) == sorted(s.name for s in CLUSTER_SCENARIOS), "one release per cluster scenario, by values"


def events_of(kubectl: Kubectl, namespace: str, release: str) -> list[dict[str, Any]]:
    return [e for e in kubectl.get("events", namespace) if e["involvedObject"]["name"].startswith(release)]


@pytest.mark.parametrize("cluster_scenario", CLUSTER_SCENARIOS, ids=lambda s: s.name)
def test_scenario_is_ready_with_stable_names_and_admitted(
    kubectl, module_namespace, ct_install, cluster_scenario: Scenario
):
    """What `helm install --wait` does not check: ordinal names, no refused pod, the kubelet's own checks
    (wait_ready), and an MQTT Service that publishes no admin port."""
    release = ct_install[1].get(cluster_scenario.name)
    assert release, f"ct installed no release for {cluster_scenario.name}"
    replicas = cluster_scenario.values.get("replicaCount", 1)
    wait_ready(kubectl, module_namespace, replicas, name=release)
    names = [p["metadata"]["name"] for p in pods(kubectl, module_namespace, release)]
    assert names == [f"{release}-{i}" for i in range(replicas)]
    refused = [e["message"] for e in events_of(kubectl, module_namespace, release) if e["reason"] == "FailedCreate"]
    assert not refused, refused
    slices = kubectl.get("endpointslices", module_namespace, selector=f"kubernetes.io/service-name={release}")
    client_ports = {p["port"] for s in slices for p in s.get("ports") or []}
    assert client_ports and 18083 not in client_ports, f"the MQTT Service publishes {sorted(client_ports)}"
