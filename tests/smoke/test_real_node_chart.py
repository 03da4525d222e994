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
  grace period; with static discovery, the pods of both revisions form one cluster.
- `discovery`: scenario 13 (k8s discovery) with one core and one replicant: both pass their probes, run in
  their role, and hold the projected service account token k8s discovery reads.
- `hardened`: one core under `securityProfile: hardened`, where a bare port binds 127.0.0.1: the chart's
  explicit binds keep every listener and the dashboard on the pod IP, so the real probes pass; with the
  chart's authentication an anonymous client is refused and the generated user let in, and with none (mqttAuth
  off) every client is refused.
- `default`: a default install (the chart's authentication on, legacy profile): anonymous clients and wrong
  passwords are refused, the user NOTES tell how to read is let in, `helm test --logs` passes; with mqttAuth
  off (what an upgrade of a release that allowed anonymous clients keeps) anonymous clients are let in.
- `cluster`: three cores and a replicant with dns discovery: every node lists all four, `helm test` passes with a
  message through each node to the next, and fails naming both nodes when one stops routing; it fails with the
  replicant gone; a core restarted with another cookie does not join and shows as stopped.
MQTT clients connect from inside the pod through the client Service, so they reach the listener on the pod IP.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import time
from datetime import datetime

import pytest

from harness.cluster import Release, wait_until
from harness.helm import HelmError, go_env
from harness.real_node import logs, on_real_node, up
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


def rolled(kubectl, namespace: str, replicas: int) -> None:
    """Wait until an upgrade has rolled every pod of the StatefulSet and they are Ready."""

    def done() -> bool:
        sts = kubectl.get("statefulset", namespace, "emqx-ee")
        status = sts.get("status", {})
        return (
            status.get("observedGeneration") == sts["metadata"]["generation"]
            and status.get("updatedReplicas") == replicas
            and status.get("currentRevision") == status.get("updateRevision")
        )

    wait_until(done, f"the roll of {namespace}/emqx-ee", timeout=120)
    up(kubectl, namespace, replicas)


# One MQTT CONNECT (3.1.1 or 5, with or without a username and password); prints the CONNACK's return or reason code.
CONNECT = """
import socket, struct, sys, time
host, port, version = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
user, password = (sys.argv[4:] + [None, None])[:2]
def field(text):
    return struct.pack("!H", len(text.encode())) + text.encode()
flags = 0x02 | (0x80 if user else 0) | (0x40 if password else 0)
body = field("MQTT") + bytes([version, flags, 0, 30]) + (b"\\0" if version == 5 else b"") + field("probe")
body += (field(user) if user else b"") + (field(password) if password else b"")
# After a roll, until kube-proxy sends the Service to the new pod's address: until then a connection is refused
# (no endpoint) or times out (the old pod's address), so both are tried again, for 30 seconds at most.
deadline = time.monotonic() + 30
while True:
    try:
        c = socket.create_connection((host, port), timeout=3)
        break
    except OSError:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.5)
with c:
    c.sendall(bytes([0x10, len(body)]) + body)
    answer = c.recv(8)
print(answer[3] if answer[:1] == b"\\x20" else "no CONNACK: %r" % answer)
"""
# EMQX 6.2.2's CONNACK codes (emqx_reason_codes.erl): MQTT 5 reason codes, and the MQTT 3.1.1 return codes that
# compat(connack, _) maps them to.
BAD_USERNAME_OR_PASSWORD = {4: 4, 5: 0x86}
NOT_AUTHORIZED = {4: 5, 5: 0x87}


def connack(kubectl, namespace: str, version: int, *credentials: str) -> int:
    """The code a client gets from the release's client Service (port 1883, the mqtt listener)."""
    host = f"emqx-ee.{namespace}.svc.cluster.local"
    out = exec_in(kubectl, namespace, "emqx-ee-0", "python3", "-c", CONNECT, host, "1883", str(version), *credentials)
    return int(out.stdout.strip())


def generated_user(notes: str, kubeconfig: str) -> tuple[str, str]:
    """The MQTT user as NOTES tell a user to find it: the username of its `mqttx conn` line, the password by
    running its `export MQTT_PASSWORD=$(kubectl ...)` command."""
    command = re.search(r"^ *export MQTT_PASSWORD=\$\((.+)\)$", notes, re.M)
    username = re.search(r'mqttx conn .* -u (\S+) -P "\$MQTT_PASSWORD"', notes)
    assert command and username, notes
    env = go_env() | {"KUBECONFIG": kubeconfig, "PATH": f"{os.path.dirname(tool('kubectl'))}:{os.environ['PATH']}"}
    password = subprocess.run(["bash", "-c", command.group(1)], env=env, capture_output=True, text=True, check=True)
    assert password.stdout, password.stderr
    return username.group(1), password.stdout


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
    # The kubelet may write the event before the pod's first container statuses: none yet is no container.
    statuses = pod["status"].get("containerStatuses") or []
    assert pod["status"]["phase"] == "Pending", pod["status"]
    assert all("running" not in c["state"] and not c.get("containerID") for c in statuses), statuses


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
        discovery="static",
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
    # static discovery (cluster.static.seeds: the cores' names): the pods of both revisions form one cluster
    both = {f"emqx@emqx-ee-{i}.emqx-ee-headless.{namespace}.svc.cluster.local": ["running", "core"] for i in (0, 1)}
    for pod in ("emqx-ee-0", "emqx-ee-1"):
        sees(kubectl, namespace, pod, both)


# --- k8s discovery with a replicant ----------------------------------------------------------------------


# ekka's k8s discovery request, from inside an EMQX container: GET the headless Service's Endpoints named by
# the chart's EMQX_CLUSTER__K8S__* settings, with the pod's token, TLS verified by its ca.crt; then a request
# its Role does not allow.
DISCOVER = """
import json, os, ssl, urllib.error, urllib.request
account = "/var/run/secrets/kubernetes.io/serviceaccount"
tls = ssl.create_default_context(cafile=f"{account}/ca.crt")
token = open(f"{account}/token").read().strip()
ns, service = os.environ["EMQX_CLUSTER__K8S__NAMESPACE"], os.environ["EMQX_CLUSTER__K8S__SERVICE_NAME"]
def ask(path):
    request = urllib.request.Request("https://kubernetes.default.svc:443" + path,
                                     headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10, context=tls) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())
code, body = ask(f"/api/v1/namespaces/{ns}/endpoints/{service}")
names = sorted(a["hostname"] for s in body.get("subsets", []) for a in s.get("addresses", []))
print(json.dumps({"endpoints": [code, names], "list": list(ask(f"/api/v1/namespaces/{ns}/endpoints"))[:1]}))
"""


def test_a_core_and_a_replicant_with_k8s_discovery_pass_their_probes_and_mount_the_api_token(
    standin_node, release, kubectl, namespace
):
    """Scenario 13 (k8s discovery) with one core and one replicant (scenario 12's role), both on the real node;
    from inside each, ekka's request reaches the API server and names the cores, and the stand-ins, discovering
    with it, form one cluster."""
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
        # k8s discovery asks the API server with the pod's projected service account token: ekka's request
        # (tests/smoke/test_discovery.py), made from the container at EMQX's default server, kubernetes.default.svc.
        seen = json.loads(exec_in(kubectl, namespace, name, "python3", "-c", DISCOVER).stdout)
        endpoints = kubectl.get("endpoints", namespace, "emqx-ee-headless")
        hostnames = sorted(a["hostname"] for s in endpoints["subsets"] for a in s["addresses"])
        assert "emqx-ee-0" in hostnames and seen["endpoints"] == [200, hostnames], f"{name}: {seen}, {hostnames}"
        assert seen["list"][0] == 403, f"{name} may list Endpoints: {seen}"
    # Through that request (address_type hostname, suffix svc.<clusterDomain>) the two find each other.
    core = f"emqx@emqx-ee-0.emqx-ee-headless.{namespace}.svc.cluster.local"
    both = {core: ["running", "core"], f"emqx@{pods['replicant']['status']['podIP']}": ["running", "replicant"]}
    for pod in pods.values():
        sees(kubectl, namespace, pod["metadata"]["name"], both)


# --- EMQX's hardened profile -------------------------------------------------------------------------------


def test_under_the_hardened_profile_every_bind_is_on_the_pod_ip_and_the_probes_pass(standin_node, release, kubectl):
    """`securityProfile: hardened` binds a bare port to 127.0.0.1 (emqx_schema.erl listener_ip_port_converter/2,
    emqx_dashboard.erl ip_port/2; the stand-in models it): the chart writes every bind as 0.0.0.0:<port>, so the
    kubelet's probes and the Services still reach the node. With the chart's authenticator an anonymous client is
    refused (emqx_authn_mnesia.erl authenticate/2: no password) and the generated user let in; with mqttAuth off
    there is no authenticator, and the hardened profile refuses every client (emqx_authn_chains.erl
    authenticate/2, policy authn_not_configured deny)."""
    rel = release()
    namespace = rel.namespace
    values = on_real_node(standin_node, securityProfile="hardened")
    notes = rel.install(values)
    up(kubectl, namespace, 1)
    user = generated_user(notes, rel.kubeconfig)
    for version in (4, 5):
        assert connack(kubectl, namespace, version) == BAD_USERNAME_OR_PASSWORD[version]
        assert connack(kubectl, namespace, version, *user) == 0
    pod = pod_of(kubectl, namespace, "emqx-ee-0")
    assert env_of(pod)["EMQX_SECURITY_PROFILE"] == "hardened"
    out = logs(kubectl, namespace, "emqx-ee-0")
    binds = re.findall(r"(listener \S+|dashboard \S+) on (\S+):(\d+)", out)
    assert binds and all(address == "0.0.0.0" for _, address, _ in binds), out
    assert any(what.startswith("dashboard") for what, _, _ in binds), out

    rel.upgrade(values | {"mqttAuth": {"enabled": False}})
    rolled(kubectl, namespace, 1)
    out = logs(kubectl, namespace, "emqx-ee-0")
    assert "no authenticator enabled: authn_not_configured, clients are refused (hardened)" in out, out
    for version in (4, 5):
        assert connack(kubectl, namespace, version) == NOT_AUTHORIZED[version]
        assert connack(kubectl, namespace, version, *user) == NOT_AUTHORIZED[version]


# --- MQTT authentication of a default install ----------------------------------------------------------------


def test_a_default_install_lets_in_only_the_generated_user_and_helm_test_passes(standin_node, release, kubectl):
    """A new install turns the chart's authenticator on (mqttAuth.enabled auto): EMQX's built-in database with the
    generated user, imported from the bootstrap file at boot. Turned off (as a release that allowed anonymous
    clients keeps it on upgrade), the legacy profile lets every client in (policy authn_not_configured allow)."""
    rel = release()
    namespace = rel.namespace
    values = on_real_node(standin_node)
    notes = rel.install(values)
    up(kubectl, namespace, 1)
    out = logs(kubectl, namespace, "emqx-ee-0")
    assert "authentication from /opt/emqx/etc/base.hocon: password_based:built_in_database" in out, out
    assert "bootstrap file /opt/emqx/etc/mqtt-auth/users.csv (plain): 1 success" in out, out
    username, password = generated_user(notes, rel.kubeconfig)
    for version in (4, 5):
        assert connack(kubectl, namespace, version) == BAD_USERNAME_OR_PASSWORD[version]
        assert connack(kubectl, namespace, version, username, password + "x") == BAD_USERNAME_OR_PASSWORD[version]
        assert connack(kubectl, namespace, version, "nobody", password) == NOT_AUTHORIZED[version]
        assert connack(kubectl, namespace, version, username, password) == 0
    passed, said = helm_test(rel, kubectl, namespace)
    assert passed and f"MQTT clients connect as {username}" in said and "published and received" in said, said

    rel.upgrade(values | {"mqttAuth": {"enabled": False}})
    rolled(kubectl, namespace, 1)
    out = logs(kubectl, namespace, "emqx-ee-0")
    assert "no authenticator enabled: authn_not_configured, clients are allowed (legacy)" in out, out
    assert connack(kubectl, namespace, 4) == 0 and connack(kubectl, namespace, 5) == 0


# --- clustering ------------------------------------------------------------------------------------------------

# The node list of the pod's own REST API, asked with the API key the chart mounts (as helm test asks it).
NODES = """
import base64, json, urllib.request
key, secret = open("/opt/emqx/etc/api-key/bootstrap.txt").read().strip().split(":")[:2]
request = urllib.request.Request("http://127.0.0.1:18083/api/v5/nodes")
request.add_header("Authorization", "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode())
print(json.dumps({n["node"]: [n["node_status"], n["role"]] for n in json.load(urllib.request.urlopen(request))}))
"""


def cluster_view(kubectl, namespace: str, pod: str) -> dict[str, list[str]]:
    """{node: [node_status, role]} as `pod` lists them; {} while it cannot answer (starting, or being replaced)."""
    try:
        return json.loads(exec_in(kubectl, namespace, pod, "python3", "-c", NODES, check=False).stdout)
    except ValueError:
        return {}


def sees(kubectl, namespace: str, pod: str, expected: dict[str, list[str]]) -> None:
    try:
        wait_until(lambda: cluster_view(kubectl, namespace, pod) == expected, f"{pod} to list {expected}", timeout=60)
    except TimeoutError:
        pytest.fail(
            f"{pod} lists {cluster_view(kubectl, namespace, pod)}, not {expected}:\n{logs(kubectl, namespace, pod)}"
        )


def test_three_cores_and_a_replicant_cluster_and_helm_test_fails_without_one(standin_node, release, kubectl):
    """dns discovery (the default: SRV records of the headless Service, which lists the cores only) makes one
    cluster of three cores and a replicant; every node lists all four as EMQX does (emqx_mgmt.erl list_nodes/0)
    and `helm test` passes, a message published through each node reaching a subscriber of the next; with the
    stand-in's `no-route` fault on one core, helm test fails naming the two nodes of the first pair. A replicant
    that stops drops out of the list and helm test fails; a core restarted
    with another Erlang cookie cannot join (its handshake is refused) and the others list it as stopped."""
    rel = release()
    namespace = rel.namespace
    values = on_real_node(standin_node, replicaCount=3, license={"key": "evaluation"})
    placement = {k: values[k] for k in ("nodeSelector", "tolerations", "resources")}
    values |= {"replicants": {"enabled": True, "replicaCount": 1, **placement}}
    rel.install(values)
    up(kubectl, namespace, 4, cores=3)
    headless = f"emqx-ee-headless.{namespace}.svc.cluster.local"
    cores = {f"emqx@emqx-ee-{i}.{headless}": ["running", "core"] for i in range(3)}
    [replicant] = kubectl.get("pods", namespace, selector="app.kubernetes.io/component=replicant")
    everyone = cores | {f"emqx@{replicant['status']['podIP']}": ["running", "replicant"]}
    for pod in ("emqx-ee-0", "emqx-ee-1", "emqx-ee-2", replicant["metadata"]["name"]):
        sees(kubectl, namespace, pod, everyone)
    status = exec_in(kubectl, namespace, "emqx-ee-1", "/opt/emqx/bin/emqx", "ctl", "cluster", "status").stdout
    assert all(f"'{name}'" in status.split("stopped_nodes")[0] for name in everyone), status
    passed, said = helm_test(rel, kubectl, namespace)
    assert passed and "running cores [" in said and "PASS" in said, said
    names = [*cores, f"emqx@{replicant['status']['podIP']}"]  # cores, then replicants: the order helm test takes
    for source, target in zip(names, names[1:] + names[:1], strict=True):
        assert f"published through {source} and received through {target} on " in said, said
    try:
        exec_in(kubectl, namespace, "emqx-ee-1", "sh", "-c", f"echo no-route > {FAULTS}")
        passed, said = helm_test(rel, kubectl, namespace)
        assert not passed and f"FAIL MQTT round trip from {names[0]} to {names[1]}: the subscriber" in said, said
    finally:
        exec_in(kubectl, namespace, "emqx-ee-1", "rm", "-f", FAULTS, check=False)

    kubectl.run("scale", "deployment", "-n", namespace, "emqx-ee-replicant", "--replicas=0")
    sees(kubectl, namespace, "emqx-ee-0", cores)  # a replicant that stops drops out (mria.erl cluster_nodes/1)
    passed, said = helm_test(rel, kubectl, namespace)
    assert not passed and "0 running replicants, expected 1" in said, said

    env = pod_of(kubectl, namespace, "emqx-ee-2")["spec"]["containers"][0]["env"]
    ref = next(e["valueFrom"]["secretKeyRef"] for e in env if e["name"] == "EMQX_NODE__COOKIE")
    other = base64.b64encode(b"another-cookie").decode()
    kubectl.run("patch", "secret", "-n", namespace, ref["name"], "-p", json.dumps({"data": {ref["key"]: other}}))
    kubectl.run("delete", "pod", "-n", namespace, "emqx-ee-2")
    up(kubectl, namespace, 3)
    lost = f"emqx@emqx-ee-2.{headless}"
    sees(kubectl, namespace, "emqx-ee-0", cores | {lost: ["stopped", "core"]})
    sees(kubectl, namespace, "emqx-ee-2", {lost: ["running", "core"]})
    refused = f"Connection attempt from node {lost} rejected. Invalid challenge reply."
    assert refused in logs(kubectl, namespace, "emqx-ee-0"), logs(kubectl, namespace, "emqx-ee-0")
