"""`helm rollback` on a live release, Helm 4 and Helm 3: the rollback guard (a pre-rollback hook every revision
carries) refuses a rollback across a cookie rotation, an API key rotation or an identity change made with the
escape hatch, and lets through a rollback after a failed upgrade and the documented steps back.

On kwok NO CONTAINER RUNS: the hook Job's pod is marked Succeeded without running the script, so a real
`helm rollback` here always passes its guard. What the tests prove instead:
- the guard's verdicts, by running the script exactly as the hook would, from the test process: the script
  and expected.json from the target revision's stored hook manifest (`helm get hooks --revision N`), the Job's
  own command and environment, against the real API server, with a token of the hook's own ServiceAccount
  (TokenRequest API) bound by the hook's own Role and RoleBinding, applied from the same manifest;
- that a real `helm rollback` runs the target revision's hook Job before it applies anything (Helm records
  the hook's run in the new release record), even when the current revision carries no guard.
On the real node (scripts/node.sh) the hook's container does run: the last test has its Job refuse a real
`helm rollback` there and pass another.
The script's own cases (unreachable API server, every reason at once, ...): tests/unit/test_rollback_guard_script.py.
"""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.client import CoreV1Api

from harness.cluster import Kubectl, Release, wait_until
from harness.helm import HelmError, emqx_settings
from harness.real_node import on_real_node
from harness.scenarios import effective_values
from harness.statefulset import pods, wait_ready

pytestmark = [pytest.mark.smoke, pytest.mark.day2]

GUARD = "emqx-ee-rollback-guard"
THREE = {"replicaCount": 3, "license": {"key": "evaluation"}, "minReadySeconds": 0}
ONE = {"replicaCount": 1, "minReadySeconds": 0}
NEW_COOKIE = {"auth": {"erlangCookie": {"existingSecret": "new-cookie", "existingSecretKey": "cookie"}}}
# An object the API server refuses, applied after the StatefulSet and ConfigMap: the upgrade fails half-way.
REFUSED_OBJECT = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "Ingress",
    "metadata": {"name": "refused-by-the-api-server"},
    "spec": {
        "rules": [
            {
                "http": {
                    "paths": [
                        {"path": "/", "pathType": "Bogus", "backend": {"service": {"name": "x", "port": {"number": 1}}}}
                    ]
                }
            }
        ]
    },
}


STORED_HOOKS: dict[tuple[str, str, int], list[dict[str, Any]]] = {}


def with_values(base: dict[str, Any], *parts: dict[str, Any]) -> dict[str, Any]:
    out = base
    for part in parts:
        out = effective_values(part, out)
    return out


def api_access(kubeconfig: str, workdir: Path) -> tuple[str, str]:
    """(API server URL, CA file) of the kubeconfig's current context."""
    config = yaml.safe_load(Path(kubeconfig).read_text())
    context = next(c["context"] for c in config["contexts"] if c["name"] == config["current-context"])
    cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
    ca = cluster.get("certificate-authority")
    if not ca:
        ca = str(workdir / "ca.crt")
        Path(ca).write_bytes(base64.b64decode(cluster["certificate-authority-data"]))
    return cluster["server"], ca


def create(kubectl: Kubectl, objects: list[dict[str, Any]]) -> None:
    """Create the objects through the API client (no kubectl process)."""
    client = kubectl.api.client
    for obj in objects:
        resource = client.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
        resource.create(body=obj, namespace=obj["metadata"]["namespace"])


def delete(kubectl: Kubectl, objects: list[dict[str, Any]]) -> None:
    client = kubectl.api.client
    for obj in objects:
        resource = client.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
        resource.delete(name=obj["metadata"]["name"], namespace=obj["metadata"]["namespace"])


def token_of(kubectl: Kubectl, account: dict[str, Any]) -> str:
    """A token of the ServiceAccount from the TokenRequest API, as the kubelet gets one for the Job's Pod."""
    api = CoreV1Api(kubectl.api.client.client)
    request = {"spec": {"expirationSeconds": 600}}
    return api.create_namespaced_service_account_token(account["name"], account["namespace"], request).status.token


def run_guard(kubectl: Kubectl, rel: Release, revision: int, workdir: Path) -> subprocess.CompletedProcess:
    """Run revision `revision`'s rollback guard as its hook Job would, from this process (see the docstring)."""
    key = (rel.namespace, rel.name, revision)  # a stored revision never changes
    if key not in STORED_HOOKS:
        STORED_HOOKS[key] = rel.hooks(revision)
    hooks = [d for d in STORED_HOOKS[key] if d["metadata"]["annotations"].get("helm.sh/hook") == "pre-rollback"]
    kinds = sorted({d["kind"] for d in hooks})
    assert kinds == ["ConfigMap", "Job", "Role", "RoleBinding", "ServiceAccount"], f"revision {revision}: {kinds}"
    rbac = [d for d in hooks if d["kind"] in ("ServiceAccount", "Role", "RoleBinding")]
    create(kubectl, rbac)
    try:
        token = workdir / "token"
        token.write_text(token_of(kubectl, next(d["metadata"] for d in rbac if d["kind"] == "ServiceAccount")))
        files = next(d for d in hooks if d["kind"] == "ConfigMap")["data"]
        container = next(d for d in hooks if d["kind"] == "Job")["spec"]["template"]["spec"]["containers"][0]
        mount = next(m["mountPath"] for m in container["volumeMounts"] if m["name"] == "rollback-guard")
        for name, text in files.items():
            (workdir / name).write_text(text)
        # The Job's own command and environment, with its ConfigMap's mount point moved to workdir.
        command = [part.replace(mount, str(workdir)) for part in container["command"]]
        assert command[:2] == ["python3", "-B"], command
        env = {e["name"]: e["value"].replace(mount, str(workdir)) for e in container["env"]}
        server, ca = api_access(kubectl.kubeconfig, workdir)
        env |= {"API_SERVER": server, "API_CA_FILE": ca, "API_TOKEN_FILE": str(token)}
        return subprocess.run([sys.executable, *command[1:]], env=env, capture_output=True, text=True, timeout=60)
    finally:
        delete(kubectl, rbac)


def try_rollback(rel: Release, revision: int) -> bool:
    """One `helm rollback`: True when it went through, False when the quota still refused the hook Job."""
    try:
        rel.rollback(revision)
    except HelmError as err:
        assert "exceeded quota" in err.stderr or "forbidden" in err.stderr.lower(), err.stderr
        return False
    return True


def refused(proc: subprocess.CompletedProcess, revision: int, *names: str) -> str:
    message = proc.stderr
    assert proc.returncode == 1, f"revision {revision}: expected a refusal:\n{proc.stdout}{message}"
    assert message.startswith("refused before anything was rolled back"), message
    assert f"helm rollback emqx-ee {revision} -n " in message and "--no-hooks" in message, message
    for name in names:
        assert name in message, f"the refusal does not name {name!r}:\n{message}"
    return message


def passed(proc: subprocess.CompletedProcess, revision: int) -> str:
    assert proc.returncode == 0, f"revision {revision}: expected a pass:\n{proc.stdout}{proc.stderr}"
    assert f"may roll back to revision {revision}" in proc.stdout, proc.stdout
    return proc.stdout


def guard_ran(rel: Release, kubectl: Kubectl) -> dict[str, Any]:
    """The rollback guard Job's run, as Helm recorded it in the latest release record; the Job controller's
    event shows that the API server had the Job and started its Pod."""
    status = rel.status()
    jobs = [h for h in status["hooks"] if h["kind"] == "Job" and h["name"] == GUARD]
    assert len(jobs) == 1, status["hooks"]
    assert jobs[0]["events"] == ["pre-rollback"], jobs[0]

    def created() -> bool:
        events = kubectl.get("events", rel.namespace)
        return any(
            e["reason"] == "SuccessfulCreate"
            and e["involvedObject"]["kind"] == "Job"
            and e["involvedObject"]["name"] == GUARD
            for e in events
        )

    kubectl.wait_for(created, "the Job controller's SuccessfulCreate event of the guard", rel.namespace, ["events"])
    assert not kubectl.exists("job", rel.namespace, GUARD), "a passing guard is deleted"
    return jobs[0]["last_run"]


def drop_api_key_secret(kubectl: Kubectl, namespace: str) -> None:
    """The documented rotation of the generated API key, first half: drop the stored secret (the next upgrade
    with the same values generates a new one)."""
    kubectl.run(
        "patch",
        "secret",
        "emqx-ee",
        "-n",
        namespace,
        "--type=json",
        '-p=[{"op":"remove","path":"/data/api-key-secret"}]',
    )


def test_rollback_across_a_cookie_rotation_is_refused_and_the_stop_revision_lets_it_through(
    helm, release, kubectl, namespace, tmp_path
):
    rel = release(helm=helm)
    rel.install(THREE)  # 1: three nodes on the generated cookie
    wait_ready(kubectl, namespace, 3)
    rel.upgrade(with_values(THREE, {"replicaCount": 0}))  # 2: every node stopped
    kubectl.wait_for(
        lambda: (
            not pods(kubectl, namespace)
            and not kubectl.get("statefulset", namespace, "emqx-ee")["status"].get("replicas")
        ),
        "every node stopped",
        namespace,
    )
    kubectl.run(
        "create", "secret", "generic", "new-cookie", "-n", namespace, "--from-literal=cookie=rotated-cookie-0123456789"
    )
    rel.upgrade(with_values(THREE, NEW_COOKIE))  # 3: three nodes on the new cookie
    wait_ready(kubectl, namespace, 3)

    message = refused(run_guard(kubectl, rel, 1, tmp_path), 1, "Erlang cookie", "split the cluster")
    assert "Secret emqx-ee (key erlang-cookie)" in message and "Secret new-cookie (key cookie)" in message, message
    assert "stops every node" in passed(run_guard(kubectl, rel, 2, tmp_path), 2)

    # What a refusal does to a real rollback. The guard's container cannot fail here, so its Job is refused
    # instead (a quota of zero Jobs): Helm stops at the failed pre-rollback hook, before any resource of the
    # release changes, and leaves the release pending-rollback, which blocks the next upgrade until a rollback
    # to the deployed revision (whose guard passes) clears it, as docs/operations.md says.
    def release_objects() -> dict[str, Any]:
        return {k: v for k, v in rel.state(kubectl)["objects"].items() if "rollback-guard" not in k}

    before = release_objects()
    kubectl.run("create", "quota", "no-jobs", "--hard=count/jobs.batch=0", "-n", namespace)
    # Counted by the quota controller: the API server's quota admission (its own informer) has it too.
    kubectl.wait_for(
        lambda: kubectl.get("resourcequota", namespace, "no-jobs").get("status", {}).get("hard"),
        "the quota counted",
        namespace,
        ["resourcequotas"],
    )
    with pytest.raises(HelmError) as caught:
        rel.rollback(1)
    assert GUARD in caught.value.stderr, caught.value.stderr
    assert release_objects() == before, "a failed pre-rollback hook changed the release's objects"
    assert rel.record(kubectl) == (4, "pending-rollback")
    with pytest.raises(HelmError) as caught:
        rel.upgrade(with_values(THREE, NEW_COOKIE))
    assert "another operation (install/upgrade/rollback) is in progress" in caught.value.stderr
    kubectl.run("delete", "quota", "no-jobs", "-n", namespace)
    # Quota admission may see the deleted quota for a moment (informer lag): each refused try only adds
    # another pending-rollback record.
    wait_until(lambda: try_rollback(rel, 3), "the rollback to the deployed revision 3", timeout=60, interval=2)
    deployed, status = rel.record(kubectl)
    assert status == "deployed" and release_objects() == before

    # The documented step back: revision 2 stops every node (its hook runs first), then revision 1 may start.
    rel.rollback(2)
    assert guard_ran(rel, kubectl)["phase"] == "Succeeded"
    assert rel.record(kubectl) == (deployed + 1, "deployed")
    kubectl.wait_for(lambda: not pods(kubectl, namespace), "every node stopped by the rollback", namespace)
    kubectl.wait_for(
        lambda: not kubectl.get("statefulset", namespace, "emqx-ee")["status"].get("replicas"), "status 0", namespace
    )
    assert "no node runs" in passed(run_guard(kubectl, rel, 1, tmp_path), 1)


def test_rollback_across_api_key_and_identity_changes_is_refused_and_after_a_failed_upgrade_passes(
    helm, release, kubectl, namespace, tmp_path
):
    rel = release(helm=helm)
    rel.install(ONE)  # 1
    wait_ready(kubectl, namespace, 1)
    secret = kubectl.get("secret", namespace, "emqx-ee")["data"]["api-key-secret"]
    # The documented rotation of the generated API key: drop the stored secret, upgrade with the same values.
    drop_api_key_secret(kubectl, namespace)
    rel.upgrade(ONE)  # 2: a new API key
    assert kubectl.get("secret", namespace, "emqx-ee")["data"]["api-key-secret"] != secret
    message = refused(run_guard(kubectl, rel, 1, tmp_path), 1, "API key", "EMQX keeps the key it loaded")
    assert "node identity" not in message and "Erlang cookie" not in message, message

    rel.upgrade(with_values(ONE, {"emqxName": "broker", "upgradeGuards": {"allowIdentityChange": True}}))  # 3
    message = refused(run_guard(kubectl, rel, 2, tmp_path), 2, "emqxName: node names would change from broker@")
    assert "API key" not in message, "revisions 2 and 3 share the key"
    refused(run_guard(kubectl, rel, 1, tmp_path), 1, "emqxName", "API key")

    # 4: an upgrade the API server refuses half-way (its StatefulSet already applied), which also drops the
    # guard from its own revision: the hook that runs on the rollback can only be revision 3's.
    failing = {"emqxName": "broker", "emqxConfig": {"log.console.level": "debug"}, "rollbackGuard": {"enabled": False}}
    with pytest.raises(HelmError):
        rel.upgrade(with_values(ONE, failing, {"extraObjects": [REFUSED_OBJECT]}))
    assert rel.record(kubectl) == (4, "failed")
    assert emqx_settings(kubectl.get("statefulset", namespace, "emqx-ee"))["EMQX_LOG__CONSOLE__LEVEL"] == "debug"
    passed(run_guard(kubectl, rel, 3, tmp_path), 3)

    out = rel.rollback(3)
    assert "Rollback was a success" in out, out
    assert guard_ran(rel, kubectl)["phase"] == "Succeeded"
    assert rel.record(kubectl) == (5, "deployed")
    assert "EMQX_LOG__CONSOLE__LEVEL" not in emqx_settings(kubectl.get("statefulset", namespace, "emqx-ee"))


def test_guard_reads_across_namespaces_under_namespace_override(helm4, release, kubectl, namespace, tmp_path):
    """namespaceOverride: the nodes (and the hook Job) live in another namespace than the identity record, so
    the hook's Roles and RoleBindings span both; the script, with the hook's token, reads both and passes."""
    nodes = f"{namespace}-nodes"
    kubectl.run("create", "namespace", nodes)
    kubectl.run("label", "namespace", nodes, "pod-security.kubernetes.io/enforce=restricted")
    try:
        rel = release(helm=helm4)
        elsewhere = with_values(ONE, {"namespaceOverride": nodes, "persistence": {"enabled": False}})
        rel.install(elsewhere)  # 1
        wait_ready(kubectl, nodes, 1)
        rel.upgrade(with_values(elsewhere, {"emqxConfig": {"log.console.level": "debug"}}))  # 2
        roles = sorted(d["metadata"]["namespace"] for d in rel.hooks(1) if d["kind"] == "Role")
        assert roles == sorted([namespace, nodes]), roles
        passed(run_guard(kubectl, rel, 1, tmp_path), 1)
    finally:
        kubectl.run("delete", "namespace", nodes, "--wait=false")


def kubelet_ran(kubectl: Kubectl, namespace: str, node: str) -> list[dict[str, Any]]:
    """The guard's pods whose container the real node's kubelet started (its events outlive the deleted Pod)."""
    return [
        e
        for e in kubectl.get("events", namespace)
        if e["involvedObject"]["kind"] == "Pod"
        and e["involvedObject"]["name"].startswith(f"{GUARD}-")
        and e["reason"] == "Started"
        and (e.get("source", {}).get("host") or e.get("reportingInstance")) == node
    ]


def test_on_the_real_node_the_guard_refuses_a_rollback_for_real_and_passes_an_allowed_one(
    standin_node, helm4, release, kubectl, namespace
):
    """The guard's container really runs (kwok would mark its Pod Succeeded unrun): on the real node it reads the
    live StatefulSet through the `kubernetes` Service with its own token; across an API key rotation it exits 1
    and `helm rollback` fails with its message in the Pod's status, nothing rolled back; to a revision with the
    same key it exits 0 and the rollback goes through."""
    node = standin_node["NODE_NAME"]
    rel = release(helm=helm4)
    values = on_real_node(standin_node)
    rel.install(values)  # 1
    drop_api_key_secret(kubectl, namespace)
    rel.upgrade(values)  # 2: a new API key
    rel.upgrade(with_values(values, {"emqxConfig": {"log.console.level": "debug"}}))  # 3: same key as 2

    def release_objects() -> dict[str, Any]:
        """What Helm applies (the StatefulSet's spec among them); not its pods, whose roll to revision 3 the test
        does not wait for."""
        objects = rel.state(kubectl)["objects"].items()
        return {k: v for k, v in objects if "rollback-guard" not in k and not k.startswith("pod/")}

    before = release_objects()
    with pytest.raises(HelmError) as caught:
        rel.rollback(1)
    assert GUARD in caught.value.stderr, caught.value.stderr
    (failed,) = kubectl.get("pods", namespace, selector=f"job-name={GUARD}")
    assert failed["spec"]["nodeName"] == node, failed["spec"]
    (state,) = failed["status"]["containerStatuses"]
    ended = state["state"]["terminated"]
    assert state["containerID"].startswith("containerd://") and ended["exitCode"] == 1, state
    said = ended.get("message", "")
    assert said.startswith("refused before anything was rolled back"), said
    rotated = "API key: revision 1 would put back the API key that Secret emqx-ee (key api-key-bootstrap) held"
    assert rotated in said, said
    assert f"helm rollback emqx-ee 1 -n {namespace} --no-hooks" in said, said
    assert release_objects() == before, "a refused rollback changed the release's objects"
    assert rel.record(kubectl) == (4, "pending-rollback")

    out = rel.rollback(2)
    assert "Rollback was a success" in out, out
    assert guard_ran(rel, kubectl)["phase"] == "Succeeded"
    assert rel.record(kubectl) == (5, "deployed")
    assert "EMQX_LOG__CONSOLE__LEVEL" not in emqx_settings(kubectl.get("statefulset", namespace, "emqx-ee"))
    # Both runs were containers the real node's kubelet started: the refused one and the passing one.
    started = kubelet_ran(kubectl, namespace, node)
    assert len({e["involvedObject"]["name"] for e in started}) == 2, started
