"""Every rendered object of every scenario is valid for the three newest Kubernetes minors.

Uses kubernetes-validate's bundled OpenAPI schemas offline, in strict mode (unknown fields fail).
"""

import kubernetes_validate
import pytest
from kubernetes_validate.utils import all_versions

pytestmark = pytest.mark.unit


def _newest_minors(count: int = 3) -> list[str]:
    def key(v: str) -> tuple[int, ...]:
        return tuple(int(p) for p in v.split("."))

    return sorted(set(all_versions()), key=key)[-count:]


KUBERNETES_VERSIONS = _newest_minors()


def test_three_kubernetes_minors_are_checked():
    assert len(KUBERNETES_VERSIONS) == 3, KUBERNETES_VERSIONS


@pytest.mark.parametrize("kube_version", KUBERNETES_VERSIONS)
def test_every_object_matches_the_kubernetes_schema(manifests, kube_version):
    errors = []
    for doc in manifests:
        try:
            kubernetes_validate.validate(doc, kube_version, strict=True)
        except kubernetes_validate.ValidationError as err:
            errors.append(f"{doc['kind']}/{doc['metadata']['name']}: {err.message} at {list(err.path)}")
    assert not errors, f"{manifests.source} against Kubernetes {kube_version}:\n" + "\n".join(errors)
