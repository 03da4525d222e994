"""The escape hatches users expect: extra env, volumes, containers, objects, labels and annotations."""

import pytest

from harness.query import env_value, jp1

pytestmark = pytest.mark.unit


def test_extra_env_and_env_from(template):
    sts = template(
        {
            "extraEnv": [{"name": "EMQX_LOG__CONSOLE__LEVEL", "value": "debug"}],
            "extraEnvFrom": [{"secretRef": {"name": "emqx-extra"}}],
        }
    ).statefulset
    assert env_value(sts, "EMQX_LOG__CONSOLE__LEVEL")["value"] == "debug"
    env_from = jp1(sts, "$.spec.template.spec.containers[?name='emqx'].envFrom")
    assert env_from[-1] == {"secretRef": {"name": "emqx-extra"}}


def test_extra_volumes_mounts_and_containers(template):
    spec = template(
        {
            "extraVolumes": [{"name": "certs", "secret": {"secretName": "emqx-tls"}}],
            "extraVolumeMounts": [{"name": "certs", "mountPath": "/opt/emqx/etc/certs/custom", "readOnly": True}],
            "extraInitContainers": [{"name": "wait", "image": "busybox"}],
            "extraContainers": [{"name": "exporter", "image": "example/exporter"}],
        }
    ).statefulset["spec"]["template"]["spec"]
    assert {"name": "certs", "secret": {"secretName": "emqx-tls"}} in spec["volumes"]
    assert spec["containers"][0]["volumeMounts"][-1]["name"] == "certs"
    assert [c["name"] for c in spec["initContainers"]] == ["wait"]
    assert [c["name"] for c in spec["containers"]] == ["emqx", "exporter"]


def test_pod_annotations_sit_beside_the_config_checksum(template):
    annotations = template({"podAnnotations": {"prometheus.io/scrape": "true"}}).statefulset["spec"]["template"][
        "metadata"
    ]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true" and "checksum/config" in annotations


def test_extra_objects_are_rendered_through_tpl(template):
    m = template(
        {
            "extraObjects": [
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": "{{ .Release.Name }}-extra"},
                    "data": {"a": "b"},
                },
                'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ include "emqx-ee.fullname" . }}-raw\n',
            ]
        }
    )
    assert m.one("ConfigMap", "emqx-ee-extra")["data"] == {"a": "b"}
    assert m.one("ConfigMap", "emqx-ee-raw")
