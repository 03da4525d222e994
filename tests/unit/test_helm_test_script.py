"""The `helm test` script (charts/emqx-ee/files/helm-test.py), run on this machine.

On kwok the test Pod is simulated (no container runs), so the script itself is proven here: against a
real MQTT broker on loopback (mosquitto, installed by scripts/bootstrap.sh), with and without TLS, and
against a stand-in for EMQX's REST API. The stand-in is a test fixture that answers GET /status and
GET /api/v5/nodes with the fields EMQX 6.2.2 documents for them (apps/emqx_management/src/
emqx_mgmt_api_nodes.erl: node, node_status running|stopped, role core|replicant) and checks HTTP basic
auth with the bootstrap key. What cannot run here: EMQX itself, and a listener with PROXY protocol
(mosquitto 2.0 has none), so the PROXY header the script sends is checked by a raw socket below.
"""

from __future__ import annotations

import base64
import getpass
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from harness.tools import CHART

pytestmark = pytest.mark.unit

SCRIPT = CHART / "files" / "helm-test.py"
KEY, SECRET = "emqx-ee-helm", "s3cret-generated-by-the-chart"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
    assert found, "mosquitto is missing: run scripts/bootstrap.sh (it installs Debian's mosquitto package)"
    return found


def wait_port(port: int, proc: subprocess.Popen, address: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else "broker exited"
        try:
            socket.create_connection((address, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> Path:
    """A throwaway CA and a server certificate for `localhost`, made with openssl."""
    d = tmp_path_factory.mktemp("certs")

    def ssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test-ca",
        "-keyout", "ca.key", "-out", "ca.crt")  # fmt: skip
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "tls.key", "-out", "tls.csr")
    (d / "san.ext").write_text("subjectAltName=DNS:localhost\n")
    ssl("x509", "-req", "-in", "tls.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1",
        "-extfile", "san.ext", "-out", "tls.crt")  # fmt: skip
    return d


class Broker:
    """mosquitto on loopback; with several `addresses`, one broker listening on each (one port, each address),
    as a cluster whose nodes route every message between them."""

    def __init__(
        self,
        workdir: Path,
        certs: Path | None = None,
        deny_publish: bool = False,
        user: tuple[str, str] | None = None,
        addresses: tuple[str, ...] = ("127.0.0.1",),
        port: int | None = None,
    ):
        self.port, self.tls_port = port or free_port(), free_port()
        # Started as root, mosquitto would switch to user "mosquitto", who cannot read pytest's files.
        lines = [f"user {getpass.getuser()}", "per_listener_settings false", f"allow_anonymous {str(not user).lower()}"]
        if user:
            # Only this user may connect (mosquitto's password file, made by mosquitto_passwd).
            passwords = workdir / "passwords"
            subprocess.run(["mosquitto_passwd", "-c", "-b", str(passwords), *user], check=True, capture_output=True)
            lines.append(f"password_file {passwords}")
        lines += [f"listener {self.port} {address}" for address in addresses]
        if certs:
            for address in addresses:
                lines += [
                    f"listener {self.tls_port} {address}",
                    f"cafile {certs / 'ca.crt'}",
                    f"certfile {certs / 'tls.crt'}",
                    f"keyfile {certs / 'tls.key'}",
                ]
        if deny_publish:
            # Subscriptions are allowed, publishing is not: the broker acknowledges and drops the message.
            (workdir / "acl").write_text("topic read emqx-ee/#\n")
            lines.append(f"acl_file {workdir / 'acl'}")
        conf = workdir / "mosquitto.conf"
        conf.write_text("\n".join(lines) + "\n")
        self.proc = subprocess.Popen([mosquitto_binary(), "-c", str(conf)], stderr=subprocess.PIPE, text=True)
        for address in addresses:
            wait_port(self.port, self.proc, address)
            if certs:
                wait_port(self.tls_port, self.proc, address)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def broker(tmp_path_factory, certs):
    b = Broker(tmp_path_factory.mktemp("broker"), certs)
    yield b
    b.stop()


def emqx_node(name: str, role: str, status: str = "running") -> dict:
    """One entry of GET /api/v5/nodes as EMQX 6.2.2 answers it (a subset of the documented fields; a stopped
    node reports little more than its name, status and role)."""
    node = {"node": name, "node_status": status, "role": role}
    if status == "running":
        node |= {"version": "6.2.2", "edition": "Enterprise", "uptime": 1000}
    return node


def emqx_nodes(cores: int, replicants: int, stopped: int = 0) -> list[dict]:
    """GET /api/v5/nodes of a cluster with running cores and replicants, and stopped cores."""
    core = "emqx@emqx-ee-{}.emqx-ee-headless.emqx.svc.cluster.local"
    return (
        [emqx_node(core.format(i), "core") for i in range(cores)]
        + [emqx_node(f"emqx@10.0.0.{i}", "replicant") for i in range(replicants)]
        + [emqx_node(core.format(cores + i), "core", "stopped") for i in range(stopped)]
    )


class StandIn(ThreadingHTTPServer):
    """EMQX's REST API stand-in: /status without auth, /api/v5/nodes with the bootstrap key."""

    nodes: list[dict] = []


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if self.path == "/status":
            return self.reply(200, b"Node emqx@127.0.0.1 is started\nemqx is running", "text/plain")
        expected = "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            return self.reply(401, b'{"code":"BAD_API_KEY_OR_SECRET","message":"Check api_key/api_secret"}')
        if self.path == "/api/v5/nodes":
            return self.reply(200, json.dumps(self.server.nodes).encode())
        return self.reply(404, b'{"code":"NOT_FOUND"}')

    def reply(self, code: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def api():
    server = StandIn(("127.0.0.1", 0), Handler)
    server.nodes = emqx_nodes(3, 2)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()


@pytest.fixture
def https_api(certs):
    """The same stand-in behind TLS with the test CA's `localhost` certificate (tls.dashboard)."""
    server = StandIn(("127.0.0.1", 0), Handler)
    server.nodes = emqx_nodes(3, 2)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certs / "tls.crt", certs / "tls.key")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()


@pytest.fixture
def bootstrap(tmp_path) -> Path:
    path = tmp_path / "bootstrap.txt"
    path.write_text(f"{KEY}:{SECRET}:viewer\n")
    return path


def run_script(api: StandIn, bootstrap: Path, broker_port: int | None, **extra: str) -> subprocess.CompletedProcess:
    env = {
        "PATH": os.environ["PATH"],
        "STATUS_HOSTS": "127.0.0.1 localhost",
        "API_HOST": "127.0.0.1",
        "API_PORT": str(api.server_address[1]),
        "API_BOOTSTRAP_FILE": str(bootstrap),
        "EXPECT_CORES": "3",
        "EXPECT_REPLICANTS": "2",
        # A failing check retries until TEST_TIMEOUT: three tries, as each failure test waits it out.
        "TEST_TIMEOUT": "0.3",
        "TEST_RETRY_SECONDS": "0.1",
        "MQTT_RECEIVE_SECONDS": "0.5",
    }
    if broker_port:
        env |= {"MQTT_HOST": "127.0.0.1", "MQTT_PORT": str(broker_port), "MQTT_TLS": "false"}
    env |= extra
    return subprocess.run([sys.executable, "-B", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)


def test_passes_on_a_healthy_cluster(api, bootstrap, broker):
    result = run_script(api, bootstrap, broker.port)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "GET http://localhost:" in result.stdout and "emqx is running" in result.stdout
    assert "running cores" in result.stdout
    assert "published and received one message on emqx-ee/helm-test/" in result.stdout
    assert result.stdout.rstrip().endswith("PASS")


def test_fails_when_a_core_node_is_missing(api, bootstrap, broker):
    api.nodes = emqx_nodes(2, 2)
    result = run_script(api, bootstrap, broker.port)
    assert result.returncode != 0
    assert "FAIL cluster membership: 2 running core nodes, expected 3" in result.stderr


def test_fails_when_a_node_is_stopped(api, bootstrap, broker):
    api.nodes = emqx_nodes(3, 2, stopped=1)
    result = run_script(api, bootstrap, broker.port)
    assert result.returncode != 0 and "nodes not running" in result.stderr


def test_replicants_under_an_autoscaler_are_a_range(api, bootstrap, broker):
    api.nodes = emqx_nodes(3, 4)
    assert run_script(api, bootstrap, broker.port, EXPECT_REPLICANTS="2-5").returncode == 0
    result = run_script(api, bootstrap, broker.port, EXPECT_REPLICANTS="2-3")
    assert "4 running replicants, expected 2..3" in result.stderr


def test_fails_with_a_wrong_api_key(api, tmp_path, broker):
    wrong = tmp_path / "wrong.txt"
    wrong.write_text(f"{KEY}:not-the-secret:viewer\n")
    result = run_script(api, wrong, broker.port)
    assert result.returncode != 0 and "401" in result.stderr


def test_fails_when_the_message_is_not_delivered(api, bootstrap, tmp_path, certs):
    denying = Broker(tmp_path, deny_publish=True)
    try:
        result = run_script(api, bootstrap, denying.port)
    finally:
        denying.stop()
    assert result.returncode != 0
    assert "FAIL MQTT round trip: the subscriber received nothing" in result.stderr


def test_round_trip_over_tls_verifies_the_server(api, bootstrap, broker, certs):
    tls = {"MQTT_HOST": "127.0.0.1", "MQTT_PORT": str(broker.tls_port), "MQTT_TLS": "true"}
    ok = run_script(api, bootstrap, None, **tls, MQTT_CA=str(certs / "ca.crt"), MQTT_SERVER_NAME="localhost")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "through localhost:" in ok.stdout
    wrong_name = run_script(api, bootstrap, None, **tls, MQTT_CA=str(certs / "ca.crt"), MQTT_SERVER_NAME="other")
    assert wrong_name.returncode != 0 and "CERTIFICATE_VERIFY_FAILED" in wrong_name.stderr
    unknown_ca = run_script(api, bootstrap, None, **tls, MQTT_SERVER_NAME="localhost")
    assert unknown_ca.returncode != 0 and "CERTIFICATE_VERIFY_FAILED" in unknown_ca.stderr


def test_no_tcp_listener_skips_the_round_trip_and_says_so(api, bootstrap):
    result = run_script(api, bootstrap, None)
    assert result.returncode == 0, result.stderr
    assert "message round trip skipped" in result.stdout


def test_proxy_protocol_header_comes_first(api, bootstrap):
    """A PROXY protocol listener reads a v1 header before MQTT's CONNECT (no broker here speaks it)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        got: list[bytes] = []

        def accept() -> None:
            conn, _ = server.accept()
            data = b""
            with conn:
                conn.settimeout(5)
                while b"\r\n" not in data or data.endswith(b"\r\n"):  # the header, then CONNECT
                    chunk = conn.recv(200)
                    if not chunk:
                        break
                    data += chunk
            got.append(data)

        thread = threading.Thread(target=accept)
        thread.start()
        extra = {"MQTT_HOST": "127.0.0.1", "MQTT_PORT": str(port), "MQTT_PROXY_PROTOCOL": "true", "TEST_TIMEOUT": "0"}
        run_script(api, bootstrap, None, **extra)
        thread.join(timeout=10)
    assert got and got[0].startswith(b"PROXY TCP4 127.0.0.1 127.0.0.1 ")
    header, _, rest = got[0].partition(b"\r\n")
    assert rest.startswith(b"\x10"), "MQTT CONNECT follows the header"


def test_api_over_https_verifies_the_certificate(https_api, bootstrap, certs):
    https = {"API_SCHEME": "https", "STATUS_HOSTS": "localhost", "API_HOST": "localhost"}
    ok = run_script(https_api, bootstrap, None, **https, API_CA=str(certs / "ca.crt"))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "GET https://localhost:" in ok.stdout and "running cores" in ok.stdout
    untrusted = run_script(https_api, bootstrap, None, **https)
    assert untrusted.returncode != 0 and "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr


MQTT_USER = ("emqx-ee", 'generated,pass"word')  # a comma and a quote: the CSV must be read as CSV


@pytest.fixture(scope="module")
def auth_broker(tmp_path_factory):
    b = Broker(tmp_path_factory.mktemp("auth-broker"), user=MQTT_USER)
    yield b
    b.stop()


def users_file(tmp_path: Path, password: str) -> Path:
    """A users file as EMQX's built-in database reads it (bootstrap_type plain: header, then one user a line;
    emqx_authn_mnesia.erl reader_fn/2 and find_password_hash/3), with an empty row first like EMQX's sample."""
    path = tmp_path / "users.csv"
    quoted = '"' + password.replace('"', '""') + '"'
    path.write_text(f"user_id,password,is_superuser\n,,\n{MQTT_USER[0]},{quoted},false\n")
    return path


def test_round_trip_connects_with_the_first_user_of_the_users_file(api, bootstrap, auth_broker, tmp_path):
    result = run_script(api, bootstrap, auth_broker.port, MQTT_USERS_FILE=str(users_file(tmp_path, MQTT_USER[1])))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"MQTT clients connect as {MQTT_USER[0]}" in result.stdout
    assert "published and received one message" in result.stdout


def test_a_broker_that_requires_a_password_refuses_anonymous_and_wrong_ones(api, bootstrap, auth_broker, tmp_path):
    anonymous = run_script(api, bootstrap, auth_broker.port)
    assert anonymous.returncode != 0 and "connection refused (CONNACK return code 5)" in anonymous.stdout + (
        anonymous.stderr
    )
    wrong = run_script(api, bootstrap, auth_broker.port, MQTT_USERS_FILE=str(users_file(tmp_path, "not-it")))
    assert wrong.returncode != 0 and "CONNACK return code" in wrong.stdout + wrong.stderr


# --- messages between nodes ----------------------------------------------------------------------------------------
# Each node is reached at the host of its node name; here the nodes are loopback addresses 127.0.0.<n>, all on one
# port (the listener's container port, MQTT_NODE_PORT), as pods each have an address of their own.


def loopback_nodes(cores: int, replicants: int) -> list[dict]:
    """GET /api/v5/nodes of nodes named emqx@127.0.0.<n>, cores first, listed replicants first (as EMQX's own
    list does not sort cores before replicants)."""
    core = [emqx_node(f"emqx@127.0.0.{n}", "core") for n in range(1, cores + 1)]
    return [emqx_node(f"emqx@127.0.0.{n}", "replicant") for n in range(cores + 1, cores + replicants + 1)] + core


def test_with_several_nodes_each_publishes_to_a_subscriber_of_the_next(api, bootstrap, tmp_path):
    api.nodes = loopback_nodes(2, 1)
    routed = Broker(tmp_path, addresses=("127.0.0.1", "127.0.0.2", "127.0.0.3"))
    try:
        result = run_script(
            api, bootstrap, routed.port, EXPECT_CORES="2", EXPECT_REPLICANTS="1", MQTT_NODE_PORT=str(routed.port)
        )
    finally:
        routed.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    pairs = [line.split(" on ")[0] for line in result.stdout.splitlines() if line.startswith("published through")]
    assert pairs == [
        "published through emqx@127.0.0.1 and received through emqx@127.0.0.2",
        "published through emqx@127.0.0.2 and received through emqx@127.0.0.3",
        "published through emqx@127.0.0.3 and received through emqx@127.0.0.1",
    ], result.stdout
    assert "published and received one message on emqx-ee/helm-test/" in result.stdout  # the Service's, too


def test_a_message_not_routed_between_two_nodes_fails_naming_both(api, bootstrap, tmp_path):
    """Two brokers on one port, one a node: each delivers its own clients' messages only."""
    api.nodes = loopback_nodes(2, 0)
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    first = Broker(tmp_path / "one", addresses=("127.0.0.1",))
    second = Broker(tmp_path / "two", addresses=("127.0.0.2",), port=first.port)
    try:
        result = run_script(
            api, bootstrap, first.port, EXPECT_CORES="2", EXPECT_REPLICANTS="0", MQTT_NODE_PORT=str(first.port)
        )
    finally:
        first.stop()
        second.stop()
    assert result.returncode != 0
    assert (
        "FAIL MQTT round trip from emqx@127.0.0.1 to emqx@127.0.0.2: the subscriber received nothing on"
        in result.stderr
    ), result.stdout + result.stderr


def test_messages_between_nodes_over_tls_verify_the_services_name(api, bootstrap, tmp_path, certs):
    """The nodes' certificate is checked against the client Service's name (MQTT_SERVER_NAME), as the Service's
    round trip checks it, not against each node's host."""
    api.nodes = loopback_nodes(2, 0)
    routed = Broker(tmp_path, certs, addresses=("127.0.0.1", "127.0.0.2"))
    tls = {
        "MQTT_HOST": "127.0.0.1",
        "MQTT_PORT": str(routed.tls_port),
        "MQTT_NODE_PORT": str(routed.tls_port),
        "MQTT_TLS": "true",
        "MQTT_CA": str(certs / "ca.crt"),
        "EXPECT_CORES": "2",
        "EXPECT_REPLICANTS": "0",
    }
    try:
        ok = run_script(api, bootstrap, None, **tls, MQTT_SERVER_NAME="localhost")
        wrong_name = run_script(api, bootstrap, None, **tls, MQTT_SERVER_NAME="other")
    finally:
        routed.stop()
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "published through emqx@127.0.0.2 and received through emqx@127.0.0.1" in ok.stdout
    assert wrong_name.returncode != 0
    assert "FAIL MQTT round trip from emqx@127.0.0.1 to emqx@127.0.0.2" in wrong_name.stderr
    assert "CERTIFICATE_VERIFY_FAILED" in wrong_name.stderr


def test_one_node_or_no_node_port_checks_no_message_between_nodes_and_says_so(api, bootstrap, broker):
    api.nodes = loopback_nodes(1, 0)
    one = run_script(api, bootstrap, broker.port, EXPECT_CORES="1", EXPECT_REPLICANTS="0", MQTT_NODE_PORT="1")
    assert one.returncode == 0, one.stdout + one.stderr
    assert "one node runs: no message between nodes to check" in one.stdout
    api.nodes = emqx_nodes(3, 2)
    unset = run_script(api, bootstrap, broker.port)
    assert unset.returncode == 0, unset.stdout + unset.stderr
    assert "MQTT_NODE_PORT is not set: messages between nodes not checked" in unset.stdout


def test_a_node_name_without_a_host_fails_naming_it(api, bootstrap, broker):
    api.nodes = [emqx_node("emqx@127.0.0.1", "core"), emqx_node("emqx-no-host", "core")]
    result = run_script(api, bootstrap, broker.port, EXPECT_CORES="2", EXPECT_REPLICANTS="0", MQTT_NODE_PORT="1")
    assert result.returncode != 0 and "FAIL: node name 'emqx-no-host' is not name@host" in result.stderr
