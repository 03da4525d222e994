"""Labels from one helper, and selectors frozen forever: a chart bump changes no selector or pod template."""

import shutil

import pytest
import yaml

from harness.helm import render
from harness.tools import CHART

pytestmark = pytest.mark.unit

STANDARD = (
    "helm.sh/chart",
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/managed-by",
)
SELECTOR = {"app.kubernetes.io/name": "emqx-ee", "app.kubernetes.io/instance": "emqx-ee"}


def test_every_object_carries_the_standard_labels(manifests):
    for doc in manifests:
        labels = doc["metadata"].get("labels", {})
        if doc["metadata"]["name"] in ("emqx-credentials", "emqx-tls-scenario"):
            continue  # scenarios' stand-ins for user-managed Secrets, rendered from extraObjects
        missing = [k for k in STANDARD if k not in labels]
        assert not missing, f"{doc['kind']}/{doc['metadata']['name']} lacks {missing}"


def test_selector_is_name_and_instance_only(manifests):
    sts = manifests.statefulset
    assert sts["spec"]["selector"]["matchLabels"] == SELECTOR


def test_pod_template_labels_are_selector_labels_plus_pod_labels(template):
    member = {"emqx-ee/cluster": "emqx-ee", "app.kubernetes.io/component": "core"}
    plain = template().statefulset["spec"]["template"]["metadata"]["labels"]
    assert plain == {**SELECTOR, **member}, "no version label: a chart bump alone rolls nothing"
    extra = template({"podLabels": {"team": "iot"}}).statefulset["spec"]["template"]["metadata"]["labels"]
    assert extra == {**SELECTOR, **member, "team": "iot"}


def test_common_labels_reach_every_object_but_not_pod_templates(template):
    m = template({"commonLabels": {"cost-center": "42"}})
    for doc in m:
        assert doc["metadata"]["labels"]["cost-center"] == "42", f"{doc['kind']}/{doc['metadata']['name']}"
    assert "cost-center" not in m.statefulset["spec"]["template"]["metadata"]["labels"]


@pytest.fixture(scope="module")
def bumped_chart(tmp_path_factory):
    """A copy of the chart with a new chart version and appVersion, as a later release would have."""
    path = tmp_path_factory.mktemp("bumped") / "emqx-ee"
    shutil.copytree(CHART, path)
    meta = yaml.safe_load((path / "Chart.yaml").read_text())
    meta["version"], meta["appVersion"] = "9.9.9", "6.9.9"
    (path / "Chart.yaml").write_text(yaml.safe_dump(meta))
    return path


def test_chart_bump_changes_no_selector_pod_template_or_claim_template(helm, scenario, bumped_chart):
    """Immutable StatefulSet fields and the pod template survive a chart upgrade unchanged
    (the image tag is pinned here, as a user who upgrades only the chart would have it)."""
    values = {**scenario.values, "image": {**scenario.values.get("image", {}), "tag": "6.2.2"}}
    old = render(helm, values).statefulset["spec"]
    new = render(helm, values, chart=bumped_chart).statefulset["spec"]
    for field in ("selector", "serviceName", "podManagementPolicy", "volumeClaimTemplates", "template"):
        assert old.get(field) == new.get(field), f"{scenario.name}: spec.{field} changes with the chart version"
    assert (
        render(helm, values, chart=bumped_chart).statefulset["metadata"]["labels"]["helm.sh/chart"] == "emqx-ee-9.9.9"
    )
