"""emqxConfig becomes EMQX_* variables in the pod template; a config change rolls the pods, a chart bump does not."""

import pytest

from harness.query import jp1

pytestmark = pytest.mark.unit

CHECKSUM = "$.spec.template.metadata.annotations['checksum/config']"


def config(template, emqx_config):
    return template({"emqxConfig": emqx_config}).settings()


def test_dotted_and_nested_paths_map_to_double_underscores(template):
    data = config(
        template, {"log.console.level": "warning", "mqtt": {"max_packet_size": "1MB", "retry_interval": "30s"}}
    )
    assert data["EMQX_LOG__CONSOLE__LEVEL"] == "warning"
    assert data["EMQX_MQTT__MAX_PACKET_SIZE"] == "1MB"
    assert data["EMQX_MQTT__RETRY_INTERVAL"] == "30s"


def test_values_keep_their_exact_text(template):
    data = config(
        template,
        {
            "listeners.tcp.default.max_connections": 5000000,
            "mqtt.retain_available": False,
            "authorization.sources": [{"type": "file", "path": "/x"}],  # path: EMQX requires it
            "sysmon.os.cpu_high_watermark": 0.5,
            "sysmon.os.cpu_low_watermark": 0.25,  # below the high one, as EMQX's check_watermark/3 needs
        },
    )
    assert data["EMQX_LISTENERS__TCP__DEFAULT__MAX_CONNECTIONS"] == "5000000", "no 5e+06"
    assert data["EMQX_MQTT__RETAIN_AVAILABLE"] == "false"
    assert data["EMQX_AUTHORIZATION__SOURCES"] == '[{"path":"/x","type":"file"}]'
    assert data["EMQX_SYSMON__OS__CPU_HIGH_WATERMARK"] == "0.5"
    assert data["EMQX_SYSMON__OS__CPU_LOW_WATERMARK"] == "0.25"


def test_user_settings_override_chart_defaults(template):
    data = config(template, {"plugins.install_dir": "/opt/emqx/data/other-plugins"})
    assert data["EMQX_PLUGINS__INSTALL_DIR"] == '"/opt/emqx/data/other-plugins"', "quoted for HOCON"


def test_settings_live_in_the_pod_template_of_each_revision(every_scenario):
    """No EMQX workload reads a shared ConfigMap: a pod held back by a partition, or restarted in the middle of
    a roll, must boot with the settings of its own revision, which only the pod template carries."""
    for scenario, m in every_scenario:
        for workload in m.workloads():
            for container in workload["spec"]["template"]["spec"]["containers"]:
                refs = [s for s in container.get("envFrom", []) if "configMapRef" in s]
                assert not refs, f"{scenario.name}: {workload['kind']}/{workload['metadata']['name']} reads {refs}"
        assert m.maybe("ConfigMap", f"{m.statefulset['metadata']['name']}-config") is None, scenario.name


def test_emqx_config_reaches_every_emqx_workload(template):
    values = {"emqxConfig": {"log.console.level": "debug"}, "replicants": {"enabled": True}, "license": {"key": "e"}}
    m = template(values)
    for kind in ("StatefulSet", "Deployment"):
        assert m.settings(kind)["EMQX_LOG__CONSOLE__LEVEL"] == "debug", kind


def test_config_change_rolls_the_pods(template):
    before = jp1(template().statefulset, CHECKSUM)
    after = jp1(template({"emqxConfig": {"log.console.level": "debug"}}).statefulset, CHECKSUM)
    assert before != after and len(before) == 64


def test_dashboard_username_is_configurable(template):
    assert config(template, {})["EMQX_DASHBOARD__DEFAULT_USERNAME"] == "admin"
    data = template({"auth": {"dashboard": {"username": "ops"}}}).settings()
    assert data["EMQX_DASHBOARD__DEFAULT_USERNAME"] == "ops"


def test_plugins_are_installed_on_the_data_volume(template):
    assert config(template, {})["EMQX_PLUGINS__INSTALL_DIR"] == "/opt/emqx/data/plugins"
