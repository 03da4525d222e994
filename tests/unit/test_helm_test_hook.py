"""The `helm test` hooks: the script in a ConfigMap, then a bare Pod (so `helm test --logs` prints it) that
runs it with what it must expect of this release. The script itself: test_helm_test_script.py."""

import pytest

from harness.helm import HelmError
from harness.query import jp1
from harness.tools import CHART

pytestmark = pytest.mark.unit

LICENSED = {"replicaCount": 3, "license": {"key": "evaluation"}}


def env(pod):
    return {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}


def test_script_config_map_comes_first_and_holds_the_script(template):
    m = template(LICENSED)
    cm = m.one("ConfigMap", "emqx-ee-test")
    assert cm["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert int(cm["metadata"]["annotations"]["helm.sh/hook-weight"]) < 0, "created before the Pod (weight 0)"
    assert cm["data"]["helm-test.py"] == (CHART / "files" / "helm-test.py").read_text()
    pod = m.one("Pod")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert "helm.sh/hook-weight" not in pod["metadata"]["annotations"]
    assert jp1(pod, "$.spec.volumes[?name='script'].configMap.name") == "emqx-ee-test"
    assert pod["spec"]["containers"][0]["command"] == ["python3", "-B", "/opt/test/helm-test.py"]
    test_jobs = [j for j in m.of_kind("Job") if j["metadata"]["annotations"].get("helm.sh/hook") == "test"]
    assert test_jobs == [], "helm test --logs reads the logs of Pod hooks only"


def test_pod_expects_every_ordinal_by_its_stable_name(template):
    e = env(template(LICENSED).one("Pod"))
    hosts = [f"emqx-ee-{i}.emqx-ee-headless.emqx.svc.cluster.local" for i in range(3)]
    assert e["STATUS_HOSTS"].split() == hosts
    assert e["API_HOST"] == hosts[0] and e["API_PORT"] == "18083"
    assert e["EXPECT_CORES"] == "3" and e["EXPECT_REPLICANTS"] == "0"
    assert e["MQTT_HOST"] == "emqx-ee.emqx.svc.cluster.local" and e["MQTT_PORT"] == "1883"
    assert e["MQTT_TLS"] == "false" and e["MQTT_PROXY_PROTOCOL"] == "false"


def test_pod_expects_the_replicants(template):
    fixed = env(template(LICENSED | {"replicants": {"enabled": True, "replicaCount": 4}}).one("Pod"))
    assert fixed["EXPECT_REPLICANTS"] == "4"
    scaling = {"enabled": True, "autoscaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 6}}
    assert env(template(LICENSED | {"replicants": scaling}).one("Pod"))["EXPECT_REPLICANTS"] == "2-6"


def test_pod_uses_the_api_key_the_nodes_bootstrap(template):
    for values in (LICENSED, LICENSED | {"apiKey": {"existingSecret": "ops-keys", "existingSecretKey": "keys"}}):
        m = template(values)
        nodes = jp1(m.statefulset, "$.spec.template.spec.volumes[?name='api-key'].secret")
        test = jp1(m.one("Pod"), "$.spec.volumes[?name='api-key'].secret")
        assert (nodes["secretName"], nodes["items"]) == (test["secretName"], test["items"])
    assert test["secretName"] == "ops-keys" and test["items"][0]["key"] == "keys"


def test_round_trip_goes_over_tls_when_tls_is_on(template):
    tls = {"tls": {"enabled": True, "existingSecret": "emqx-tls"}}
    pod = template(LICENSED | tls).one("Pod")
    e = env(pod)
    assert (e["MQTT_PORT"], e["MQTT_TLS"], e["MQTT_CA"]) == ("8883", "true", "/opt/test/tls/ca.crt")
    assert "MQTT_CLIENT_CERT" not in e
    volume = jp1(pod, "$.spec.volumes[?name='tls'].secret")
    assert volume["secretName"] == "emqx-tls" and volume["optional"] is True, "ca.crt is used when present"
    mutual = template(LICENSED | {"tls": {"enabled": True, "existingSecret": "emqx-tls", "verifyClients": True}})
    e = env(mutual.one("Pod"))
    assert e["MQTT_CLIENT_CERT"] == "/opt/test/tls/tls.crt" and e["MQTT_CLIENT_KEY"] == "/opt/test/tls/tls.key"
    assert jp1(mutual.one("Pod"), "$.spec.volumes[?name='tls'].secret.optional") is False


def test_round_trip_follows_the_listeners(template):
    proxied = env(
        template({"listeners": {"mqtt": {"proxyProtocol": True}}, "service": {"type": "LoadBalancer"}}).one("Pod")
    )
    assert proxied["MQTT_PROXY_PROTOCOL"] == "true"
    ws_only = {"listeners": {"mqtt": {"enabled": False}, "ws": {"enabled": True}}}
    assert "MQTT_PORT" not in env(template(ws_only).one("Pod")), "the script says it skips the round trip"
    moved = env(template({"service": {"ports": {"mqtt": 11883}}}).one("Pod"))
    assert moved["MQTT_PORT"] == "11883", "through the client Service's port"


def test_a_passing_test_is_deleted_unless_kept(template):
    for kind in ("Pod", "ConfigMap"):
        default = template().one(kind, "emqx-ee-test")["metadata"]["annotations"]
        assert default["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded"
        kept = template({"tests": {"deleteOnSuccess": False}}).one(kind, "emqx-ee-test")["metadata"]["annotations"]
        assert kept["helm.sh/hook-delete-policy"] == "before-hook-creation", "Helm 3 --logs reads a kept Pod"
    pod = template().one("Pod")["metadata"]["annotations"]
    assert pod["helm.sh/hook-output-log-policy"] == "hook-succeeded,hook-failed", "Helm prints the logs itself"


def test_test_image_is_configurable(template):
    pod = template({"tests": {"image": {"repository": "registry.local/python", "tag": "3.13"}}}).one("Pod")
    assert pod["spec"]["containers"][0]["image"] == "registry.local/python:3.13"


def test_hook_pod_is_not_selected_by_the_services_or_the_pdb(every_scenario):
    for scenario, m in every_scenario:
        selectors = [s["spec"]["selector"] for s in m.of_kind("Service")]
        selectors += [p["spec"]["selector"]["matchLabels"] for p in m.of_kind("PodDisruptionBudget")]
        for pod in m.of_kind("Pod"):
            labels = pod["metadata"]["labels"]
            for selector in selectors:
                matched = all(labels.get(k) == v for k, v in selector.items())
                assert not matched, f"{scenario.name}: the test pod matches {selector}"


def test_hook_can_be_disabled(template):
    m = template({"tests": {"enabled": False}})
    assert m.maybe("Pod") is None and m.maybe("ConfigMap", "emqx-ee-test") is None


def test_no_hook_when_no_node_runs(template):
    assert template({"replicaCount": 0}).maybe("Pod") is None


def test_hook_pod_takes_annotations(template):
    pod = template({"tests": {"annotations": {"sidecar.istio.io/inject": "false"}}}).one("Pod")
    assert pod["metadata"]["annotations"]["sidecar.istio.io/inject"] == "false"
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"


def test_the_test_needs_the_api_key(template):
    with pytest.raises(HelmError, match=r"tests.enabled: .*set apiKey.enabled=true, or tests.enabled=false"):
        template({"apiKey": {"enabled": False}})
    assert template({"apiKey": {"enabled": False}, "tests": {"enabled": False}}).maybe("Pod") is None


def test_each_check_retries_for_the_configured_seconds(template):
    assert env(template(LICENSED).one("Pod"))["TEST_TIMEOUT"] == "120"
    assert env(template(LICENSED | {"tests": {"timeoutSeconds": 15}}).one("Pod"))["TEST_TIMEOUT"] == "15"


def test_the_test_pod_runs_where_the_cores_may_run(template):
    placement = {
        "nodeSelector": {"pool": "mqtt"},
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "mqtt", "effect": "NoSchedule"}],
    }
    spec = template(LICENSED | placement).one("Pod")["spec"]
    assert (spec["nodeSelector"], spec["tolerations"]) == (placement["nodeSelector"], placement["tolerations"])
    default = template(LICENSED).one("Pod")["spec"]
    assert "nodeSelector" not in default and "tolerations" not in default
