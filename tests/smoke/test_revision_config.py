"""Each revision's settings stay with its pods, and a refused upgrade changes nothing.

The EMQX settings are in the pod template itself, so the StatefulSet's controller revisions keep them: a pod
held back by a partition, or restarted in the middle of a roll, boots with the settings of its own revision.
A release of chart 0.3.0 read a shared ConfigMap (`<fullname>-config`) instead; the upgrade from it keeps that
ConfigMap, unchanged, while pods of the old revision may still start, and the first upgrade after the roll
has finished drops it.

kwok starts no container: the pods' env is compared with the inputs, and `assert_startable` (in wait_updated)
checks every Secret and ConfigMap a pod refers to, as a kubelet would before starting it.
"""

import pytest

from harness.helm import HelmError, emqx_settings
from harness.kubelet import assert_startable
from harness.statefulset import pods, wait_ready, wait_updated
from harness.tools import chart_from_git

pytestmark = [pytest.mark.smoke, pytest.mark.day2]

BASE = {"replicaCount": 3, "minReadySeconds": 0, "license": {"key": "evaluation"}}
DEBUG = {"emqxConfig": {"log.console.level": "debug"}}
HOLD_TWO_BACK = {"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}}
LEVEL = "EMQX_LOG__CONSOLE__LEVEL"


def pod_env(pod):
    return {e["name"]: e.get("value") for e in pod["spec"]["containers"][0].get("env", []) if "valueFrom" not in e}


def by_name(kubectl, namespace):
    return {p["metadata"]["name"]: p for p in pods(kubectl, namespace)}


def restart(kubectl, namespace, name):
    """Delete pod `name` and wait until the StatefulSet has made it again and it is Ready."""
    uid = by_name(kubectl, namespace)[name]["metadata"]["uid"]
    kubectl.run("delete", "pod", name, "-n", namespace, "--wait=false")
    kubectl.wait_for(
        lambda: (
            (p := by_name(kubectl, namespace).get(name)) is not None
            and p["metadata"]["uid"] != uid
            and any(c["type"] == "Ready" and c["status"] == "True" for c in p.get("status", {}).get("conditions", []))
        ),
        f"{name} made again and Ready",
        namespace,
    )
    return by_name(kubectl, namespace)[name]


def revisions(kubectl, namespace):
    status = kubectl.get("statefulset", namespace, "emqx-ee")["status"]
    return status["currentRevision"], status["updateRevision"]


def test_a_held_back_pod_that_restarts_keeps_its_own_revisions_settings(release, kubectl, namespace):
    rel = release()
    rel.install(BASE)
    wait_ready(kubectl, namespace, 3)
    rel.upgrade({**BASE, **DEBUG, **HOLD_TWO_BACK})
    wait_updated(kubectl, namespace, 1)
    current, update = revisions(kubectl, namespace)
    assert current != update

    held_back = restart(kubectl, namespace, "emqx-ee-0")
    assert held_back["metadata"]["labels"]["controller-revision-hash"] == current, "still the old revision"
    assert LEVEL not in pod_env(held_back), "a held-back pod must not boot on the next revision's settings"
    rolled = restart(kubectl, namespace, "emqx-ee-2")
    assert rolled["metadata"]["labels"]["controller-revision-hash"] == update
    assert pod_env(rolled)[LEVEL] == "debug"
    assert not kubectl.exists("configmap", namespace, "emqx-ee-config"), "no shared settings to go stale"


def test_an_upgrade_the_api_server_would_refuse_half_way_is_refused_whole(release, kubectl, namespace, helm):
    """Duplicate env, volume and container names: Helm 4 applied the objects before the StatefulSet and then
    failed on it; Helm 3 dropped the duplicate env entry and reported success. Both now refuse at render."""
    rel = release(helm=helm)
    rel.install(BASE)
    wait_ready(kubectl, namespace, 3)
    before = rel.state(kubectl)
    change = {
        **DEBUG,
        "extraEnv": [{"name": "EMQX_HOST", "value": "elsewhere"}],
        "extraVolumes": [{"name": "tmp", "emptyDir": {}}],
    }
    with pytest.raises(HelmError) as caught:
        rel.upgrade({**BASE, **change})
    assert "extraEnv[0] EMQX_HOST" in caught.value.stderr and "extraVolumes[0] tmp" in caught.value.stderr
    assert rel.state(kubectl) == before, "a refused upgrade changed the release or its objects"


def test_upgrade_from_0_3_0_keeps_the_shared_config_map_until_the_roll_has_finished(
    release, kubectl, namespace, tmp_path
):
    rel = release()
    rel.install(BASE, chart=chart_from_git("0.3.0", tmp_path))
    wait_ready(kubectl, namespace, 3)
    legacy = kubectl.get("configmap", namespace, "emqx-ee-config")["data"]

    out = rel.upgrade({**BASE, **DEBUG, **HOLD_TWO_BACK})
    assert "the EMQX settings move from ConfigMap emqx-ee-config into the pod template" in out, out
    wait_updated(kubectl, namespace, 1)
    assert kubectl.get("configmap", namespace, "emqx-ee-config")["data"] == legacy, "old pods read it unchanged"
    held_back = restart(kubectl, namespace, "emqx-ee-0")
    assert held_back["spec"]["containers"][0]["envFrom"][0]["configMapRef"]["name"] == "emqx-ee-config"
    assert_startable(kubectl, namespace)

    rel.upgrade({**BASE, **DEBUG})
    assert kubectl.exists("configmap", namespace, "emqx-ee-config"), "kept while the roll has not finished"
    wait_updated(kubectl, namespace, 3)
    assert all(pod_env(p)[LEVEL] == "debug" for p in pods(kubectl, namespace))
    rel.upgrade({**BASE, **DEBUG})
    assert not kubectl.exists("configmap", namespace, "emqx-ee-config"), "dropped once no pod can read it"
    assert emqx_settings(kubectl.get("statefulset", namespace, "emqx-ee"))[LEVEL] == "debug"
