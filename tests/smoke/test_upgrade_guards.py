"""Day-2 guards on a live release: every upgrade that would strand data, split the cluster or hit an immutable
StatefulSet field is refused before anything is applied, with a message naming the value and the procedure.

One three-node release serves every refusal (each leaves it exactly as it was, which the next one relies
on). Each refused upgrade also carries an emqxConfig change, to prove that not even the ConfigMap moved.
The accepted paths (escape hatches, documented procedures) each get a release of their own.
"""

import base64
import json
import re

import pytest

from harness.cluster import Release
from harness.emqx_config import schema
from harness.helm import HelmError
from harness.scenarios import effective_values
from harness.statefulset import claims, pods, wait_ready, wait_updated
from harness.tools import helm as helm_cli

pytestmark = [pytest.mark.smoke, pytest.mark.day2]

BASE = {"replicaCount": 3, "license": {"key": "evaluation"}, "minReadySeconds": 0}
CONFIG_CHANGE = {"emqxConfig": {"log.console.level": "debug"}}


def with_values(*parts):
    """BASE with the parts merged on top, as Helm merges values files."""
    out = BASE
    for part in parts:
        out = effective_values(part, out)
    return out


def create_secret(kubectl, namespace, name, **data):
    kubectl.run(
        "create", "secret", "generic", name, "-n", namespace, *[f"--from-literal={k}={v}" for k, v in data.items()]
    )


def secret_value(kubectl, namespace, name, key):
    return base64.b64decode(kubectl.get("secret", namespace, name)["data"][key]).decode()


def env_of(kubectl, namespace, name="emqx-ee"):
    containers = kubectl.get("statefulset", namespace, name)["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e for e in containers[0]["env"]}


@pytest.fixture(scope="module")
def guarded(cluster, module_namespace, helm4, kubectl):
    """A running three-node release, and the Secret of a different cookie to try switching to."""
    rel = Release(helm4, cluster.kubeconfig, module_namespace)
    rel.install(BASE)
    wait_ready(kubectl, module_namespace, 3)
    create_secret(kubectl, module_namespace, "other-cookie", cookie="a-different-cookie-0123456789")
    return rel


REFUSALS = {
    "fullname-override": ({"fullnameOverride": "emqx"}, ["fullnameOverride", "emqx-data-emqx-N"]),
    "name-override": ({"nameOverride": "broker"}, ["nameOverride", '"emqx-ee-broker"']),
    "emqx-name": ({"emqxName": "broker"}, ["emqxName", "empty database"]),
    "cluster-domain": ({"clusterDomain": "example.internal"}, ["clusterDomain", "svc.example.internal"]),
    "namespace-override": ({"namespaceOverride": "elsewhere"}, ["namespaceOverride", '"elsewhere"']),
    "persistence-size": ({"persistence": {"size": "16Gi"}}, ["persistence.size: live 8Gi, values 16Gi", "patch pvc"]),
    "storage-class": ({"persistence": {"storageClass": "fast"}}, ["persistence.storageClass", "--cascade=orphan"]),
    "persistence-off": ({"persistence": {"enabled": False}}, ["persistence.enabled: live true, values false"]),
    "access-modes": ({"persistence": {"accessModes": ["ReadWriteOncePod"]}}, ["persistence.accessModes"]),
    "claim-labels": ({"persistence": {"labels": {"tier": "gold"}}}, ["persistence.labels"]),
    "pod-management": ({"podManagementPolicy": "OrderedReady"}, ["podManagementPolicy: live Parallel"]),
    "selector-even-with-the-identity-hatch": (
        {"nameOverride": "broker", "fullnameOverride": "emqx-ee", "upgradeGuards": {"allowIdentityChange": True}},
        ["nameOverride: selector", "--cascade=orphan"],
    ),
    "cookie-from-other-secret": (
        {"auth": {"erlangCookie": {"existingSecret": "other-cookie", "existingSecretKey": "cookie"}}},
        ["auth.erlangCookie.existingSecret other-cookie", "split the cluster", "replicaCount=0"],
    ),
    "cookie-from-missing-secret": (
        {"auth": {"erlangCookie": {"existingSecret": "no-such-secret"}}},
        ["Secret no-such-secret does not exist in namespace", "auth.erlangCookie.existingSecret for key erlang-cookie"],
    ),
}


@pytest.mark.parametrize(("change", "names"), list(REFUSALS.values()), ids=list(REFUSALS))
def test_refused_upgrade_names_the_value_and_changes_nothing(guarded, kubectl, change, names):
    before = guarded.state(kubectl)
    with pytest.raises(HelmError) as caught:
        guarded.upgrade(with_values(CONFIG_CHANGE, change))
    message = caught.value.stderr
    assert "refused before anything was applied" in message, message
    for name in names:
        assert name in message, f"the message does not name {name!r}:\n{message}"
    assert "docs/operations.md" in message, message
    assert guarded.state(kubectl) == before, "a refused upgrade changed the release or its objects"


def test_an_emqx_config_emqx_would_refuse_at_boot_is_refused_and_changes_nothing(guarded, kubectl):
    """An upgrade whose emqxConfig gives a struct without the fields EMQX requires there (the dashboard's OIDC
    sign-in, and a pbkdf2 password hash without its own fields) would stop every node of the roll at boot: it
    fails at render, before Helm sends anything, naming each path and field."""
    data = schema()

    def required(struct):
        fields = data["structs"][struct]["fields"]
        return {n for n, f in fields.items() if f.get("required") is True and not f.get("has_default")}

    hash_ = {"name": "pbkdf2"}
    config = {
        "dashboard.sso.oidc.enable": True,
        "authentication": [
            {"mechanism": "password_based", "backend": "built_in_database", "password_hash_algorithm": hash_}
        ],
    }
    before = guarded.state(kubectl)
    with pytest.raises(HelmError) as caught:
        guarded.upgrade(with_values({"emqxConfig": config}))
    message = caught.value.stderr
    for path, want in (
        ("dashboard.sso.oidc", required("emqx_dashboard_sso_oidc:oidc") - {"enable"}),
        ("authentication[0].password_hash_algorithm", required("emqx_authn_password_hashing:pbkdf2") - set(hash_)),
    ):
        found = re.search(rf"^emqxConfig\.{re.escape(path)}: EMQX \S+ requires (.+?) under ", message, re.M)
        assert found and set(found.group(1).split(", ")) == want, (path, want, message)
    assert guarded.state(kubectl) == before, "a refused upgrade changed the release or its objects"


def test_fallback_finds_a_release_without_identity_record(guarded, kubectl, module_namespace):
    """Releases of chart 0.1.0 have no identity record: the live StatefulSet is found by its Helm annotations."""
    record = kubectl.get("configmap", module_namespace, "emqx-ee-identity")
    kubectl.run("delete", "configmap", "emqx-ee-identity", "-n", module_namespace)
    try:
        with pytest.raises(HelmError) as caught:
            guarded.upgrade(with_values({"fullnameOverride": "emqx"}))
        assert "fullnameOverride" in caught.value.stderr
    finally:
        clean = {k: record[k] for k in ("apiVersion", "kind", "data")}
        clean["metadata"] = {k: record["metadata"][k] for k in ("name", "namespace", "labels", "annotations")}
        kubectl.run("create", "-f", "-", stdin=json.dumps(clean))


def test_same_values_upgrade_is_accepted_and_rolls_nothing(guarded, kubectl, module_namespace):
    before = {p["metadata"]["name"]: p["metadata"]["uid"] for p in pods(kubectl, module_namespace)}
    out = guarded.upgrade(BASE)
    assert "The pod template is unchanged: no node restarts." in out, out
    assert {p["metadata"]["name"]: p["metadata"]["uid"] for p in pods(kubectl, module_namespace)} == before
    # state() reads the latest release record from Helm's Secrets: the one `helm status` shows
    status = guarded.status()
    assert status["version"] >= 2 and guarded.record(kubectl) == (status["version"], status["info"]["status"])


def test_identity_hatch_lets_one_upgrade_rename_the_nodes(release, kubectl, namespace):
    rel = release()
    rel.install(BASE)
    wait_ready(kubectl, namespace, 3)
    out = rel.upgrade(with_values({"emqxName": "broker", "upgradeGuards": {"allowIdentityChange": True}}))
    assert "WARNING: upgradeGuards.allowIdentityChange is on" in out
    wait_updated(kubectl, namespace, 3)
    assert env_of(kubectl, namespace)["EMQX_NAME"]["value"] == "broker"
    assert kubectl.get("configmap", namespace, "emqx-ee-identity")["data"]["emqxName"] == "broker"
    with pytest.raises(HelmError) as caught:
        rel.upgrade(BASE)
    assert "emqxName: node names would change from broker@" in caught.value.stderr, "the record follows the hatch"


def test_reinstall_with_another_node_name_is_refused_while_the_data_is_kept(release, kubectl, namespace):
    rel = release()
    rel.install(BASE)
    wait_ready(kubectl, namespace, 3)
    rel.uninstall()
    kubectl.wait_for(lambda: pods(kubectl, namespace) == [], "pods gone after uninstall", namespace)
    with pytest.raises(HelmError) as caught:
        rel.install(with_values({"emqxName": "broker"}))
    assert "emqxName" in caught.value.stderr and "refused before anything was applied" in caught.value.stderr
    rel.install(BASE)
    wait_ready(kubectl, namespace, 3)


def test_orphan_recipe_changes_immutable_fields_and_keeps_the_claims(release, kubectl, namespace):
    rel = release()
    rel.install(BASE)
    wait_ready(kubectl, namespace, 3)
    before = {n: c["metadata"]["uid"] for n, c in claims(kubectl, namespace).items()}
    kubectl.run("delete", "statefulset", "emqx-ee", "-n", namespace, "--cascade=orphan")
    rel.upgrade(with_values({"podManagementPolicy": "OrderedReady", "persistence": {"size": "16Gi"}}))
    wait_ready(kubectl, namespace, 3)
    spec = kubectl.get("statefulset", namespace, "emqx-ee")["spec"]
    assert spec["podManagementPolicy"] == "OrderedReady"
    assert spec["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "16Gi"
    assert {n: c["metadata"]["uid"] for n, c in claims(kubectl, namespace).items()} == before


def test_equal_quantities_in_another_unit_are_not_a_change(release, kubectl, namespace):
    """The API server stores 1024Mi as 1Gi; the guard compares amounts, not spellings."""
    rel = release()
    rel.install(with_values({"persistence": {"size": "1024Mi"}}))
    wait_ready(kubectl, namespace, 3)
    stored = kubectl.get("statefulset", namespace, "emqx-ee")["spec"]["volumeClaimTemplates"][0]
    assert stored["spec"]["resources"]["requests"]["storage"] == "1Gi"
    rel.upgrade(with_values({"persistence": {"size": "1024Mi"}}))


def test_cookie_switch_to_a_secret_with_the_same_cookie_and_back_keeps_it(release, kubectl, namespace):
    rel = release()
    rel.install(BASE)
    wait_ready(kubectl, namespace, 3)
    generated = secret_value(kubectl, namespace, "emqx-ee", "erlang-cookie")
    create_secret(kubectl, namespace, "vault-cookie", cookie=generated)

    rel.upgrade(
        with_values({"auth": {"erlangCookie": {"existingSecret": "vault-cookie", "existingSecretKey": "cookie"}}})
    )
    assert env_of(kubectl, namespace)["EMQX_NODE__COOKIE"]["valueFrom"]["secretKeyRef"]["name"] == "vault-cookie"
    assert secret_value(kubectl, namespace, "emqx-ee", "erlang-cookie") == generated, "the generated key is kept"

    rel.upgrade(BASE)
    assert env_of(kubectl, namespace)["EMQX_NODE__COOKIE"]["valueFrom"]["secretKeyRef"]["name"] == "emqx-ee"
    assert secret_value(kubectl, namespace, "emqx-ee", "erlang-cookie") == generated, "switching back finds it"


def test_switch_from_an_existing_secret_to_generated_adopts_the_running_cookie(release, kubectl, namespace):
    rel = release()
    create_secret(kubectl, namespace, "vault", cookie="cookie-from-the-vault-0123456789", password="p4ssw0rd")
    from_vault = {
        "auth": {
            "erlangCookie": {"existingSecret": "vault", "existingSecretKey": "cookie"},
            "dashboard": {"existingSecret": "vault", "existingSecretKey": "password"},
        }
    }
    rel.install(with_values(from_vault))
    wait_ready(kubectl, namespace, 3)
    assert "erlang-cookie" not in kubectl.get("secret", namespace, "emqx-ee")["data"], "nothing generated yet"
    out = rel.upgrade(BASE)
    assert secret_value(kubectl, namespace, "emqx-ee", "erlang-cookie") == "cookie-from-the-vault-0123456789"
    assert secret_value(kubectl, namespace, "emqx-ee", "dashboard-password") == "p4ssw0rd"
    assert "The dashboard password now comes from Secret emqx-ee (key dashboard-password)" in out, out
    assert "emqx ctl admins passwd admin" in out


def test_cookie_rotation_with_every_node_stopped_is_accepted(release, kubectl, namespace):
    rel = release()
    rel.install(BASE)
    wait_ready(kubectl, namespace, 3)
    claims_before = {n: c["metadata"]["uid"] for n, c in claims(kubectl, namespace).items()}
    out = rel.upgrade(with_values({"replicaCount": 0}))
    assert "is stopped (replicaCount=0)" in out, out
    kubectl.wait_for(lambda: pods(kubectl, namespace) == [], "every node stopped", namespace)
    kubectl.wait_for(
        lambda: kubectl.get("statefulset", namespace, "emqx-ee")["status"].get("replicas", 0) == 0,
        "status.replicas 0",
        namespace,
        timeout=60,
    )
    create_secret(kubectl, namespace, "new-cookie", cookie="the-rotated-cookie-0123456789")
    rel.upgrade(
        with_values({"auth": {"erlangCookie": {"existingSecret": "new-cookie", "existingSecretKey": "cookie"}}})
    )
    wait_ready(kubectl, namespace, 3)
    assert env_of(kubectl, namespace)["EMQX_NODE__COOKIE"]["valueFrom"]["secretKeyRef"]["name"] == "new-cookie"
    assert {n: c["metadata"]["uid"] for n, c in claims(kubectl, namespace).items()} == claims_before


def test_cookie_hatch_lets_one_upgrade_change_the_cookie(release, kubectl, namespace):
    rel = release()
    rel.install(BASE)
    wait_ready(kubectl, namespace, 3)
    create_secret(kubectl, namespace, "new-cookie", cookie="the-rotated-cookie-0123456789")
    rel.upgrade(
        with_values(
            {
                "auth": {"erlangCookie": {"existingSecret": "new-cookie", "existingSecretKey": "cookie"}},
                "upgradeGuards": {"allowCookieChange": True},
            }
        )
    )
    assert env_of(kubectl, namespace)["EMQX_NODE__COOKIE"]["valueFrom"]["secretKeyRef"]["name"] == "new-cookie"


def test_a_new_license_key_rolls_every_node(cluster, release, kubectl, namespace):
    """The key is not a licence EMQX can parse. On kwok nothing reads it: every node rolls. On kind real EMQX
    refuses to boot on it (emqx_license_checker:init/1 stops when the key does not parse), so the roll starts
    with emqx-ee-2 and stops there, the other nodes serving on: the NOTES' one-at-a-time order at work."""
    rel = release()
    rel.install(BASE)
    wait_ready(kubectl, namespace, 3)
    before = {p["metadata"]["name"]: p["metadata"]["uid"] for p in pods(kubectl, namespace)}
    out = rel.upgrade(with_values({"license": {"key": "a-new-license-key"}}))
    assert "the license changed (EMQX loads it at boot)" in out, out
    assert "restart one at a time, from emqx-ee-2 down to emqx-ee-0" in out, out
    assert secret_value(kubectl, namespace, "emqx-ee", "license-key") == "a-new-license-key"
    if cluster.runtime == "kwok":
        wait_updated(kubectl, namespace, 3)
        after = {p["metadata"]["name"]: p["metadata"]["uid"] for p in pods(kubectl, namespace)}
        assert all(after[name] != uid for name, uid in before.items()), "every node restarts with the new key"
        return

    def refused() -> dict | None:
        pod = next((p for p in pods(kubectl, namespace) if p["metadata"]["name"] == "emqx-ee-2"), None)
        if pod is None or pod["metadata"]["uid"] == before["emqx-ee-2"]:
            return None
        statuses = pod["status"].get("containerStatuses") or []
        return pod if any(s["restartCount"] > 0 for s in statuses if s["name"] == "emqx") else None

    kubectl.wait_for(refused, "emqx-ee-2 on the new key to fail and restart", namespace, timeout=300)
    after = {p["metadata"]["name"]: p["metadata"]["uid"] for p in pods(kubectl, namespace)}
    assert after["emqx-ee-0"] == before["emqx-ee-0"] and after["emqx-ee-1"] == before["emqx-ee-1"], (
        "the roll went past a node that cannot boot"
    )


def test_scaling_down_says_how_to_remove_departed_nodes(release, kubectl, namespace):
    rel = release()
    rel.install(with_values({"replicaCount": 5}))
    wait_ready(kubectl, namespace, 5)
    out = rel.upgrade(BASE)
    assert "Scaling down from 5 to 3: emqx-ee-3..4 stop" in out, out
    assert "emqx ctl cluster force-leave emqx@emqx-ee-3.emqx-ee-headless." in out
    assert "emqx ctl cluster force-leave emqx@emqx-ee-4.emqx-ee-headless." in out
    assert "delete pvc emqx-data-emqx-ee-3 emqx-data-emqx-ee-4" in out
    assert "no node restarts" in out
    wait_ready(kubectl, namespace, 3)


def test_helm3_applies_the_same_guards(release, kubectl, namespace):
    rel = release(helm=helm_cli(3))
    rel.install(BASE)
    wait_ready(kubectl, namespace, 3)
    before = rel.state(kubectl)
    with pytest.raises(HelmError) as caught:
        rel.upgrade(with_values(CONFIG_CHANGE, {"emqxName": "broker"}))
    assert "emqxName" in caught.value.stderr and "refused before anything was applied" in caught.value.stderr
    assert rel.state(kubectl) == before


def test_switch_to_gitops_mode_keeps_the_running_cookie(release, kubectl, namespace):
    """auth.generate=false on a running release: accepted when the user's Secrets hold the running cookie."""
    rel = release()
    rel.install(BASE)
    wait_ready(kubectl, namespace, 3)
    cookie = secret_value(kubectl, namespace, "emqx-ee", "erlang-cookie")
    create_secret(kubectl, namespace, "gitops-cookie", **{"erlang-cookie": cookie})
    create_secret(kubectl, namespace, "gitops-dashboard", **{"dashboard-password": "from-git"})
    create_secret(kubectl, namespace, "gitops-api-key", **{"bootstrap.txt": "ops:from-git-0123456789:viewer"})
    gitops = {"generate": False, "dashboard": {"existingSecret": "gitops-dashboard"}}
    # The chart's own Secret keeps the generated MQTT users file; GitOps names a Secret explicitly.
    api_key = {
        "apiKey": {"existingSecret": "gitops-api-key"},
        "mqttAuth": {"enabled": True, "existingSecret": "emqx-ee", "existingSecretKey": "mqtt-users"},
    }
    with pytest.raises(HelmError) as caught:
        rel.upgrade(with_values({"auth": {**gitops, "erlangCookie": {"existingSecret": "other-cookie"}}, **api_key}))
    assert "auth.erlangCookie.existingSecret" in caught.value.stderr, caught.value.stderr
    rel.upgrade(with_values({"auth": {**gitops, "erlangCookie": {"existingSecret": "gitops-cookie"}}, **api_key}))
    assert env_of(kubectl, namespace)["EMQX_NODE__COOKIE"]["valueFrom"]["secretKeyRef"]["name"] == "gitops-cookie"
    assert secret_value(kubectl, namespace, "emqx-ee", "erlang-cookie") == cookie, "the generated cookie is kept"


@pytest.mark.parametrize(
    ("cookie", "names"),
    [
        ("with a space", "backslash, quote or space"),
        ("it's", "backslash, quote or space"),
        ("back\\slash", "backslash, quote or space"),
        ("x" * 256, "256 characters long"),
        ("", "is empty"),
        ("cookie#1", "holds # or // or ${"),
    ],
    ids=["space", "quote", "backslash", "too-long", "empty", "hocon-comment"],
)
def test_a_cookie_emqx_would_refuse_is_refused_at_install(release, kubectl, namespace, cookie, names):
    create_secret(kubectl, namespace, "bad-cookie", cookie=cookie)
    with pytest.raises(HelmError) as caught:
        release().install({"auth": {"erlangCookie": {"existingSecret": "bad-cookie", "existingSecretKey": "cookie"}}})
    message = caught.value.stderr
    assert "Secret bad-cookie (key cookie)" in message and names in message, message
    assert kubectl.get("statefulset", namespace) == []
