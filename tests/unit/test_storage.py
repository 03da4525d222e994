"""Per-pod storage: claims from volumeClaimTemplates, mounts, retention, and the emptyDir fallback."""

import pytest

from harness.query import jp, jp1, jp_all

pytestmark = pytest.mark.unit

DATA_MOUNT = "$.spec.template.spec.containers[?name='emqx'].volumeMounts[?name='emqx-data'].mountPath"


def test_data_directory_is_mounted_in_every_scenario(every_scenario):
    for scenario, m in every_scenario:
        assert jp1(m.statefulset, DATA_MOUNT) == "/opt/emqx/data", scenario.name


def test_claims_are_retained_on_delete_and_scale_down_by_default(every_scenario):
    for scenario, m in every_scenario:
        policy = jp1(m.statefulset, "$.spec.persistentVolumeClaimRetentionPolicy")
        assert policy == {"whenDeleted": "Retain", "whenScaled": "Retain"}, scenario.name


def test_persistent_scenarios_claim_one_volume_per_pod(every_scenario):
    for scenario, m in every_scenario:
        sts = m.statefulset
        persistent = scenario.values.get("persistence", {}).get("enabled", True)
        templates = jp_all(sts, "$.spec.volumeClaimTemplates[*]")
        pod_volumes = [v["name"] for v in jp(sts, "$.spec.template.spec.volumes[*]")]
        if persistent:
            assert [t["metadata"]["name"] for t in templates] == ["emqx-data"], scenario.name
            assert "emqx-data" not in pod_volumes, f"{scenario.name}: a pod volume would shadow the claim"
        else:
            assert templates == [], scenario.name
            size = jp1(sts, "$.spec.template.spec.volumes[?name='emqx-data'].emptyDir.sizeLimit")
            assert size == "1Gi", scenario.name


def test_default_claim(template):
    claim = jp1(template().statefulset, "$.spec.volumeClaimTemplates[0]")
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert claim["spec"]["resources"] == {"requests": {"storage": "8Gi"}}
    assert "storageClassName" not in claim["spec"], "unset storageClass must leave the cluster default"


@pytest.mark.parametrize(("value", "expected"), [("fast-ssd", "fast-ssd"), ("-", "")])
def test_storage_class(template, value, expected):
    claim = jp1(template({"persistence": {"storageClass": value}}).statefulset, "$.spec.volumeClaimTemplates[0]")
    assert claim["spec"]["storageClassName"] == expected


def test_claim_options_pass_through(template):
    sts = template(
        {
            "persistence": {
                "size": "20Gi",
                "accessModes": ["ReadWriteOncePod"],
                "annotations": {"backup": "daily"},
                "labels": {"tier": "broker"},
                "selector": {"matchLabels": {"disk": "local"}},
            }
        }
    ).statefulset
    claim = jp1(sts, "$.spec.volumeClaimTemplates[0]")
    assert claim["spec"]["resources"]["requests"]["storage"] == "20Gi"
    assert claim["spec"]["accessModes"] == ["ReadWriteOncePod"]
    assert claim["spec"]["selector"] == {"matchLabels": {"disk": "local"}}
    assert claim["metadata"]["annotations"] == {"backup": "daily"}
    assert claim["metadata"]["labels"]["tier"] == "broker"


def test_retention_can_be_set_to_delete(template):
    sts = template(
        {"persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Delete", "whenScaled": "Delete"}}
    ).statefulset
    assert sts["spec"]["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Delete", "whenScaled": "Delete"}


def test_writable_scratch_paths_are_empty_dirs(every_scenario):
    for scenario, m in every_scenario:
        sts = m.statefulset
        mounts = {
            v["name"]: v["mountPath"] for v in jp(sts, "$.spec.template.spec.containers[?name='emqx'].volumeMounts[*]")
        }
        assert mounts["emqx-log"] == "/opt/emqx/log" and mounts["tmp"] == "/tmp" and mounts["home"] == "/home/emqx"
        for name in ("emqx-log", "tmp", "home"):
            assert "emptyDir" in jp1(sts, f"$.spec.template.spec.volumes[?name='{name}']"), f"{scenario.name}: {name}"
