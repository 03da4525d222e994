"""chart-testing's `ct install` passes on the local cluster for every cluster scenario: it installs
each with `helm install --wait`, runs `helm test` and uninstalls, in namespaces of its own.

On kwok, ct's dump of container logs fails after each install (there is no kubelet to serve them);
ct treats that as information only.
"""

import os
import subprocess

import pytest

from harness.tools import ROOT

pytestmark = pytest.mark.smoke


def test_ct_install_passes(cluster):
    proc = subprocess.run(
        [str(ROOT / "scripts" / "ct-install.sh")],
        env={**os.environ, "KUBECONFIG": cluster.kubeconfig},
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "All charts installed successfully" in proc.stdout
