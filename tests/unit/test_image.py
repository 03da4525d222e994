"""Image reference: appVersion by default, a tag, or a digest that wins."""

import pytest
import yaml

from harness.query import jp
from harness.scenarios import effective_values
from harness.tools import CHART

pytestmark = pytest.mark.unit

APP_VERSION = yaml.safe_load((CHART / "Chart.yaml").read_text())["appVersion"]
DIGEST = "sha256:" + "ab" * 32


def images(m):
    """Images of the EMQX workloads (the helm test Pod runs a Python image: test_helm_test_hook.py)."""
    return {img for _, spec in m.pod_specs() for img in jp(spec, "$.containers[*].image") if "python" not in img}


def test_default_image_is_emqx_enterprise_at_app_version(template):
    assert images(template()) == {f"emqx/emqx-enterprise:{APP_VERSION}"}


def test_every_scenario_runs_the_image_its_values_name(every_scenario):
    """repository@digest when a digest is given (08), else repository:tag, the tag defaulting to appVersion."""
    for scenario, m in every_scenario:
        image = effective_values(scenario.values)["image"]
        ref = f"{image['repository']}@{image['digest']}" if image["digest"] else None
        ref = ref or f"{image['repository']}:{image['tag'] or APP_VERSION}"
        assert images(m) == {ref}, scenario.name


def test_app_version_is_an_emqx_6_release():
    assert APP_VERSION.startswith("6."), APP_VERSION


def test_tag_and_repository(template):
    assert images(template({"image": {"repository": "registry.local/emqx", "tag": "6.1.0"}})) == {
        "registry.local/emqx:6.1.0"
    }


def test_digest_wins_over_tag(template):
    assert images(template({"image": {"tag": "6.1.0", "digest": DIGEST}})) == {f"emqx/emqx-enterprise@{DIGEST}"}


def test_pull_policy_and_secrets(template):
    sts = template({"image": {"pullPolicy": "Always"}, "imagePullSecrets": [{"name": "regcred"}]}).statefulset
    assert jp(sts, "$.spec.template.spec.containers[0].imagePullPolicy") == ["Always"]
    assert sts["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "regcred"}]
