"""NOTES.txt: warnings first, then commands for the chosen Service type, then `helm test`.

Rendered with Helm 4's client-only dry run; Helm 3's `install --dry-run` needs a reachable cluster.
"""

import pytest

from harness.helm import notes

pytestmark = pytest.mark.unit


def test_default_notes_have_no_warning_and_end_with_helm_test(helm4):
    text = notes(helm4)
    assert "WARNING" not in text
    assert "kubectl -n emqx port-forward svc/emqx-ee 1883:1883" in text
    assert text.strip().splitlines()[-1].strip() == "helm test emqx-ee -n emqx"


def test_no_persistence_warns_first(helm4):
    text = notes(helm4, {"persistence": {"enabled": False}})
    assert text.lstrip().startswith("WARNING: persistence.enabled=false"), text[:200]


def test_license_in_values_and_exposed_dashboard_warn(helm4):
    text = notes(helm4, {"license": {"key": "evaluation"}, "service": {"type": "LoadBalancer"}})
    assert "license.existingSecret" in text and "dashboard (port 18083) is exposed" in text
    assert "status.loadBalancer.ingress[0].ip" in text


def test_node_port_commands(helm4):
    assert "jsonpath='{.spec.ports[?(@.name==\"mqtt\")].nodePort}'" in notes(helm4, {"service": {"type": "NodePort"}})
