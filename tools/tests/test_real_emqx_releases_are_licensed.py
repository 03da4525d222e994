"""On kind every pod runs EMQX itself, which runs one node without a licence but no cluster (since 5.9; an
unlicensed cluster wedges, emqx/emqx#18311). The smoke suite's releases there refuse, before helm runs, values
that would start more than one node (cores plus replicants) without `license.key` or `license.existingSecret`,
so that a test missing the licence fails at once with the reason instead of waiting for nodes that never
cluster. On kwok nothing runs EMQX and nothing is refused."""

from __future__ import annotations

import pytest

from harness.cluster import Release, unlicensed_cluster
from harness.tools import Helm

pytestmark = pytest.mark.unit

LICENSED = {"license": {"key": "evaluation"}}


@pytest.mark.parametrize(
    "values, nodes",
    [
        ({"replicaCount": 3}, "3 core(s) and 0 replicant(s)"),
        ({"replicants": {"enabled": True, "replicaCount": 1}}, "1 core(s) and 1 replicant(s)"),
        (
            {"replicants": {"enabled": True, "autoscaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 4}}},
            "1 core(s) and 2 replicant(s)",
        ),
    ],
    ids=["three-cores", "core-and-replicant", "autoscaled-replicants"],
)
def test_more_than_one_node_without_a_licence_is_named(values, nodes):
    problem = unlicensed_cluster(values)
    assert problem and problem.startswith(f"{nodes} without a licence"), problem
    assert "license.key: evaluation" in problem
    assert unlicensed_cluster(values | LICENSED) is None
    assert unlicensed_cluster(values | {"license": {"existingSecret": "emqx-license"}}) is None


@pytest.mark.parametrize(
    "values",
    [{}, {"replicaCount": 1}, {"replicaCount": 0}, {"replicants": {"enabled": False, "replicaCount": 4}}],
    ids=["defaults", "one-core", "stopped", "replicants-off"],
)
def test_one_node_or_none_needs_no_licence(values):
    assert unlicensed_cluster(values) is None


def test_a_release_on_real_emqx_refuses_before_helm_runs(tmp_path):
    """The helm of these releases does not exist: a refusal that reached it would raise FileNotFoundError."""
    helm = Helm(4, str(tmp_path / "no-helm"))
    on_kind = Release(helm, str(tmp_path / "kubeconfig"), "smoke-x", real_emqx=True)
    with pytest.raises(AssertionError, match=r"emqx-ee in smoke-x: 3 core\(s\) and 0 replicant\(s\) without"):
        on_kind.install({"replicaCount": 3})
    with pytest.raises(AssertionError, match="without a licence"):
        on_kind.upgrade({"replicaCount": 2})
    # --reuse-values takes the release's own values, which the test does not pass: nothing to judge.
    with pytest.raises(FileNotFoundError):
        on_kind.upgrade({"replicaCount": 2}, reuse_values=True)
    with pytest.raises(FileNotFoundError):
        on_kind.install({"replicaCount": 3} | LICENSED)
    on_kwok = Release(helm, str(tmp_path / "kubeconfig"), "smoke-x", real_emqx=False)
    with pytest.raises(FileNotFoundError):
        on_kwok.install({"replicaCount": 3})
