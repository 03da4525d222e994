"""The rollback guard's script (charts/emqx-ee/files/rollback-guard.py), run on this machine.

On kwok no container runs (the hook Job's pod is marked Succeeded), so the script itself is proven here: as a
subprocess, against a stand-in of the two API server paths it reads (the identity record ConfigMap and the
StatefulSet), served by http.server from objects each test builds from its own inputs. The stand-in checks
the bearer token and answers 403 for anything the hook's Role does not name, as the API server would.
tests/smoke/test_rollback.py runs the same script against the real API server with the hook's own RBAC.
"""

from __future__ import annotations

import copy
import hashlib
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from harness.tools import CHART

pytestmark = pytest.mark.unit

SCRIPT = CHART / "files" / "rollback-guard.py"
TOKEN = "token-of-the-hook-service-account"
NS = "emqx"
COOKIE, NEW_COOKIE = "the-original-cookie-0123456789", "the-rotated-cookie-0123456789"
API_FILE, NEW_API_FILE = "emqx-ee-helm:old-secret:viewer\n", "emqx-ee-helm:new-secret:viewer\n"


def fingerprint(value: str) -> str:
    """As the chart computes it (_rollback_guard.tpl emqx-ee.fingerprint) for release emqx-ee in emqx."""
    return hashlib.sha256(f"emqx-ee:{NS}/emqx-ee:{value}".encode()).hexdigest()


SELECTOR = {"app.kubernetes.io/name": "emqx-ee", "app.kubernetes.io/instance": "emqx-ee"}
IDENTITY = {
    "statefulSet": "emqx-ee",
    "namespace": NS,
    "serviceName": "emqx-ee-headless",
    "selector": SELECTOR,
    "emqxName": "emqx",
    "clusterDomain": "cluster.local",
}
CLAIM = {"size": "8Gi", "accessModes": ["ReadWriteOnce"], "labels": SELECTOR, "annotations": {}, "selector": {}}


def expectation(
    identity: dict[str, Any] | None = None,
    replicas: int = 3,
    cookie: tuple[str, str, str] = ("emqx-ee", "erlang-cookie", COOKIE),
    api_file: str | None = API_FILE,
    claim: dict[str, Any] | None = CLAIM,
    policy: str = "Parallel",
) -> dict[str, Any]:
    """expected.json of a target revision (the shape emqx-ee.rollbackExpectation renders); a credential given
    as "" has no fingerprint (GitOps mode)."""
    return {
        "release": "emqx-ee",
        "releaseNamespace": NS,
        "revision": 1,
        "identityRecord": "emqx-ee-identity",
        "chartSecret": "emqx-ee",
        "identity": identity or IDENTITY,
        "replicaCount": replicas,
        "cookie": {"secret": cookie[0], "key": cookie[1], "fingerprint": cookie[2] and fingerprint(cookie[2])},
        "apiKey": {
            "enabled": api_file is not None,
            "secret": "emqx-ee",
            "key": "api-key-bootstrap",
            "fingerprint": api_file and fingerprint(api_file),
        },
        "immutable": {"podManagementPolicy": policy, "claimTemplate": claim},
    }


def statefulset(
    identity: dict[str, Any] | None = None,
    replicas: int = 3,
    cookie: tuple[str, str, str] = ("emqx-ee", "erlang-cookie", COOKIE),
    api_file: str | None = API_FILE,
    size: str = "8Gi",
    policy: str = "Parallel",
) -> dict[str, Any]:
    """A live StatefulSet as the API server returns it: what the chart's template sets, plus status."""
    i = identity or IDENTITY
    annotations = {"checksum/pod-template": "abc"}
    if cookie[2]:
        annotations["checksum/erlang-cookie"] = fingerprint(cookie[2])
    if api_file:
        annotations["checksum/api-key-bootstrap"] = fingerprint(api_file)
    volumes = [{"name": "api-key", "secret": {"secretName": "emqx-ee", "items": [{"key": "api-key-bootstrap"}]}}]
    env = [
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "EMQX_NAME", "value": i["emqxName"]},
        {"name": "EMQX_HOST", "value": f"$(POD_NAME).{i['serviceName']}.{i['namespace']}.svc.{i['clusterDomain']}"},
        {"name": "EMQX_NODE__COOKIE", "valueFrom": {"secretKeyRef": {"name": cookie[0], "key": cookie[1]}}},
    ]
    claim = {
        "metadata": {"name": "emqx-data", "labels": SELECTOR},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}},
    }
    return {
        "metadata": {"name": i["statefulSet"], "namespace": i["namespace"], "annotations": annotations},
        "spec": {
            "replicas": replicas,
            "serviceName": i["serviceName"],
            "podManagementPolicy": policy,
            "selector": {"matchLabels": i["selector"]},
            "template": {
                "spec": {"containers": [{"name": "emqx", "env": env}], "volumes": volumes if api_file else []}
            },
            "volumeClaimTemplates": [claim],
        },
        "status": {"replicas": replicas},
    }


def record(identity: dict[str, Any] | None = None) -> dict[str, Any]:
    """The identity record ConfigMap (configmap-identity.yaml): the selector as a JSON string."""
    i = identity or IDENTITY
    return {"metadata": {"name": "emqx-ee-identity"}, "data": {**i, "selector": json.dumps(i["selector"])}}


class ApiServer:
    """GET /api/v1/namespaces/<ns>/configmaps/<name> and /apis/apps/v1/namespaces/<ns>/statefulsets/<name>, from
    `objects` (path -> object); 401 without the token, 403 outside `allowed` (the hook Role's names), 404
    for a missing object. `asked` lists the paths requested."""

    def __init__(self) -> None:
        self.objects: dict[str, Any] = {}
        self.allowed: set[str] = set()
        self.asked: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server.asked.append(self.path)
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self.answer(401, {"kind": "Status", "message": "Unauthorized"})
                if self.path not in server.allowed:
                    return self.answer(403, {"kind": "Status", "message": f"forbidden: {self.path}"})
                if self.path not in server.objects:
                    return self.answer(404, {"kind": "Status", "message": "not found"})
                return self.answer(200, server.objects[self.path])

            def answer(self, code: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def serve(self, sts: dict[str, Any] | None, rec: dict[str, Any] | None, target: dict[str, Any]) -> None:
        """The live objects, and the Role of the target revision's hook: its StatefulSet and the record."""
        t = target["identity"]
        sts_path = f"/apis/apps/v1/namespaces/{t['namespace']}/statefulsets/{t['statefulSet']}"
        rec_path = f"/api/v1/namespaces/{target['releaseNamespace']}/configmaps/{target['identityRecord']}"
        self.allowed = {sts_path, rec_path}
        self.objects = {}
        if sts is not None:
            m = sts["metadata"]
            self.objects[f"/apis/apps/v1/namespaces/{m['namespace']}/statefulsets/{m['name']}"] = sts
        if rec is not None:
            self.objects[rec_path] = rec


@pytest.fixture(scope="module")
def server() -> Iterator[ApiServer]:
    s = ApiServer()
    yield s
    s.httpd.shutdown()


@pytest.fixture
def guard(server: ApiServer, tmp_path: Path):
    """Run the script as the hook runs it, against the stand-in: (exit status, stdout, stderr)."""
    token = tmp_path / "token"
    token.write_text(TOKEN + "\n")

    def run(
        target: dict[str, Any],
        sts: dict[str, Any] | None,
        rec: dict[str, Any] | None = None,
        url: str = "",
        allowed: set[str] | None = None,
    ) -> subprocess.CompletedProcess:
        server.serve(sts, record() if rec is None else rec, target)
        if allowed is not None:
            server.allowed = allowed
        expected = tmp_path / "expected.json"
        expected.write_text(json.dumps(target))
        env = {"EXPECTED_FILE": str(expected), "API_SERVER": url or server.url, "API_TOKEN_FILE": str(token)}
        proc = subprocess.run([sys.executable, "-B", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)
        return proc

    return run


def refused(proc: subprocess.CompletedProcess, *names: str) -> str:
    assert proc.returncode == 1, f"expected a refusal, got {proc.returncode}:\n{proc.stdout}{proc.stderr}"
    message = proc.stderr
    assert message.startswith("refused before anything was rolled back"), message
    assert "helm rollback emqx-ee 1 -n emqx --no-hooks" in message, message
    assert "pending-rollback" in message and "helm rollback emqx-ee <the deployed revision> -n emqx" in message
    for name in names:
        assert name in message, f"the refusal does not name {name!r}:\n{message}"
    return message


def passed(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, f"expected a pass:\n{proc.stdout}{proc.stderr}"
    assert "may roll back to revision 1" in proc.stdout, proc.stdout
    return proc.stdout


def test_rollback_across_a_cookie_rotation_is_refused(guard):
    rotated = ("new-cookie", "cookie", NEW_COOKIE)
    message = refused(guard(expectation(), statefulset(cookie=rotated)), "Erlang cookie", "split the cluster")
    assert "Secret emqx-ee (key erlang-cookie)" in message and "Secret new-cookie (key cookie)" in message, message
    assert 'docs/operations.md "Rolling back"' in message, message


def test_rollback_after_a_failed_upgrade_with_the_same_cookie_passes(guard):
    """A failed upgrade leaves its own pod template behind (another checksum), on the same credentials."""
    live = statefulset()
    live["metadata"]["annotations"]["checksum/pod-template"] = "the-failed-upgrade"
    passed(guard(expectation(), live))


def test_new_content_in_the_same_user_secret_passes(guard):
    """A rollback rewrites the chart's Secret but not the user's: when both revisions name the same user
    Secret, the nodes keep what it holds now, whatever it held when the target revision was rendered."""
    vault = ("vault-cookie", "cookie", COOKIE)
    passed(guard(expectation(cookie=vault), statefulset(cookie=("vault-cookie", "cookie", NEW_COOKIE))))


def test_same_cookie_from_another_secret_passes(guard):
    """The fingerprints compare the cookie itself: moving it into another Secret is no rotation."""
    passed(guard(expectation(), statefulset(cookie=("vault-cookie", "cookie", COOKIE))))


@pytest.mark.parametrize(
    ("change", "names"),
    [
        ({"emqxName": "broker"}, ["emqxName", "broker@... to emqx@..."]),
        ({"clusterDomain": "example.internal"}, ["clusterDomain", "svc.example.internal to ...svc.cluster.local"]),
        ({"serviceName": "other-headless"}, ["headless Service", "other-headless"]),
        (
            {"selector": {"app.kubernetes.io/name": "broker", "app.kubernetes.io/instance": "emqx-ee"}},
            ["nameOverride: the StatefulSet selector", "immutable"],
        ),
    ],
    ids=["emqx-name", "cluster-domain", "service-name", "selector"],
)
def test_rollback_across_an_identity_change_is_refused(guard, change, names):
    live = {**IDENTITY, **change}
    refused(guard(expectation(), statefulset(identity=live), rec=record(live)), "node identity", *names)


def test_identity_from_the_record_when_the_nodes_run_under_another_statefulset(guard, server):
    """The record points at StatefulSet `emqx` (a fullnameOverride made with the escape hatch): refused from the
    record alone, without reading a StatefulSet the hook's Role does not name."""
    live = {**IDENTITY, "statefulSet": "emqx", "serviceName": "emqx-headless"}
    message = refused(guard(expectation(), statefulset(identity=live), rec=record(live)), "fullnameOverride")
    assert "emqx-data-emqx-N" in message, message
    assert not any("/statefulsets/" in path for path in server.asked[-1:]), server.asked


def test_rollback_across_an_api_key_rotation_is_refused(guard):
    message = refused(guard(expectation(), statefulset(api_file=NEW_API_FILE)), "API key")
    assert "EMQX keeps the key it loaded from the bootstrap file at boot" in message, message
    assert "put back the API key that Secret emqx-ee (key api-key-bootstrap) held then" in message, message


def test_nothing_running_lets_the_credentials_change(guard):
    live = statefulset(replicas=0, cookie=("new-cookie", "cookie", NEW_COOKIE), api_file=NEW_API_FILE)
    assert "no node runs" in passed(guard(expectation(), live))


def test_a_target_revision_that_stops_every_node_may_change_the_cookie(guard):
    """Scaling to 0 deletes the pods without starting any: the next start runs one cookie on every node."""
    live = statefulset(cookie=("new-cookie", "cookie", NEW_COOKIE))
    assert "stops every node" in passed(guard(expectation(replicas=0), live))


def test_no_statefulset_passes_when_the_record_agrees(guard):
    assert "no node runs" in passed(guard(expectation(), None))


def test_no_record_falls_back_to_the_statefulset(guard):
    """Releases of chart 0.1.0 have no identity record: the StatefulSet still shows the identity."""
    out = guard(expectation(), statefulset(identity={**IDENTITY, "emqxName": "broker"}), rec={})
    refused(out, "emqxName")


def test_unknown_fingerprints_compare_the_secrets_named(guard):
    """GitOps mode (lookup sees nothing): no fingerprint on either side, so the Secrets the values name are
    compared, and a different one is refused, as it cannot be told apart from a rotation."""
    gitops = ("emqx-cookie", "erlang-cookie", "")
    passed(guard(expectation(cookie=gitops), statefulset(cookie=gitops)))
    message = refused(guard(expectation(cookie=gitops), statefulset(cookie=("new-cookie", "erlang-cookie", ""))))
    assert "cannot tell whether both hold the same one" in message, message


@pytest.mark.parametrize(
    ("target", "live", "names"),
    [
        ({"claim": {**CLAIM, "size": "8Gi"}}, {"size": "16Gi"}, ["persistence.size: live 16Gi, revision 8Gi"]),
        ({"claim": None}, {}, ["persistence.enabled: live true, revision false"]),
        ({"policy": "OrderedReady"}, {}, ["podManagementPolicy: live Parallel, revision OrderedReady"]),
    ],
    ids=["size", "persistence-off", "pod-management"],
)
def test_rollback_across_an_immutable_field_is_refused(guard, target, live, names):
    refused(guard(expectation(**target), statefulset(**live)), "immutable StatefulSet field", *names)


def test_equal_quantities_in_another_unit_are_not_a_change(guard):
    passed(guard(expectation(claim={**CLAIM, "size": "1024Mi"}), statefulset(size="1Gi")))


def test_every_reason_at_once(guard):
    live = statefulset(
        identity={**IDENTITY, "emqxName": "broker"}, cookie=("new-cookie", "cookie", NEW_COOKIE), api_file=NEW_API_FILE
    )
    message = refused(guard(expectation(), live, rec=record({**IDENTITY, "emqxName": "broker"})))
    assert [line.split(":")[0] for line in message.splitlines() if line.startswith("  - ")] == [
        "  - node identity",
        "  - Erlang cookie",
        "  - API key",
    ], message


def test_unreachable_api_server_refuses(guard):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    message = refused(guard(expectation(), statefulset(), url=closed), "could not read the live objects")
    assert "Nothing was checked, so nothing is rolled back" in message, message


def test_forbidden_read_refuses(guard):
    """A Role that does not name the StatefulSet (or a proxy answering for the API server): refused."""
    record_only = {f"/api/v1/namespaces/{NS}/configmaps/emqx-ee-identity"}
    refused(guard(expectation(), statefulset(), allowed=record_only), "HTTP 403", "forbidden")


def rendered(template, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(expected.json, StatefulSet as live, identity record) of one render of the chart."""
    m = template(values)
    expected = json.loads(m.one("ConfigMap", "emqx-ee-rollback-guard")["data"]["expected.json"])
    sts = copy.deepcopy(json.loads(json.dumps(m.statefulset)))
    sts["status"] = {"replicas": sts["spec"]["replicas"]}
    return expected, sts, json.loads(json.dumps(m.one("ConfigMap", "emqx-ee-identity")))


def test_the_chart_expectation_matches_its_own_statefulset(guard, template):
    """The template's expected.json and the script agree on the chart's own StatefulSet: a revision rolls back
    onto itself. GitOps-style inputs keep the fingerprints out of the render, so it is the same every time."""
    values = {
        "replicaCount": 3,
        "license": {"key": "evaluation"},
        "auth": {"erlangCookie": {"existingSecret": "emqx-cookie"}},
        "apiKey": {"existingSecret": "emqx-api-key"},
    }
    expected, sts, rec = rendered(template, values)
    passed(guard(expected, sts, rec=rec))
    other, _, _ = rendered(template, {**values, "emqxName": "broker", "persistence": {"size": "16Gi"}})
    refused(guard(other, sts, rec=rec), "emqxName: node names would change from emqx@... to broker@...",
            "persistence.size: live 8Gi, revision 16Gi")  # fmt: skip


def test_script_is_standard_library_only():
    """The hook runs it on a plain Python image: every import is in the standard library."""
    imports = {
        line.split()[1].split(".")[0]
        for line in SCRIPT.read_text().splitlines()
        if line.startswith(("import ", "from ")) and not line.startswith("from __future__")
    }
    assert imports <= set(sys.stdlib_module_names), imports - set(sys.stdlib_module_names)
