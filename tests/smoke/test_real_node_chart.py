"""The chart's own pods on the real node (scripts/node.sh), with the EMQX stand-in (scripts/node/emqx_standin, a
model of EMQX 6.2.2, not EMQX) as their image: a real kubelet mounts the Secrets, runs the probes, the
preStop hook and the `helm test` Pod, and a real container shows the security context.

Three releases, each checked once or several ways:
- `tls`: scenario 15 (the user's TLS Secret, mutual TLS, the dashboard over HTTPS) with one core. Its pod
  passes its real HTTPS probes; every file EMQX is told to read is readable inside the container (the stand-in
  would refuse to start otherwise, as EMQX does); uid, read-only root and capabilities hold; `helm test --logs`
  passes, and fails when the stand-in's /status fails or it delivers a wrong payload; with its Secret gone, a
  new pod cannot start.
- `canary`: two cores, a partition holding pod 0 back on the first revision: pod 0, restarted, keeps its own
  revision's settings while pod 1 runs the new ones; the roll of pod 1 runs the preStop drain within the
  grace period.
- `discovery`: scenario 13 (k8s discovery) with one core and one replicant: both pass their probes, run in
  their role, and hold the projected service account token k8s discovery reads.
- `hardened`: one core under `securityProfile: hardened`, where a bare port binds 127.0.0.1: the chart's
  explicit binds keep every listener and the dashboard on the pod IP, so the real probes pass.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from datetime import datetime

import pytest

from harness.cluster import Release, wait_until
from harness.helm import HelmError
from harness.real_node import on_real_node
from harness.scenarios import scenarios
from harness.statefulset import wait_ready
from harness.tools import tool

pytestmark = pytest.mark.smoke

UID = 1000
FAULTS = "/opt/emqx/data/.standin-faults"


def pod_of(kubectl, namespace: str, name: str) -> dict:
    return kubectl.get("pod", namespace, name)


def exec_in(kubectl, namespace: str, pod: str, *command: str, check: bool = True) -> subprocess.CompletedProcess:
    return kubectl.run("exec", "-n", namespace, pod, "-c", "emqx", "--", *command, check=check)


def logs(kubectl, namespace: str, pod: str, *extra: str) -> str:
    return kubectl.run("logs", "-n", namespace, pod, "-c", "emqx", *extra, check=False).stdout


def up(kubectl, namespace: str, replicas: int, cores: int | None = None) -> None:
    """Wait for `replicas` Ready EMQX pods, `cores` of them the StatefulSet's (all by default); fail at once,
    with the stand-in's own words, when one exits (it refuses to start where EMQX would, and the kubelet
    restarts it)."""

    def ready_or_exited() -> dict | bool:
        for pod in kubectl.get("pods", namespace):
            for c in pod["status"].get("containerStatuses") or []:
                ended = c.get("lastState", {}).get("terminated") or c["state"].get("terminated")
                if c["name"] == "emqx" and ended and ended.get("exitCode"):
                    return pod
        cores = [p for p in kubectl.get("pods", namespace) if p["metadata"]["name"] != "emqx-ee-test"]
        return len(cores) == replicas and all(
            c["ready"] for p in cores for c in p["status"].get("containerStatuses") or [{"ready": False}]
        )

    found = kubectl.wait_for(ready_or_exited, f"{replicas} Ready EMQX pods in {namespace}", namespace, timeout=120)
    if isinstance(found, dict):
        name = found["metadata"]["name"]
        said = kubectl.run("logs", "-n", namespace, name, "-c", "emqx", "--previous", check=False).stdout
        pytest.fail(f"{name}: the emqx container exited:\n{said or logs(kubectl, namespace, name)}")
    wait_ready(kubectl, namespace, replicas if cores is None else cores, timeout=60)


def env_of(pod: dict) -> dict[str, str]:
    return {e["name"]: e["value"] for e in pod["spec"]["containers"][0]["env"] if "value" in e}


# --- the TLS release -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls(standin_node, cluster, kubectl, module_namespace, helm4):
    scenario = next(s for s in scenarios() if s.name == "15-tls-existing-secret")
    release = Release(helm4, cluster.kubeconfig, module_namespace)
    release.install(on_real_node(standin_node, **scenario.values))
    up(kubectl, module_namespace, 1)
    return release, module_namespace


def test_the_pod_passes_its_real_https_probes_on_the_real_node(tls, kubectl, real_node):
    _, namespace = tls
    pod = pod_of(kubectl, namespace, "emqx-ee-0")
    status = pod["status"]["containerStatuses"][0]
    assert pod["spec"]["nodeName"] == real_node["NODE_NAME"]
    assert status["containerID"].startswith("containerd://") and status["ready"] and status["started"]
    probe = pod["spec"]["containers"][0]["startupProbe"]["httpGet"]
    assert probe["scheme"] == "HTTPS" and probe["path"] == "/status"
    out = logs(kubectl, namespace, "emqx-ee-0")
    # The stand-in's HTTPS dashboard is the only one (tls.dashboard switches plain HTTP off): the kubelet's
    # probe reached it over TLS, or the pod would not be Ready.
    assert re.search(r"dashboard https on 0\.0\.0\.0:18083", out), out
    assert "dashboard http on" not in out


def test_every_file_emqx_is_told_to_read_is_mounted_there(tls, kubectl):
    _, namespace = tls
    pod = pod_of(kubectl, namespace, "emqx-ee-0")
    files = {
        name: json.loads(value) if value.startswith('"') else value
        for name, value in env_of(pod).items()
        if re.search(r"(_FILE|CERTFILE|KEYFILE)$", name)
    }
    assert any(n.endswith("SSL_OPTIONS__KEYFILE") for n in files) and "EMQX_API_KEY__BOOTSTRAP_FILE" in files, files
    for name, path in files.items():
        seen = exec_in(kubectl, namespace, "emqx-ee-0", "test", "-r", path, check=False)
        assert seen.returncode == 0, f"{name}={path} is not readable in the container"
    out = logs(kubectl, namespace, "emqx-ee-0")
    for name in files:
        assert f"read {name}=" in out, f"the stand-in did not read {name}"
    assert (
        "listener ssl:default on 0.0.0.0:8883 (TLS /opt/emqx/etc/certs/tls/tls.crt, /opt/emqx/etc/certs/tls/tls.key)"
        in out
    )


SEEN = """
import errno, json, os
status = dict(line.split(":", 1) for line in open("/proc/1/status").read().splitlines())
seen = {"uid": int(status["Uid"].split()[0])}
seen |= {"cap_eff": int(status["CapEff"], 16), "cap_bnd": int(status["CapBnd"], 16)}
try:
    open("/written-to-root", "w")
    seen["root_write"] = "succeeded"
except OSError as err:
    seen["root_write"] = errno.errorcode[err.errno]
print(json.dumps(seen))
"""


def test_uid_read_only_root_and_no_capabilities_hold_in_the_container(tls, kubectl):
    _, namespace = tls
    seen = json.loads(exec_in(kubectl, namespace, "emqx-ee-0", "python3", "-c", SEEN).stdout)
    assert seen == {"uid": UID, "cap_eff": 0, "cap_bnd": 0, "root_write": "EROFS"}


def helm_test(release, kubectl, namespace: str) -> tuple[bool, str]:
    """Run `helm test --logs`: whether it passed, and the test Pod's output."""
    try:
        out = release.test(logs=True)
        passed = True
    except HelmError as err:
        out, passed = str(err), False
    pod_log = kubectl.run("logs", "-n", namespace, "emqx-ee-test", check=False)
    return passed, out + pod_log.stdout + pod_log.stderr


def test_helm_test_passes_against_the_standin_and_fails_when_it_misbehaves(tls, kubectl):
    release, namespace = tls
    passed, out = helm_test(release, kubectl, namespace)
    assert passed and "published and received one message" in out and "PASS" in out, out
    test_pod = pod_of(kubectl, namespace, "emqx-ee-test")
    assert test_pod["spec"]["nodeName"] and test_pod["status"]["phase"] == "Succeeded"
    assert test_pod["status"]["containerStatuses"][0]["containerID"].startswith("containerd://")
    try:
        exec_in(kubectl, namespace, "emqx-ee-0", "sh", "-c", f"echo wrong-payload > {FAULTS}")
        passed, out = helm_test(release, kubectl, namespace)
        assert not passed and "FAIL MQTT round trip: the subscriber received" in out, out
        exec_in(kubectl, namespace, "emqx-ee-0", "sh", "-c", f"echo status-503 > {FAULTS}")
        passed, out = helm_test(release, kubectl, namespace)
        assert not passed and "FAIL GET https://emqx-ee-0." in out and "503" in out, out
    finally:
        exec_in(kubectl, namespace, "emqx-ee-0", "rm", "-f", FAULTS, check=False)
    wait_ready(kubectl, namespace, 1, timeout=60)


def test_a_pod_whose_tls_secret_is_gone_cannot_start(tls, kubectl):
    """Last on this release: the install-time check refuses a missing Secret, so it is deleted afterwards."""
    _, namespace = tls
    kubectl.run("delete", "secret", "-n", namespace, "emqx-tls-scenario")
    kubectl.run("delete", "pod", "-n", namespace, "emqx-ee-0", "--wait=false")

    def stuck() -> dict | None:
        events = kubectl.get("events", namespace)
        mount = [e for e in events if e["reason"] == "FailedMount" and e["involvedObject"]["name"] == "emqx-ee-0"]
        return mount[0] if mount else None

    event = kubectl.wait_for(stuck, "a FailedMount event of emqx-ee-0", namespace, ("events",), timeout=90)
    assert 'secret "emqx-tls-scenario" not found' in event["message"], event["message"]
    pod = pod_of(kubectl, namespace, "emqx-ee-0")
    waiting = pod["status"]["containerStatuses"][0]["state"]
    assert "running" not in waiting and not pod["status"]["containerStatuses"][0].get("containerID"), waiting


# --- the canary release ----------------------------------------------------------------------------------


def level_read(text: str) -> str | None:
    found = re.findall(r"read EMQX_LOG__CONSOLE__LEVEL=(\w+) as log\.console\.level", text)
    return found[-1] if found else None


def test_a_held_back_pod_keeps_its_revision_and_a_roll_drains_within_the_grace_period(
    standin_node, release, kubectl, namespace
):
    r = release()
    base = on_real_node(
        standin_node,
        replicaCount=2,
        license={"key": "evaluation"},
        podManagementPolicy="Parallel",
        terminationGracePeriodSeconds=60,
        gracefulShutdown={"timeoutSeconds": 20, "waitHealthCheck": 1},
    )
    r.install(base | {"emqxConfig": {"log.console.level": "warning"}})
    up(kubectl, namespace, 2)
    grace = pod_of(kubectl, namespace, "emqx-ee-1")["spec"]["terminationGracePeriodSeconds"]
    # The roll of pod 1: its log is followed from before the kubelet runs its preStop hook until it stops.
    follow = subprocess.Popen(
        [
            tool("kubectl"),
            "--kubeconfig",
            kubectl.kubeconfig,
            "logs",
            "-f",
            "--timestamps",
            "-n",
            namespace,
            "emqx-ee-1",
            "-c",
            "emqx",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    time.sleep(1)
    r.upgrade(
        base | {"emqxConfig": {"log.console.level": "error"}, "updateStrategy": {"rollingUpdate": {"partition": 1}}}
    )
    try:
        rolled, _ = follow.communicate(timeout=grace + 30)
    finally:
        follow.kill()
    lines = rolled.splitlines()
    drain = [line for line in lines if "emqx-ee drain:" in line]
    assert drain and "evacuating" in drain[0], rolled
    # The drain ended the evacuation itself (no client to evict) before the kubelet sent SIGTERM.
    assert "drained: no connections" in drain[-1] or "no other node can take the clients" in drain[-1], rolled
    stop = [line for line in lines if "emqx-standin: stopping (SIGTERM)" in line]
    assert stop, rolled
    started, stopped = (datetime.fromisoformat(line.split()[0].replace("Z", "+00:00")) for line in (drain[0], stop[0]))
    assert 0 <= (stopped - started).total_seconds() < grace, f"drain at {started}, SIGTERM at {stopped}, grace {grace}s"

    wait_until(
        lambda: level_read(logs(kubectl, namespace, "emqx-ee-1")) == "error", "pod 1 on the new revision", timeout=120
    )
    # Pod 0 is held back by the partition: restarted, it must boot on its own (first) revision's settings.
    kubectl.run("delete", "pod", "-n", namespace, "emqx-ee-0")
    wait_ready(kubectl, namespace, 2, timeout=120)
    sts = kubectl.get("statefulset", namespace, "emqx-ee")
    pod0 = pod_of(kubectl, namespace, "emqx-ee-0")
    assert pod0["metadata"]["labels"]["controller-revision-hash"] == sts["status"]["currentRevision"]
    assert sts["status"]["currentRevision"] != sts["status"]["updateRevision"]
    assert level_read(logs(kubectl, namespace, "emqx-ee-0")) == "warning"
    assert level_read(logs(kubectl, namespace, "emqx-ee-1")) == "error"


# --- k8s discovery with a replicant ----------------------------------------------------------------------


def test_a_core_and_a_replicant_with_k8s_discovery_pass_their_probes_and_mount_the_api_token(
    standin_node, release, kubectl, namespace
):
    """Scenario 13 (k8s discovery) with one core and one replicant (scenario 12's role), both on the real node."""
    scenario = next(s for s in scenarios() if s.name == "13-k8s-discovery")
    values = on_real_node(standin_node, **scenario.values)
    placement = {k: values[k] for k in ("nodeSelector", "tolerations", "resources")}
    values |= {"replicaCount": 1, "replicants": {"enabled": True, "replicaCount": 1, **placement}}
    release().install(values)
    up(kubectl, namespace, 2, cores=1)
    pods = {p["metadata"]["labels"]["app.kubernetes.io/component"]: p for p in kubectl.get("pods", namespace)}
    assert set(pods) == {"core", "replicant"}
    for role, pod in pods.items():
        name = pod["metadata"]["name"]
        assert pod["spec"]["nodeName"] == standin_node["NODE_NAME"], name
        out = logs(kubectl, namespace, name)
        assert f"({role}, profile legacy) is running" in out, out
        assert "read EMQX_CLUSTER__DISCOVERY_STRATEGY=k8s as cluster.discovery_strategy" in out, out
        # k8s discovery asks the API server with the pod's projected service account token.
        token = "/var/run/secrets/kubernetes.io/serviceaccount/token"
        seen = exec_in(kubectl, namespace, name, "python3", "-c", f"print(len(open('{token}').read().split('.')))")
        assert seen.stdout.strip() == "3", f"{name}: {token} is not a JWT"


# --- EMQX's hardened profile -------------------------------------------------------------------------------


def test_under_the_hardened_profile_every_bind_is_on_the_pod_ip_and_the_probes_pass(standin_node, release, kubectl):
    """`securityProfile: hardened` binds a bare port to 127.0.0.1 (emqx_schema.erl listener_ip_port_converter/2,
    emqx_dashboard.erl ip_port/2; the stand-in models it): the chart writes every bind as 0.0.0.0:<port>, so the
    kubelet's probes and the Services still reach the node."""
    rel = release()
    namespace = rel.namespace
    rel.install(on_real_node(standin_node, securityProfile="hardened"))
    up(kubectl, namespace, 1)
    pod = pod_of(kubectl, namespace, "emqx-ee-0")
    assert env_of(pod)["EMQX_SECURITY_PROFILE"] == "hardened"
    out = logs(kubectl, namespace, "emqx-ee-0")
    binds = re.findall(r"(listener \S+|dashboard \S+) on (\S+):(\d+)", out)
    assert binds and all(address == "0.0.0.0" for _, address, _ in binds), out
    assert any(what.startswith("dashboard") for what, _, _ in binds), out
