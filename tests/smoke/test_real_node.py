"""The real node of the kwok cluster (scripts/node.sh): a pod scheduled there runs in a real container, started
by a real kubelet through containerd and runc, from an image built on this machine (scripts/node-image.sh).

One pod, as restricted as Pod Security "restricted" asks (the namespace enforces it), writes what it sees from
inside to its log, which the test reads through the API server (the API server asks the node's kubelet): its
uid, its capabilities (effective and bounding) and seccomp mode from /proc/self/status, what writing to /
does, a file it wrote to its emptyDir and read back, and the address cluster DNS gives the `kubernetes`
Service. kwok would have marked the pod Succeeded without running anything: the container ID, the exit code
and the log can only come from the runtime. A second pod becomes Ready only through a real exec probe,
`kubectl exec` reaches it, and its Service answers by name. A third asks the API server through the `kubernetes`
Service with its own service account token, as in-cluster clients do, and is held to its Role. The images the
node runs are the cached ones, each of which entered the cache only after a second build from its inputs gave the
same bytes, and their Python modules come with bytecode that stays valid under the packer's one mtime.

When the node is not up on kwok, these tests fail with the reason scripts/node.sh recorded: they never skip.
On kind there is no such node (every kind node already runs containers; this image is not loaded there).
"""

from __future__ import annotations

import importlib.util
import json
import re
import struct
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from harness.cluster import STATE, wait_until
from harness.namespaces import fresh_namespace
from harness.real_node import image, oci_image
from harness.tools import ROOT, tool

pytestmark = pytest.mark.smoke

NODE_SH = ROOT / "scripts" / "node.sh"
NODE_IMAGE = ROOT / "scripts" / "node-image.sh"
UID = 1000
# What the pod does: one JSON line of what it saw, then exit 0 (any exception fails the pod).
SCRIPT = """
import errno, json, os, socket
seen = {"uid": os.getuid(), "gid": os.getgid()}
status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines())
seen["cap_eff"] = int(status["CapEff"].strip(), 16)
seen["cap_bnd"] = int(status["CapBnd"].strip(), 16)
seen["seccomp"] = int(status["Seccomp"].strip())
try:
    open("/written-to-root", "w")
    seen["root_write"] = "succeeded"
except OSError as err:
    seen["root_write"] = errno.errorcode[err.errno]
with open("/scratch/out.txt", "w") as f:
    f.write("written by python3 in a real container")
seen["scratch"] = open("/scratch/out.txt").read()
seen["dns"] = socket.gethostbyname("kubernetes.default.svc.cluster.local")
print(json.dumps(seen), flush=True)
"""


def pod(name: str, namespace: str, node: dict[str, str], tolerate: bool = True, script: str = SCRIPT) -> dict:
    label = node["NODE_LABEL"]
    spec = {
        "restartPolicy": "Never",
        # python3 is the container's pid 1, which ignores SIGTERM: no 30 s wait when the namespace goes.
        "terminationGracePeriodSeconds": 1,
        "automountServiceAccountToken": False,
        "nodeSelector": {label: "true"},
        "securityContext": {"runAsUser": UID, "runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [
            {
                "name": "probe",
                "image": image("debian"),
                "imagePullPolicy": "Never",
                "command": ["python3", "-c", script],
                "securityContext": {
                    "readOnlyRootFilesystem": True,
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"]},
                },
                "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}],
            }
        ],
        "volumes": [{"name": "scratch", "emptyDir": {}}],
    }
    if tolerate:
        spec["tolerations"] = [{"key": label, "operator": "Exists", "effect": "NoSchedule"}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def finished(kubectl, namespace: str, name: str, what: str) -> dict:
    """The pod `name` once it has Succeeded or Failed."""
    return kubectl.wait_for(
        lambda: (p := kubectl.get("pod", namespace, name))["status"].get("phase") in ("Succeeded", "Failed") and p,
        f"{what} to finish on the real node",
        namespace,
        ("pods",),
        timeout=120,
    )


def test_a_restricted_pod_runs_in_a_real_container_on_the_real_node(real_node, kubectl, namespace):
    kubectl.run("apply", "-f", "-", stdin=json.dumps(pod("probe", namespace, real_node)))
    done = finished(kubectl, namespace, "probe", "the probe pod")
    logs = kubectl.run("logs", "-n", namespace, "probe", check=False)
    assert done["spec"]["nodeName"] == real_node["NODE_NAME"]
    (state,) = done["status"]["containerStatuses"]
    assert done["status"]["phase"] == "Succeeded", f"{state}\nlogs: {logs.stdout}{logs.stderr}"
    assert state["containerID"].startswith("containerd://"), state
    assert state["state"]["terminated"]["exitCode"] == 0
    assert logs.returncode == 0, f"the API server could not read the log from the kubelet: {logs.stderr}"
    seen = json.loads(logs.stdout.strip().splitlines()[-1])
    assert seen["uid"] == UID, seen
    assert seen["root_write"] == "EROFS", f"writing to / must fail on a read-only root: {seen}"
    # A non-root process has no effective capabilities anyway; dropping ALL empties the bounding set too.
    assert seen["cap_eff"] == 0 and seen["cap_bnd"] == 0, f"capabilities left after dropping ALL: {seen}"
    assert seen["seccomp"] == 2, f"RuntimeDefault means a seccomp filter (mode 2): {seen}"
    assert seen["scratch"] == "written by python3 in a real container"
    # The kubelet's clusterDNS is the cluster's CoreDNS (scripts/node.sh), which answers from the API server.
    assert seen["dns"] == kubectl.get("service", "default", "kubernetes")["spec"]["clusterIP"], seen


# Ready only once the file exists: the kubelet's exec probe runs `test -f` in the container until it does.
READY_AFTER = 3
PAGE = "served from the real node"
SERVE = f"""
import functools, http.server, time
time.sleep({READY_AFTER})
open("/scratch/index.html", "w").write({PAGE!r})
open("/scratch/ready", "w").close()
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory="/scratch")
http.server.ThreadingHTTPServer(("", 8080), handler).serve_forever()
"""
# Through cluster DNS and the Service's ClusterIP, which kube-proxy's iptables rules send back to the pod.
FETCH = "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())"


def test_the_kubelet_probes_and_execs_in_the_container(real_node, kubectl, namespace):
    """Readiness comes from a real exec probe (not before the container makes its file); `kubectl exec`
    reaches the container through the API server, the kubelet and containerd's streaming server; and from
    there the pod's own Service answers by name, through CoreDNS and kube-proxy."""
    spec = pod("serve", namespace, real_node, script=SERVE)
    spec["metadata"]["labels"] = {"app": "serve"}
    spec["spec"]["containers"][0]["readinessProbe"] = {
        "exec": {"command": ["test", "-f", "/scratch/ready"]},
        "periodSeconds": 1,
    }
    kubectl.run("apply", "-f", "-", stdin=json.dumps(spec))
    ready = kubectl.wait_for(
        lambda: (
            (p := kubectl.get("pod", namespace, "serve"))
            and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))
            and p
        ),
        "the serving pod to become Ready through its exec probe",
        namespace,
        ("pods",),
        timeout=120,
    )
    (state,) = ready["status"]["containerStatuses"]
    started = datetime.fromisoformat(state["state"]["running"]["startedAt"])
    (condition,) = [c for c in ready["status"]["conditions"] if c["type"] == "Ready"]
    became_ready = datetime.fromisoformat(condition["lastTransitionTime"])
    assert (became_ready - started).total_seconds() >= READY_AFTER - 1, (started, became_ready)
    out = kubectl.run("exec", "-n", namespace, "serve", "--", "python3", "-c", "import os; print(os.getuid())")
    assert out.stdout.strip() == str(UID), out
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {"selector": {"app": "serve"}, "ports": [{"port": 80, "targetPort": 8080}]},
    }
    kubectl.run("apply", "-f", "-", stdin=json.dumps(service))
    url = f"http://web.{namespace}.svc.cluster.local/"
    fetched = wait_until(
        lambda: (
            (r := kubectl.run("exec", "-n", namespace, "serve", "--", "python3", "-c", FETCH, url, check=False))
            and r.returncode == 0
            and r.stdout.strip()
        ),
        f"{url} to answer from the pod through its Service",
        timeout=60,
        interval=1,
    )
    assert fetched == PAGE


# What a pod asks the API server with its own service account, as in-cluster clients do (client-go's
# rest.InClusterConfig): the Service's address from KUBERNETES_SERVICE_HOST/PORT, the token and ca.crt of the
# projected volume, TLS verified against that CA and the name dialled. One JSON line of the answers.
ASK = """
import json, os, ssl, urllib.error, urllib.request
account = "/var/run/secrets/kubernetes.io/serviceaccount"
token = open(f"{account}/token").read().strip()
namespace = open(f"{account}/namespace").read().strip()
tls = ssl.create_default_context(cafile=f"{account}/ca.crt")
by_env = f"https://{os.environ['KUBERNETES_SERVICE_HOST']}:{os.environ['KUBERNETES_SERVICE_PORT']}"
def ask(base, path, body=None):
    request = urllib.request.Request(base + path, data=body, headers={"Authorization": f"Bearer {token}",
                                     "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10, context=tls) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())
seen = {"host": os.environ["KUBERNETES_SERVICE_HOST"], "port": os.environ["KUBERNETES_SERVICE_PORT"]}
for name, base in (("env", by_env), ("dns", "https://kubernetes.default.svc")):
    code, body = ask(base, f"/api/v1/namespaces/{namespace}/configmaps")
    seen[name] = [code, sorted(i["metadata"]["name"] for i in body.get("items", []))]
code, body = ask(by_env, f"/api/v1/namespaces/{namespace}/secrets")
seen["secrets"] = [code, body.get("message", "")]
review = json.dumps({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}).encode()
code, body = ask(by_env, "/apis/authentication.k8s.io/v1/selfsubjectreviews", review)
seen["whoami"] = [code, body.get("status", {}).get("userInfo", {}).get("username")]
# The name dialled is checked: the same server under a name its certificate does not carry is refused.
wrong = ssl.create_default_context(cafile=f"{account}/ca.crt")
try:
    import socket
    with socket.create_connection((os.environ["KUBERNETES_SERVICE_HOST"], 443), timeout=10) as raw:
        wrong.wrap_socket(raw, server_hostname="not-the-api-server.example").close()
    seen["wrong_name"] = "accepted"
except ssl.SSLCertVerificationError as err:
    seen["wrong_name"] = err.verify_message
print(json.dumps(seen), flush=True)
"""


def test_a_pod_reaches_the_api_server_through_the_kubernetes_service_with_its_token(real_node, kubectl, namespace):
    """A restricted pod on the real node reaches the API server as on any cluster: through the `kubernetes`
    Service's ClusterIP (kube-proxy) and through cluster DNS's kubernetes.default.svc, TLS verified against its
    ca.crt, authenticated by its projected token as its ServiceAccount, and held to that account's Role."""
    account = "reader"
    kubectl.run("create", "serviceaccount", account, "-n", namespace)
    kubectl.run("create", "role", account, "--verb=list", "--resource=configmaps", "-n", namespace)
    kubectl.run(
        "create",
        "rolebinding",
        account,
        f"--role={account}",
        f"--serviceaccount={namespace}:{account}",
        "-n",
        namespace,
    )
    kubectl.run("create", "configmap", "listed-by-the-pod", "--from-literal=k=v", "-n", namespace)
    spec = pod("ask", namespace, real_node, script=ASK)
    spec["spec"] |= {"serviceAccountName": account, "automountServiceAccountToken": True}
    spec["spec"]["containers"][0]["env"] = [{"name": "PYTHONDONTWRITEBYTECODE", "value": "1"}]
    kubectl.run("apply", "-f", "-", stdin=json.dumps(spec))
    done = finished(kubectl, namespace, "ask", "the asking pod")
    logs = kubectl.run("logs", "-n", namespace, "ask", check=False)
    assert done["spec"]["nodeName"] == real_node["NODE_NAME"]
    assert done["status"]["phase"] == "Succeeded", f"{done['status']}\nlogs: {logs.stdout}{logs.stderr}"
    seen = json.loads(logs.stdout.strip().splitlines()[-1])
    service = kubectl.get("service", "default", "kubernetes")["spec"]
    assert (seen["host"], seen["port"]) == (service["clusterIP"], str(service["ports"][0]["port"])), seen
    # The pod's own namespace's ConfigMaps, by both names of the API server.
    listed = sorted(c["metadata"]["name"] for c in kubectl.get("configmaps", namespace))
    assert "listed-by-the-pod" in listed
    assert seen["env"] == [200, listed] and seen["dns"] == [200, listed], seen
    user = f"system:serviceaccount:{namespace}:{account}"
    assert seen["whoami"] == [201, user], seen
    code, message = seen["secrets"]
    assert code == 403 and f'"{user}" cannot list resource "secrets"' in message, seen
    assert "Hostname mismatch" in seen["wrong_name"] or "IP address mismatch" in seen["wrong_name"], seen


def test_the_taint_keeps_other_pods_off_the_real_node(real_node, kubectl, namespace):
    """Only pods that tolerate the node's taint go there: the chart's pods (whose image is not on the node) never
    land on it by accident."""
    kubectl.run("apply", "-f", "-", stdin=json.dumps(pod("untolerated", namespace, real_node, tolerate=False)))
    message = kubectl.wait_for(
        lambda: next(
            (
                c.get("message", "")
                for c in kubectl.get("pod", namespace, "untolerated")["status"].get("conditions", [])
                if c["type"] == "PodScheduled" and c["status"] == "False"
            ),
            None,
        ),
        "the scheduler to refuse the untolerated pod",
        namespace,
        ("pods",),
        timeout=60,
    )
    # The selector leaves the real node only, which would take the pod without its taint; the scheduler turns
    # it down for the taint (the drills' tainted kwok nodes, when they run beside, add to that count).
    assert re.search(r"\b[1-9]\d* node\(s\) had untolerated taint", message), message
    assert not kubectl.get("pod", namespace, "untolerated")["spec"].get("nodeName"), "the pod was placed after all"


def test_the_kubelet_left_the_hosts_kernel_settings_alone(real_node):
    """The kubelet sets six kernel tunables unless they read right; it reads them from files bind-mounted in
    the node's mount namespace, so the host's values are those scripts/node.sh recorded before it started."""
    node = STATE / "node"
    before = dict(line.split("=", 1) for line in (node / "host-sysctl").read_text().splitlines())
    holder = (node / "namespaces.pid").read_text().strip()
    for name, value in before.items():
        path = "/proc/sys/" + name.replace(".", "/")
        assert Path(path).read_text().strip() == value, f"the host's {name} changed"
        inside = subprocess.run(["nsenter", "-t", holder, "-m", "cat", path], capture_output=True, text=True)
        wanted = (node / "sysctl" / name).read_text().strip()
        assert inside.stdout.strip() == wanted, f"the node's {name} is not the kubelet's value: {inside}"


def node_image(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(NODE_IMAGE), *args], capture_output=True, text=True, timeout=300)


def ctr(*args: str) -> list[list[str]]:
    """The rows (split into columns, without the heading) of a `ctr` listing of containerd's k8s.io namespace on
    the real node, from inside the node's namespaces."""
    holder = (STATE / "node" / "namespaces.pid").read_text().strip()
    listing = subprocess.run(
        ["nsenter", "-t", holder, "-m", "-n", tool("ctr"), "--address", "/run/containerd/containerd.sock"]
        + ["-n", "k8s.io", *args],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line.split() for line in listing.splitlines()[1:] if line.strip()]


def test_the_node_runs_the_cached_images_each_rebuilt_identically(real_node):
    """Each image containerd holds on the node has the digest of the cached tarball of this checkout's inputs,
    and that tarball's record names the same digest: a second build from the same inputs, in a scratch
    directory, gave the same bytes before it entered the cache (scripts/node-image.sh). The pause image, whose
    build takes a second, is rebuilt here once more against the cached tarball in use."""
    held = {row[0]: row[2] for row in ctr("images", "ls")}
    for name in ("pause", "debian", "standin"):
        cached = node_image("digest", name)
        assert cached.returncode == 0, cached.stderr
        digest = cached.stdout.strip()
        rebuilt = node_image("rebuilt", name)
        assert rebuilt.returncode == 0, f"{name}: no record of a second build: {rebuilt.stderr}"
        assert rebuilt.stdout.strip() == digest, f"{name}: the second build gave {rebuilt.stdout.strip()}, not {digest}"
        assert held.get(image(name)) == digest, f"the node holds {image(name)} as {held.get(image(name))}, not {digest}"
    verified = node_image("verify", "pause")
    assert verified.returncode == 0, verified.stderr


def containers_running() -> set[str]:
    """The IDs of the containers whose task runs on the real node now (containerd's view)."""
    return {row[0] for row in ctr("tasks", "ls") if row[2:3] == ["RUNNING"]}


def test_a_namespace_left_to_a_disposable_cluster_stops_what_it_ran_on_the_real_node(
    cluster, kube_cluster, kubectl, real_node
):
    """When scripts/test.sh removes the cluster at the end, each test's namespace is left for it, but what the
    namespace ran on the real node stops as the test ends: the containers of a StatefulSet's, a Deployment's and
    a bare pod there stop, their pods are gone and no controller makes them again. The namespace and what the
    real node does not run (a ConfigMap, a pod on a kwok node) stay."""
    sleep = "import time; time.sleep(3600)"
    with fresh_namespace(cluster, kube_cluster, kubectl, lambda: False, None, disposable=True) as ns:
        template = pod("sleeper", ns, real_node, script=sleep)
        template["spec"]["restartPolicy"] = "Always"
        objects = [pod("bare", ns, real_node, script=sleep), pod("elsewhere", ns, real_node, tolerate=False)]
        del objects[1]["spec"]["nodeSelector"]
        for kind, api in (("StatefulSet", "apps/v1"), ("Deployment", "apps/v1")):
            labels = {"app": kind.lower()}
            spec = {"replicas": 1, "selector": {"matchLabels": labels}}
            spec["template"] = {"metadata": {"labels": labels}, "spec": template["spec"]}
            if kind == "StatefulSet":
                spec["serviceName"] = "sleepers"
            objects.append(
                {"apiVersion": api, "kind": kind, "metadata": {"name": kind.lower(), "namespace": ns}, "spec": spec}
            )
        objects.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kept", "namespace": ns}})
        kubectl.run("apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}))

        def running_here() -> dict[str, str]:
            pods = [p for p in kubectl.get("pods", ns) if p["spec"].get("nodeName") == real_node["NODE_NAME"]]
            states = [(p["metadata"]["name"], s) for p in pods for s in p["status"].get("containerStatuses", [])]
            return {name: s["containerID"].split("//")[-1] for name, s in states if "running" in s["state"]}

        started = kubectl.wait_for(lambda: len(running_here()) == 3 and running_here(), "3 pods running", ns)
        assert set(started.values()) <= containers_running()
    assert kubectl.exists("namespace", None, ns), "the namespace is left for the cluster to go with"
    try:
        assert not [
            p["metadata"]["name"]
            for p in kubectl.get("pods", ns)
            if p["spec"].get("nodeName") == real_node["NODE_NAME"]
        ]
        for kind in ("statefulset", "deployment"):
            assert not kubectl.exists(kind, ns, kind), f"the {kind} is left to make its pod again"
        assert not kubectl.get("replicasets", ns), "the Deployment's ReplicaSet is left to make its pod again"
        assert kubectl.exists("configmap", ns, "kept") and kubectl.exists("pod", ns, "elsewhere")
        wait_until(
            lambda: not set(started.values()) & containers_running(),
            "the containers of the namespace to stop on the real node",
            timeout=60,
            interval=1,
        )
    finally:
        kubectl.run("delete", "namespace", ns, "--wait=false")


# A module's bytecode beside its source: <dir>/__pycache__/<name>.<tag>.pyc for <dir>/<name>.py.
PYC = re.compile(r"(?P<dir>.*/)__pycache__/(?P<name>[^/.]+)\.(?P<tag>[a-z]+-\d+)\.pyc")
PYTHON_DIRS = ("usr/lib/python3", "opt/emqx/lib/standin/")


def test_every_python_module_of_the_images_has_bytecode_checked_by_its_sources_hash():
    """The images' files all carry the packer's one mtime, so bytecode checked by timestamp (Debian's) would be
    stale and, with the pods' read-only root, compiled again by every python3 at every start. Each module under
    the images' Python directories has a .pyc of the image's Python that is checked by hash (PEP 552 flags 3)
    and holds its source's hash (importlib.util.source_hash), so the interpreter uses it as it is."""
    for name in ("debian", "standin"):
        found = node_image("path", name)
        assert found.returncode == 0, found.stderr
        files = {
            m.name: tar.extractfile(m).read()
            for _, m, tar in oci_image().layer_members(Path(found.stdout.strip()))
            if m.isreg() and m.name.startswith(PYTHON_DIRS) and m.name.endswith((".py", ".pyc"))
        }
        tags = {PYC.fullmatch(n)["tag"] for n in files if PYC.fullmatch(n)}
        assert len(tags) == 1, f"{name}: bytecode of {sorted(tags) or 'no'} Python versions"
        (tag,) = tags
        sources = sorted(n for n in files if n.endswith(".py"))
        assert "opt/emqx/lib/standin/emqx.py" in sources or name == "debian"
        wrong = []
        for source in sources:
            directory, _, module = source.rpartition("/")
            pyc = files.get(f"{directory}/__pycache__/{module[:-3]}.{tag}.pyc")
            if pyc is None:
                wrong.append(f"{source}: no bytecode")
                continue
            flags = struct.unpack("<I", pyc[4:8])[0]
            if flags != 3 or pyc[8:16] != importlib.util.source_hash(files[source]):
                wrong.append(f"{source}: flags {flags}, {'another' if flags else 'no'} source hash")
        assert len(sources) > 100, f"{name}: only {len(sources)} Python modules found"
        assert not wrong, f"{name}: {len(wrong)} of {len(sources)} modules: " + "; ".join(wrong[:10])
