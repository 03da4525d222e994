"""GitOps mode: `helm template | kubectl apply`, as Argo CD and Flux work, without `lookup`. With
`auth.generate: false` a second render applies no change; in the default mode the same procedure would
rotate the generated credentials (the negative control), which is why GitOps users need this mode."""

import json

import pytest

from harness.helm import run
from harness.statefulset import wait_ready
from harness.tools import CHART

pytestmark = pytest.mark.smoke

BASE = {"replicaCount": 3, "minReadySeconds": 0, "license": {"existingSecret": "emqx-license"}}
GITOPS = {
    **BASE,
    "auth": {
        "generate": False,
        "erlangCookie": {"existingSecret": "emqx-cookie"},
        "dashboard": {"existingSecret": "emqx-dashboard"},
    },
    "apiKey": {"existingSecret": "emqx-api-key"},
    # GitOps cannot see the live release, so MQTT authentication is chosen explicitly.
    "mqttAuth": {"enabled": True, "existingSecret": "emqx-mqtt-users"},
}


def render(helm, namespace, values):
    return run(
        [helm.path, "template", "emqx-ee", str(CHART), "-n", namespace, "--skip-tests", "-f", "-"], json.dumps(values)
    )


def diff(kubectl, namespace, manifest):
    """`kubectl diff` against the live objects: exit 0 = nothing would change, 1 = changes (printed)."""
    return kubectl.run("diff", "-n", namespace, "-f", "-", stdin=manifest, check=False)


@pytest.fixture
def user_secrets(kubectl, namespace):
    for name, key, value in (
        ("emqx-cookie", "erlang-cookie", "gitops-cookie-0123456789abcdef"),
        ("emqx-dashboard", "dashboard-password", "gitops-password"),
        ("emqx-license", "license-key", "evaluation"),
        ("emqx-api-key", "bootstrap.txt", "gitops:api-secret-0123456789:viewer"),
        ("emqx-mqtt-users", "users.csv", "user_id,password,is_superuser\ngitops,mqtt-secret-0123456789,false\n"),
    ):
        kubectl.run("create", "secret", "generic", name, "-n", namespace, f"--from-literal={key}={value}")


def test_gitops_render_applies_and_the_next_render_changes_nothing(helm4, kubectl, namespace, user_secrets):
    kubectl.run("apply", "-n", namespace, "-f", "-", stdin=render(helm4, namespace, GITOPS))
    wait_ready(kubectl, namespace, 3)
    again = diff(kubectl, namespace, render(helm4, namespace, GITOPS))
    assert again.returncode == 0, f"a second render would change the cluster:\n{again.stdout}{again.stderr}"


def test_default_mode_without_lookup_would_rotate_the_cookie(helm4, kubectl, namespace, user_secrets):
    kubectl.run("apply", "-n", namespace, "-f", "-", stdin=render(helm4, namespace, BASE))
    wait_ready(kubectl, namespace, 3)
    again = diff(kubectl, namespace, render(helm4, namespace, BASE))
    assert again.returncode == 1 and "erlang-cookie" in again.stdout, again.stdout + again.stderr
