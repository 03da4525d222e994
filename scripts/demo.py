"""The main job: the StatefulSet course, lesson by lesson, on the local cluster with real output.

Run it through scripts/demo.sh, which brings the cluster up first. Every step prints the command a user
would type and what the cluster answered; every lesson ends with facts read back from the cluster,
marked [ok] or [NOT AS EXPECTED] (the run then exits 1).

  scripts/demo.py                      all lessons, in a fresh namespace emqx-demo
  scripts/demo.py --list               the lesson names
  scripts/demo.py --lesson ordered-rollout --lesson keep-data     some lessons (plus the install they need)
  scripts/demo.py --step               wait for Enter between lessons
  scripts/demo.py --namespace NS       somewhere else (tests/smoke/test_demo.py runs it in its own)
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import re
import shlex
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from harness.cluster import (
    STATE,
    ClusterInfo,
    Dns,
    Kubectl,
    Release,
    cluster_info,
    port_forward_dns,
    wait_until,
)
from harness.statefulset import claim_of, claims, node_host, pods, ready_since, wait_ready
from harness.tools import ROOT, helm
from harness.volumes import ensure_free_volumes

RELEASE = "emqx-ee"
STS_SELECTOR = "app.kubernetes.io/name=emqx-ee,app.kubernetes.io/instance=emqx-ee"
# The only namespaces demo.py ever deletes are those it created, marked with this label.
CREATED_BY = "emqx-ee.demo/created-by"
RESTRICTED = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": "latest",
}
# The install every lesson builds on, as --set flags: three nodes with the course's claims (20Mi in StorageClass
# standard). minReadySeconds 0: the chart's default 10 s would only slow the demo's rollouts down.
INSTALL = {
    "replicaCount": 3,
    "license.key": "evaluation",
    "minReadySeconds": 0,
    "persistence.size": "20Mi",
    "persistence.storageClass": "standard",
}
# On kwok a pod annotated with this duration becomes Ready only that long after it is scheduled, like a booting
# EMQX node (scripts/cluster/kwok-stages.yaml); without it every pod is Ready at once and no order shows.
BOOT_DELAY = "3s"
POD_COLUMNS = (
    "custom-columns=POD:.metadata.name,NODE:.spec.nodeName,IP:.status.podIP,"
    'CLAIM:.spec.volumes[?(@.name=="emqx-data")].persistentVolumeClaim.claimName'
)
CLAIM_COLUMNS = (
    "custom-columns=CLAIM:.metadata.name,STATUS:.status.phase,CLASS:.spec.storageClassName,"
    "SIZE:.spec.resources.requests.storage,ACCESS:.spec.accessModes[*],VOLUME:.spec.volumeName"
)


# ---------------------------------------------------------------------------------------------- printing


def title(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m")


def say(text: str = "") -> None:
    print(f"   {text}" if text else "")


def command(line: str) -> None:
    print(f"$ {line}")


def set_flags(settings: dict[str, Any]) -> str:
    """--set flags as a shell user types them (quoted where the shell would otherwise eat a backslash)."""
    return " ".join(
        f"--set {shlex.quote(f'{key}={json.dumps(v) if isinstance(v, bool) else v}')}" for key, v in settings.items()
    )


def nested(settings: dict[str, Any]) -> dict[str, Any]:
    """--set style keys (dots separate levels, `\\.` is a literal dot) as the values tree Helm builds from them."""
    values: dict[str, Any] = {}
    for key, value in settings.items():
        *parents, leaf = [part.replace("\\.", ".") for part in re.split(r"(?<!\\)\.", key)]
        node = values
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return values


def to_yaml(obj: Any) -> str:
    """YAML as a user writes it: through JSON first, so that a dict used twice gives no YAML anchors."""
    return yaml.safe_dump(json.loads(json.dumps(obj)), sort_keys=False)


def seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def fingerprint(b64: str) -> str:
    """A short digest of a secret value: enough to compare, nothing to leak."""
    return "sha256:" + hashlib.sha256(b64.encode()).hexdigest()[:16]


# ---------------------------------------------------------------------------------------------- the demo


class Demo:
    """The cluster, the namespace and the facts seen so far."""

    def __init__(self, info: ClusterInfo, namespace: str):
        self.info, self.ns = info, namespace
        self.kubectl = Kubectl(info.kubeconfig)
        self.helm = helm(4)
        self.failures: list[str] = []
        self._dns: Dns | None = None
        self._forward: Any = None
        self.files = STATE / "demo" / namespace  # the manifests the lessons apply

    # kubectl and helm, shown as typed
    def kubectl_shown(self, *args: str, namespaced: bool = True) -> str:
        scope = ["-n", self.ns] if namespaced else []
        command(shlex.join(["kubectl", *scope, *args]))
        proc = self.kubectl.run(*scope, *args)
        out = proc.stdout.rstrip()
        print(out or proc.stderr.rstrip())  # "No resources found ..." comes on stderr
        return out

    def apply(self, name: str, *manifests: dict[str, Any], show: dict[str, Any] | None = None) -> None:
        """Write the manifests to a file the user can apply again, show it (or `show` in its place), apply it."""
        self.files.mkdir(parents=True, exist_ok=True)
        path = self.files / f"{name}.yaml"
        path.write_text("---\n".join(to_yaml(m) for m in manifests))
        shown_path = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        print(f"# {shown_path}{' (abridged)' if show else ''}:")
        print(to_yaml(show or manifests[0]).rstrip())
        command(f"kubectl -n {self.ns} apply -f {shown_path}")
        print(self.kubectl.run("-n", self.ns, "apply", "-f", str(path)).stdout.rstrip())

    def release(self, name: str = RELEASE) -> Release:
        return Release(self.helm, self.info.kubeconfig, self.ns, name)

    def helm_install(self, settings: dict[str, Any], name: str = RELEASE) -> None:
        """`helm upgrade --install` with exactly these --set values (run with the same values as data)."""
        command(f"helm upgrade --install {name} charts/emqx-ee -n {self.ns} {set_flags(settings)}")
        out = self.release(name).upgrade(nested(settings), install=True)
        print(out.split("NOTES:")[0].rstrip())
        print(f"NOTES: ... (helm status {name} -n {self.ns} shows them)")

    def helm_uninstall(self, name: str = RELEASE) -> None:
        command(f"helm uninstall {name} -n {self.ns} --wait")
        print(self.release(name).uninstall().rstrip())

    def installed(self, name: str = RELEASE) -> bool:
        proc = self.kubectl.run("-n", self.ns, "get", "secret", "-l", f"owner=helm,name={name}", "-o", "name")
        return bool(proc.stdout.strip())

    # facts
    def fact(self, holds: bool, text: str) -> None:
        print(f"   [{'ok' if holds else 'NOT AS EXPECTED'}] {text}")
        if not holds:
            self.failures.append(text)

    # reading the cluster
    def claims(self) -> dict[str, dict[str, Any]]:
        return claims(self.kubectl, self.ns)

    def pods(self, release: str = RELEASE) -> list[dict[str, Any]]:
        return pods(self.kubectl, self.ns, release)

    def zone_of_node(self, node: str) -> str:
        return self.kubectl.get("node", "", node)["metadata"]["labels"].get("topology.kubernetes.io/zone", "?")

    def show_service_records(self, service: str, ips: set[str]) -> None:
        """Wait until DNS serves the pod IPs `ips` under `service`, then print its A and SRV records."""
        wait_until(lambda: self.dns.a(service) == ips, f"A records of {service}", timeout=30)
        say(f"DNS A   {service} -> {sorted(self.dns.a(service))}")
        for target in sorted(self.dns.srv_targets(service)):
            say(f"DNS SRV {service} -> {target}")

    @property
    def dns(self) -> Dns:
        if self._dns is None:
            server = self.info.dns_server
            if not server:  # kind: reach kube-dns through a port-forward
                self._forward, server = port_forward_dns(self.info.kubeconfig)
            self._dns = Dns(server)
        return self._dns

    def fqdn(self, host: str, service: str) -> str:
        return f"{host}.{service}.{self.ns}.svc.cluster.local" if host else f"{service}.{self.ns}.svc.cluster.local"

    def close(self) -> None:
        if self._forward:
            self._forward.terminate()


# ---------------------------------------------------------------------------------------------- lessons


def lesson_cluster(d: Demo) -> None:
    title(f"The cluster: {d.info.runtime}")
    if d.info.runtime == "kwok":
        say("A real Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler) with")
        say("kwok simulating 3 nodes. Controllers, scheduling, volume binding, admission and DNS (CoreDNS) are real;")
        say("no container runs, so pods are 'Running' without EMQX inside. Everything about identity, ordering and")
        say("storage below is real controller behaviour; where kwok cannot show something, the lesson says so.")
        say("Where the machine allows it, a fourth node, emqx-ee-node-0, is a real kubelet: it is tainted, so only")
        say("pods that ask for it run there (the harness's own tests), never the chart's.")
    else:
        say("kind: Kubernetes in Docker. EMQX really runs in the pods.")
    d.kubectl_shown("get", "nodes", "-L", "topology.kubernetes.io/zone", namespaced=False)


def lesson_install(d: Demo) -> None:
    title("Install EMQX Enterprise: 3 nodes, each with a 20Mi claim in StorageClass 'standard' (as in the course)")
    say(f"Namespace {d.ns} enforces Pod Security 'restricted'.")
    if (
        d.kubectl.exists("statefulset", d.ns, RELEASE)
        and d.kubectl.get("statefulset", d.ns, RELEASE)["spec"]["replicas"] != 3
    ):
        say("An earlier run left another replica count. Helm 4 applies server-side, and kubectl scale made kubectl")
        say("the owner of spec.replicas: an upgrade to another count would fail with a conflict. Scale back first:")
        d.kubectl_shown("scale", f"statefulset/{RELEASE}", "--replicas=3")
    d.helm_install(INSTALL)
    wait_ready(d.kubectl, d.ns, 3)
    d.kubectl_shown("get", "statefulset", RELEASE)
    say("The claim template (volumeClaimTemplates) that persistence.size and persistence.storageClass fill in:")
    d.kubectl_shown(
        "get",
        "statefulset",
        RELEASE,
        "-o",
        "jsonpath={range .spec.volumeClaimTemplates[*]}name={.metadata.name} "
        "storageClassName={.spec.storageClassName} storage={.spec.resources.requests.storage} "
        "accessModes={.spec.accessModes}{end}",
    )
    print()
    d.kubectl_shown("get", "pvc", "-l", STS_SELECTOR, "-o", CLAIM_COLUMNS)
    found = d.claims()
    for i in range(3):
        spec = found[f"emqx-data-emqx-ee-{i}"]["spec"]
        d.fact(
            spec.get("storageClassName") == "standard" and spec["resources"]["requests"]["storage"] == "20Mi",
            f"emqx-data-emqx-ee-{i}: storageClassName standard, 20Mi, as the course's claims",
        )


def lesson_identity(d: Demo) -> None:
    title("Stable network identity: pods are named <StatefulSet>-<ordinal> and keep that name for life")
    d.kubectl_shown("get", "pods", "-l", STS_SELECTOR, "-o", "wide")
    say("The course lists its Services by label; with the chart's labels that query reads:")
    d.kubectl_shown("get", "svc", "-l", STS_SELECTOR)
    say("emqx-ee-headless has clusterIP None: DNS answers with the pod IPs, and each pod gets its own name")
    say("<pod>.emqx-ee-headless.<namespace>.svc.cluster.local. Its ports (18083 is EMQX 5/6's dashboard and REST")
    say("API, /api/v5; the course's 8081 'http-management-8081' was EMQX 4's management API):")
    d.kubectl_shown(
        "get", "svc", "emqx-ee-headless", "-o", "jsonpath={range .spec.ports[*]}{.name}={.port} {end}{'\\n'}"
    )
    headless = d.fqdn("", "emqx-ee-headless")
    live = d.pods()
    d.show_service_records(headless, {p["status"]["podIP"] for p in live})
    say("EMQX finds its peers through these SRV records; each node is named emqx@<its own DNS name>:")
    for pod in live:
        name, ip = pod["metadata"]["name"], pod["status"]["podIP"]
        answer = d.dns.a(node_host(pod))
        say(f"{name}: emqx@{node_host(pod)} -> {sorted(answer)}")
        d.fact(answer == {ip}, f"{name}'s DNS name resolves to its own IP {ip}")


def lesson_storage(d: Demo) -> None:
    title("Per-pod storage: one PersistentVolumeClaim per ordinal, named emqx-data-<pod>")
    d.kubectl_shown("get", "pods", "-l", STS_SELECTOR, "-o", POD_COLUMNS)
    d.kubectl_shown("get", "pvc", "-l", STS_SELECTOR, "-o", CLAIM_COLUMNS)
    found = d.claims()
    volumes = set()
    for pod in d.pods():
        name = pod["metadata"]["name"]
        volumes.add(found[claim_of(pod)]["spec"].get("volumeName"))
        d.fact(claim_of(pod) == f"emqx-data-{name}", f"{name} mounts its own claim emqx-data-{name}")
    d.fact(len(volumes) == 3 and None not in volumes, "three claims, three different volumes")


def zonal_volume(d: Demo, zone: str) -> dict[str, Any]:
    """A pre-created volume that only nodes of `zone` can use, reserved for this namespace's demo claim by a label
    and by its size (5Mi: every other claim of the cluster asks for more, so none binds it)."""
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": f"{d.ns}-{zone}", "labels": {"emqx-ee.demo/namespace": d.ns}},
        "spec": {
            "capacity": {"storage": "5Mi"},
            "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": "standard",
            "hostPath": {"path": f"/var/lib/emqx-ee-demo/{d.ns}/{zone}"},
            "nodeAffinity": {
                "required": {
                    "nodeSelectorTerms": [
                        {
                            "matchExpressions": [
                                {"key": "topology.kubernetes.io/zone", "operator": "In", "values": [zone]}
                            ]
                        }
                    ]
                }
            },
        },
    }


def remove_zonal_demo(d: Demo, shown: bool) -> None:
    """The zonal demo's pod, claim and volumes (volumes only if no other namespace's claim holds them)."""
    for kind, name in (("pod", "zonal-pod"), ("pvc", "zonal-data")):
        args = ("delete", kind, name, "--ignore-not-found", "--wait")
        d.kubectl_shown(*args) if shown else d.kubectl.run("-n", d.ns, *args)
    mine = [
        pv["metadata"]["name"]
        for pv in d.kubectl.get("pv", "", selector=f"emqx-ee.demo/namespace={d.ns}")
        if pv["spec"].get("claimRef", {}).get("namespace", d.ns) == d.ns
    ]
    if mine:
        args = ("delete", "pv", *mine, "--wait")
        d.kubectl_shown(*args, namespaced=False) if shown else d.kubectl.run(*args)


def pv_columns() -> str:
    return (
        "custom-columns=VOLUME:.metadata.name,CAPACITY:.spec.capacity.storage,ACCESS:.spec.accessModes[*],"
        "RECLAIM:.spec.persistentVolumeReclaimPolicy,STATUS:.status.phase,CLAIM:.spec.claimRef.name,"
        "ZONE:.spec.nodeAffinity.required.nodeSelectorTerms[*].matchExpressions[*].values[*]"
    )


def lesson_storage_class(d: Demo) -> None:
    title("StorageClass, PersistentVolumes and claims: who provides the disk, and when it is picked")
    d.kubectl_shown("get", "storageclass", "standard", namespaced=False)
    sc = d.kubectl.get("storageclass", "", "standard")
    say(
        f"provisioner {sc['provisioner']}, reclaimPolicy {sc.get('reclaimPolicy')}, "
        f"volumeBindingMode {sc.get('volumeBindingMode')}."
    )
    if sc["provisioner"] == "kubernetes.io/no-provisioner":
        say("Static provisioning: an administrator (here scripts/cluster.sh, and this demo) creates the volumes ahead,")
        say("and the scheduler and PV controller bind each claim to a free one. A cloud's StorageClass names a")
        say("provisioner that creates a disk per claim instead.")
    say("The volumes bound to the StatefulSet's claims, and the claim each one serves:")
    volumes = sorted(c["spec"]["volumeName"] for c in d.claims().values() if c["spec"].get("volumeName"))
    d.kubectl_shown("get", "pv", *volumes, "-o", pv_columns(), namespaced=False)
    sizes = {d.kubectl.get("pv", "", v)["spec"]["capacity"]["storage"] for v in volumes}
    if sizes != {"20Mi"}:
        say(f"The 20Mi claims hold {'/'.join(sorted(sizes))} volumes: a claim binds the smallest free volume that")
        say("fits, and this pool only has bigger ones; a dynamic provisioner would create 20Mi disks.")

    say()
    say("WaitForFirstConsumer, step by step: three volumes, one per zone, each usable only by nodes of its zone")
    remove_zonal_demo(d, shown=False)  # what an interrupted earlier run left
    # The nodes of a zone (the kwok runtime's real node has none and takes no chart pod).
    labels = [n["metadata"]["labels"] for n in d.kubectl.get("nodes", "")]
    zones = sorted({z for z in (lab.get("topology.kubernetes.io/zone") for lab in labels) if z})
    d.apply("zonal-volumes", *(zonal_volume(d, zone) for zone in zones))
    say(f"(and the same for {', '.join(zones[1:])})")
    d.kubectl_shown("get", "pv", "-l", f"emqx-ee.demo/namespace={d.ns}", "-o", pv_columns(), namespaced=False)
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "zonal-data"},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": "standard",
            "selector": {"matchLabels": {"emqx-ee.demo/namespace": d.ns}},
            "resources": {"requests": {"storage": "5Mi"}},
        },
    }
    d.apply("zonal-claim", claim)

    def waiting_event() -> list[dict[str, Any]]:
        events = d.kubectl.get("events", d.ns)
        return [
            e for e in events if e["involvedObject"]["name"] == "zonal-data" and e["reason"] == "WaitForFirstConsumer"
        ]

    wait_until(waiting_event, "the WaitForFirstConsumer event of zonal-data", timeout=30)
    d.kubectl_shown("get", "pvc", "zonal-data")
    d.kubectl_shown(
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=zonal-data",
        "-o",
        "custom-columns=REASON:.reason,MESSAGE:.message",
    )
    phase = d.kubectl.get("pvc", d.ns, "zonal-data")["status"]["phase"]
    say(f"zonal-data before the pod: {phase}")
    d.fact(phase == "Pending", "the claim waits for its first pod: no volume is picked before the pod is scheduled")
    say("Now a pod that uses the claim. The scheduler picks a node where one of the claim's volumes can go,")
    say("then binds the volume of that node's zone:")
    image = d.kubectl.get("statefulset", d.ns, RELEASE)["spec"]["template"]["spec"]["containers"][0]["image"]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "zonal-pod"},
        "spec": {
            "terminationGracePeriodSeconds": 0,
            "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [
                {
                    "name": "main",
                    "image": image,
                    "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                    "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                }
            ],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "zonal-data"}}],
        },
    }
    d.apply("zonal-pod", pod)

    def bound_and_scheduled() -> bool:
        pvc = d.kubectl.get("pvc", d.ns, "zonal-data")
        return pvc["status"]["phase"] == "Bound" and bool(
            d.kubectl.get("pod", d.ns, "zonal-pod")["spec"].get("nodeName")
        )

    # The scheduler binds the volume first (PreBind), then the pod to its node.
    wait_until(bound_and_scheduled, "zonal-data bound and zonal-pod scheduled", timeout=60)
    volume = d.kubectl.get("pvc", d.ns, "zonal-data")["spec"]["volumeName"]
    d.kubectl_shown("get", "pod", "zonal-pod", "-o", "wide")
    d.kubectl_shown("get", "pvc", "zonal-data")
    d.kubectl_shown("get", "pv", "-l", f"emqx-ee.demo/namespace={d.ns}", "-o", pv_columns(), namespaced=False)
    node = d.kubectl.get("pod", d.ns, "zonal-pod")["spec"]["nodeName"]
    node_zone = d.zone_of_node(node)
    terms = d.kubectl.get("pv", "", volume)["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"]
    volume_zone = terms[0]["matchExpressions"][0]["values"][0]
    say(f"zonal-pod on {node} ({node_zone}); zonal-data bound to volume {volume} ({volume_zone})")
    d.fact(node_zone == volume_zone, "the claim got the volume of the zone its pod was scheduled to")
    say("(kwok has no volume plugin: the binding above is real, but nothing is mounted.)")
    remove_zonal_demo(d, shown=True)


DEPLOYMENT = "emqx-as-deployment"
DEPLOYMENT_LABELS = {"app.kubernetes.io/name": DEPLOYMENT, "app.kubernetes.io/part-of": "emqx-demo"}


def remove_deployment(d: Demo, shown: bool) -> None:
    """The Deployment lesson's objects, and the volume its claim held (released, so of no use to anyone)."""
    claim = d.claims().get(f"{DEPLOYMENT}-data", {})
    args = ("delete", f"deployment/{DEPLOYMENT}", f"service/{DEPLOYMENT}", f"pvc/{DEPLOYMENT}-data")
    if shown:
        d.kubectl_shown(*args, "--ignore-not-found", "--wait")
    else:
        d.kubectl.run("-n", d.ns, *args, "--ignore-not-found", "--wait")
    volume = claim.get("spec", {}).get("volumeName")
    if volume:

        def released() -> bool:
            pv = d.kubectl.run("get", "pv", volume, "-o", "json", check=False)
            return pv.returncode != 0 or json.loads(pv.stdout)["status"]["phase"] != "Bound"

        wait_until(released, f"volume {volume} to be released", timeout=60)
        args = ("delete", "pv", volume, "--ignore-not-found")
        d.kubectl_shown(*args, namespaced=False) if shown else d.kubectl.run(*args)


def lesson_deployment(d: Demo) -> None:
    title("The same pod spec as a Deployment: random names, one shared claim, no DNS name per pod")
    remove_deployment(d, shown=False)
    template = copy.deepcopy(d.kubectl.get("statefulset", d.ns, RELEASE)["spec"]["template"])
    template["metadata"] = {"labels": DEPLOYMENT_LABELS}
    template["spec"]["volumes"].append(
        {"name": "emqx-data", "persistentVolumeClaim": {"claimName": f"{DEPLOYMENT}-data"}}
    )
    say(
        "The StatefulSet's pod template (kubectl get statefulset emqx-ee -o jsonpath='{.spec.template}'), unchanged but"
    )
    say("for its labels, goes into a Deployment. A Deployment has no volumeClaimTemplates: its pods can only share")
    say("a claim made beforehand. A headless Service of its own gives it the same chance at DNS.")
    d.apply(
        "shared-claim",
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": f"{DEPLOYMENT}-data"},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": "standard",
                "resources": {"requests": {"storage": "20Mi"}},
            },
        },
    )
    d.apply(
        "deployment-service",
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": DEPLOYMENT},
            "spec": {
                "clusterIP": "None",
                "publishNotReadyAddresses": True,
                "selector": DEPLOYMENT_LABELS,
                "ports": [{"name": "dashboard", "port": 18083, "targetPort": "dashboard"}],
            },
        },
    )
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": DEPLOYMENT},
        "spec": {"replicas": 3, "selector": {"matchLabels": DEPLOYMENT_LABELS}, "template": template},
    }
    template_shown = {
        "metadata": {"labels": DEPLOYMENT_LABELS},
        "spec": "<the StatefulSet's .spec.template.spec, with one more volume:>",
        "spec.volumes[+]": {"name": "emqx-data", "persistentVolumeClaim": {"claimName": f"{DEPLOYMENT}-data"}},
    }
    d.apply("deployment", deployment, show={**deployment, "spec": {**deployment["spec"], "template": template_shown}})
    d.kubectl_shown("rollout", "status", f"deployment/{DEPLOYMENT}", "--timeout=120s")
    d.kubectl_shown("get", "pods", "-l", f"app.kubernetes.io/name={DEPLOYMENT}", "-o", POD_COLUMNS)
    d.kubectl_shown("get", "pods", "-l", STS_SELECTOR, "-o", POD_COLUMNS)
    d.kubectl_shown("get", "pvc", "-o", CLAIM_COLUMNS)

    mine = d.kubectl.get("pods", d.ns, selector=f"app.kubernetes.io/name={DEPLOYMENT}")
    mine = [p for p in mine if not p["metadata"].get("deletionTimestamp")]
    names = [p["metadata"]["name"] for p in mine]
    d.fact(
        not any(re.fullmatch(rf"{DEPLOYMENT}-\d+", n) for n in names),
        f"the Deployment's pods have random names ({', '.join(names)}), no ordinal",
    )
    d.fact({claim_of(p) for p in mine} == {f"{DEPLOYMENT}-data"}, f"all 3 share one claim, {DEPLOYMENT}-data")
    d.fact(len({claim_of(p) for p in d.pods()}) == 3, "the StatefulSet's 3 pods have 3 claims, one per ordinal")
    nodes = sorted({p["spec"]["nodeName"] for p in mine})
    say(f"The Deployment's pods run on {len(nodes)} node(s) ({', '.join(nodes)}) with one ReadWriteOnce claim. kwok")
    say("cannot show what goes wrong: it has no attach step. On a real cluster with a cloud disk (ReadWriteOnce:")
    say("one node at a time), pods on a second node would hang in ContainerCreating with a Multi-Attach error")
    say("('Volume is already used by pod(s) ...'); with ReadWriteMany they would start, and three EMQX nodes")
    say("writing into one mnesia directory would corrupt it.")

    d.show_service_records(d.fqdn("", DEPLOYMENT), {p["status"]["podIP"] for p in mine})
    say("The SRV targets are named after the pod IPs, which change with every new pod.")
    first = mine[0]
    by_name = d.fqdn(first["metadata"]["name"], DEPLOYMENT)
    say(f"DNS A   {by_name} -> {sorted(d.dns.a(by_name))}")
    say(f"The copied node name emqx@{node_host(first)} -> {sorted(d.dns.a(node_host(first)))}")
    d.fact(
        not d.dns.a(by_name) and not d.dns.a(node_host(first)), "no DNS name per Deployment pod: peers cannot find it"
    )
    sts_pod = d.fqdn("emqx-ee-0", "emqx-ee-headless")
    say(f"versus the StatefulSet: {sts_pod} -> {sorted(d.dns.a(sts_pod))}")

    say("Delete a Deployment pod: the replacement gets a new random name (a StatefulSet's keeps emqx-ee-<n>):")
    d.kubectl_shown("delete", "pod", names[0], "--wait")
    wait_until(
        lambda: len([p for p in d.kubectl.get("pods", d.ns, selector=f"app.kubernetes.io/name={DEPLOYMENT}")]) == 3,
        "the Deployment's replacement pod",
    )
    d.kubectl_shown("rollout", "status", f"deployment/{DEPLOYMENT}", "--timeout=120s")
    after = [
        p["metadata"]["name"] for p in d.kubectl.get("pods", d.ns, selector=f"app.kubernetes.io/name={DEPLOYMENT}")
    ]
    d.kubectl_shown("get", "pods", "-l", f"app.kubernetes.io/name={DEPLOYMENT}")
    d.fact(names[0] not in after and len(after) == 3, f"{names[0]} was replaced by a pod with another name")
    say("Removing the Deployment, its Service, its claim and the volume the claim held:")
    remove_deployment(d, shown=True)


def claim_uids(d: Demo) -> dict[str, str]:
    return {name: c["metadata"]["uid"] for name, c in d.claims().items() if name.startswith("emqx-data-emqx-ee-")}


def lesson_scaling(d: Demo) -> None:
    title("Scale up to 5: ordinals 3 and 4 are added, each with a claim of its own")
    before = claim_uids(d)
    d.kubectl_shown("scale", f"statefulset/{RELEASE}", "--replicas=5")
    wait_ready(d.kubectl, d.ns, 5)
    d.kubectl_shown("get", "pvc", "-l", STS_SELECTOR, "-o", CLAIM_COLUMNS)
    at_five = claim_uids(d)
    for i in (3, 4):
        name = f"emqx-data-emqx-ee-{i}"
        say(f"{name}: {'created by this scale-up' if name not in before else 'already there from an earlier run'}")
    d.fact(sorted(at_five) == [f"emqx-data-emqx-ee-{i}" for i in range(5)], "5 pods, 5 claims")

    title("Scale down to 2: pods emqx-ee-4, -3 and -2 go, their claims stay (whenScaled: Retain)")
    d.kubectl_shown("scale", f"statefulset/{RELEASE}", "--replicas=2")
    wait_ready(d.kubectl, d.ns, 2)
    d.kubectl_shown("get", "pods", "-l", STS_SELECTOR)
    d.kubectl_shown("get", "pvc", "-l", STS_SELECTOR, "-o", CLAIM_COLUMNS)
    d.fact(claim_uids(d) == at_five, "all 5 claims are still there, with the same UIDs")

    title("Scale back to 3: emqx-ee-2 returns and mounts the same claim again")
    d.kubectl_shown("scale", f"statefulset/{RELEASE}", "--replicas=3")
    wait_ready(d.kubectl, d.ns, 3)
    again = claim_uids(d)["emqx-data-emqx-ee-2"]
    pod2 = d.pods()[2]
    say(f"emqx-data-emqx-ee-2 UID {at_five['emqx-data-emqx-ee-2']} -> {again}; emqx-ee-2 mounts {claim_of(pod2)}")
    d.fact(again == at_five["emqx-data-emqx-ee-2"] and claim_of(pod2) == "emqx-data-emqx-ee-2", "same claim (same UID)")


def lesson_pod_deletion(d: Demo) -> None:
    title("Delete a pod: it comes back with the same name, DNS name and claim")
    old = d.pods()[1]
    d.kubectl_shown("delete", "pod", "emqx-ee-1", "--wait")

    def replaced() -> dict[str, Any] | None:
        now = [p for p in d.pods() if p["metadata"]["name"] == "emqx-ee-1"]
        return now[0] if now and now[0]["metadata"]["uid"] != old["metadata"]["uid"] else None

    wait_until(replaced, "emqx-ee-1 to come back")
    wait_ready(d.kubectl, d.ns, 3)
    new = d.pods()[1]
    d.kubectl_shown("get", "pods", "-l", STS_SELECTOR, "-o", POD_COLUMNS)
    say(f"pod UID {old['metadata']['uid']} -> {new['metadata']['uid']} (a new pod), name {new['metadata']['name']}")
    host = node_host(new)
    ip = new["status"]["podIP"]
    wait_until(lambda: d.dns.a(host) == {ip}, f"{host} to resolve to {ip}", timeout=30)
    say(f"{host} -> {sorted(d.dns.a(host))}")
    d.fact(
        new["metadata"]["name"] == "emqx-ee-1" and claim_of(new) == "emqx-data-emqx-ee-1",
        "the new pod is emqx-ee-1 again, with claim emqx-data-emqx-ee-1 and the same DNS name",
    )


ROLLOUTS = ("ordered", "parallel")


def rollout_table(d: Demo, release: str) -> list[tuple[float, float]]:
    """(created, Ready) of each ordinal of `release`, in seconds after its first pod was created; printed."""
    live = d.pods(release)
    start = min(seconds(p["metadata"]["creationTimestamp"]) for p in live)
    times = []
    for pod in live:
        created = seconds(pod["metadata"]["creationTimestamp"]) - start
        ready = seconds(ready_since(pod)) - start
        times.append((created, ready))
        say(f"{pod['metadata']['name']:<20} created +{created:.0f}s   Ready +{ready:.0f}s")
    return times


def lesson_ordered_rollout(d: Demo) -> None:
    title("Ordered rollout: podManagementPolicy OrderedReady next to Parallel")
    say(
        f"Two releases of 3 nodes, 'ordered' and 'parallel'. Each pod carries kwok.emqx-ee.test/boot-delay={BOOT_DELAY}"
    )
    say(f"(podAnnotations): on kwok it becomes Ready {BOOT_DELAY} after it is scheduled, like a booting EMQX node;")
    say("without it kwok makes every pod Ready at once and the two policies would look alike. minReadySeconds is 0:")
    say("with the chart's default 10, OrderedReady would also wait 10 s of availability before each next pod.")
    say("No claims here (persistence.enabled=false): this lesson is about order only.")
    for name in ROLLOUTS:
        if d.installed(name):  # an interrupted earlier run
            d.release(name).uninstall()
    base = {
        "replicaCount": 3,
        "license.key": "evaluation",
        "minReadySeconds": 0,
        "persistence.enabled": False,
        "podAnnotations.kwok\\.emqx-ee\\.test/boot-delay": BOOT_DELAY,
    }
    d.helm_install({**base, "podManagementPolicy": "OrderedReady"}, name="ordered")
    d.helm_install({**base, "podManagementPolicy": "Parallel"}, name="parallel")
    for name in ROLLOUTS:
        wait_ready(d.kubectl, d.ns, 3, name=f"{name}-emqx-ee")
    ready_column = 'READY_SINCE:.status.conditions[?(@.type=="Ready")].lastTransitionTime'
    d.kubectl_shown(
        "get",
        "pods",
        "-l",
        "app.kubernetes.io/instance in (ordered,parallel)",
        "--sort-by=.metadata.creationTimestamp",
        "-o",
        f"custom-columns=POD:.metadata.name,CREATED:.metadata.creationTimestamp,{ready_column}",
    )
    say("OrderedReady, seconds after its first pod was created:")
    ordered = rollout_table(d, "ordered")
    say("Parallel:")
    parallel = rollout_table(d, "parallel")
    d.fact(
        all(created >= previous_ready for (_, previous_ready), (created, _) in zip(ordered, ordered[1:], strict=False)),
        "OrderedReady created each ordinal only after the previous one was Ready (0, then 1, then 2)",
    )
    d.fact(max(c for c, _ in parallel) <= 1, "Parallel created all 3 ordinals at once")
    slow, fast = max(r for _, r in ordered), max(r for _, r in parallel)
    say(f"OrderedReady took {slow:.0f}s to have 3 Ready nodes, Parallel {fast:.0f}s.")
    say("The chart defaults to Parallel: with OrderedReady a full restart can deadlock, pod 0 waiting for peers")
    say("that the controller will not create before pod 0 is Ready. podManagementPolicy is immutable.")
    for name in ROLLOUTS:
        d.helm_uninstall(name)
        # The garbage collector deletes the pods after the StatefulSet: their Secret must outlive them.
        wait_until(lambda name=name: not d.pods(name), f"the pods of {name} to be gone")
    say("helm uninstall keeps each release's Secret and identity record (see keep-data); these are scratch:")
    d.kubectl_shown("delete", "secret,configmap", "-l", "app.kubernetes.io/instance in (ordered,parallel)")


def secret_state(d: Demo) -> dict[str, str]:
    secret = d.kubectl.get("secret", d.ns, RELEASE)
    return {"uid": secret["metadata"]["uid"], **{k: fingerprint(v) for k, v in sorted(secret["data"].items())}}


def compare_state(d: Demo, claims_before: dict[str, dict[str, Any]], secret_before: dict[str, str]) -> None:
    """Print claims (UID, volume) and Secret (UID, fingerprints) before -> now, one fact each."""
    now = d.claims()
    for name, claim in sorted(claims_before.items()):
        uid, volume = claim["metadata"]["uid"], claim["spec"].get("volumeName")
        again = now.get(name, {"metadata": {"uid": "(gone)"}, "spec": {}})
        uid2, volume2 = again["metadata"]["uid"], again["spec"].get("volumeName")
        say(f"{name}  UID {uid} -> {uid2}  volume {volume} -> {volume2}")
        d.fact(uid == uid2 and volume == volume2, f"{name}: same claim, same volume")
    secret_now = secret_state(d)
    for key, value in secret_before.items():
        say(f"secret {RELEASE} {key:<20} {value} -> {secret_now.get(key)}")
    d.fact(secret_now == secret_before, f"Secret {RELEASE}: the same object, the same cookie, passwords and keys")


def lesson_keep_data(d: Demo) -> None:
    title("Deleting the StatefulSet keeps the data: helm uninstall, then install again under the same name")
    claims_before = {n: c for n, c in d.claims().items() if n.startswith("emqx-data-emqx-ee-")}
    secret_before = secret_state(d)
    d.kubectl_shown("get", "pvc", "-l", STS_SELECTOR, "-o", CLAIM_COLUMNS)
    d.helm_uninstall()
    wait_until(lambda: not d.pods(), "the pods to be gone")
    d.kubectl_shown("get", "statefulset,pods", "-l", STS_SELECTOR)
    d.kubectl_shown("get", "pvc", "-l", STS_SELECTOR, "-o", CLAIM_COLUMNS)
    d.kubectl_shown(
        "get",
        "secret,configmap",
        "-l",
        "app.kubernetes.io/instance=emqx-ee",
        "-o",
        "custom-columns=KIND:.kind,NAME:.metadata.name,RESOURCE-POLICY:.metadata.annotations.helm\\.sh/resource-policy",
    )
    say("The claims stay (persistentVolumeClaimRetentionPolicy.whenDeleted: Retain), and so do the Secret with the")
    say("generated cookie and passwords and the identity record (helm.sh/resource-policy: keep).")
    d.fact(
        {n: c["metadata"]["uid"] for n, c in d.claims().items() if n in claims_before}
        == {n: c["metadata"]["uid"] for n, c in claims_before.items()},
        "every claim outlived helm uninstall",
    )
    d.helm_install(INSTALL)
    wait_ready(d.kubectl, d.ns, 3)
    say("The reinstall finds its claims by name (emqx-data-<pod>) and its credentials in the kept Secret:")
    compare_state(d, claims_before, secret_before)

    title("The same with kubectl: deleting the StatefulSet deletes its pods, never its claims")
    d.kubectl_shown("delete", "statefulset", RELEASE, "--wait")
    wait_until(lambda: not d.pods(), "the pods to be gone")
    d.kubectl_shown("get", "pvc", "-l", STS_SELECTOR, "-o", CLAIM_COLUMNS)
    say("helm upgrade puts the StatefulSet back; its pods bind the same claims:")
    d.helm_install(INSTALL)
    wait_ready(d.kubectl, d.ns, 3)
    compare_state(d, claims_before, secret_before)


def lesson_helm_test(d: Demo) -> None:
    title("Check the release: helm test runs the chart's test Pod")
    if d.info.runtime == "kwok":
        say("(on kwok the simulator completes the test Pod without running it; on kind it asks every node for")
        say("/status by its DNS name, lists the nodes through the REST API and sends an MQTT message)")
    command(f"helm test {RELEASE} -n {d.ns}")
    print(d.release().test().rstrip())


@dataclass(frozen=True)
class Lesson:
    name: str
    summary: str
    run: Callable[[Demo], None]
    needs_install: bool = True


LESSONS = [
    Lesson("cluster", "the local cluster and its nodes in three zones", lesson_cluster, needs_install=False),
    Lesson("install", "helm install with 3 nodes and the course's 20Mi 'standard' claims", lesson_install),
    Lesson("identity", "stable pod names, the headless Service, DNS A/SRV records, node names", lesson_identity),
    Lesson("storage", "one claim per ordinal from volumeClaimTemplates", lesson_storage),
    Lesson("storage-class", "StorageClass, PersistentVolumes, WaitForFirstConsumer and zones", lesson_storage_class),
    Lesson("deployment", "the same pod spec as a Deployment: random names, shared claim, no DNS", lesson_deployment),
    Lesson("scaling", "scale 3 -> 5 -> 2 -> 3: claims are created, kept and reattached", lesson_scaling),
    Lesson("pod-deletion", "a deleted pod returns with its name, DNS name and claim", lesson_pod_deletion),
    Lesson(
        "ordered-rollout",
        "OrderedReady versus Parallel, creation and Ready times per ordinal",
        lesson_ordered_rollout,
        needs_install=False,
    ),
    Lesson("keep-data", "helm uninstall / kubectl delete statefulset keep claims and Secret", lesson_keep_data),
    Lesson("helm-test", "helm test", lesson_helm_test),
]
BY_NAME = {lesson.name: lesson for lesson in LESSONS}


def prepare_namespace(d: Demo, fresh: bool) -> None:
    """Create the namespace (Pod Security 'restricted'); for a full run, start over if an earlier run left state."""
    namespaces = {n["metadata"]["name"]: n for n in d.kubectl.get("namespaces", "")}
    existing = namespaces.get(d.ns)
    if existing and fresh and (d.claims() or d.installed()):
        if existing["metadata"].get("labels", {}).get(CREATED_BY) != "demo.py":
            sys.exit(
                f"namespace {d.ns} holds claims or a release that demo.py did not create: "
                "choose another with --namespace, or run single lessons with --lesson"
            )
        say(f"Starting over: deleting namespace {d.ns}, which an earlier run left behind")
        d.kubectl_shown("delete", "namespace", d.ns, "--wait", namespaced=False)
        shutil.rmtree(d.files, ignore_errors=True)
        # The volumes its claims held are retained (reclaimPolicy Retain) but will never bind again: remove them.
        held = [
            pv["metadata"]["name"]
            for pv in d.kubectl.get("pv", "")
            if pv["spec"].get("claimRef", {}).get("namespace") == d.ns
        ]
        if held:
            d.kubectl_shown("delete", "pv", *held, "--wait", namespaced=False)
        existing = None
    if not existing:
        d.kubectl.run("create", "namespace", d.ns)
        d.kubectl.run("label", "namespace", d.ns, f"{CREATED_BY}=demo.py")
    d.kubectl.run("label", "--overwrite", "namespace", d.ns, *(f"{k}={v}" for k, v in RESTRICTED.items()))
    if d.info.runtime == "kwok":
        # The pool of pre-created volumes is shared with the smoke suite; a run needs about 7 of them.
        created = ensure_free_volumes(d.info.kubeconfig, 16)
        if created:
            say(f"(volume pool topped up with {created} PersistentVolumes)")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="The StatefulSet course on the local cluster, lesson by lesson, with real output."
    )
    parser.add_argument("--namespace", default="emqx-demo", help="namespace of the demo (default: emqx-demo)")
    parser.add_argument("--lesson", action="append", metavar="NAME", help="run this lesson (repeatable) and its set-up")
    parser.add_argument("--list", action="store_true", help="print the lesson names and exit")
    parser.add_argument("--step", action="store_true", help="wait for Enter between lessons")
    args = parser.parse_args(argv)
    unknown = [name for name in args.lesson or [] if name not in BY_NAME]
    if unknown:
        parser.error(f"unknown lesson {', '.join(map(repr, unknown))}; the lessons are: {', '.join(BY_NAME)}")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.list:
        for lesson in LESSONS:
            print(f"{lesson.name:<16} {lesson.summary}")
        return 0
    info = cluster_info()
    if info is None:
        sys.exit("no local cluster: run scripts/demo.sh (it runs scripts/cluster.sh up first)")
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[attr-defined]

    if args.lesson:
        wanted = set(args.lesson)
        if any(BY_NAME[name].needs_install for name in wanted):
            wanted.add("install")
        plan = [lesson for lesson in LESSONS if lesson.name in wanted]
    else:
        plan = LESSONS
    d = Demo(info, args.namespace)
    start = time.monotonic()
    try:
        prepare_namespace(d, fresh=not args.lesson)
        for i, lesson in enumerate(plan):
            began = time.monotonic()
            lesson.run(d)
            say(f"({lesson.name}: {time.monotonic() - began:.0f}s)")
            if args.step and i < len(plan) - 1:
                input(f"\n-- next: {plan[i + 1].name}. Press Enter ")
    finally:
        d.close()

    title("Look around yourself")
    say(f"export KUBECONFIG={info.kubeconfig} PATH={Path(d.helm.path).parent}:$PATH")
    say(f"kubectl -n {d.ns} get statefulset,pods,pvc,svc")
    say(f"helm -n {d.ns} status {RELEASE}         # NOTES with the connection commands")
    say("scripts/cluster.sh down                    # remove the cluster and everything in it")
    say(f"{len(plan)} lessons in {time.monotonic() - start:.0f}s")
    if d.failures:
        print("\nNOT AS EXPECTED:\n" + "\n".join(f"  - {text}" for text in d.failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
