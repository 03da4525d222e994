"""The smoke suite's view of the local cluster: connection, helm releases, waits, DNS, diagnostics.

scripts/cluster.sh writes .work/cluster.env (runtime, kubeconfig, DNS server). On kwok, CoreDNS
serves the cluster's DNS on a loopback port; on kind the harness port-forwards to kube-dns.
Queries go over TCP, which both paths support.
"""

from __future__ import annotations

import functools
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dns.resolver
import yaml
from kubernetes.dynamic.exceptions import NotFoundError

from .helm import go_env, run, values_text
from .kube import Kube, kube, until
from .scenarios import effective_values
from .tools import CHART, ROOT, Helm, tool

STATE = Path(os.environ.get("EMQX_EE_STATE", ROOT / ".work"))


@dataclass(frozen=True)
class ClusterInfo:
    runtime: str  # "kwok" or "kind"
    kubeconfig: str
    dns_server: str  # host:port, empty on kind until port-forwarded


def cluster_info() -> ClusterInfo | None:
    """The cluster scripts/cluster.sh brought up, or None when there is none."""
    env_file = STATE / "cluster.env"
    if not env_file.exists():
        return None
    values = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line)
    return ClusterInfo(values["CLUSTER_RUNTIME"], values["KUBECONFIG"], values.get("DNS_SERVER", ""))


def progress(message: str) -> None:
    """Long waits say what they wait for (shown with pytest -s and in failure reports)."""
    print(f"    .. {message}", file=sys.stderr, flush=True)


def wait_until(check: Callable[[], Any], what: str, timeout: float = 120, interval: float = 0.5) -> Any:
    """Poll `check` until it returns something truthy; raise TimeoutError naming `what`. For what no watch
    reports (DNS records, a port-forward); waits on API objects use Kubectl.wait_for."""
    return until(check, what, timeout, lambda _left: time.sleep(interval), progress)


class Kubectl:
    """The local cluster: reads and waits in-process (harness.kube), commands through kubectl, JSON in and out.

    `run` starts kubectl, for writes and for the commands a test shows as the user would type them;
    `get`, `exists` and `wait_for` start no process."""

    def __init__(self, kubeconfig: str):
        self.kubeconfig = kubeconfig

    @property
    def api(self) -> Kube:
        return kube(self.kubeconfig)

    def run(self, *args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [tool("kubectl"), "--kubeconfig", self.kubeconfig, *args]
        proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=120, env=go_env())
        if check and proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr}")
        return proc

    def get(self, kind: str, namespace: str | None, name: str | None = None, selector: str | None = None) -> Any:
        """One object by name, or the list of items (kubectl's resource names: pods, pvc, sts ...)."""
        return self.api.get(kind, namespace, name, selector)

    def exists(self, kind: str, namespace: str | None, name: str) -> bool:
        return self.api.exists(kind, namespace, name)

    def established(self, crd: str) -> bool:
        """The CustomResourceDefinition `crd` exists, is Established, and discovery lists its API (what
        Helm's .Capabilities reads)."""
        try:
            found = self.get("crd", None, crd)
        except NotFoundError:
            return False
        conditions = (found.get("status") or {}).get("conditions") or []
        if not any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
            return False
        group = found["spec"]["group"]
        return any(f"{group}/{v['name']}" in self.api.group_versions() for v in found["spec"]["versions"])

    def wait_for(
        self,
        check: Callable[[], Any],
        what: str,
        namespace: str | None,
        kinds: Iterable[str] = ("pods", "statefulsets"),
        timeout: float = 120,
    ) -> Any:
        """Evaluate `check` until it returns something truthy, again at every change to `kinds` in `namespace`
        (through watches: no polling delay, no process per check); TimeoutError names `what`."""
        return self.api.wait(check, what, [(k, namespace) for k in kinds], timeout, report=progress)


NO_SERVICE_MONITOR = {"metrics": {"serviceMonitor": {"enabled": False}}}


@functools.cache
def _has_service_monitor(chart: Path) -> bool:
    values = yaml.safe_load((chart / "values.yaml").read_text()) or {}
    return "enabled" in ((values.get("metrics") or {}).get("serviceMonitor") or {})


def _over(base: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` merged over `base`, maps key by key (a null stays, for Helm to remove the chart's default)."""
    out = dict(base)
    for key, value in values.items():
        below = base.get(key)
        out[key] = _over(below, value) if isinstance(value, Mapping) and isinstance(below, Mapping) else value
    return out


def unlicensed_cluster(values: Mapping[str, Any]) -> str | None:
    """Why the chart's `values` would start more EMQX nodes than EMQX runs without a licence, or None. Since
    EMQX 5.9 one node runs without a licence and a cluster needs one (an unlicensed cluster wedges, emqx/emqx
    #18311); replicants count as nodes. Only real EMQX (kind) cares: kwok runs no container, the stand-in no
    licence."""
    effective = effective_values(dict(values))
    cores = int(effective["replicaCount"])
    replicants = effective["replicants"]
    extra = int(replicants["replicaCount"]) if replicants["enabled"] else 0
    if replicants["enabled"] and replicants["autoscaling"]["enabled"]:
        extra = int(replicants["autoscaling"]["minReplicas"])
    licence = effective["license"]
    if cores + extra <= 1 or licence.get("key") or licence.get("existingSecret"):
        return None
    return (
        f"{cores} core(s) and {extra} replicant(s) without a licence: real EMQX refuses to run such a cluster; "
        "set license.key: evaluation (EMQX's trial licence) in the test's values"
    )


class Release:
    """One Helm release of the chart in one namespace.

    Installs and upgrades skip Helm's client-side OpenAPI validation: it parses the API server's OpenAPI
    documents in every helm process (half of an install's CPU, most of an upgrade's) only to learn whether the
    server validates fields itself, and every supported one does, so it validates nothing (kubectl's
    paramVerifyingSchema). Helm 4 applies server-side with strict field validation, so the API server refuses
    an unknown field; Helm 3 applies client-side without asking for it, so the server warns and drops it, with
    the check as without (test_install.py shows both). ct install runs helm with its defaults, and the render
    suite validates every object against the Kubernetes schemas."""

    def __init__(
        self,
        helm: Helm,
        kubeconfig: str,
        namespace: str,
        name: str = "emqx-ee",
        detect_service_monitor: bool = False,
        real_emqx: bool | None = None,
        openapi_validation: bool = False,
    ):
        self.helm, self.kubeconfig, self.namespace, self.name = helm, kubeconfig, namespace, name
        self.openapi_validation = openapi_validation
        self.detect_service_monitor = detect_service_monitor
        if real_emqx is None:  # on kind every pod runs EMQX itself
            info = cluster_info()
            real_emqx = info is not None and info.runtime == "kind"
        self.real_emqx = real_emqx

    def _licensed(self, values: Mapping[str, Any], chart: Path) -> None:
        """On real EMQX, refuse before helm runs values whose cluster EMQX would not run (unlicensed_cluster):
        the test would otherwise wait minutes for nodes that never cluster. Values of this chart only."""
        if self.real_emqx and chart == CHART and (problem := unlicensed_cluster(values)):
            raise AssertionError(f"{self.name} in {self.namespace}: {problem}")

    def _values(self, values: Mapping[str, Any], chart: Path) -> Mapping[str, Any]:
        """`values` over `metrics.serviceMonitor.enabled: false`, for charts that have that value, unless
        detect_service_monitor. The chart renders a ServiceMonitor whenever the cluster serves its API, which
        test_metrics.py makes it do for a while: stating `false` keeps every other release the same whether or
        not test_metrics.py runs beside it (harness.streams), as on a cluster without prometheus-operator."""
        if self.detect_service_monitor or not _has_service_monitor(chart):
            return values
        return _over(NO_SERVICE_MONITOR, values)

    def _helm(self, *args: str, values: Mapping[str, Any] | None = None) -> str:
        cmd = [self.helm.path, *args, "--kubeconfig", self.kubeconfig, "--namespace", self.namespace]
        if args[0] in ("install", "upgrade") and not self.openapi_validation:
            cmd.append("--disable-openapi-validation")
        if values is not None:
            cmd += ["-f", "-"]
        return run(cmd, values_text(values))

    def install(self, values: Mapping[str, Any] | None = None, chart: Path = CHART, dry_run: str = "") -> str:
        """Install, or with dry_run ("client" or "server") only render and check as `helm install --dry-run`."""
        self._licensed(values or {}, chart)
        progress(f"{self.helm} install {self.name} in {self.namespace}" + (f" --dry-run={dry_run}" if dry_run else ""))
        extra = (f"--dry-run={dry_run}",) if dry_run else ()
        return self._helm("install", *extra, self.name, str(chart), values=self._values(values or {}, chart))

    def upgrade(
        self, values: Mapping[str, Any] | None = None, install: bool = False, reuse_values: bool = False
    ) -> str:
        """Upgrade with exactly these values (the values file is the truth), or with reuse_values on top of the
        release's own (`--reuse-values`, as a user upgrading in place types it)."""
        if not reuse_values:  # with --reuse-values the release's own values count, which the test does not pass
            self._licensed(values or {}, CHART)
        progress(f"{self.helm} upgrade {self.name} in {self.namespace}")
        extra = ("--install",) if install else ()
        extra += ("--reuse-values",) if reuse_values else ()
        return self._helm("upgrade", *extra, self.name, str(CHART), values=self._values(values or {}, CHART))

    def uninstall(self) -> str:
        progress(f"{self.helm} uninstall {self.name} in {self.namespace}")
        return self._helm("uninstall", self.name, "--wait", "--timeout", "180s")

    def rollback(self, revision: int, *extra: str) -> str:
        """`helm rollback` to `revision` (Helm runs that revision's pre-rollback hooks first)."""
        progress(f"{self.helm} rollback {self.name} to {revision}")
        return self._helm("rollback", self.name, str(revision), "--timeout", "180s", *extra)

    def hooks(self, revision: int) -> list[dict[str, Any]]:
        """The hook manifests Helm stored with `revision` (`helm get hooks`), as objects."""
        text = self._helm("get", "hooks", self.name, "--revision", str(revision))
        return [d for d in yaml.safe_load_all(text) if d]

    def test(self, logs: bool = False) -> str:
        """`helm test` (with `--logs`: the test Pod's output follows Helm's)."""
        progress(f"{self.helm} test {self.name}")
        return self._helm("test", self.name, "--timeout", "300s", *(("--logs",) if logs else ()))

    def status(self) -> dict[str, Any]:
        return json.loads(self._helm("status", self.name, "-o", "json"))

    def state(self, kubectl: Kubectl) -> dict[str, Any]:
        """Everything a refused upgrade must leave as it was: the release record, and the spec and data of
        every object of the release (by its instance label), pods and claims by UID."""
        return {"release": self.record(kubectl), "objects": self._objects(kubectl)}

    def record(self, kubectl: Kubectl) -> tuple[int, str]:
        """(version, status) of the release's latest record, as `helm status` shows them, read from the Secrets
        that Helm keeps its records in (labels owner=helm, name, version, status) without a helm process."""
        records = kubectl.get("secret", self.namespace, selector=f"owner=helm,name={self.name}")
        latest = max(records, key=lambda s: int(s["metadata"]["labels"]["version"]))["metadata"]["labels"]
        return int(latest["version"]), latest["status"]

    def _objects(self, kubectl: Kubectl) -> dict[str, Any]:
        selector = f"app.kubernetes.io/instance={self.name}"
        objects = {}
        for kind in ("statefulset", "service", "configmap", "secret", "pod", "pvc", "poddisruptionbudget"):
            for obj in kubectl.get(kind, self.namespace, selector=selector):
                meta = obj["metadata"]
                objects[f"{kind}/{meta['name']}"] = {
                    "uid": meta["uid"],
                    "generation": meta.get("generation"),
                    "annotations": meta.get("annotations", {}),
                    "content": obj.get("spec") if kind in ("statefulset", "service") else obj.get("data"),
                }
        return objects


class Dns:
    """DNS queries over TCP to the cluster's DNS server."""

    def __init__(self, server: str):
        host, port = server.rsplit(":", 1)
        self.resolver = dns.resolver.Resolver(configure=False)
        self.resolver.nameservers = [host]
        self.resolver.port = int(port)
        self.resolver.lifetime = 5

    def query(self, name: str, rdtype: str) -> list[Any]:
        try:
            return list(self.resolver.resolve(name, rdtype, tcp=True))
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []

    def a(self, name: str) -> set[str]:
        return {r.address for r in self.query(name, "A")}

    def srv_targets(self, name: str) -> set[str]:
        return {r.target.to_text(omit_final_dot=True) for r in self.query(name, "SRV")}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_forward_dns(kubeconfig: str) -> tuple[subprocess.Popen, str]:
    """On kind: forward a loopback port to kube-dns (TCP) so the tests can query cluster DNS."""
    port = free_port()
    proc = subprocess.Popen(
        [
            tool("kubectl"),
            "--kubeconfig",
            kubeconfig,
            "-n",
            "kube-system",
            "port-forward",
            "svc/kube-dns",
            f"{port}:53",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = f"127.0.0.1:{port}"
    wait_until(lambda: Dns(server).a("kubernetes.default.svc.cluster.local"), "kube-dns port-forward", timeout=60)
    return proc, server


def diagnostics(kubectl: Kubectl, namespace: str) -> str:
    """What a person debugging a failed smoke test looks at first."""
    parts = []
    for args in (["get", "statefulsets,pods,pvc,jobs", "-o", "wide"], ["get", "events", "--sort-by=.lastTimestamp"]):
        proc = kubectl.run(*args, "-n", namespace, check=False)
        parts.append(f"$ kubectl -n {namespace} {' '.join(args)}\n{proc.stdout}{proc.stderr}")
    return "\n".join(parts)
