"""Labels from one helper, and selectors frozen forever: a chart bump changes no selector or pod template."""

import shutil

import pytest
import yaml

from harness.helm import render_many
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


def test_every_object_carries_the_standard_labels(every_scenario):
    for scenario, m in every_scenario:
        for doc in m:
            labels = doc["metadata"].get("labels", {})
            if doc["metadata"]["name"] in ("emqx-credentials", "emqx-tls-scenario"):
                continue  # scenarios' stand-ins for user-managed Secrets, rendered from extraObjects
            missing = [k for k in STANDARD if k not in labels]
            assert not missing, f"{scenario.name}: {doc['kind']}/{doc['metadata']['name']} lacks {missing}"


def test_selector_is_name_and_instance_only(every_scenario):
    for scenario, m in every_scenario:
        assert m.statefulset["spec"]["selector"]["matchLabels"] == SELECTOR, scenario.name


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


def test_chart_bump_changes_no_selector_pod_template_or_claim_template(helm4, every_scenario, bumped_chart):
    """Immutable StatefulSet fields and the pod template survive a chart upgrade unchanged, in every scenario
    (the bumped chart gets the image tag pinned to the old appVersion, as a user who upgrades only the chart
    would have it)."""
    app_version = yaml.safe_load((CHART / "Chart.yaml").read_text())["appVersion"]
    pinned = [{**s.values, "image": {**s.values.get("image", {}), "tag": app_version}} for s, _ in every_scenario]
    bumped = render_many(helm4, pinned, chart=bumped_chart)
    for (scenario, m), new in zip(every_scenario, bumped, strict=True):
        old, new_spec = m.statefulset["spec"], new.statefulset["spec"]
        for field in ("selector", "serviceName", "podManagementPolicy", "volumeClaimTemplates", "template"):
            assert old.get(field) == new_spec.get(field), (
                f"{scenario.name}: spec.{field} changes with the chart version"
            )
        assert new.statefulset["metadata"]["labels"]["helm.sh/chart"] == "emqx-ee-9.9.9", scenario.name
