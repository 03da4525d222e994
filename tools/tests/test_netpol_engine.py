"""The NetworkPolicy truth table (harness.netpol, engine: cyclonus's matcher in netpol-truth) on hand-written
policies. Each case is one a wrong engine or a wrong harness would get wrong: a default-deny read as "no
rules, no effect", ports or peers not intersected, egress ignored, policyTypes not defaulted, policies not
unioned, named ports resolved on the wrong side. Needs tools/netpol-engine/build.sh to have run.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from harness import netpol
from harness.netpol import External, Pod, allowed, truth_table, verdicts

pytestmark = pytest.mark.unit

NAMESPACES = {"emqx": {}, "monitoring": {"team": "observability"}, "other": {}, "kube-system": {}}
EMQX_0 = Pod("emqx", "emqx-0", {"app": "emqx", "role": "core"}, ip="10.244.0.10")
EMQX_1 = Pod("emqx", "emqx-1", {"app": "emqx", "role": "core"}, ip="10.244.0.11")
CLIENT = Pod("emqx", "client", {"app": "client"}, ip="10.244.0.20")
PROMETHEUS = Pod("monitoring", "prometheus", {"app": "prometheus"}, ip="10.244.1.10")
STRANGER = Pod("other", "prometheus", {"app": "prometheus"}, ip="10.244.2.10")
COREDNS = Pod("kube-system", "coredns", {"k8s-app": "kube-dns"}, ip="10.244.3.10")
METRICS = Pod("kube-system", "metrics-server", {"k8s-app": "metrics-server"}, ip="10.244.3.20")
PODS = [EMQX_0, EMQX_1, CLIENT, PROMETHEUS, STRANGER, COREDNS, METRICS]
API_SERVER = External("10.96.0.1")
UPSTREAM_DNS = External("8.8.8.8")

EKKA = (4370, "TCP", "ekka")
MQTT = (1883, "TCP", "mqtt")
DNS_UDP, DNS_TCP = (53, "UDP", "dns"), (53, "TCP", "dns-tcp")
HTTPS = (443, "TCP", "https")
PORTS = [EKKA, (4370, "UDP", ""), MQTT, DNS_UDP, DNS_TCP, HTTPS]


def policy(name: str, namespace: str = "emqx", **spec: Any) -> dict[str, Any]:
    spec.setdefault("podSelector", {})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def table(*policies: dict[str, Any], pods=PODS, ports=PORTS, externals=()) -> dict[netpol.FlowKey, bool]:
    return truth_table(list(policies), NAMESPACES, pods, ports, externals)


def flow(src: Pod | External, dst: Pod | External, port: tuple[int, str, str]) -> netpol.FlowKey:
    return (src.key, dst.key, port[0], port[1])


def test_no_policy_allows_every_flow():
    # The baseline the other cases differ from: without policies, Kubernetes isolates nothing.
    t = table(externals=[API_SERVER])
    assert t and all(t.values())
    # 7 pods to 6 others, pods to the address and back, each on 6 ports; no self and no external-external flows.
    assert len(t) == (7 * 6 + 7 + 7) * 6


def test_default_deny_ingress_blocks_everything_into_its_namespace():
    t = table(policy("default-deny", policyTypes=["Ingress"]), externals=[API_SERVER])
    into_emqx = {k: v for k, v in t.items() if k[1].startswith("emqx/")}
    assert into_emqx and not any(into_emqx.values())  # from its own namespace, others and outside alike
    # Nothing else changes: other namespaces still receive, and emqx pods still send (Ingress only).
    assert all(v for k, v in t.items() if not k[1].startswith("emqx/"))
    assert t[flow(EMQX_0, COREDNS, DNS_UDP)] and t[flow(EMQX_0, API_SERVER, HTTPS)]


def test_allow_same_app_on_4370_only_opens_that_port_to_that_label():
    same_app = policy(
        "emqx-cluster",
        podSelector={"matchLabels": {"app": "emqx"}},
        policyTypes=["Ingress"],
        ingress=[{"from": [{"podSelector": {"matchLabels": {"app": "emqx"}}}], "ports": [{"port": 4370}]}],
    )
    t = table(same_app)
    assert t[flow(EMQX_0, EMQX_1, EKKA)] and t[flow(EMQX_1, EMQX_0, EKKA)]
    assert not t[flow(EMQX_0, EMQX_1, MQTT)]  # another port
    assert not t[flow(EMQX_0, EMQX_1, (4370, "UDP", ""))]  # same number, protocol defaults to TCP
    assert not t[flow(CLIENT, EMQX_1, EKKA)]  # no label
    assert not t[flow(STRANGER, EMQX_1, EKKA)] and not t[flow(PROMETHEUS, EMQX_1, EKKA)]  # other namespaces
    # A podSelector alone means the policy's namespace: a pod labelled app=emqx elsewhere is not admitted.
    lookalike = Pod("other", "emqx-lookalike", {"app": "emqx"})
    assert not table(same_app, pods=[EMQX_0, lookalike])[flow(lookalike, EMQX_0, EKKA)]
    # Pods the policy does not select stay open.
    assert t[flow(EMQX_0, CLIENT, MQTT)]
    into_emqx = [k for k in allowed(t) if k[1] in (EMQX_0.key, EMQX_1.key)]
    assert into_emqx == [flow(EMQX_0, EMQX_1, EKKA), flow(EMQX_1, EMQX_0, EKKA)]


def test_namespace_selector_admits_a_labelled_namespace_only():
    scrape = policy(
        "scrape",
        podSelector={"matchLabels": {"app": "emqx"}},
        policyTypes=["Ingress"],
        ingress=[
            {"from": [{"namespaceSelector": {"matchLabels": {"team": "observability"}}}], "ports": [{"port": 443}]}
        ],
    )
    t = table(scrape)
    assert t[flow(PROMETHEUS, EMQX_0, HTTPS)]
    assert not t[flow(STRANGER, EMQX_0, HTTPS)]  # same pod labels, unlabelled namespace
    assert not t[flow(CLIENT, EMQX_0, HTTPS)]  # the policy's own namespace is not implied
    assert not t[flow(PROMETHEUS, EMQX_0, MQTT)]


def test_namespace_and_pod_selector_in_one_peer_are_anded():
    # {namespaceSelector, podSelector} in one peer means both; a wrong reading (either) would admit METRICS.
    dns_only = policy(
        "from-dns",
        podSelector={"matchLabels": {"app": "emqx"}},
        ingress=[
            {
                "from": [
                    {
                        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                    }
                ]
            }
        ],
    )
    t = table(dns_only)
    assert t[flow(COREDNS, EMQX_0, MQTT)]
    assert not t[flow(METRICS, EMQX_0, MQTT)] and not t[flow(EMQX_1, EMQX_0, MQTT)]


def dns_only_egress() -> dict[str, Any]:
    return policy(
        "egress-dns-only",
        policyTypes=["Egress"],
        egress=[
            {
                "to": [
                    {
                        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                    }
                ],
                "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
            }
        ],
    )


def test_egress_allowing_only_dns_blocks_all_other_egress():
    t = table(dns_only_egress(), externals=[API_SERVER, UPSTREAM_DNS])
    for src in (EMQX_0, EMQX_1, CLIENT):
        from_src = [k for k in allowed(t) if k[0] == src.key]
        assert from_src == [flow(src, COREDNS, DNS_TCP), flow(src, COREDNS, DNS_UDP)]
    # Inside the namespace too: the peer's ingress allows it, the source's egress does not.
    v = verdicts([dns_only_egress()], NAMESPACES, PODS, [MQTT])[flow(EMQX_0, EMQX_1, MQTT)]
    assert (v.egress, v.ingress, v.allowed) == (False, True, False)
    assert not t[flow(EMQX_0, API_SERVER, HTTPS)] and not t[flow(EMQX_0, UPSTREAM_DNS, DNS_UDP)]
    # Egress only: traffic into the namespace and the rest of the cluster is untouched.
    assert (
        t[flow(COREDNS, EMQX_0, MQTT)] and t[flow(API_SERVER, EMQX_0, HTTPS)] and t[flow(PROMETHEUS, STRANGER, HTTPS)]
    )


def test_ip_block_egress_reaches_the_api_server_and_nothing_else():
    api = policy(
        "egress-api-server",
        policyTypes=["Egress"],
        egress=[{"to": [{"ipBlock": {"cidr": "10.96.0.0/12", "except": ["10.96.0.10/32"]}}], "ports": [{"port": 443}]}],
    )
    kube_dns_vip = External("10.96.0.10")
    t = table(api, dns_only_egress(), externals=[API_SERVER, UPSTREAM_DNS, kube_dns_vip])
    assert t[flow(EMQX_0, API_SERVER, HTTPS)]
    assert not t[flow(EMQX_0, API_SERVER, MQTT)]  # port still applies
    assert not t[flow(EMQX_0, kube_dns_vip, HTTPS)]  # in the except
    assert not t[flow(EMQX_0, UPSTREAM_DNS, HTTPS)]  # outside the CIDR
    assert t[flow(EMQX_0, COREDNS, DNS_UDP)]  # the other policy still applies (union)


def test_ingress_policy_without_rules_denies():
    declared = policy("no-rules", podSelector={"matchLabels": {"app": "emqx"}}, policyTypes=["Ingress"])
    t = table(declared)
    assert not any(v for k, v in t.items() if k[1] in (EMQX_0.key, EMQX_1.key))
    assert t[flow(EMQX_0, CLIENT, MQTT)]
    # An empty rule list is still no rule; a single empty rule, however, allows everything.
    assert table(policy("empty-list", policyTypes=["Ingress"], ingress=[])) == table(
        policy("x", policyTypes=["Ingress"])
    )
    assert all(table(policy("allow-all", policyTypes=["Ingress"], ingress=[{}])).values())


def test_policy_types_are_defaulted_like_the_api_server():
    # No policyTypes and only egress rules: the API server makes it [Ingress, Egress], so it also denies ingress.
    egress_rules_only = dns_only_egress()
    del egress_rules_only["spec"]["policyTypes"]
    t = table(egress_rules_only)
    assert not t[flow(COREDNS, EMQX_0, MQTT)] and not t[flow(EMQX_1, EMQX_0, MQTT)]
    assert t[flow(EMQX_0, COREDNS, DNS_UDP)]  # its egress rule still applies
    # No policyTypes and no rules at all: an Ingress policy, i.e. a default-deny of ingress only.
    assert table(policy("bare")) == table(policy("deny", policyTypes=["Ingress"]))
    # Explicit policyTypes win: ingress rules of an Egress-only policy are ignored, not enforced.
    egress_typed = policy("egress-typed", policyTypes=["Egress"], ingress=[{"ports": [{"port": 4370}]}])
    t = table(egress_typed)
    assert t[flow(COREDNS, EMQX_0, MQTT)]  # ingress untouched
    assert not t[flow(EMQX_0, COREDNS, DNS_UDP)]  # an Egress policy without egress rules denies all egress


def test_policies_selecting_the_same_pod_are_unioned():
    mqtt_from_clients = policy(
        "mqtt",
        podSelector={"matchLabels": {"app": "emqx"}},
        ingress=[{"from": [{"podSelector": {"matchLabels": {"app": "client"}}}], "ports": [{"port": "mqtt"}]}],
    )
    # A different podSelector selecting the same pods, so the engine cannot merge them by selector.
    ekka_from_cores = policy(
        "ekka",
        podSelector={"matchLabels": {"role": "core"}},
        ingress=[{"from": [{"podSelector": {"matchLabels": {"role": "core"}}}], "ports": [{"port": 4370}]}],
    )
    t = table(mqtt_from_clients, ekka_from_cores)
    assert t[flow(CLIENT, EMQX_0, MQTT)] and t[flow(EMQX_1, EMQX_0, EKKA)]
    assert not t[flow(CLIENT, EMQX_0, EKKA)] and not t[flow(EMQX_1, EMQX_0, MQTT)]  # rules are not mixed
    # Each policy alone allows less than the two together.
    assert not table(mqtt_from_clients)[flow(EMQX_1, EMQX_0, EKKA)]
    assert not table(ekka_from_cores)[flow(CLIENT, EMQX_0, MQTT)]


def test_named_ports_resolve_on_the_destination_pod():
    by_name = policy(
        "mqtt-by-name", podSelector={"matchLabels": {"app": "emqx"}}, ingress=[{"ports": [{"port": "mqtt"}]}]
    )
    # emqx-1 listens on 1883 under another name: a port name in a policy is not a number.
    renamed = Pod("emqx", "emqx-1", {"app": "emqx"}, ports=[(1883, "TCP", "mqtt-plain")])
    t = table(by_name, pods=[EMQX_0, renamed, CLIENT], ports=[MQTT, EKKA])
    assert t[flow(CLIENT, EMQX_0, MQTT)]
    assert not t[flow(CLIENT, renamed, (1883, "TCP", "mqtt-plain"))]
    assert not t[flow(CLIENT, EMQX_0, EKKA)]


def test_port_ranges():
    ranged = policy("range", ingress=[{"ports": [{"port": 4370, "endPort": 4380, "protocol": "TCP"}]}])
    t = table(ranged, pods=[EMQX_0, CLIENT], ports=[EKKA, (4380, "TCP", ""), (4381, "TCP", ""), MQTT])
    assert [k[2] for k in allowed(t) if k[1] == EMQX_0.key] == [4370, 4380]


def test_policy_without_namespace_lands_in_the_default_namespace():
    deny = policy("deny", policyTypes=["Ingress"])
    del deny["metadata"]["namespace"]
    t = truth_table([deny], NAMESPACES, PODS, [MQTT], default_namespace="emqx")
    assert not t[flow(CLIENT, EMQX_0, MQTT)] and t[flow(EMQX_0, COREDNS, MQTT)]


def test_invalid_input_is_an_error_not_a_verdict():
    with pytest.raises(netpol.EngineError, match="podSelectr"):
        table(policy("typo", podSelectr={"matchLabels": {"app": "emqx"}}))
    # The API server rejects these; cyclonus alone would read the first as its ipBlock only.
    with pytest.raises(netpol.EngineError, match="may not have selectors"):
        table(policy("both", ingress=[{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}}]}]))
    with pytest.raises(netpol.EngineError, match="invalid CIDR"):
        table(policy("cidr", ingress=[{"from": [{"ipBlock": {"cidr": "10.0.0.0/33"}}]}]))
    with pytest.raises(netpol.EngineError, match="cyclonus rejected"):
        table(policy("range", ingress=[{"ports": [{"port": "mqtt", "endPort": 1884}]}]))
    with pytest.raises(ValueError, match="namespace nowhere"):
        table(pods=[Pod("nowhere", "x")])
    with pytest.raises(ValueError, match="not a NetworkPolicy"):
        table({"kind": "Service", "metadata": {"name": "emqx"}})


def test_missing_engine_says_how_to_build_it(monkeypatch: pytest.MonkeyPatch, tmp_path):
    monkeypatch.setenv("EMQX_EE_CACHE", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(netpol.EngineError, match="run tools/netpol-engine/build.sh"):
        table()


def test_engine_is_cyclonus_and_fast_enough():
    assert netpol.engine_version().startswith("github.com/mattfenwick/cyclonus v")
    pods = [Pod("emqx", f"emqx-{i}", {"app": "emqx"}, ip=f"10.244.0.{i}") for i in range(10)]
    ports = [(1883 + i, "TCP", f"p{i}") for i in range(10)]
    start = time.monotonic()
    t = table(dns_only_egress(), pods=pods, ports=ports)
    assert len(t) == 10 * 9 * 10
    assert time.monotonic() - start < 10
