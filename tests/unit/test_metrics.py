"""Prometheus metrics: a headless metrics Service over every EMQX node, a ServiceMonitor when the cluster
serves monitoring.coreos.com/v1 (or when forced), and basic auth with the bootstrap API key."""

import pytest

from harness.helm import HelmError
from harness.query import jp1
from harness.scenarios import effective_values

pytestmark = pytest.mark.unit

FORCED = {"metrics": {"serviceMonitor": {"force": True}}}


def monitor(m):
    return m.one("ServiceMonitor", "emqx-ee")


def test_every_scenario_with_a_monitor_gets_its_settings(every_scenario):
    """Interval, timeout, labels, namespace and relabelings as each scenario sets them (18); without a cluster
    only `force` renders the monitor."""
    for scenario, m in every_scenario:
        wanted = effective_values(scenario.values)["metrics"]["serviceMonitor"]
        sm = m.maybe("ServiceMonitor", "emqx-ee")
        assert (sm is not None) == (wanted["enabled"] and wanted["force"]), scenario.name
        if sm:
            (endpoint,) = sm["spec"]["endpoints"]
            assert (endpoint["interval"], endpoint["scrapeTimeout"]) == (wanted["interval"], wanted["scrapeTimeout"])
            assert endpoint.get("relabelings", []) == wanted["relabelings"], scenario.name
            assert endpoint.get("metricRelabelings", []) == wanted["metricRelabelings"], scenario.name
            assert wanted["labels"].items() <= sm["metadata"]["labels"].items(), scenario.name
            assert sm["metadata"]["namespace"] == (wanted["namespace"] or "emqx"), scenario.name


def test_no_service_monitor_without_the_api(template):
    """helm template sees no monitoring.coreos.com/v1, so only `force` renders it here; the smoke suite
    installs prometheus-operator's CRDs and shows the API switching it on."""
    assert not template().of_kind("ServiceMonitor")
    assert not template({"metrics": {"serviceMonitor": {"enabled": False, "force": True}}}).of_kind("ServiceMonitor")


def test_monitor_scrapes_the_metrics_service_of_this_release(template):
    m = template(FORCED)
    sm = monitor(m)
    service = m.one("Service", "emqx-ee-metrics")
    labels = service["metadata"]["labels"]
    assert all(labels[k] == v for k, v in sm["spec"]["selector"]["matchLabels"].items())
    others = [s for s in m.of_kind("Service") if s is not service]
    for other in others:
        selected = all(
            other["metadata"]["labels"].get(k) == v for k, v in sm["spec"]["selector"]["matchLabels"].items()
        )
        assert not selected, f"the monitor would also scrape {other['metadata']['name']}"
    assert sm["spec"]["namespaceSelector"] == {"matchNames": ["emqx"]}
    (endpoint,) = sm["spec"]["endpoints"]
    assert endpoint["port"] == "metrics" and endpoint["path"] == "/api/v5/prometheus/stats"
    assert (endpoint["interval"], endpoint["scrapeTimeout"]) == ("30s", "10s")
    assert service["spec"]["clusterIP"] == "None", "one target per node"
    assert jp1(service, "$.spec.ports[0].targetPort") == "dashboard"


def test_basic_auth_uses_the_api_key(template):
    m = template(FORCED)
    assert m.settings()["EMQX_PROMETHEUS__ENABLE_BASIC_AUTH"] == "true"
    auth = monitor(m)["spec"]["endpoints"][0]["basicAuth"]
    assert auth == {
        "username": {"name": "emqx-ee", "key": "api-key-name"},
        "password": {"name": "emqx-ee", "key": "api-key-secret"},
    }
    secret = m.one("Secret", "emqx-ee")["data"]
    assert {"api-key-name", "api-key-secret"} <= set(secret)


def test_basic_auth_can_be_off_or_from_a_secret(template):
    off = template({"metrics": {"basicAuth": False, "serviceMonitor": {"force": True}}})
    assert "EMQX_PROMETHEUS__ENABLE_BASIC_AUTH" not in off.settings()
    assert "basicAuth" not in monitor(off)["spec"]["endpoints"][0]
    own = template(
        {
            "apiKey": {"existingSecret": "keys"},
            "metrics": {"serviceMonitor": {"force": True, "basicAuthSecret": "prom"}},
        }
    )
    assert monitor(own)["spec"]["endpoints"][0]["basicAuth"]["password"] == {"name": "prom", "key": "password"}


def test_monitor_values(template):
    sm = monitor(
        template(
            {
                "metrics": {
                    "serviceMonitor": {
                        "force": True,
                        "interval": "15s",
                        "scrapeTimeout": "5s",
                        "labels": {"release": "kube-prometheus-stack"},
                        "relabelings": [{"action": "labeldrop", "regex": "pod"}],
                        "metricRelabelings": [{"action": "drop", "regex": "erlang_.*", "sourceLabels": ["__name__"]}],
                    }
                }
            }
        )
    )
    assert sm["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    endpoint = sm["spec"]["endpoints"][0]
    assert (endpoint["interval"], endpoint["scrapeTimeout"]) == ("15s", "5s")
    assert endpoint["relabelings"] == [{"action": "labeldrop", "regex": "pod"}]
    assert endpoint["metricRelabelings"][0]["action"] == "drop"


def test_https_dashboard_is_scraped_over_tls(template):
    m = template({**FORCED, "tls": {"enabled": True, "existingSecret": "broker-tls", "dashboard": True}})
    endpoint = monitor(m)["spec"]["endpoints"][0]
    assert endpoint["scheme"] == "https"
    assert endpoint["tlsConfig"]["ca"] == {"secret": {"name": "broker-tls", "key": "ca.crt"}}
    assert endpoint["tlsConfig"]["serverName"] == "emqx-ee-headless.emqx.svc.cluster.local"


@pytest.mark.parametrize(
    "values, says",
    [
        ({"apiKey": {"existingSecret": "keys"}, **FORCED}, "metrics.basicAuth: the ServiceMonitor needs credentials"),
        (
            {"metrics": {"serviceMonitor": {"force": True, "namespace": "monitoring"}}},
            "metrics.serviceMonitor.namespace=monitoring",
        ),
        ({"metrics": {"serviceMonitor": {"interval": "often"}}}, "/metrics/serviceMonitor/interval"),
        ({"emqxConfig": {"prometheus.enable_basic_auth": False}}, "set metrics.basicAuth"),
    ],
)
def test_incoherent_metrics_values_are_refused(template, values, says):
    with pytest.raises(HelmError) as caught:
        template(values)
    assert says in caught.value.stderr, caught.value.stderr
