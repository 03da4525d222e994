"""EMQX's own config check before an install or upgrade changes anything: a pre-install/pre-upgrade hook Job
(templates/job-config-check.yaml, _config_check.tpl) running `emqx check_config` on the release's image with the
settings the nodes read. It renders only where the chart's checks leave the verdict to EMQX: values at
validators the chart cannot run (rule SQL, jq...), or emqxConfigCheck.allowUnknown. On the real node, with the
stand-in's check_config: tests/smoke/test_config_check.py."""

from __future__ import annotations

import pytest
import yaml

from harness.emqx_config import parse_value
from harness.helm import notes
from harness.tools import CHART

pytestmark = pytest.mark.unit

JOB = "emqx-ee-config-check"
# A rule's SQL: EMQX parses it (emqx_rule_engine_schema:validate_sql/1), the chart cannot.
RULE = {"rule_engine.rules.r1.sql": 'SELECT * FROM "t/#"', "rule_engine.rules.r1.actions": ["console"]}
VALUES = yaml.safe_load((CHART / "values.yaml").read_text())
APP_VERSION = yaml.safe_load((CHART / "Chart.yaml").read_text())["appVersion"]


def jobs(m) -> list[dict]:
    return [d for d in m if d["kind"] == "Job" and d["metadata"]["name"] == JOB]


def container(m) -> dict:
    return m.one("Job", JOB)["spec"]["template"]["spec"]["containers"][0]


def env_name(path: str) -> str:
    return "EMQX_" + path.replace(".", "__").upper()


@pytest.mark.parametrize(
    "values",
    [{}, {"emqxConfig": {"mqtt.max_packet_size": "1MB"}}, {"emqxConfig": RULE, "emqxConfigCheck": {"withEmqx": False}}],
    ids=["defaults", "values-the-chart-checks", "with-emqx-off"],
)
def test_no_hook_where_the_chart_checks_everything_or_it_is_off(template, values):
    assert not jobs(template(values))


@pytest.mark.parametrize(
    "values",
    [
        {"emqxConfig": RULE},
        {"emqxConfig": {"mqtt.max_packet_size": "1MB"}, "emqxConfigCheck": {"allowUnknown": True}},
    ],
    ids=["a-value-only-emqx-checks", "allow-unknown"],
)
def test_the_hook_runs_emqx_check_config_before_anything_changes(template, values):
    m = template(values)
    job = m.one("Job", JOB)
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded"
    assert job["spec"]["backoffLimit"] == 0, "a refused config stays refused: no retry"
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    c = container(m)
    assert c["args"] == ["/opt/emqx/bin/emqx", "check_config"] and "command" not in c, "the image's entrypoint runs"
    assert c["image"] == f"{VALUES['image']['repository']}:{APP_VERSION}"
    assert c["terminationMessagePolicy"] == "FallbackToLogsOnError", "EMQX's refusal shows in the Pod status"
    # The chart's ServiceAccount and Secret do not exist before an install: the Job needs neither.
    assert "serviceAccountName" not in pod and pod["automountServiceAccountToken"] is False


def test_the_hook_reads_the_settings_the_nodes_read_and_no_secret_of_the_chart(template):
    mine = {"name": "EMQX_AUTHORIZATION__NO_MATCH", "valueFrom": {"secretKeyRef": {"name": "ops", "key": "k"}}}
    values = {"emqxConfig": RULE, "extraEnv": [mine], "extraEnvFrom": [{"secretRef": {"name": "ops-env"}}]}
    m = template({**values, "discovery": "k8s"})
    c = container(m)
    env = {e["name"]: e for e in c["env"]}
    for path, value in RULE.items():
        assert parse_value(env[env_name(path)]["value"]).data == value, path
    assert env["EMQX_CLUSTER__DISCOVERY_STRATEGY"]["value"] == "k8s"
    # A host of its own: EMQX's entrypoint would look for a k8s-discovery node's host in /etc/hosts, where a
    # Job's pod has none, and exit before the check.
    assert env["EMQX_NAME"]["value"] == VALUES["emqxName"] and env["EMQX_HOST"]["value"] == "127.0.0.1"
    assert env[mine["name"]] == mine and c["envFrom"] == [{"secretRef": {"name": "ops-env"}}]
    refs = [e["valueFrom"]["secretKeyRef"]["name"] for e in c["env"] if "secretKeyRef" in e.get("valueFrom", {})]
    assert refs == ["ops"], "the chart's own Secret does not exist before an install"
    assert "EMQX_NODE__COOKIE" not in env and "EMQX_LICENSE__KEY" not in env


def test_the_hook_pod_is_restricted_and_runs_where_the_cores_may(template):
    placement = {"nodeSelector": {"pool": "mqtt"}, "tolerations": [{"key": "mqtt", "operator": "Exists"}]}
    no_sidecar = {"sidecar.istio.io/inject": "false"}
    m = template({"emqxConfig": RULE, **placement, "emqxConfigCheck": {"annotations": no_sidecar}})
    template_ = m.one("Job", JOB)["spec"]["template"]
    assert template_["metadata"]["annotations"] == no_sidecar, "a sidecar that keeps running blocks the hook"
    pod = template_["spec"]
    assert pod["securityContext"] == VALUES["podSecurityContext"]
    assert container(m)["securityContext"] == VALUES["containerSecurityContext"]
    assert pod["nodeSelector"] == placement["nodeSelector"] and pod["tolerations"] == placement["tolerations"]
    mounts = {v["mountPath"] for v in container(m)["volumeMounts"]}
    assert {"/opt/emqx/data", "/opt/emqx/log", "/tmp"} <= mounts, "writable paths beside a read-only root"
    assert all("emptyDir" in v for v in pod["volumes"]), "no volume of the nodes: none exists before an install"


def test_notes_say_whether_emqx_checked_the_values(helm4):
    on = notes(helm4, {"emqxConfig": RULE})
    assert f"emqx check_config in the hook Job\n         {JOB})" in on, on
    off = notes(helm4, {"emqxConfig": RULE, "emqxConfigCheck": {"withEmqx": False}})
    assert "emqxConfigCheck.withEmqx is off" in off and "hook Job" not in off, off
