"""Rollback guard of the emqx-ee chart (Python standard library only, runs in the pre-rollback hook Job).

`helm rollback` applies an old revision's stored manifests without rendering the chart, so the install and
upgrade guards (templates/_guards.tpl) never run. Helm runs a rollback's hooks from the TARGET revision,
before it changes any resource, and stops the rollback when one fails. This script is that hook: the chart
rendered, into expected.json, what the target revision gives the nodes (their identity, the fingerprints of
the Erlang cookie and the API key, the immutable StatefulSet fields), and the script compares that with the
LIVE StatefulSet and identity record. It exits 1, with every reason at once, when the rollback would:

- change the nodes' identity (names under which EMQX keeps its data, or the StatefulSet's name, selector,
  headless Service or namespace): the nodes would start empty, or the data be orphaned;
- give running nodes another Erlang cookie: nodes with different cookies cannot talk, so the rolling update
  would split the cluster;
- put another API key into the bootstrap file while nodes run: EMQX keeps the key it loaded at boot;
- change an immutable StatefulSet field: the API server would refuse the StatefulSet half-way through.

It reads no Secret: the cookie and key are compared through salted SHA-256 fingerprints that the chart
writes on the StatefulSet (annotations checksum/erlang-cookie, checksum/api-key-bootstrap) and into
expected.json. Where a fingerprint is unknown on either side (GitOps mode, or a StatefulSet written by an
older chart), it compares the Secrets the values name instead, and refuses when those differ.

It fails safe: when the API server cannot be asked, it refuses. Settings (for running it elsewhere):
EXPECTED_FILE, API_SERVER (else https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT), API_TOKEN_FILE,
API_CA_FILE (else the pod's service account files).
"""

from __future__ import annotations

import json
import os
import re
import ssl
import sys
import urllib.error
import urllib.request
from decimal import Decimal
from typing import Any

ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
IDENTITY_KEYS = ("namespace", "statefulSet", "serviceName", "selector", "emqxName", "clusterDomain")


class ApiError(Exception):
    """The API server could not be asked, or refused to answer (anything but 200 and 404)."""


def api_server() -> str:
    if os.environ.get("API_SERVER"):
        return os.environ["API_SERVER"].rstrip("/")
    host = os.environ.get("KUBERNETES_SERVICE_HOST", "")
    if not host:
        raise ApiError("neither API_SERVER nor KUBERNETES_SERVICE_HOST is set")
    host = f"[{host}]" if ":" in host else host
    return f"https://{host}:{os.environ.get('KUBERNETES_SERVICE_PORT', '443')}"


def get(path: str) -> dict[str, Any] | None:
    """GET one object from the API server; None when it does not exist (404)."""
    url = api_server() + path
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    token_file = os.environ.get("API_TOKEN_FILE", f"{ACCOUNT}/token")
    try:
        with open(token_file) as f:
            request.add_header("Authorization", f"Bearer {f.read().strip()}")
    except OSError as err:
        raise ApiError(f"cannot read the service account token {token_file}: {err}") from None
    context = None
    if url.startswith("https:"):
        context = ssl.create_default_context(cafile=os.environ.get("API_CA_FILE", f"{ACCOUNT}/ca.crt"))
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as err:
        if err.code == 404:
            return None
        detail = err.read().decode(errors="replace")
        try:
            detail = json.loads(detail).get("message", detail)
        except ValueError:
            pass
        raise ApiError(f"GET {path}: HTTP {err.code}: {detail}") from None
    except (OSError, ValueError, ssl.SSLError) as err:
        raise ApiError(f"GET {url}: {err}") from None


def container_env(sts: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Environment of the emqx container of a StatefulSet, as {name: entry}."""
    for container in sts.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
        if container.get("name") == "emqx":
            return {e["name"]: e for e in container.get("env", [])}
    return {}


def live_identity(sts: dict[str, Any], record: dict[str, str]) -> dict[str, Any]:
    """The identity of the live StatefulSet, read as templates/_guards.tpl (emqx-ee.liveIdentity) reads it;
    a node-name input the StatefulSet does not show falls back to the identity record."""
    meta, spec = sts["metadata"], sts["spec"]
    env = container_env(sts)
    prefix = f"$(POD_NAME).{spec.get('serviceName', '')}.{meta['namespace']}.svc."
    host = env.get("EMQX_HOST", {}).get("value")
    return {
        "namespace": meta["namespace"],
        "statefulSet": meta["name"],
        "serviceName": spec.get("serviceName", ""),
        "selector": spec.get("selector", {}).get("matchLabels", {}),
        "emqxName": env.get("EMQX_NAME", {}).get("value", record.get("emqxName", "")),
        "clusterDomain": host[len(prefix) :] if host and host.startswith(prefix) else record.get("clusterDomain", ""),
    }


def record_identity(record: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {k: record.get(k, "") for k in IDENTITY_KEYS}
    try:
        out["selector"] = json.loads(out["selector"] or "{}")
    except ValueError:
        pass
    return out


def identity_changes(live: dict[str, Any], target: dict[str, Any], revision: int) -> list[str]:
    changes = []
    if live["namespace"] != target["namespace"]:
        changes.append(
            f"namespaceOverride: revision {revision} puts the nodes in namespace {target['namespace']!r}, and "
            f"they run in {live['namespace']!r}: Helm would create a StatefulSet with new, empty claims there, "
            f"and the data stays behind in {live['namespace']!r}"
        )
    if live["statefulSet"] != target["statefulSet"]:
        changes.append(
            f"fullnameOverride or nameOverride: revision {revision} names the StatefulSet {target['statefulSet']!r}, "
            f"and {live['statefulSet']!r} runs: its replacement would start on new, empty claims "
            f"(emqx-data-{target['statefulSet']}-N), and the data in emqx-data-{live['statefulSet']}-N stays behind"
        )
    elif live["selector"] != target["selector"]:
        changes.append(
            f"nameOverride: the StatefulSet selector would change from {json.dumps(live['selector'])} to "
            f"{json.dumps(target['selector'])}, and a selector is immutable"
        )
    if live["statefulSet"] == target["statefulSet"] and live["serviceName"] != target["serviceName"]:
        changes.append(
            f"fullnameOverride or nameOverride: the headless Service would change from {live['serviceName']!r} to "
            f"{target['serviceName']!r}, and with it every node name (serviceName is immutable too)"
        )
    if live["emqxName"] != target["emqxName"]:
        changes.append(
            f"emqxName: node names would change from {live['emqxName']}@... to {target['emqxName']}@...; every "
            "node would start on the database it had under that name, and what the cluster stored since stays "
            "behind under the current names"
        )
    if live["clusterDomain"] != target["clusterDomain"]:
        changes.append(
            f"clusterDomain: node names would change from ...svc.{live['clusterDomain']} to "
            f"...svc.{target['clusterDomain']}; every node would start on the database it had under that name, "
            "and what the cluster stored since stays behind under the current names"
        )
    return changes


def secret_ref(sts: dict[str, Any], env_name: str) -> dict[str, str]:
    return container_env(sts).get(env_name, {}).get("valueFrom", {}).get("secretKeyRef", {})


def api_key_ref(sts: dict[str, Any]) -> dict[str, str]:
    """The Secret and key of the API bootstrap file the nodes mount (volume api-key), or {}."""
    for volume in sts["spec"]["template"]["spec"].get("volumes", []):
        if volume.get("name") == "api-key" and "secret" in volume:
            items = volume["secret"].get("items") or [{}]
            return {"name": volume["secret"].get("secretName", ""), "key": items[0].get("key", "")}
    return {}


def credential_change(
    what: str, target: dict[str, Any], live_ref: dict[str, str], live_fingerprint: str, expected: dict[str, Any]
) -> str | None:
    """Why the credential the target revision gives the nodes may differ from the running one, or None."""
    revision = expected["revision"]
    source = f"Secret {target['secret']} (key {target['key']})"
    running = f"Secret {live_ref.get('name')} (key {live_ref.get('key')})"
    same_source = (target["secret"], target["key"]) == (live_ref.get("name"), live_ref.get("key"))
    if same_source and target["secret"] != expected["chartSecret"]:
        # The user's own Secret: a rollback does not change it, so the nodes keep what it holds now,
        # whatever it held when the target revision was rendered.
        return None
    if target.get("fingerprint") and live_fingerprint:
        if target["fingerprint"] == live_fingerprint:
            return None
        if same_source:
            return (
                f"revision {revision} would put back the {what} that {source} held then, and the nodes run on another"
            )
        return (
            f"revision {revision} gives the nodes the {what} of {source} (as it was then), another than the running "
            f"nodes use ({running})"
        )
    if not same_source:
        return (
            f"revision {revision} takes the {what} from {source} and the running nodes from {running}; the chart "
            f"could not record the {what}'s fingerprint on both sides (GitOps mode, or a revision of an older "
            "chart), so it cannot tell whether both hold the same one"
        )
    return None


def quantity(text: str) -> Decimal:
    """A Kubernetes quantity as a number, so that 1Gi and 1024Mi compare equal."""
    factors = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}
    factors |= {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
    match = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(text))
    if not match or match.group(2) not in factors:
        return Decimal(-1)
    return Decimal(match.group(1)) * factors[match.group(2)]


def immutable_changes(sts: dict[str, Any], target: dict[str, Any]) -> list[str]:
    """Immutable StatefulSet fields the target revision sets otherwise than the live StatefulSet."""
    spec = sts["spec"]
    changes = []
    if spec.get("podManagementPolicy") != target["podManagementPolicy"]:
        changes.append(
            f"podManagementPolicy: live {spec.get('podManagementPolicy')}, revision {target['podManagementPolicy']}"
        )
    live = next((t for t in spec.get("volumeClaimTemplates", []) if t["metadata"]["name"] == "emqx-data"), None)
    claim = target["claimTemplate"]
    if (live is None) != (claim is None):
        changes.append(
            f"persistence.enabled: live {str(live is not None).lower()}, revision {str(claim is not None).lower()}"
        )
    elif live and claim:
        size = live["spec"].get("resources", {}).get("requests", {}).get("storage", "")
        if quantity(size) != quantity(claim["size"]):
            changes.append(f"persistence.size: live {size}, revision {claim['size']}")
        pairs = {
            "storageClass": (live["spec"].get("storageClassName"), claim.get("storageClassName")),
            "accessModes": (live["spec"].get("accessModes", []), claim["accessModes"]),
            "labels": (live["metadata"].get("labels", {}), claim["labels"]),
            "annotations": (live["metadata"].get("annotations", {}), claim["annotations"]),
            "selector": (live["spec"].get("selector", {}), claim["selector"]),
        }
        for name, (was, will) in pairs.items():
            if was != will:
                changes.append(f"persistence.{name}: live {json.dumps(was)}, revision {json.dumps(will)}")
    return changes


def check(expected: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(reasons to refuse, notes) for the rollback to the revision `expected` describes."""
    revision = expected["revision"]
    target = expected["identity"]
    notes: list[str] = []
    record = get(f"/api/v1/namespaces/{expected['releaseNamespace']}/configmaps/{expected['identityRecord']}")
    recorded = record_identity(record.get("data") or {}) if record else {}
    if recorded and (recorded["namespace"], recorded["statefulSet"]) != (target["namespace"], target["statefulSet"]):
        # The nodes run elsewhere than the target revision puts them: an identity change whatever the rest
        # says (and this hook may read only the target's own StatefulSet).
        changes = identity_changes(recorded, target, revision)
        return [f"node identity: {c}" for c in changes], notes
    if not record:
        notes.append(f"no identity record {expected['identityRecord']} (a release of chart 0.1.0)")
    sts = get(f"/apis/apps/v1/namespaces/{target['namespace']}/statefulsets/{target['statefulSet']}")
    if sts is None:
        notes.append(f"no StatefulSet {target['namespace']}/{target['statefulSet']}: no node runs")
        reasons = [f"node identity: {c}" for c in identity_changes(recorded, target, revision)] if recorded else []
        return reasons, notes

    reasons = [
        f"node identity: {c}"
        for c in identity_changes(live_identity(sts, record and record.get("data") or {}), target, revision)
    ]
    reasons += [f"immutable StatefulSet field: {c}" for c in immutable_changes(sts, expected["immutable"])]
    running = int(sts["spec"].get("replicas") or 0) + int(sts.get("status", {}).get("replicas") or 0)
    annotations = sts["metadata"].get("annotations") or {}
    if running == 0:
        notes.append("no node runs: the credentials may change")
    elif int(expected["replicaCount"]) == 0:
        # Every node stops and none starts: the next start runs one cookie on every node.
        notes.append(f"revision {revision} stops every node: the credentials may change")
    else:
        cookie = credential_change(
            "Erlang cookie", expected["cookie"], secret_ref(sts, "EMQX_NODE__COOKIE"),
            annotations.get("checksum/erlang-cookie", ""), expected,
        )  # fmt: skip
        if cookie:
            reasons.append(
                f"Erlang cookie: {cookie}. Nodes with different cookies cannot talk, so the rolling update would "
                "split the cluster"
            )
        key = expected["apiKey"]
        live_key = api_key_ref(sts)
        if key.get("enabled") and live_key:
            change = credential_change(
                "API key", key, live_key, annotations.get("checksum/api-key-bootstrap", ""), expected
            )
            if change:
                reasons.append(
                    f"API key: {change}. EMQX keeps the key it loaded from the bootstrap file at boot in its "
                    "database: the running nodes would go on accepting only that key while helm test, the "
                    "ServiceMonitor and your scripts read the other one from the Secret, until the nodes restart "
                    "and load it over the key of the same name"
                )
    return reasons, notes


def main() -> int:
    with open(os.environ.get("EXPECTED_FILE", "/opt/rollback-guard/expected.json")) as f:
        expected = json.load(f)
    release, revision, ns = expected["release"], expected["revision"], expected["releaseNamespace"]
    hatch = f"helm rollback {release} {revision} -n {ns} --no-hooks"
    # Helm leaves a rollback whose hook failed pending-rollback, which blocks the next upgrade.
    pending = (
        f"\nHelm now shows this rollback as pending-rollback, which blocks the next helm upgrade: clear it with "
        f"helm rollback {release} <the deployed revision> -n {ns} (see helm history {release} -n {ns})."
    )
    try:
        reasons, notes = check(expected)
    except ApiError as err:
        print(
            f"refused before anything was rolled back: the rollback guard of release {release} could not read the "
            f"live objects it compares revision {revision} with: {err}. Nothing was checked, so nothing is rolled "
            "back. Check that the hook's ServiceAccount, Role and RoleBinding exist and that no NetworkPolicy "
            f"blocks the API server; to roll back without the checks: {hatch}" + pending,
            file=sys.stderr,
        )
        return 1
    if reasons:
        print(
            f"refused before anything was rolled back: rolling release {release} back to revision {revision} "
            f"would change what the running EMQX nodes of StatefulSet "
            f"{expected['identity']['namespace']}/{expected['identity']['statefulSet']} depend on:\n  - "
            + "\n  - ".join(reasons)
            + "\nRoll forward instead (helm upgrade with the old values, which the upgrade guards check), or "
            'follow docs/operations.md "Rolling back". To roll back anyway, knowing the above: ' + hatch + pending,
            file=sys.stderr,
        )
        return 1
    print(f"rollback guard: release {release} may roll back to revision {revision}" + "".join(f"; {n}" for n in notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
