"""What NetworkPolicies allow, computed without a CNI by a real policy engine.

kwok and a bare control plane enforce no NetworkPolicy, so a connection test there proves nothing. Instead,
`truth_table` hands the policies and a described set of namespaces, pods and ports to `netpol-truth`
(tools/netpol-engine/: a small Go program around cyclonus's policy matcher, github.com/mattfenwick/cyclonus
pkg/matcher; tools/netpol-engine/build.sh builds it) and returns the verdict for every flow. A flow is
allowed when the source's egress policies and the destination's ingress policies both allow it, as in
Kubernetes; a pod no policy of a direction selects is unrestricted in that direction.

Modelled like the API server and kubelet do:
- a policy without `policyTypes` is defaulted (Ingress, plus Egress when it has egress rules);
- every namespace carries `kubernetes.io/metadata.name: <name>`, which the API server sets;
- a named port in a policy matches the destination's port of that name (the `ports` entries name them);
  an `External` destination has no port names, so only numbered ports and ranges match it.
Judgement calls (implementation-defined in Kubernetes, stated so tests do not lean on them unawares):
- ipBlock peers are matched against pod IPs too (cyclonus's reading; Calico does the same). A pod given
  without `ip` matches no ipBlock at all;
- a pod's traffic to itself is left out of the table (CNIs differ on hairpin traffic).
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .tools import tool

ENGINE = "netpol-truth"
BUILD_HINT = "run tools/netpol-engine/build.sh"
PROTOCOLS = ("TCP", "UDP", "SCTP")
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"

# (port number, protocol, port name): what a destination listens on. The name may be "" (unnamed).
Port = tuple[int, str, str]
# (source, destination, port, protocol), peers as "namespace/pod" or an external IP.
FlowKey = tuple[str, str, int, str]


class EngineError(RuntimeError):
    """netpol-truth is missing, or refused its input (an invalid policy, a misspelt field)."""


@dataclass(frozen=True)
class Pod:
    """A pod as policies see it. `ports`, when given, replaces the table's port list for flows to this pod."""

    namespace: str
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    ip: str | None = None
    ports: Sequence[Port] | None = None

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class External:
    """An address outside the pods (the API server's Service IP, an upstream resolver, a client): only ipBlock
    rules can select it, and no policy restricts its own side of a flow."""

    ip: str

    @property
    def key(self) -> str:
        return self.ip


Peer = Pod | External


@dataclass(frozen=True)
class Verdict:
    """One flow's verdict: `egress` from the source's policies, `ingress` from the destination's."""

    egress: bool
    ingress: bool

    @property
    def allowed(self) -> bool:
        return self.egress and self.ingress


def engine() -> str:
    """Path of the netpol-truth binary, with the command that builds it when it is missing."""
    try:
        return tool(ENGINE)
    except FileNotFoundError as missing:
        raise EngineError(f"{ENGINE} not found: {BUILD_HINT}") from missing


def engine_version() -> str:
    """The engine module and version linked into the binary, e.g. "github.com/mattfenwick/cyclonus v0.5.6"."""
    return subprocess.run([engine(), "-version"], capture_output=True, text=True, check=True).stdout.strip()


def _policy(obj: Mapping[str, Any], default_namespace: str) -> dict[str, Any]:
    if obj.get("kind", "NetworkPolicy") != "NetworkPolicy":
        raise ValueError(f"not a NetworkPolicy: {obj.get('kind')} {obj.get('metadata', {}).get('name')}")
    policy = json.loads(json.dumps(obj))  # a plain, mutable copy (rendered manifests are read-only)
    metadata = policy.setdefault("metadata", {})
    # Rendered manifests usually leave the namespace to `helm install -n`; the engine needs it explicitly.
    if not metadata.get("namespace"):
        metadata["namespace"] = default_namespace
    return policy


def _peer(peer: Peer, namespaces: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    if isinstance(peer, External):
        ipaddress.ip_address(peer.ip)  # ValueError for a CIDR or a name: the engine matches single addresses
        return {"ip": peer.ip}
    if peer.namespace not in namespaces:
        raise ValueError(f"pod {peer.key}: namespace {peer.namespace} is not among the namespaces given")
    if peer.ip is not None:
        ipaddress.ip_address(peer.ip)
    return {
        "namespace": peer.namespace,
        "namespaceLabels": {**namespaces[peer.namespace], NAMESPACE_NAME_LABEL: peer.namespace},
        "podLabels": dict(peer.labels),
        "ip": peer.ip or "",
    }


def _port(port: Port) -> Port:
    number, protocol, name = port
    if protocol.upper() not in PROTOCOLS:
        raise ValueError(f"port {port}: protocol must be one of {PROTOCOLS}")
    return int(number), protocol.upper(), name


def verdicts(
    policies: Iterable[Mapping[str, Any]],
    namespaces: Mapping[str, Mapping[str, str]],
    pods: Iterable[Pod],
    ports: Iterable[Port],
    externals: Iterable[External] = (),
    default_namespace: str = "default",
) -> dict[FlowKey, Verdict]:
    """Every flow between the given pods and external addresses on the given ports, judged by the engine.

    `namespaces` maps each namespace to its labels; every pod's namespace must be there. Flows run from every
    pod or external address to every pod (on its `ports`, else `ports`) and from every pod to every external
    address (on `ports`, unnamed). External-to-external flows and a pod's flows to itself are left out.
    Policies without metadata.namespace are placed in `default_namespace`.
    """
    pods, externals = list(pods), list(externals)
    peers: list[Peer] = [*pods, *externals]
    keys = [p.key for p in peers]
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate pods or external addresses: {sorted(k for k in keys if keys.count(k) > 1)}")
    common = [_port(p) for p in ports]

    flows: list[dict[str, Any]] = []
    index: list[FlowKey] = []
    for d, dst in enumerate(peers):
        if isinstance(dst, Pod):
            dst_ports = common if dst.ports is None else [_port(p) for p in dst.ports]
        else:
            # Named ports resolve against a destination pod's containers: an address has no names.
            dst_ports = [(number, protocol, "") for number, protocol, _ in common]
        for s, src in enumerate(peers):
            if s == d or (isinstance(src, External) and isinstance(dst, External)):
                continue
            for number, protocol, name in dst_ports:
                flows.append({"src": s, "dst": d, "port": number, "portName": name, "protocol": protocol})
                index.append((src.key, dst.key, number, protocol))

    request = {
        "policies": [_policy(p, default_namespace) for p in policies],
        "peers": [_peer(p, namespaces) for p in peers],
        "flows": flows,
    }
    proc = subprocess.run([engine()], input=json.dumps(request), capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise EngineError(f"{ENGINE} failed (exit {proc.returncode}): {proc.stderr.strip()}")
    results = json.loads(proc.stdout)["results"]
    if len(results) != len(index):
        raise EngineError(f"{ENGINE} answered {len(results)} flows out of {len(index)}")
    return {key: Verdict(egress=r["egress"], ingress=r["ingress"]) for key, r in zip(index, results, strict=True)}


def truth_table(
    policies: Iterable[Mapping[str, Any]],
    namespaces: Mapping[str, Mapping[str, str]],
    pods: Iterable[Pod],
    ports: Iterable[Port],
    externals: Iterable[External] = (),
    default_namespace: str = "default",
) -> dict[FlowKey, bool]:
    """(source, destination, port, protocol) -> allowed, for the flows `verdicts` describes."""
    found = verdicts(policies, namespaces, pods, ports, externals, default_namespace)
    return {key: verdict.allowed for key, verdict in found.items()}


def allowed(table: Mapping[FlowKey, bool]) -> list[FlowKey]:
    """The allowed flows of a table, sorted: a readable value to compare in assertions."""
    return sorted(key for key, ok in table.items() if ok)
