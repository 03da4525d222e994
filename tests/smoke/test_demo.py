"""The demo (scripts/demo.py) end to end, run as scripts/demo.sh runs it once the cluster is up, in a namespace
of the test's own. Each lesson's key fact is read back from the numbers and names the demo printed (and, for
the claims, from the cluster itself), not from its own [ok] marks, so neither the demo nor a lesson can rot.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from harness.cluster import STATE
from harness.tools import ROOT

pytestmark = pytest.mark.smoke

DEMO = ROOT / "scripts" / "demo.py"
LESSONS = [
    "cluster",
    "install",
    "identity",
    "storage",
    "storage-class",
    "deployment",
    "scaling",
    "pod-deletion",
    "ordered-rollout",
    "keep-data",
    "helm-test",
]
# The default run must stay short: CI runs it on every change.
BUDGET_SECONDS = 120


def demo(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(DEMO), *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "tests")},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


class Run:
    def __init__(self, proc: subprocess.CompletedProcess, seconds: float):
        self.proc, self.out, self.seconds = proc, proc.stdout, seconds

    def lesson(self, name: str) -> str:
        """What lesson `name` printed: from the end of the previous lesson to its own '(name: Ns)' line."""
        ends = [(m.group(1), m.end()) for m in re.finditer(r"^   \(([a-z-]+): \d+s\)$", self.out, re.M)]
        start = 0
        for lesson, end in ends:
            if lesson == name:
                return self.out[start:end]
            start = end
        raise AssertionError(f"lesson {name} did not run; the demo printed:\n{self.out[-3000:]}\n{self.proc.stderr}")


@pytest.fixture(scope="module")
def full_run(cluster, module_namespace) -> Iterator[Run]:
    start = time.monotonic()
    proc = demo("--namespace", module_namespace)
    yield Run(proc, time.monotonic() - start)
    shutil.rmtree(STATE / "demo" / module_namespace, ignore_errors=True)  # the manifests the demo wrote
    with contextlib.suppress(OSError):  # and their folder, unless a user's demo keeps files there
        (STATE / "demo").rmdir()


def test_every_lesson_runs_and_every_fact_holds_within_the_budget(full_run):
    assert full_run.proc.returncode == 0, f"{full_run.out[-4000:]}\n{full_run.proc.stderr[-4000:]}"
    assert "NOT AS EXPECTED" not in full_run.out
    for name in LESSONS:
        full_run.lesson(name)
    assert full_run.seconds < BUDGET_SECONDS, f"the demo took {full_run.seconds:.0f}s"


def test_install_makes_the_course_claims_20mi_in_standard(full_run, kubectl, module_namespace):
    text = full_run.lesson("install")
    assert "--set persistence.size=20Mi --set persistence.storageClass=standard" in text
    assert "name=emqx-data storageClassName=standard storage=20Mi" in text, text
    rows = re.findall(r"^(emqx-data-emqx-ee-\d)\s+Bound\s+standard\s+20Mi\s+ReadWriteOnce\s", text, re.M)
    assert rows == [f"emqx-data-emqx-ee-{i}" for i in range(3)], text
    for claim in kubectl.get("pvc", module_namespace, selector="app.kubernetes.io/instance=emqx-ee"):
        assert claim["spec"]["storageClassName"] == "standard", claim["metadata"]["name"]
        assert claim["spec"]["resources"]["requests"]["storage"] == "20Mi", claim["metadata"]["name"]


def test_identity_names_every_pod_in_dns(full_run, module_namespace):
    text = full_run.lesson("identity")
    for i in range(3):
        fqdn = f"emqx-ee-{i}.emqx-ee-headless.{module_namespace}.svc.cluster.local"
        assert re.search(rf"emqx-ee-{i}: emqx@{re.escape(fqdn)} -> \['[\d.]+'\]", text), text
    assert "dashboard=18083" in text, "the headless Service's ports"


def pod_rows(text: str, prefix: str) -> dict[str, str]:
    """POD -> CLAIM from the demo's `kubectl get pods -o custom-columns=POD,NODE,IP,CLAIM` tables."""
    return dict(re.findall(rf"^({prefix}\S*)\s+\S+\s+\S+\s+(\S+)$", text, re.M))


def test_deployment_shares_one_claim_where_the_statefulset_has_one_per_ordinal(full_run, kubectl, module_namespace):
    text = full_run.lesson("deployment")
    deployment = pod_rows(text, "emqx-as-deployment-")
    assert len(deployment) == 3, text
    assert set(deployment.values()) == {"emqx-as-deployment-data"}, deployment
    assert not any(re.fullmatch(r"emqx-as-deployment-\d+", pod) for pod in deployment), "random names, no ordinal"
    statefulset = pod_rows(text, "emqx-ee-")
    assert statefulset == {f"emqx-ee-{i}": f"emqx-data-emqx-ee-{i}" for i in range(3)}, text
    pod = next(iter(deployment))
    assert f"DNS A   {pod}.emqx-as-deployment.{module_namespace}.svc.cluster.local -> []" in text
    assert "Multi-Attach" in text, "the lesson says what kwok cannot show"
    leftovers = kubectl.run(
        "get", "deployment,service,pvc", "-n", module_namespace, "-o", "name", "--ignore-not-found"
    ).stdout
    assert "emqx-as-deployment" not in leftovers, f"the Deployment lesson left: {leftovers}"


def test_wait_for_first_consumer_binds_after_scheduling_in_the_pods_zone(full_run, kubectl, module_namespace):
    text = full_run.lesson("storage-class")
    assert "zonal-data before the pod: Pending" in text
    assert "WaitForFirstConsumer   waiting for first consumer to be created before binding" in text
    found = re.search(r"zonal-pod on (\S+) \((\S+)\); zonal-data bound to volume (\S+) \((\S+)\)", text)
    assert found, text
    assert found.group(2) == found.group(4), found.group(0)
    assert kubectl.get("pv", "", selector=f"emqx-ee.demo/namespace={module_namespace}") == [], "zonal volumes left"


def test_scaling_reattaches_and_a_deleted_pod_returns(full_run):
    scaling = full_run.lesson("scaling")
    uid = re.search(r"emqx-data-emqx-ee-2 UID (\S+) -> (\S+); emqx-ee-2 mounts emqx-data-emqx-ee-2", scaling)
    assert uid and uid.group(1) == uid.group(2), scaling
    assert re.findall(r"^   (emqx-data-emqx-ee-[34]): created by this scale-up", scaling, re.M) == [
        "emqx-data-emqx-ee-3",
        "emqx-data-emqx-ee-4",
    ], scaling
    deletion = full_run.lesson("pod-deletion")
    pod = re.search(r"pod UID (\S+) -> (\S+) \(a new pod\), name emqx-ee-1$", deletion, re.M)
    assert pod and pod.group(1) != pod.group(2), deletion


def test_ordered_ready_creates_each_ordinal_after_the_previous_is_ready(full_run):
    text = full_run.lesson("ordered-rollout")
    times: dict[str, list[tuple[int, int]]] = {"ordered": [], "parallel": []}
    for release, ordinal, created, ready in re.findall(
        r"^   (ordered|parallel)-emqx-ee-(\d)\s+created \+(\d+)s\s+Ready \+(\d+)s$", text, re.M
    ):
        assert int(ordinal) == len(times[release]), f"{release}: ordinals out of order\n{text}"
        times[release].append((int(created), int(ready)))
    ordered, parallel = times["ordered"], times["parallel"]
    assert len(ordered) == 3 and len(parallel) == 3, text
    # The boot delay makes each pod Ready about 3 s after it was created (timestamps have whole seconds).
    assert all(ready - created >= 2 for created, ready in ordered + parallel), f"no boot delay seen\n{text}"
    for (_, previous_ready), (created, _) in zip(ordered, ordered[1:], strict=False):
        assert created >= previous_ready, f"OrderedReady created an ordinal before the previous was Ready\n{text}"
    assert max(created for created, _ in parallel) <= 1, f"Parallel did not create all at once\n{text}"
    assert "minReadySeconds" in text and "boot-delay=3s" in text


def test_reinstall_binds_the_same_claims_volumes_and_secret(full_run, kubectl, module_namespace):
    text = full_run.lesson("keep-data")
    assert "[Secret] emqx-ee" in text and "kept due to the resource policy" in text, "helm uninstall keeps the Secret"
    rows = re.findall(r"^   (emqx-data-emqx-ee-\d)  UID (\S+) -> (\S+)  volume (\S+) -> (\S+)$", text, re.M)
    # Five claims (ordinals 3 and 4 from the scaling lesson), compared after helm uninstall + install and after
    # kubectl delete statefulset + helm upgrade.
    assert len(rows) == 10, text
    for claim, uid, uid_after, volume, volume_after in rows:
        assert (uid, volume) == (uid_after, volume_after), f"{claim} changed\n{text}"
    live = {c["metadata"]["name"]: c["metadata"]["uid"] for c in kubectl.get("pvc", module_namespace)}
    assert all(live[claim] == uid for claim, uid, *_ in rows), "the UIDs the demo printed are the cluster's"
    secret = dict(
        (key, (before, after))
        for key, before, after in re.findall(r"^   secret emqx-ee (\S+)\s+(\S+) -> (\S+)$", text, re.M)
    )
    assert {"uid", "erlang-cookie", "dashboard-password"} <= set(secret), text
    assert all(before == after for before, after in secret.values()), secret


def test_one_lesson_runs_with_the_install_it_needs(full_run, module_namespace):
    proc = demo("--namespace", module_namespace, "--lesson", "identity")
    assert proc.returncode == 0, f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    ran = re.findall(r"^   \(([a-z-]+): \d+s\)$", proc.stdout, re.M)
    assert ran == ["install", "identity"], ran


def test_list_names_every_lesson():
    proc = demo("--list")
    assert proc.returncode == 0, proc.stderr
    assert [line.split()[0] for line in proc.stdout.splitlines()] == LESSONS


def test_an_unknown_lesson_is_refused_with_the_names():
    proc = demo("--lesson", "statefulness")
    assert proc.returncode == 2
    assert "unknown lesson 'statefulness'; the lessons are: cluster, install, identity" in proc.stderr, proc.stderr
