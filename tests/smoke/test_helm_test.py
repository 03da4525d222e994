"""`helm test` runs the chart's hook Job to completion.

On kwok the hook's container does not run: kwok completes Job pods (a stage), so this proves the
hook is accepted by the restricted namespace, created, and tracked to success by Helm; on kind
curl really asks every node for /status.
"""

import pytest

from harness.statefulset import wait_ready

pytestmark = pytest.mark.smoke


def test_helm_test_succeeds(release, kubectl, namespace):
    rel = release()
    rel.install({"replicaCount": 2, "license": {"key": "evaluation"}})
    wait_ready(kubectl, namespace, 2)
    out = rel.test()
    assert "emqx-ee-test" in out and "Succeeded" in out, out
