"""emqxConfig becomes EMQX_* variables in the ConfigMap; a config change rolls the pods, a chart bump does not."""

import pytest

from harness.query import jp1

pytestmark = pytest.mark.unit

CHECKSUM = "$.spec.template.metadata.annotations['checksum/config']"


def config(template, emqx_config):
    return template({"emqxConfig": emqx_config}).one("ConfigMap", "emqx-ee-config")["data"]


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
            "authorization.sources": [{"type": "file"}],
            "sysmon.os.cpu_high_watermark": 0.5,
        },
    )
    assert data["EMQX_LISTENERS__TCP__DEFAULT__MAX_CONNECTIONS"] == "5000000", "no 5e+06"
    assert data["EMQX_MQTT__RETAIN_AVAILABLE"] == "false"
    assert data["EMQX_AUTHORIZATION__SOURCES"] == '[{"type":"file"}]'
    assert data["EMQX_SYSMON__OS__CPU_HIGH_WATERMARK"] == "0.5"


def test_user_settings_override_chart_defaults(template):
    data = config(template, {"plugins.install_dir": "/opt/emqx/data/other-plugins"})
    assert data["EMQX_PLUGINS__INSTALL_DIR"] == '"/opt/emqx/data/other-plugins"', "quoted for HOCON"


def test_pods_read_the_config_map(every_scenario):
    for _, m in every_scenario:
        name = jp1(m.statefulset, "$.spec.template.spec.containers[?name='emqx'].envFrom[0].configMapRef.name")
        assert m.one("ConfigMap", name)


def test_config_change_rolls_the_pods(template):
    before = jp1(template().statefulset, CHECKSUM)
    after = jp1(template({"emqxConfig": {"log.console.level": "debug"}}).statefulset, CHECKSUM)
    assert before != after and len(before) == 64


def test_dashboard_username_is_configurable(template):
    assert config(template, {})["EMQX_DASHBOARD__DEFAULT_USERNAME"] == "admin"
    data = template({"auth": {"dashboard": {"username": "ops"}}}).one("ConfigMap", "emqx-ee-config")["data"]
    assert data["EMQX_DASHBOARD__DEFAULT_USERNAME"] == "ops"


def test_plugins_are_installed_on_the_data_volume(template):
    assert config(template, {})["EMQX_PLUGINS__INSTALL_DIR"] == "/opt/emqx/data/plugins"
