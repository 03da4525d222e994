"""emqxConfig values reach the live pods as written: the API server takes every env name and value the chart
writes for them (a listener name with "-", control characters, U+2028, an emoji, a long string), stores them
byte for byte, and what it stores reads back, with hocon 0.45.9's rules (harness.emqx_config), as the values
said. kwok starts no container, so EMQX itself does not read them here; the unit suite
(tests/unit/test_emqx_config_check.py) holds the full table.
"""

import pytest

from harness.emqx_config import parse_value
from harness.helm import emqx_settings
from harness.statefulset import pods, wait_ready

pytestmark = pytest.mark.smoke

TEXTS = ["<a>&b", "007", "true", "null", 'say "hi"', "tab\tand\nline", "\x1b[31mred", "back\\slash", "\\u003c",
         "a\u2028b", "emoji 🎉", "#hash//x ${HOME}", "x" * 5000]  # fmt: skip
SETTINGS = {f"zones.t{i}.mqtt.response_information": text for i, text in enumerate(TEXTS)}
SETTINGS.update({"listeners.tcp.my-listener.bind": 11884, "mqtt.mqueue_priorities": {"t/1": 10, "a&b/#": 2}})


def test_tricky_emqx_settings_reach_the_live_pods_as_written(release, kubectl, namespace):
    release().install({"replicaCount": 1, "minReadySeconds": 0, "emqxConfig": SETTINGS})
    wait_ready(kubectl, namespace, 1)
    for obj in (kubectl.get("statefulset", namespace, "emqx-ee"), pods(kubectl, namespace)[0]):
        env = emqx_settings(obj if obj["kind"] == "StatefulSet" else {"spec": {"template": obj}})
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        for i, text in enumerate(TEXTS):
            assert parse_value(env[f"EMQX_ZONES__T{i}__MQTT__RESPONSE_INFORMATION"]).data == text, (where, text)
        assert env["EMQX_LISTENERS__TCP__MY-LISTENER__BIND"] == "11884", where
        assert parse_value(env["EMQX_MQTT__MQUEUE_PRIORITIES"]).data == {"t/1": 10, "a&b/#": 2}, where
