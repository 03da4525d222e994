"""The `helm test` hook: a Job that asks every node's stable DNS name for /status."""

import pytest

from harness.query import jp1

pytestmark = pytest.mark.unit


def test_hook_is_a_job_that_checks_every_ordinal(template):
    m = template({"replicaCount": 3, "license": {"key": "evaluation"}})
    job = m.one("Job")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "test"
    script = jp1(job, "$.spec.template.spec.containers[0].args[0]")
    assert "seq 0 $((3 - 1))" in script
    assert "emqx-ee-$i.emqx-ee-headless.emqx.svc.cluster.local" in script
    assert ":18083/status" in script


def test_hook_pods_are_not_selected_by_the_services(manifests):
    job = manifests.maybe("Job")
    labels = job["spec"]["template"]["metadata"]["labels"]
    selector = manifests.statefulset["spec"]["selector"]["matchLabels"]
    assert not all(labels.get(k) == v for k, v in selector.items()), "the test pod would join the Services"


def test_hook_can_be_disabled(template):
    assert template({"tests": {"enabled": False}}).maybe("Job") is None
