"""Cross-field rules live in values.schema.json, so `helm lint --strict`, editors with schema support and
`helm install` all refuse the same values (under Helm 4 and Helm 3); each message names the value."""

import json
from functools import partial

import jsonschema
import pytest
import yaml

from harness.helm import HelmError, lint, prefetch, render
from harness.scenarios import effective_values
from harness.tools import CHART

pytestmark = pytest.mark.unit

SCHEMA = json.loads((CHART / "values.schema.json").read_text())

# rule: (refused values, the value paths the message names, the same values made acceptable)
RULES = {
    "replicas-need-a-license": (
        {"replicaCount": 3},
        ["/license/key", "/license/existingSecret"],
        {"replicaCount": 3, "license": {"existingSecret": "lic"}},
    ),
    "replicants-need-a-license": (
        {"replicants": {"enabled": True}},
        ["/license/key", "/license/existingSecret"],
        {"replicants": {"enabled": True}, "license": {"key": "evaluation"}},
    ),
    "node-ports-need-node-port-or-load-balancer": (
        {"service": {"nodePorts": {"mqtt": 31883}}},
        ["/service/nodePorts"],
        {"service": {"type": "NodePort", "nodePorts": {"mqtt": 31883}}},
    ),
    "traffic-policy-needs-node-port-or-load-balancer": (
        {"service": {"externalTrafficPolicy": "Local"}},
        ["/service/externalTrafficPolicy"],
        {"service": {"type": "NodePort", "externalTrafficPolicy": "Local"}},
    ),
    "source-ranges-need-load-balancer": (
        {"service": {"type": "NodePort", "loadBalancerSourceRanges": ["10.0.0.0/8"]}},
        ["/service/loadBalancerSourceRanges"],
        {"service": {"type": "LoadBalancer", "loadBalancerSourceRanges": ["10.0.0.0/8"]}},
    ),
    "load-balancer-class-needs-load-balancer": (
        {"service": {"loadBalancerClass": "metallb"}},
        ["/service/loadBalancerClass"],
        {"service": {"type": "LoadBalancer", "loadBalancerClass": "metallb"}},
    ),
    "proxy-protocol-needs-a-load-balancer": (
        {"listeners": {"mqtt": {"proxyProtocol": True}}},
        ["/service/type"],
        {"listeners": {"mqtt": {"proxyProtocol": True}}, "service": {"type": "LoadBalancer"}},
    ),
    "proxy-protocol-needs-the-listener-enabled": (
        {"listeners": {"ws": {"enabled": False, "proxyProtocol": True}}, "service": {"type": "LoadBalancer"}},
        ["/listeners/ws/enabled"],
        {"listeners": {"ws": {"enabled": True, "proxyProtocol": True}}, "service": {"type": "LoadBalancer"}},
    ),
    "some-listener-stays-enabled": (
        {"listeners": {n: {"enabled": False} for n in ("mqtt", "mqtts", "ws", "wss")}},
        ["/listeners/mqtt/enabled", "/listeners/wss/enabled"],
        {"listeners": {n: {"enabled": n == "ws"} for n in ("mqtt", "mqtts", "ws", "wss")}},
    ),
    "dashboard-node-port-needs-node-port": (
        {"dashboard": {"service": {"nodePort": 31083}}},
        ["/dashboard/service/nodePort"],
        {"dashboard": {"service": {"type": "NodePort", "nodePort": 31083}}},
    ),
    "dashboard-source-ranges-need-load-balancer": (
        {"dashboard": {"service": {"loadBalancerSourceRanges": ["192.0.2.0/24"]}}},
        ["/dashboard/service/loadBalancerSourceRanges"],
        {"dashboard": {"service": {"type": "LoadBalancer", "loadBalancerSourceRanges": ["192.0.2.0/24"]}}},
    ),
    "gitops-mode-needs-existing-secrets": (
        {"auth": {"generate": False}},
        ["/auth/erlangCookie/existingSecret", "/auth/dashboard/existingSecret", "/apiKey/existingSecret"],
        {
            "auth": {"generate": False, "erlangCookie": {"existingSecret": "c"}, "dashboard": {"existingSecret": "d"}},
            "apiKey": {"existingSecret": "k"},
            "mqttAuth": {"enabled": True, "existingSecret": "m"},
        },
    ),
}


def schema_errors(values) -> list[str]:
    validator = jsonschema.Draft7Validator(SCHEMA)
    return [e.message for e in validator.iter_errors(effective_values(values))]


@pytest.mark.parametrize(("bad", "paths", "good"), list(RULES.values()), ids=list(RULES))
def test_the_schema_alone_refuses_what_helm_refuses(bad, paths, good):
    """What an editor with schema support checks, with no Helm involved."""
    assert schema_errors(bad), f"values.schema.json accepts {bad}"
    assert not schema_errors(good), schema_errors(good)


@pytest.fixture(scope="session")
def rendered(helm):
    """Every rule's values rendered by this major, two at a time; each test reads its own results."""
    prefetch(partial(render, helm, values) for bad, _, good in RULES.values() for values in (bad, good))


@pytest.fixture(scope="session")
def linted(helm, tmp_path_factory):
    """Every rule's values linted by this major, two at a time (lint() caches by file content)."""
    files = []
    for name, (bad, _, good) in RULES.items():
        for kind, values in (("bad", bad), ("good", good)):
            files.append(tmp_path_factory.mktemp(f"{name}-{kind}") / "values.yaml")
            files[-1].write_text(yaml.safe_dump(values))
    prefetch(partial(lint, helm, f) for f in files)


@pytest.mark.parametrize(("bad", "paths", "good"), list(RULES.values()), ids=list(RULES))
def test_helm_template_refuses_with_the_value_named(helm, rendered, bad, paths, good):
    with pytest.raises(HelmError) as caught:
        render(helm, bad)
    for path in paths:
        assert path in caught.value.stderr, caught.value.stderr
    assert "goroutine" not in caught.value.stderr
    render(helm, good)


@pytest.mark.parametrize(("bad", "paths", "good"), list(RULES.values()), ids=list(RULES))
def test_helm_lint_strict_refuses_the_same(helm, linted, tmp_path, bad, paths, good):
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump(bad))
    with pytest.raises(HelmError) as caught:
        lint(helm, values)
    for path in paths:
        assert path in caught.value.stderr, caught.value.stderr
    values.write_text(yaml.safe_dump(good))
    lint(helm, values)


def test_values_yaml_meets_its_own_schema():
    assert not schema_errors({})
