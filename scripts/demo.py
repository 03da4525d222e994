"""The main job: install the chart with three nodes on the local cluster and walk through the
StatefulSet lessons with real output. Run it through scripts/demo.sh, which brings the cluster up.

Every step prints the command a user would type and what the cluster answered.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from harness.cluster import Dns, Kubectl, Release, cluster_info, port_forward_dns  # noqa: E402
from harness.statefulset import claim_of, claims, node_host, pods, scale, wait_ready  # noqa: E402
from harness.tools import helm  # noqa: E402

NAMESPACE = "emqx-demo"
HEADLESS = f"emqx-ee-headless.{NAMESPACE}.svc.cluster.local"
VALUES = {"replicaCount": 3, "license": {"key": "evaluation"}, "minReadySeconds": 0}


def title(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m", flush=True)


def say(text: str) -> None:
    print(f"   {text}", flush=True)


def show(kubectl: Kubectl, *args: str) -> None:
    print(f"$ kubectl -n {NAMESPACE} {' '.join(args)}", flush=True)
    print(kubectl.run("-n", NAMESPACE, *args).stdout.rstrip(), flush=True)


def claim_table(kubectl: Kubectl) -> None:
    show(
        kubectl,
        "get",
        "pvc",
        "-o",
        "custom-columns=CLAIM:.metadata.name,STATUS:.status.phase,VOLUME:.spec.volumeName,UID:.metadata.uid",
    )


def main() -> None:
    info = cluster_info()
    if info is None:
        sys.exit("no local cluster: run scripts/demo.sh (it runs scripts/cluster.sh up first)")
    kubectl = Kubectl(info.kubeconfig)

    title(f"Cluster: {info.runtime}")
    if info.runtime == "kwok":
        say("A real Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler)")
        say("built from source, with kwok simulating 3 nodes. Controllers, scheduling, volume binding,")
        say("admission and DNS (CoreDNS) are real; no container runs, so pods are 'Running' without EMQX")
        say("inside. Everything about identity, ordering and storage below is real controller behaviour.")
    else:
        say("kind: Kubernetes in Docker. EMQX really runs in the pods.")
    show(kubectl, "get", "nodes", "-L", "topology.kubernetes.io/zone")

    title("Install EMQX Enterprise with 3 nodes in a namespace that enforces Pod Security 'restricted'")
    if not kubectl.exists("namespace", NAMESPACE, NAMESPACE):
        kubectl.run("create", "namespace", NAMESPACE)
    kubectl.run("label", "--overwrite", "namespace", NAMESPACE, "pod-security.kubernetes.io/enforce=restricted")
    release = Release(helm(4), info.kubeconfig, NAMESPACE)
    say("$ helm upgrade --install emqx-ee charts/emqx-ee -n emqx-demo \\")
    say("    --set replicaCount=3 --set license.key=evaluation --set minReadySeconds=0")
    release.upgrade(VALUES, install=True)
    wait_ready(kubectl, NAMESPACE, 3)

    title("Stable network identity: pods are named <release>-<ordinal> and keep that name for life")
    show(kubectl, "get", "statefulset,pods", "-o", "wide")
    show(kubectl, "get", "service", "emqx-ee-headless", "-o", "wide")
    say("The headless Service (clusterIP: None) gives each pod a DNS name <pod>.emqx-ee-headless.<ns>.svc...")
    forward = None
    server = info.dns_server
    if not server:
        forward, server = port_forward_dns(info.kubeconfig)
    try:
        dns = Dns(server)
        say(f"DNS A {HEADLESS} -> {sorted(dns.a(HEADLESS))}")
        for target in sorted(dns.srv_targets(HEADLESS)):
            say(f"DNS SRV target {target} -> A {sorted(dns.a(target))}")
    finally:
        if forward:
            forward.terminate()
    say("EMQX discovers its peers through these SRV records; each node is named emqx@<its SRV target>:")
    for pod in pods(kubectl, NAMESPACE):
        say(f"{pod['metadata']['name']}: emqx@{node_host(pod)}")

    title("Per-pod storage: one PersistentVolumeClaim per ordinal, from volumeClaimTemplates")
    claim_table(kubectl)

    title("Scale up to 5: new ordinals 3 and 4 get new claims")
    scale(kubectl, NAMESPACE, 5)
    wait_ready(kubectl, NAMESPACE, 5)
    claim_table(kubectl)

    title("Scale down to 2: pods 4, 3, 2 go (highest first), their claims stay (whenScaled: Retain)")
    scale(kubectl, NAMESPACE, 2)
    wait_ready(kubectl, NAMESPACE, 2)
    show(kubectl, "get", "pods")
    claim_table(kubectl)

    title("Scale back to 3: emqx-ee-2 returns and reattaches the same claim (same UID)")
    before = claims(kubectl, NAMESPACE)["emqx-data-emqx-ee-2"]["metadata"]["uid"]
    scale(kubectl, NAMESPACE, 3)
    wait_ready(kubectl, NAMESPACE, 3)
    after = claims(kubectl, NAMESPACE)["emqx-data-emqx-ee-2"]["metadata"]["uid"]
    say(f"emqx-data-emqx-ee-2 UID before {before}, after {after}: {'same' if before == after else 'DIFFERENT'}")

    title("Delete a pod: it comes back with the same name and the same claim")
    old_uid = pods(kubectl, NAMESPACE)[1]["metadata"]["uid"]
    show(kubectl, "delete", "pod", "emqx-ee-1")
    wait_ready(kubectl, NAMESPACE, 3)
    new = pods(kubectl, NAMESPACE)[1]
    say(f"pod UID {old_uid} -> {new['metadata']['uid']} (a new pod), name {new['metadata']['name']},")
    say(f"claim {claim_of(new)} (the same one)")

    title("Check the release: helm test runs the chart's test Pod")
    if info.runtime == "kwok":
        say("(on kwok the test pod is completed by the simulator; on kind curl asks every node for /status)")
    print(release.test().rstrip())

    title("Look around yourself")
    say(f"export KUBECONFIG={info.kubeconfig} PATH={Path(helm(4).path).parent}:$PATH")
    say(f"kubectl -n {NAMESPACE} get statefulset,pods,pvc,svc")
    say(f"helm -n {NAMESPACE} status emqx-ee        # NOTES with the connection commands")
    say("scripts/cluster.sh down                      # remove the cluster and everything in it")


if __name__ == "__main__":
    main()
