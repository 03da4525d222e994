"""rollout: from `helm install` (or `helm upgrade`) to every pod Ready on the local cluster, for both pod management
policies, with kwok holding each pod back for an EMQX node's boot time.

Times come from the API: the end of a rollout is the newest Ready lastTransitionTime among the pods (written by the
kwok stage, 1 s resolution), the start is the local clock when helm is called (same machine, same clock). A watch on
the namespace's pods says when that moment has come, so no polling interval adds to the result; the watch's own
arrival time is kept next to it as a check.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import yaml
from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException

from .common import CHART, Bench, BenchError, stats, tool

BOOT_DELAY = "kwok.emqx-ee.test/boot-delay"  # read by the pod-ready stage of scripts/cluster/kwok-stages.yaml
REVISION = "bench.emqx-ee.test/revision"  # a pod template change: bumping it is the rolling upgrade
RELEASE = "emqx-ee"
POLICIES = ("Parallel", "OrderedReady")


def values(replicas: int, policy: str, boot_delay: float, revision: int = 1, batch: int = 1) -> dict[str, Any]:
    """The release's values; `batch` > 1 rolls that many pods at once, with a disruption budget that allows it
    (the chart refuses a batch above the budget)."""
    out: dict[str, Any] = {
        "replicaCount": replicas,
        "license": {"key": "evaluation"},
        "podManagementPolicy": policy,
        "podAnnotations": {BOOT_DELAY: f"{boot_delay:g}s", REVISION: str(revision)},
    }
    if batch > 1:
        out["updateStrategy"] = {"rollingUpdate": {"maxUnavailable": batch}}
        out["podDisruptionBudget"] = {"maxUnavailable": batch}
    return out


def api_time(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def ready_since(pod: dict[str, Any]) -> str | None:
    """When the pod became Ready (its condition's lastTransitionTime), or None while it is not Ready."""
    for cond in pod.get("status", {}).get("conditions") or []:
        if cond["type"] == "Ready" and cond["status"] == "True":
            return cond["lastTransitionTime"]
    return None


def rolled_out(pods: dict[str, dict[str, Any]], replicas: int, revision: int) -> bool:
    """Exactly `replicas` pods, none terminating, all Ready and of the pod template `revision`."""
    return len(pods) == replicas and all(
        not p["metadata"].get("deletionTimestamp")
        and (p["metadata"].get("annotations") or {}).get(REVISION) == str(revision)
        and ready_since(p)
        for p in pods.values()
    )


class Cluster:
    """The local cluster, through the official Kubernetes client (watches) and the real helm CLI."""

    def __init__(self, bench: Bench, kubeconfig: str):
        self.bench, self.kubeconfig = bench, kubeconfig
        self.core = client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig))

    def server_version(self) -> str:
        return client.VersionApi(self.core.api_client).get_code().git_version

    def create_namespace(self, name: str) -> str:
        name = f"{name}-{secrets.token_hex(2)}"
        labels = {"pod-security.kubernetes.io/enforce": "restricted", "emqx-ee.test/bench": "true"}
        self.core.create_namespace({"metadata": {"name": name, "labels": labels}})
        return name

    def delete_namespace(self, name: str, timeout: float = 180) -> None:
        """Delete the namespace, wait until it is gone, then delete the volumes its claims left Released (the pool
        retains released volumes, which nothing can bind again)."""
        try:
            self.core.delete_namespace(name)
        except ApiException as err:
            if err.status != 404:
                raise
        deadline = time.monotonic() + timeout
        while any(ns.metadata.name == name for ns in self.core.list_namespace().items):
            if time.monotonic() > deadline:
                raise BenchError(f"namespace {name} still terminating after {timeout:.0f}s")
            time.sleep(1)
        for pv in self.core.list_persistent_volume().items:
            ref = pv.spec.claim_ref
            if ref and ref.namespace == name and pv.status.phase == "Released":
                self.core.delete_persistent_volume(pv.metadata.name)

    def check_batch_rolls(self) -> None:
        """Batch rolls need the MaxUnavailableStatefulSet feature gate (off by default in Kubernetes 1.36): without
        it the API server drops rollingUpdate.maxUnavailable and the 'batch' runs would roll one at a time."""
        apps = client.AppsV1Api(self.core.api_client)
        probe = {
            "metadata": {"name": "bench-gate-probe"},
            "spec": {
                "selector": {"matchLabels": {"app": "probe"}},
                "serviceName": "probe",
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 2}},
                "template": {
                    "metadata": {"labels": {"app": "probe"}},
                    "spec": {"containers": [{"name": "c", "image": "probe"}]},
                },
            },
        }
        kept = apps.create_namespaced_stateful_set("default", probe, dry_run="All")
        if kept.spec.update_strategy.rolling_update.max_unavailable != 2:
            raise BenchError(
                "the API server drops StatefulSet rollingUpdate.maxUnavailable (feature gate MaxUnavailableStatefulSet "
                "off): re-create the cluster with scripts/cluster.sh, which turns it on"
            )

    def wait_for_quiet_nodes(self, timeout: float = 600) -> None:
        """Other people's failure drills cordon, taint or silence nodes for a while: wait until every node is Ready
        and schedulable again, so that a drill does not end up in the numbers."""
        deadline = time.monotonic() + timeout
        said = False
        while True:
            busy = []
            for node in self.core.list_node().items:
                ready = any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])
                taints = [t.key for t in node.spec.taints or [] if t.effect in ("NoSchedule", "NoExecute")]
                if not ready or node.spec.unschedulable or taints:
                    busy.append(node.metadata.name)
            if not busy:
                return
            if time.monotonic() > deadline:
                raise BenchError(f"nodes {', '.join(busy)} stayed not Ready, cordoned or tainted for {timeout:.0f}s")
            if not said:
                self.bench.step(f"[rollout] waiting for nodes {', '.join(busy)} (cordoned, tainted or not Ready)")
                said = True
            time.sleep(2)

    def ensure_volumes(self, count: int) -> None:
        from harness.volumes import ensure_free_volumes  # the harness's pool; imported late: it needs the cluster

        created = ensure_free_volumes(self.kubeconfig, count)
        if created:
            self.bench.log(f"volume pool: created {created} volumes")

    def measure(self, namespace: str, args: list[str], vals: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Start `helm <args>` with `vals` and follow the namespace's pods until the release has rolled out."""
        replicas, revision = vals["replicaCount"], int(vals["podAnnotations"][REVISION])
        listed = self.core.list_namespaced_pod(namespace, _preload_content=False)
        body = json.loads(listed.data)
        pods = {p["metadata"]["name"]: p for p in body["items"]}
        version = body["metadata"]["resourceVersion"]

        cmd = [tool("helm"), *args, "--kubeconfig", self.kubeconfig, "--namespace", namespace, "-f", "-"]
        self.bench.log(f"$ {' '.join(cmd)} <<< {json.dumps(vals)}")
        start = time.time()
        # helm without --wait returns once the objects are created; the watch then starts from the resource version
        # listed before helm ran, so it sees every pod event since, and the times come from the API anyway.
        helm = subprocess.run(cmd, input=json.dumps(vals), capture_output=True, text=True, timeout=300)
        self.bench.log(helm.stderr)
        if helm.returncode != 0:
            raise BenchError(f"helm {args[0]} exited {helm.returncode} (log: {self.bench.log_path})")
        seen_at = None
        deadline = time.monotonic() + timeout
        while seen_at is None:
            if time.monotonic() > deadline:
                raise BenchError(f"{namespace}: not rolled out after {timeout:.0f}s (log: {self.bench.log_path})")
            stream = watch.Watch().stream(
                self.core.list_namespaced_pod, namespace, resource_version=version, timeout_seconds=5, deserialize=False
            )
            try:
                for event in stream:
                    pod = event["object"]
                    version = pod["metadata"]["resourceVersion"]
                    if event["type"] == "DELETED":
                        pods.pop(pod["metadata"]["name"], None)
                    else:
                        pods[pod["metadata"]["name"]] = pod
                    if rolled_out(pods, replicas, revision):
                        seen_at = time.time()
                        break
            except ApiException as err:
                if err.status != 410:  # 410: the watch's resource version expired; list again below
                    raise
                body = json.loads(self.core.list_namespaced_pod(namespace, _preload_content=False).data)
                pods = {p["metadata"]["name"]: p for p in body["items"]}
                version = body["metadata"]["resourceVersion"]
        timeline = sorted(
            (
                {
                    "pod": name,
                    "created": api_time(p["metadata"]["creationTimestamp"]) - start,
                    "ready": api_time(ready_since(p)) - start,
                }
                for name, p in pods.items()
            ),
            key=lambda t: t["created"],
        )
        seconds = max(t["ready"] for t in timeline)
        if abs(seconds - (seen_at - start)) > 1.5:
            self.bench.log(f"warning: API says {seconds:.1f}s, the watch saw it at {seen_at - start:.1f}s")
        return {"seconds": seconds, "watch_seconds": seen_at - start, "pods": timeline}


def chart_min_ready_seconds() -> int:
    return int(yaml.safe_load((CHART / "values.yaml").read_text())["minReadySeconds"])


def timeout_for(replicas: int, boot_delay: float) -> float:
    """Generous: every pod one after the other, each with its boot delay, minReadySeconds and some slack."""
    return 120 + replicas * (boot_delay + chart_min_ready_seconds() + 30)


def run(
    bench: Bench,
    kubeconfig: str,
    replicas: list[int],
    policies: list[str],
    repeat: int,
    boot_delay: float,
    upgrade_replicas: list[int],
    scale: tuple[int, int] | None,
    upgrade_batches: tuple[int, ...] | list[int] = (1,),
) -> dict[str, Any]:
    cluster = Cluster(bench, kubeconfig)
    if any(b > 1 for b in upgrade_batches):
        cluster.check_batch_rolls()
    result: dict[str, Any] = {
        "boot_delay": boot_delay,
        "min_ready_seconds": chart_min_ready_seconds(),
        "kubernetes_server": cluster.server_version(),
        "repeat": repeat,
        "install": [],
        "upgrade": [],
        "scale": [],
    }

    def series(
        kind: str, label: str, name: str, prepare: Callable[[str], Any], measured: Callable[[str], Any], **fields: Any
    ) -> None:
        """Repeat one measurement in fresh namespaces; `prepare` brings the release to its starting point."""
        runs = []
        for i in range(repeat):
            cluster.wait_for_quiet_nodes()
            namespace = cluster.create_namespace(name)
            try:
                prepare(namespace)
                runs.append(measured(namespace))
            finally:
                cluster.delete_namespace(namespace)
            bench.step(
                f"[rollout] {label} {fields['policy']}, run {i + 1}/{repeat}: {runs[-1]['seconds']:.1f} s ({namespace})"
            )
        entry = {"label": label, **fields, **stats([r["seconds"] for r in runs]), "details": runs}
        result[kind].append(entry)
        bench.save("rollout", result)

    def helm(verb: str, vals: dict[str, Any]) -> Callable[[str], dict[str, Any]]:
        """`helm install` or `helm upgrade` with `vals` in a namespace, measured until rolled out."""

        def go(namespace: str) -> dict[str, Any]:
            n = vals["replicaCount"]
            cluster.ensure_volumes(n + 3)  # a few spare: smoke tests draw from the same pool meanwhile
            return cluster.measure(namespace, [verb, RELEASE, str(CHART)], vals, timeout_for(n, boot_delay))

        return go

    for policy in policies:
        for n in replicas:
            series(
                "install",
                f"install {n}",
                f"bench-install-{n}-{policy.lower()}",
                lambda namespace: None,
                helm("install", values(n, policy, boot_delay)),
                replicas=n,
                policy=policy,
            )
    for n in upgrade_replicas:
        # A rolling upgrade replaces the pods `batch` at a time (one by default), highest ordinal first.
        for batch in upgrade_batches:
            series(
                "upgrade",
                f"rolling upgrade of {n}" + (f", {batch} at a time" if batch > 1 else ""),
                f"bench-upgrade-{n}" + (f"-by-{batch}" if batch > 1 else ""),
                helm("install", values(n, "Parallel", boot_delay, batch=batch)),
                helm("upgrade", values(n, "Parallel", boot_delay, revision=2, batch=batch)),
                replicas=n,
                policy="Parallel",
                batch=batch,
            )
    if scale:
        low, high = scale
        for policy in policies:
            series(
                "scale",
                f"scale {low} to {high}",
                f"bench-scale-{low}-{high}-{policy.lower()}",
                helm("install", values(low, policy, boot_delay)),
                helm("upgrade", values(high, policy, boot_delay)),
                policy=policy,
                replicas=high,
                start=low,
            )
    return result
