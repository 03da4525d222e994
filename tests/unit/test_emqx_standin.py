"""The EMQX stand-in of the real node (scripts/node/emqx_standin/emqx.py), run here as a process.

The stand-in is a model of EMQX 6.2.2 where the chart depends on it (its docstring cites the source of each
behaviour); these tests pin each behaviour: what it reads from the environment and refuses, where it binds,
/status and the REST API with the bootstrap key, MQTT through mosquitto over TCP and TLS (checked with the
chart's own helm-test.py), MQTT authentication (the chart's base.hocon and the user's settings, the bootstrap
file formats and password hashes, EMQX's CONNACK codes for MQTT 3.1.1 and 5), the `emqx ctl` subset of the
drain hook and the saved evacuation, clustering and the routing of messages between the nodes of a cluster
only, and the faults the smoke tests inject (a failing /status, a wrong payload, no routing), each of which
makes helm-test.py fail.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import random
import socket
import ssl
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from harness.tools import CHART, ROOT

pytestmark = pytest.mark.unit

STANDIN = ROOT / "scripts" / "node" / "emqx_standin"
HELM_TEST = CHART / "files" / "helm-test.py"
KEY, SECRET = "emqx-ee-helm", "s3cret"


def free_port() -> int:
    return free_ports(1)[0]


# Ports the stand-ins listen on: below the kernel's ephemeral range (32768-60999 by default, where any outgoing
# connection may take a port between the check that it is free and the stand-in's bind) and below Kubernetes'
# NodePort range (30000-32767), a slice of its own for each pytest-xdist worker, so that two workers never pick
# the same port. Within a test, a port handed out once (to a stand-in not started yet, or as a node's future
# distribution port) is not handed out again: _RESERVED, emptied before each test.
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
PORT_RANGE = range(20000 + 1200 * (_WORKER % 8), 20000 + 1200 * (_WORKER % 8 + 1) - 4)
_RESERVED: set[int] = set()


@pytest.fixture(autouse=True)
def _fresh_port_reservations():
    _RESERVED.clear()


def bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def free_ports(count: int) -> list[int]:
    """`count` different ports that nothing holds now, chosen at random below the ephemeral range."""
    chosen: list[int] = []
    pick = random.SystemRandom()
    while len(chosen) < count:
        port = pick.choice(PORT_RANGE)
        if port not in chosen and port not in _RESERVED and bindable(port):
            chosen.append(port)
    _RESERVED.update(chosen)
    return chosen


class Standin:
    """One stand-in process with the chart's kind of environment, on free ports."""

    def __init__(self, tmp: Path, **env: str):
        self.tmp = tmp
        self.data = tmp / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        # EMQX's etc directory: its demo certificates, and base.hocon when a test writes one.
        self.etc = tmp / "etc"
        self.etc.mkdir(exist_ok=True)
        if not (self.etc / "certs").exists():
            (self.etc / "certs").symlink_to(STANDIN / "certs")
        self.bootstrap = tmp / "bootstrap.txt"
        self.bootstrap.write_text(f"{KEY}:{SECRET}:administrator\n")
        self.tcp, self.ssl, self.dashboard, dist = free_ports(4)
        self.env = {
            "PATH": os.environ["PATH"] + ":/usr/sbin",
            "STANDIN_LIB": str(ROOT / "tests"),
            "STANDIN_ETC": str(self.etc),
            "STANDIN_RUN": str(tmp / "run"),
            # The distribution port (base + the integer ending the short name) on a free port, not EMQX's 4370.
            "STANDIN_DIST_BASE_PORT": str(dist),
            "EMQX_NAME": "emqx",
            "EMQX_HOST": "node-0.example",
            "EMQX_NODE__COOKIE": "a-cookie",
            "EMQX_NODE__DATA_DIR": str(self.data),
            "EMQX_API_KEY__BOOTSTRAP_FILE": json.dumps(str(self.bootstrap)),
            "EMQX_LISTENERS__TCP__DEFAULT__BIND": str(self.tcp),
            "EMQX_LISTENERS__SSL__DEFAULT__BIND": str(self.ssl),
            "EMQX_LISTENERS__WS__DEFAULT__ENABLE": "false",
            "EMQX_LISTENERS__WSS__DEFAULT__ENABLE": "false",
            "EMQX_DASHBOARD__LISTENERS__HTTP__BIND": str(self.dashboard),
        } | env
        self.proc: subprocess.Popen | None = None

    def start(self, wait: bool = True) -> Standin:
        self.log = open(self.tmp / "standin.log", "w+")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            [sys.executable, "-B", str(STANDIN / "emqx.py"), "foreground"],
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        if wait:
            deadline = time.monotonic() + 15
            while "is running" not in self.output():
                assert self.proc.poll() is None, f"the stand-in exited: {self.output()}"
                assert time.monotonic() < deadline, f"the stand-in did not start: {self.output()}"
                time.sleep(0.1)
        return self

    def output(self) -> str:
        return (self.tmp / "standin.log").read_text()

    def exit_code(self) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=15)

    def stop(self) -> None:
        if self.proc is None:  # never started (a test ran another command with its env)
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.log.close()

    def ctl(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-B", str(STANDIN / "emqx.py"), "ctl", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
        )

    def helm_test(self, **extra: str) -> subprocess.CompletedProcess:
        env = {
            "PATH": os.environ["PATH"],
            "STATUS_HOSTS": "127.0.0.1",
            "API_HOST": "127.0.0.1",
            "API_PORT": str(self.dashboard),
            "API_BOOTSTRAP_FILE": str(self.bootstrap),
            "EXPECT_CORES": "1",
            "EXPECT_REPLICANTS": "0",
            "MQTT_HOST": "127.0.0.1",
            "MQTT_PORT": str(self.tcp),
            "MQTT_TLS": "false",
            "TEST_TIMEOUT": "0.5",
            "TEST_RETRY_SECONDS": "0.2",
            "MQTT_RECEIVE_SECONDS": "1",
        } | extra
        return subprocess.run(
            [sys.executable, "-B", str(HELM_TEST)], env=env, capture_output=True, text=True, timeout=60
        )


@pytest.fixture
def standin(tmp_path):
    started: list[Standin] = []

    def make(**env: str) -> Standin:
        s = Standin(tmp_path / f"s{len(started)}", **env)
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()


def get(url: str, auth: tuple[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url)
    if auth:
        import base64

        request.add_header("Authorization", "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_serves_status_the_api_with_the_bootstrap_key_and_mqtt_and_logs_what_it_read(standin):
    s = standin(EMQX_LOG__CONSOLE__LEVEL="warning", EMQX_PORT_1883_TCP="tcp://10.0.0.1:1883").start()
    assert get(f"http://127.0.0.1:{s.dashboard}/status") == (
        200,
        b"Node emqx@node-0.example is started\nemqx is running",
    )
    assert get(f"http://127.0.0.1:{s.dashboard}/api/v5/nodes")[0] == 401
    assert get(f"http://127.0.0.1:{s.dashboard}/api/v5/nodes", (KEY, "wrong"))[0] == 401
    code, body = get(f"http://127.0.0.1:{s.dashboard}/api/v5/nodes", (KEY, SECRET))
    assert code == 200 and json.loads(body) == [
        {"node": "emqx@node-0.example", "node_status": "running", "role": "core", "version": "6.2.2"}
    ]
    result = s.helm_test()
    assert result.returncode == 0, result.stdout + result.stderr
    out = s.output()
    assert "read EMQX_LOG__CONSOLE__LEVEL=warning as log.console.level" in out
    assert "read EMQX_NODE__COOKIE=<8 characters> as node.cookie" in out  # never the secret itself
    assert "ignored EMQX_PORT_1883_TCP: no config root 'port_1883_tcp'" in out  # a Service link variable
    assert f"api_key.bootstrap_file {s.bootstrap}: 1 key(s): {KEY}" in out


def test_a_replicant_reports_its_role(standin):
    s = standin(EMQX_NODE__ROLE="replicant").start()
    assert json.loads(get(f"http://127.0.0.1:{s.dashboard}/api/v5/nodes", (KEY, SECRET))[1])[0]["role"] == "replicant"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"EMQX_LISTENERS__TCP__DEFAULT__MAX_CONNECTIONS": "many"},
            "failed_to_check_schema: EMQX_LISTENERS__TCP__DEFAULT__MAX_CONNECTIONS=many",
        ),
        (
            {"EMQX_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__CERTFILE": "/nonexistent/tls.crt"},
            "failed_to_read_file listeners.ssl.default.ssl_options.certfile=/nonexistent/tls.crt",
        ),
        ({"EMQX_NODE__COOKIE": "has a blank"}, "invalid cookie"),
        ({"EMQX_NODE__COOKIE": "x" * 256}, "invalid cookie"),
        ({"EMQX_SECURITY_PROFILE": "strict"}, "EMQX_SECURITY_PROFILE=strict"),
    ],
    ids=["bad-type", "unreadable-cert", "blank-in-cookie", "long-cookie", "unknown-profile"],
)
def test_refuses_to_start_where_emqx_would(standin, env, message):
    s = standin(**env).start(wait=False)
    assert s.exit_code() == 1, s.output()
    assert f"refusing to start: {message}" in s.output()


def test_check_config_refuses_what_the_start_refuses_without_starting(standin):
    """`emqx check_config` runs the schema check of the start (hocon_cli check_schema) and nothing else: a value
    EMQX refuses fails it with failed_to_check_schema; a file the settings name is not opened, and no listener
    is bound."""

    def check(s: Standin) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-B", str(STANDIN / "emqx.py"), "check_config"],
            env=s.env, capture_output=True, text=True, timeout=30,
        )  # fmt: skip

    bad = check(standin(EMQX_LISTENERS__TCP__DEFAULT__MAX_CONNECTIONS="many"))
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "failed_to_check_schema: EMQX_LISTENERS__TCP__DEFAULT__MAX_CONNECTIONS=many" in bad.stdout + bad.stderr
    s = standin(EMQX_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__CERTFILE="/nonexistent/tls.crt")
    good = check(s)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "is running" not in good.stdout + good.stderr
    with socket.socket() as probe:
        probe.bind(("0.0.0.0", s.tcp))  # free: check_config listened nowhere


def test_a_port_in_use_stops_the_start_naming_it_and_leaves_no_broker(standin, tmp_path):
    """EMQX stops whole when a listener cannot bind; the stand-in says which address and takes its mosquitto
    down with it."""
    s = standin()
    with socket.socket() as holder:
        holder.bind(("0.0.0.0", s.tcp))
        holder.listen()
        s.start(wait=False)
        assert s.exit_code() == 1, s.output()
    assert f"refusing to start: cannot listen: [Errno 98] 0.0.0.0:{s.tcp}: Address already in use" in s.output()
    run = s.env["STANDIN_RUN"]
    brokers = subprocess.run(["pgrep", "-f", f"mosquitto -c {run}/"], capture_output=True, text=True)
    assert not brokers.stdout.strip(), f"mosquitto outlived the refused start: {brokers.stdout}"


def test_a_disabled_tls_listener_needs_no_files(standin):
    s = standin(
        EMQX_LISTENERS__SSL__DEFAULT__ENABLE="false", EMQX_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__KEYFILE="/nonexistent"
    ).start()
    assert "listener ssl:default disabled" in s.output()


def reachable(address: str, port: int) -> bool:
    try:
        socket.create_connection((address, port), timeout=2).close()
        return True
    except OSError:
        return False


@pytest.mark.parametrize(("profile", "bound"), [(None, "0.0.0.0"), ("legacy", "0.0.0.0"), ("hardened", "127.0.0.1")])
def test_a_bare_port_binds_all_addresses_or_loopback_when_hardened(standin, profile, bound):
    env = {"EMQX_SECURITY_PROFILE": profile} if profile else {}
    s = standin(EMQX_LISTENERS__TCP__DEFAULT__BIND=f"127.0.0.1:{free_port()}", **env)
    s.env["EMQX_LISTENERS__TCP__DEFAULT__BIND"] = str(s.tcp)
    s.start()
    assert f"listener tcp:default on {bound}:{s.tcp}" in s.output()
    assert f"dashboard http on {bound}:{s.dashboard}" in s.output()
    # 127.0.0.2 is a loopback address that a 127.0.0.1 bind does not answer and a 0.0.0.0 bind does.
    assert reachable("127.0.0.2", s.tcp) is (bound == "0.0.0.0")
    assert reachable("127.0.0.2", s.dashboard) is (bound == "0.0.0.0")
    assert reachable("127.0.0.1", s.tcp)


def test_an_ip_port_bind_is_taken_as_given(standin):
    s = standin()
    s.env["EMQX_LISTENERS__TCP__DEFAULT__BIND"] = f'"127.0.0.1:{s.tcp}"'
    s.start()
    assert f"listener tcp:default on 127.0.0.1:{s.tcp}" in s.output()
    assert not reachable("127.0.0.2", s.tcp)


def test_mqtt_over_tls_uses_the_configured_files(standin, tmp_path):
    certs = STANDIN / "certs"
    s = standin(
        EMQX_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__CERTFILE=json.dumps(str(certs / "cert.pem")),
        EMQX_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__KEYFILE=json.dumps(str(certs / "key.pem")),
    ).start()
    assert f"(TLS {certs / 'cert.pem'}, {certs / 'key.pem'})" in s.output()
    tls = {
        "MQTT_PORT": str(s.ssl),
        "MQTT_TLS": "true",
        "MQTT_CA": str(certs / "cacert.pem"),
        "MQTT_SERVER_NAME": "localhost",
    }
    result = s.helm_test(**tls)
    assert result.returncode == 0, result.stdout + result.stderr
    wrong_ca = s.helm_test(**(tls | {"MQTT_CA": str(tmp_path / "none.pem")}))
    assert wrong_ca.returncode != 0 and "CERTIFICATE_VERIFY_FAILED" in wrong_ca.stderr


def test_the_helm_test_fails_when_status_fails_or_the_payload_is_wrong(standin):
    s = standin().start()
    (s.data / ".standin-faults").write_text("status-503\n")
    assert get(f"http://127.0.0.1:{s.dashboard}/status")[0] == 503
    failed = s.helm_test()
    assert failed.returncode != 0 and "FAIL GET" in failed.stderr, failed.stdout + failed.stderr
    (s.data / ".standin-faults").write_text("wrong-payload\n")
    failed = s.helm_test()
    assert failed.returncode != 0 and "the subscriber received" in failed.stderr, failed.stdout + failed.stderr


def test_ctl_answers_the_drain_hooks_commands_and_saves_the_evacuation(standin):
    s = standin()
    down = s.ctl("rebalance", "node-status")
    assert (down.returncode, down.stdout.strip()) == (1, "Node 'emqx@node-0.example' not responding to pings.")
    s.start()
    assert s.ctl("cluster", "status").stdout.startswith("Cluster status: #{running_nodes => ['emqx@node-0.example']")
    assert (s.ctl("rebalance", "node-status").stdout.strip(), s.ctl("rebalance", "node-status").returncode) == (
        "Rebalance disabled",
        0,
    )
    bad = s.ctl("rebalance", "start", "--evacuation", "--conn-evict-rate", "0")
    assert bad.returncode == 1 and not (s.data / ".evacuation").exists()
    started = s.ctl("rebalance", "start", "--evacuation", "--conn-evict-rate", "7", "--wait-health-check", "1")
    assert (started.returncode, started.stdout.strip()) == (1, "Rebalance(evacuation) started")
    assert json.loads((s.data / ".evacuation").read_text()) == {"conn_evict_rate": "7", "wait_health_check": "1"}
    assert s.ctl("rebalance", "start", "--evacuation").stdout.strip() == "Rebalance is already enabled"
    status = s.ctl("rebalance", "node-status").stdout
    assert "Rebalance type: evacuation" in status and "Connection eviction rate: 7 connections/second" in status
    assert "  current_connected: 0" in status and "Session recipient nodes: []" in status
    evicting(s)
    refused = s.helm_test()  # past its health-check wait, an evacuating node refuses new clients
    assert refused.returncode != 0 and "MQTT round trip" in refused.stderr
    assert s.ctl("rebalance", "stop").stdout.strip() == "Rebalance(evacuation) stopped"
    assert not (s.data / ".evacuation").exists()
    assert s.ctl("rebalance", "stop").stdout.strip() == "Rebalance is already disabled"


def evicting(s: Standin, timeout: float = 10) -> str:
    """node-status once the evacuation has left waiting_health_check."""
    deadline = time.monotonic() + timeout
    while "Rebalance state: waiting_health_check" in (status := s.ctl("rebalance", "node-status").stdout):
        assert time.monotonic() < deadline, status
        time.sleep(0.2)
    return status


def mqtt_connect(port: int, client_id: str = "probe") -> socket.socket:
    """An MQTT 3.1.1 client connected (CONNACK 0) to 127.0.0.1:port; raises when refused or closed."""
    client = socket.create_connection(("127.0.0.1", port), timeout=5)
    body = b"\x00\x04MQTT\x04\x02\x00\x00" + len(client_id).to_bytes(2, "big") + client_id.encode()
    client.sendall(bytes([0x10, len(body)]) + body)
    ack = client.recv(4)
    if ack != b"\x20\x02\x00\x00":
        client.close()
        raise ConnectionError(f"no CONNACK: {ack!r}")
    return client


def closed(client: socket.socket, timeout: float) -> bool:
    """Whether the broker side closes the connection within `timeout` seconds."""
    client.settimeout(timeout)
    try:
        return client.recv(1) == b""
    except TimeoutError:
        return False
    except OSError:
        return True


def test_an_evacuation_serves_clients_until_its_health_check_wait_ends_then_evicts(standin):
    """emqx_node_rebalance_evacuation.erl: `start` enables the eviction agent with allow_connections true and
    waits --wait-health-check seconds (waiting_health_check); start_eviction then refuses and evicts."""
    s = standin().start()
    kept = mqtt_connect(s.tcp)
    s.ctl("rebalance", "start", "--evacuation", "--wait-health-check", "3")
    assert "Rebalance state: waiting_health_check" in s.ctl("rebalance", "node-status").stdout
    admitted = mqtt_connect(s.tcp, "admitted")  # still admitted while waiting
    assert not closed(kept, 0.5), "a client was evicted during the health-check wait"
    status = evicting(s)
    assert "Rebalance state: evicting_" in status, status
    assert closed(kept, 3) and closed(admitted, 3), "the evacuation did not close its clients"
    with pytest.raises(OSError):
        mqtt_connect(s.tcp)


def test_the_peer_fault_lists_a_session_recipient(standin):
    s = standin().start()
    (s.data / ".standin-faults").write_text("peer\n")
    s.ctl("rebalance", "start", "--evacuation")
    assert "Session recipient nodes: ['emqx@peer.standin.invalid']" in s.ctl("rebalance", "node-status").stdout


def test_a_saved_evacuation_is_restored_at_boot(standin):
    s = standin()
    (s.data / ".evacuation").write_text("{}")
    s.start()
    assert "restoring_evacuation_state" in s.output()
    status = s.ctl("rebalance", "node-status").stdout
    assert "Rebalance type: evacuation" in status and "Rebalance state: evicting_" in status, status
    with pytest.raises(OSError):  # init/1 evicts at once: no health-check wait after a restart
        mqtt_connect(s.tcp)


def test_the_drain_script_evacuates_and_ends_the_evacuation_on_the_standin(standin, tmp_path):
    s = standin().start()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "emqx").write_text(f'#!/bin/sh\nexec {sys.executable} -B {STANDIN / "emqx.py"} "$@"\n')
    (bin_dir / "emqx").chmod(0o755)
    env = s.env | {"PATH": f"{bin_dir}:{os.environ['PATH']}", "DRAIN_LOG": str(tmp_path / "drain.log")}
    drain = CHART / "files" / "drain.sh"
    subprocess.run(["sh", str(drain), "--timeout", "20", "--poll", "1"], env=env, check=True, timeout=60)
    log = (tmp_path / "drain.log").read_text()
    assert "evacuating: 500 connections/s" in log and "drained: no connections" in log, log
    assert not (s.data / ".evacuation").exists()


def test_the_dashboard_over_https_only_when_http_binds_port_0(standin):
    certs = STANDIN / "certs"
    s = standin(EMQX_DASHBOARD__LISTENERS__HTTP__BIND="0")
    s.env |= {
        "EMQX_DASHBOARD__LISTENERS__HTTPS__BIND": str(s.dashboard),
        "EMQX_DASHBOARD__LISTENERS__HTTPS__SSL_OPTIONS__CERTFILE": json.dumps(str(certs / "cert.pem")),
        "EMQX_DASHBOARD__LISTENERS__HTTPS__SSL_OPTIONS__KEYFILE": json.dumps(str(certs / "key.pem")),
    }
    s.start()
    assert "dashboard http off (bind port 0)" in s.output()
    assert f"dashboard https on 0.0.0.0:{s.dashboard}" in s.output()
    result = s.helm_test(
        API_SCHEME="https", API_CA=str(certs / "cacert.pem"), STATUS_HOSTS="localhost", API_HOST="localhost"
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_log_shows_secrets_by_their_length_and_files_by_their_path(standin):
    s = standin(EMQX_LICENSE__KEY="evaluation-key", EMQX_DASHBOARD__DEFAULT_PASSWORD="2Secret#word").start()
    assert "read EMQX_LICENSE__KEY=<14 characters> as license.key" in s.output()
    assert "EMQX_DASHBOARD__DEFAULT_PASSWORD: EMQX reads its text as something other than written" in s.output()
    assert "2Secret" not in s.output() and "evaluation-key" not in s.output()
    assert f"read EMQX_API_KEY__BOOTSTRAP_FILE={json.dumps(str(s.bootstrap))} as api_key.bootstrap_file" in s.output()


# --- MQTT authentication -------------------------------------------------------------------------------------------

# The CONNACK codes of EMQX 6.2.2 (emqx_reason_codes.erl): MQTT 5 reason codes, and the MQTT 3.1.1 return codes
# compat(connack, _) maps them to.
V5 = {"bad_username_or_password": 0x86, "not_authorized": 0x87}
V311 = {"bad_username_or_password": 4, "not_authorized": 5}


def _utf8(data: str | bytes) -> bytes:
    raw = data.encode() if isinstance(data, str) else data
    return struct.pack("!H", len(raw)) + raw


def connect_packet(
    version: int,
    username: str | None = None,
    password: str | None = None,
    client_id: str = "probe",
    auth_method: str | None = None,
) -> bytes:
    """An MQTT 3.1.1 or 5 CONNECT."""
    flags = 0x02 | (0x80 if username is not None else 0) | (0x40 if password is not None else 0)
    props = b""
    if version == 5:
        body = _utf8(auth_method) if auth_method is not None else b""
        props = bytes([len(body) + (1 if body else 0)]) + (b"\x15" + body if body else b"")
    payload = _utf8(client_id)
    payload += _utf8(username) if username is not None else b""
    payload += _utf8(password) if password is not None else b""
    body = _utf8("MQTT") + bytes([version, flags]) + struct.pack("!H", 30) + props + payload
    return bytes([0x10, len(body)]) + body


def connack(port: int, version: int, *credentials: str | None, auth_method: str | None = None) -> int:
    """The return (3.1.1) or reason (5) code of the CONNACK a client gets for one CONNECT."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(connect_packet(version, *credentials, auth_method=auth_method))
        answer = sock.recv(16)
    assert answer[:1] == b"\x20", f"no CONNACK: {answer!r}"
    return answer[3]


def chart_base_hocon(template, users: Path) -> str:
    """The base.hocon the chart's default install gives EMQX, its bootstrap_file pointed at `users`."""
    text = template().statefulset["spec"]["template"]["metadata"]["annotations"]["emqx-ee/base-hocon"]
    assert '"/opt/emqx/etc/mqtt-auth/users.csv"' in text, text
    return text.replace('"/opt/emqx/etc/mqtt-auth/users.csv"', json.dumps(str(users)))


def with_users(s: Standin, text: str, name: str = "users.csv") -> Path:
    path = s.tmp / name
    path.write_text(text)
    return path


def test_the_charts_authenticator_refuses_anonymous_and_wrong_passwords_with_emqxs_codes(standin, template):
    s = standin()
    users = with_users(s, "user_id,password,is_superuser\nmqtt,pa55-word,false\n")
    (s.etc / "base.hocon").write_text(chart_base_hocon(template, users))
    s.start()
    assert f"bootstrap file {users} (plain): 1 success, 0 skipped, 0 failed" in s.output()
    assert f"authentication from {s.etc / 'base.hocon'}: password_based:built_in_database" in s.output()
    for version, codes in ((4, V311), (5, V5)):
        # no password: emqx_authn_mnesia:authenticate/2 answers bad_username_or_password at once
        assert connack(s.tcp, version) == codes["bad_username_or_password"]
        assert connack(s.tcp, version, "mqtt") == codes["bad_username_or_password"]
        assert connack(s.tcp, version, "mqtt", "wrong") == codes["bad_username_or_password"]
        # a user the database does not have: ignored, and a chain that ignores a client refuses it
        assert connack(s.tcp, version, "someone", "pa55-word") == codes["not_authorized"]
        assert connack(s.tcp, version, "mqtt", "pa55-word") == 0
    # enhanced authentication (MQTT 5): the built-in password authenticator ignores it
    assert connack(s.tcp, 5, "mqtt", "pa55-word", auth_method="SCRAM-SHA-256") == V5["not_authorized"]
    assert "authentication_failure bad_username_or_password: client 'probe', username 'mqtt'" in s.output()
    assert "pa55-word" not in s.output() and "wrong" not in s.output()
    anonymous = s.helm_test()
    assert anonymous.returncode != 0 and "CONNACK return code 4" in anonymous.stderr, anonymous.stderr
    passed = s.helm_test(MQTT_USERS_FILE=str(users))
    assert passed.returncode == 0, passed.stdout + passed.stderr


@pytest.mark.parametrize(("profile", "anonymous"), [(None, 0), ("legacy", 0), ("hardened", "not_authorized")])
def test_without_an_authenticator_the_security_profile_decides(standin, profile, anonymous):
    s = standin(**({"EMQX_SECURITY_PROFILE": profile} if profile else {})).start()
    assert f"no authenticator enabled: authn_not_configured, clients are {'refused' if anonymous else 'allowed'}" in (
        s.output()
    )
    for version, codes in ((4, V311), (5, V5)):
        assert connack(s.tcp, version) == (codes[anonymous] if anonymous else 0)
        assert connack(s.tcp, version, "anyone", "anything") == (codes[anonymous] if anonymous else 0)


def test_authentication_of_the_user_replaces_the_charts_in_the_order_emqx_reads_it(standin, template):
    """base.hocon < cluster.hocon (the dashboard's) < EMQX_AUTHENTICATION; EMQX_AUTHENTICATION__<n>__<field>
    sets a field of one authenticator."""
    s = standin()
    (s.etc / "base.hocon").write_text(chart_base_hocon(template, with_users(s, "user_id,password\nmqtt,pw\n")))
    dashboard_users = with_users(s, "user_id,password\nops,dashboard-pw\n", "dashboard.csv")
    (s.data / "configs").mkdir()
    (s.data / "configs" / "cluster.hocon").write_text(
        "authentication = [\n  {\n    mechanism = password_based\n    backend = built_in_database\n"
        f"    bootstrap_file = {json.dumps(str(dashboard_users))}\n  }}\n]\n"
    )
    s.start()
    assert connack(s.tcp, 4, "mqtt", "pw") == V311["not_authorized"] and connack(s.tcp, 4, "ops", "dashboard-pw") == 0
    s.stop()
    mine = [{"mechanism": "password_based", "backend": "built_in_database", "enable": False}]
    s.env["EMQX_AUTHENTICATION"] = json.dumps(mine)
    s.start()
    assert "authentication[1] password_based:built_in_database disabled" in s.output()
    assert connack(s.tcp, 4) == 0  # none enabled: legacy allows
    s.stop()
    s.env["EMQX_AUTHENTICATION__1__ENABLE"] = "true"
    s.start()
    assert connack(s.tcp, 4, "ops", "dashboard-pw") == 0 and connack(s.tcp, 4) == V311["bad_username_or_password"]


def test_enable_authn_false_lets_every_client_in_and_quick_deny_anonymous_none_without_a_name(standin, template):
    s = standin(EMQX_LISTENERS__TCP__DEFAULT__ENABLE_AUTHN="false")
    s.env["EMQX_LISTENERS__SSL__DEFAULT__ENABLE_AUTHN"] = "quick_deny_anonymous"
    (s.etc / "base.hocon").write_text(chart_base_hocon(template, with_users(s, "user_id,password\nmqtt,pw\n")))
    s.start()
    assert connack(s.tcp, 4) == 0 and connack(s.tcp, 5, "mqtt", "wrong") == 0
    tls = ssl.create_default_context(cafile=str(STANDIN / "certs" / "cacert.pem"))
    for packet, code in ((connect_packet(4), V311["not_authorized"]), (connect_packet(4, "mqtt", "pw"), 0)):
        with socket.create_connection(("127.0.0.1", s.ssl), timeout=5) as raw:
            with tls.wrap_socket(raw, server_hostname="localhost") as sock:
                sock.sendall(packet)
                assert sock.recv(8)[3] == code
    s.stop()
    del s.env["EMQX_LISTENERS__SSL__DEFAULT__ENABLE_AUTHN"]
    s.env["EMQX_LISTENERS__TCP__DEFAULT__ENABLE_AUTHN"] = "quick_deny_anonymous"
    s.env["EMQX_AUTHENTICATION__1__ENABLE"] = "false"  # no authenticator: legacy lets named clients in
    s.start()
    assert connack(s.tcp, 4) == V311["not_authorized"] and connack(s.tcp, 5, "") == V5["not_authorized"]
    assert connack(s.tcp, 4, "named") == 0


def _hashed(algorithm: str, password: str, salt: str, position: str = "prefix") -> str:
    data = {"prefix": salt + password, "suffix": password + salt, "disable": password}[position].encode()
    return hashlib.new(algorithm, data).hexdigest()


@pytest.mark.parametrize(
    ("algorithm", "user"),
    [
        ({"name": "sha256", "salt_position": "prefix"}, {"salt": "s1", "password_hash": _hashed("sha256", "pw", "s1")}),
        (
            {"name": "sha512", "salt_position": "suffix"},
            {"salt": "s2", "password_hash": _hashed("sha512", "pw", "s2", "suffix").upper()},  # compared caseless
        ),
        ({"name": "md5", "salt_position": "disable"}, {"password_hash": _hashed("md5", "pw", "", "disable")}),
        ({"name": "plain", "salt_position": "disable"}, {"password_hash": "pw"}),
        (
            {"name": "pbkdf2", "mac_fun": "sha256", "iterations": 3},
            {"salt": "s3", "password_hash": hashlib.pbkdf2_hmac("sha256", b"pw", b"s3", 3, 32).hex()},
        ),
        (
            {"name": "pbkdf2", "mac_fun": "sha", "iterations": 2, "dk_length": 8},
            {"salt": "s4", "password_hash": hashlib.pbkdf2_hmac("sha1", b"pw", b"s4", 2, 8).hex()},
        ),
        ({"name": "bcrypt"}, None),  # made in the test: crypt(3), the C library's, hashes "pw"
    ],
    ids=["sha256-prefix", "sha512-suffix", "md5-nosalt", "plain", "pbkdf2", "pbkdf2-sha-dk8", "bcrypt"],
)
def test_hashed_users_from_a_json_file_are_checked_with_the_configured_algorithm(standin, algorithm, user):
    s = standin()
    if user is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt  # noqa: PLC0415 (deprecated since Python 3.11: imported only where bcrypt needs it)
        user = {"password_hash": crypt.crypt("pw", "$2b$04$abcdefghijklmnopqrstuu")}
    users = with_users(s, json.dumps([{"user_id": "u1", **user}]), "users.json")
    chain = [
        {
            "mechanism": "password_based",
            "backend": "built_in_database",
            "bootstrap_type": "hash",
            "bootstrap_file": str(users),
            "password_hash_algorithm": algorithm,
        }
    ]
    s.env["EMQX_AUTHENTICATION"] = json.dumps(chain)
    s.start()
    assert f"bootstrap file {users} (hash): 1 success" in s.output()
    assert connack(s.tcp, 4, "u1", "pw") == 0
    assert connack(s.tcp, 4, "u1", "pW") == V311["bad_username_or_password"]


@pytest.mark.parametrize(
    "algorithm",
    [
        {"name": "sha256"},
        {"name": "plain"},
        {"name": "pbkdf2", "mac_fun": "sha512", "iterations": 2},
        {"name": "bcrypt"},
    ],
    ids=["default-sha256", "plain", "pbkdf2", "bcrypt"],
)
def test_plain_users_are_hashed_on_import_and_checked(standin, algorithm):
    s = standin()
    users = with_users(s, "user_id,password,is_superuser\r\n\r\nu1, pw ,true\r\n")  # CRLF, blank line, blanks
    s.env["EMQX_AUTHENTICATION"] = json.dumps(
        [
            {
                "mechanism": "password_based",
                "backend": "built_in_database",
                "bootstrap_file": str(users),
                "password_hash_algorithm": algorithm | ({"salt_rounds": 5} if algorithm["name"] == "bcrypt" else {}),
            }
        ]
    )
    s.start()
    stored = json.loads((s.data / ".standin-authn.json").read_text())["u1"]
    assert stored["is_superuser"] is True
    assert (stored["password_hash"] == "pw") is (algorithm["name"] == "plain"), stored
    assert connack(s.tcp, 4, "u1", "pw") == 0 and connack(s.tcp, 5, "u1", "pw2") == V5["bad_username_or_password"]


def test_a_user_once_imported_keeps_its_password_when_the_file_changes(standin, template):
    """EMQX imports the bootstrap file with override false: the user the database has stays as it is."""
    s = standin()
    users = with_users(s, "user_id,password\nmqtt,first\n")
    (s.etc / "base.hocon").write_text(chart_base_hocon(template, users))
    s.start()
    s.stop()
    users.write_text("user_id,password\nmqtt,second\nnew,third\n")
    s.start()
    assert "import_an_exists_userid_into_authentication_database_failed mqtt" in s.output()
    assert "1 success, 0 skipped, 1 failed" in s.output()
    assert connack(s.tcp, 4, "mqtt", "first") == 0 and connack(s.tcp, 4, "new", "third") == 0
    assert connack(s.tcp, 4, "mqtt", "second") == V311["bad_username_or_password"]


@pytest.mark.parametrize(
    ("text", "name", "reason"),
    [
        ("user_id,password\nmqtt,pw\nbroken\n", "users.csv", "bad_format"),
        ("user_id,password\nmqtt,pw\nother,\n", "users.csv", "plain_import_requires_password_field"),
        ('{"user_id": "mqtt"}', "users.json", "unknown_file_format"),
        ("user_id,password\nmqtt,pw\n", "users.txt", "unsupported_file_format .txt"),
    ],
    ids=["short-row", "empty-password", "json-object", "extension"],
)
def test_a_bootstrap_file_emqx_cannot_parse_imports_no_user(standin, template, text, name, reason):
    s = standin()
    users = with_users(s, text, name)
    (s.etc / "base.hocon").write_text(chart_base_hocon(template, users))
    s.start()
    assert f"warning parse_authn_users_failed {users} (plain): {reason}" in s.output()
    assert connack(s.tcp, 4, "mqtt", "pw") == V311["not_authorized"]


def test_a_missing_bootstrap_file_leaves_the_database_empty(standin, template):
    s = standin()
    missing = s.tmp / "none.csv"
    (s.etc / "base.hocon").write_text(chart_base_hocon(template, missing))
    s.start()
    assert f"warning bootstrap_authn_built_in_database_failed {missing}: no such file" in s.output()
    assert connack(s.tcp, 4, "mqtt", "pw") == V311["not_authorized"]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"EMQX_AUTHENTICATION": '[{mechanism = password_based, backend = http, url = "http://x/"}]'},
            "authentication[1] password_based:http from EMQX_AUTHENTICATION: the stand-in models"
            " password_based:built_in_database only",
        ),
        (
            {"EMQX_AUTHENTICATION": '[{mechanism = jwt, secret = "s", algorithm = hmac-based, use_jwks = false}]'},
            "authentication[1] jwt:None from EMQX_AUTHENTICATION",
        ),
        (
            {
                "EMQX_AUTHENTICATION": "[{mechanism = password_based, backend = built_in_database,"
                ' precondition = "username = x"}]'
            },
            "authentication[1] precondition from EMQX_AUTHENTICATION: not modelled",
        ),
        (
            {
                "EMQX_LISTENERS__TCP__DEFAULT__AUTHENTICATION": "[{mechanism = password_based,"
                " backend = built_in_database}]"
            },
            "listeners.tcp.default.authentication: listener chains are not modelled",
        ),
        (
            {"EMQX_AUTHENTICATION__2__ENABLE": "false"},
            "EMQX_AUTHENTICATION__2__ENABLE: an authenticator beyond the 0 of the chain is not modelled",
        ),
    ],
    ids=["http-backend", "jwt", "precondition", "listener-chain", "index-beyond-chain"],
)
def test_authentication_it_does_not_model_stops_it_naming_what(standin, env, message):
    s = standin(**env).start(wait=False)
    assert s.exit_code() == 1, s.output()
    assert f"refusing to start: {message}" in s.output()


# --- clustering ----------------------------------------------------------------------------------------------------


def dist_base() -> int:
    """A base port with the next four ports free, for nodes emqx1@ .. emqx3@ (ekka_dist.erl port/1: base plus
    the integer that ends the short name)."""
    pick = random.SystemRandom()
    for _ in range(200):
        base = pick.choice(PORT_RANGE)
        ports = range(base + 1, base + 5)
        if not _RESERVED.intersection(ports) and all(bindable(port) for port in ports):
            _RESERVED.update(ports)
            return base
    raise AssertionError("no four free ports in a row")


def nodes(s: Standin) -> dict[str, tuple[str, str]]:
    code, body = get(f"http://127.0.0.1:{s.dashboard}/api/v5/nodes", (KEY, SECRET))
    assert code == 200, body
    return {n["node"]: (n["node_status"], n["role"]) for n in json.loads(body)}


def until(check, what: str, timeout: float = 20):
    deadline = time.monotonic() + timeout
    while not (seen := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
    return seen


def cluster_node(standin, base: int, number: int, seeds: list[str], cookie: str = "a-cookie", role: str = "core"):
    return standin(
        EMQX_NODE_NAME=f"emqx{number}@127.0.0.1",
        EMQX_NODE__COOKIE=cookie,
        EMQX_NODE__ROLE=role,
        EMQX_CLUSTER__DISCOVERY_STRATEGY="static",
        EMQX_CLUSTER__STATIC__SEEDS=json.dumps(seeds),
        STANDIN_DIST_BASE_PORT=str(base),
    )


def test_static_seeds_make_one_cluster_of_cores_and_a_replicant_and_a_stopped_node_shows(standin):
    base = dist_base()
    seeds = ["emqx1@127.0.0.1", "emqx2@127.0.0.1"]
    one, two = (cluster_node(standin, base, n, seeds).start() for n in (1, 2))
    three = cluster_node(standin, base, 3, seeds, role="replicant").start()
    assert f"distribution on 0.0.0.0:{base + 3}" in three.output()
    everyone = {
        "emqx1@127.0.0.1": ("running", "core"),
        "emqx2@127.0.0.1": ("running", "core"),
        "emqx3@127.0.0.1": ("running", "replicant"),
    }
    for s in (one, two, three):
        until(lambda s=s: nodes(s) == everyone, f"{s.env['EMQX_NODE_NAME']} lists all three")
    running = "'emqx1@127.0.0.1','emqx2@127.0.0.1','emqx3@127.0.0.1'"
    status = f"Cluster status: #{{running_nodes => [{running}],stopped_nodes => []}}"
    # emqx ctl reads the state the node writes every half second
    until(lambda: two.ctl("cluster", "status").stdout.strip() == status, "emqx ctl to list all three")
    passed = one.helm_test(EXPECT_CORES="2", EXPECT_REPLICANTS="1", TEST_TIMEOUT="10")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert one.helm_test(EXPECT_CORES="3", EXPECT_REPLICANTS="1").returncode != 0
    # A core that stops stays in the list as stopped (mria: cluster_nodes(stopped)); a replicant drops out.
    two.stop()
    three.stop()
    expected = {"emqx1@127.0.0.1": ("running", "core"), "emqx2@127.0.0.1": ("stopped", "core")}
    until(lambda: nodes(one) == expected, "emqx1 to see emqx2 stopped and emqx3 gone")
    status = "Cluster status: #{running_nodes => ['emqx1@127.0.0.1'],stopped_nodes => ['emqx2@127.0.0.1']}"
    until(lambda: one.ctl("cluster", "status").stdout.strip() == status, "emqx ctl to list emqx2 stopped")
    failed = one.helm_test(EXPECT_CORES="2", EXPECT_REPLICANTS="0")
    said = failed.stdout + failed.stderr
    assert failed.returncode != 0 and "1 running core nodes, expected 2" in said, said
    assert "not running ['emqx2@127.0.0.1']" in said, said


def test_a_node_with_another_cookie_does_not_join(standin):
    base = dist_base()
    seeds = ["emqx1@127.0.0.1", "emqx2@127.0.0.1"]
    one = cluster_node(standin, base, 1, seeds).start()
    two = cluster_node(standin, base, 2, seeds, cookie="another-cookie").start()
    for s in (one, two):
        until(lambda s=s: "rejected. Invalid challenge reply." in s.output(), "a refused handshake")
    time.sleep(2)  # several sync rounds: still apart
    assert nodes(one) == {"emqx1@127.0.0.1": ("running", "core")}
    assert nodes(two) == {"emqx2@127.0.0.1": ("running", "core")}
    assert "Connection attempt from node emqx2@127.0.0.1 rejected. Invalid challenge reply." in one.output()


# --- routing ---------------------------------------------------------------------------------------------------------


def _helm_test_module():
    spec = importlib.util.spec_from_file_location("helm_test", HELM_TEST)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The chart's helm-test.py's MQTT 3.1.1 client (QoS 1).
Mqtt = _helm_test_module().Mqtt


def routed_node(standin, base: int, number: int, port: int, seeds: list[int], **env: str) -> Standin:
    """Node emqx<n>@127.0.0.<n> with its MQTT listener on 127.0.0.<n>:port: an address of its own, as each pod has,
    so that one port reaches every node (the helm test's MQTT_NODE_PORT). Static seeds by node number."""
    return standin(
        **{
            "EMQX_NODE_NAME": f"emqx{number}@127.0.0.{number}",
            "EMQX_CLUSTER__DISCOVERY_STRATEGY": "static",
            "EMQX_CLUSTER__STATIC__SEEDS": json.dumps([f"emqx{n}@127.0.0.{n}" for n in seeds]),
            "EMQX_LISTENERS__TCP__DEFAULT__BIND": f"127.0.0.{number}:{port}",
            "STANDIN_DIST_BASE_PORT": str(base),
        }
        | env
    )


def routed_cluster(standin) -> tuple[int, Standin, Standin, Standin]:
    """Two cores and a replicant (routed_node 1 to 3) on one MQTT port, once each lists all three as running."""
    base, (port,) = dist_base(), free_ports(1)
    one, two = (routed_node(standin, base, n, port, [1, 2]).start() for n in (1, 2))
    three = routed_node(standin, base, 3, port, [1, 2], EMQX_NODE__ROLE="replicant").start()
    everyone = {
        "emqx1@127.0.0.1": ("running", "core"),
        "emqx2@127.0.0.2": ("running", "core"),
        "emqx3@127.0.0.3": ("running", "replicant"),
    }
    for s in (one, two, three):
        until(lambda s=s: nodes(s) == everyone, f"{s.env['EMQX_NODE_NAME']} lists all three")
    return port, one, two, three


def subscribed(number: int, port: int, topic: str):
    client = Mqtt(f"127.0.0.{number}", port, f"sub-{number}-{os.urandom(3).hex()}", None, "unused")
    client.subscribe(topic)
    return client


def publish(number: int, port: int, topic: str, payload: bytes) -> None:
    client = Mqtt(f"127.0.0.{number}", port, f"pub-{number}-{os.urandom(3).hex()}", None, "unused")
    try:
        client.publish(topic, payload)
    finally:
        client.close()


def received(client, seconds: float, most: int = 10) -> list[tuple[str, bytes]]:
    """Every message the client receives until `seconds` pass without one, or the first `most` of them (a
    forwarding loop sends the same message for ever)."""
    got = []
    while len(got) < most:
        try:
            got.append(client.receive(seconds))
        except (TimeoutError, ValueError):
            return got
    return got


def received_by_each(clients: dict, seconds: float) -> dict[int, list[tuple[str, bytes]]]:
    """received() of every client at the same time: one quiet period for all of them, not one after another."""
    with ThreadPoolExecutor(len(clients)) as pool:
        return dict(zip(clients, pool.map(lambda c: received(c, seconds), clients.values()), strict=True))


def test_a_message_published_on_one_node_reaches_the_subscribers_of_every_node_once(standin):
    """emqx_broker.erl do_route2/2 forwards to each node with a matching route, dispatch/2 hands a forwarded message
    to local subscribers only: every subscriber of the cluster gets it once, none twice (no forwarding loop)."""
    port, one, _, _ = routed_cluster(standin)
    assert "router: subscribed to # on mosquitto" in one.output(), one.output()
    for source in (1, 2, 3):
        topic, payload = f"routing/from-{source}", f"sent through node {source}".encode()
        clients = {n: subscribed(n, port, topic) for n in (1, 2, 3)}
        try:
            publish(source, port, topic, payload)
            for n, got in received_by_each(clients, 1.5).items():
                assert got == [(topic, payload)], f"node {n}'s subscriber got {got} of node {source}'s message"
        finally:
            for client in clients.values():
                client.close()


def test_the_helm_test_sends_through_each_node_to_the_next_and_names_both_when_routing_stops(standin):
    port, one, two, _ = routed_cluster(standin)
    settings = {
        "EXPECT_CORES": "2",
        "EXPECT_REPLICANTS": "1",
        "MQTT_PORT": str(port),
        "MQTT_NODE_PORT": str(port),
        "TEST_TIMEOUT": "3",
    }
    passed = one.helm_test(**settings)
    said = passed.stdout + passed.stderr
    assert passed.returncode == 0, said
    for source, target in (("emqx1@127.0.0.1", "emqx2@127.0.0.2"), ("emqx2@127.0.0.2", "emqx3@127.0.0.3"),
                           ("emqx3@127.0.0.3", "emqx1@127.0.0.1")):  # fmt: skip
        assert f"published through {source} and received through {target} on emqx-ee/helm-test/" in said, said
    (two.data / ".standin-faults").write_text("no-route\n")
    failed = one.helm_test(**settings)
    said = failed.stdout + failed.stderr
    assert failed.returncode != 0, said
    assert "FAIL MQTT round trip from emqx1@127.0.0.1 to emqx2@127.0.0.2: the subscriber received nothing" in said


def test_no_message_crosses_to_or_from_a_node_outside_the_cluster(standin):
    """Only nodes joined after the cookie challenge route to each other: not a node whose cookie differs, and not a
    node with the same cookie that no node discovers and that discovers none (manual)."""
    base, (port,) = dist_base(), free_ports(1)
    one, two = (routed_node(standin, base, n, port, [1, 2]).start() for n in (1, 2))
    other_cookie = routed_node(standin, base, 3, port, [1, 2, 3], EMQX_NODE__COOKIE="another-cookie").start()
    alone = routed_node(standin, base, 4, port, [], EMQX_CLUSTER__DISCOVERY_STRATEGY="manual").start()
    until(lambda: len(nodes(one)) == 2 and len(nodes(two)) == 2, "emqx1 and emqx2 to list each other")
    until(lambda: "emqx3@127.0.0.3 rejected. Invalid challenge reply." in one.output(), "emqx3's handshake refused")
    assert "emqx3@127.0.0.3" not in nodes(one) and list(nodes(other_cookie)) == ["emqx3@127.0.0.3"]
    assert list(nodes(alone)) == ["emqx4@127.0.0.4"]
    for source, reached in ((1, {1, 2}), (2, {1, 2}), (3, {3}), (4, {4})):
        topic, payload = f"apart/from-{source}", f"sent through node {source}".encode()
        clients = {n: subscribed(n, port, topic) for n in (1, 2, 3, 4)}
        try:
            publish(source, port, topic, payload)
            got = received_by_each(clients, 1.5)
        finally:
            for client in clients.values():
                client.close()
        assert got == {n: [(topic, payload)] if n in reached else [] for n in clients}, f"from node {source}: {got}"


def _mqtt5(number: int, port: int) -> socket.socket:
    """An MQTT 5 client connected to 127.0.0.<number>:port (clean start, no properties)."""
    client = socket.create_connection((f"127.0.0.{number}", port), timeout=5)
    client_id = f"v5-{number}-{os.urandom(3).hex()}".encode()
    body = b"\x00\x04MQTT\x05\x02\x00\x00\x00" + struct.pack("!H", len(client_id)) + client_id
    client.sendall(bytes([0x10, len(body)]) + body)
    connack = _packet(client)
    assert connack[0] == 0x20 and connack[3] == 0, f"CONNACK {connack!r}"
    return client


def _packet(client: socket.socket) -> bytes:
    """One MQTT packet (remaining length under 128 bytes, as these tests send and receive)."""
    head = client.recv(2, socket.MSG_WAITALL)
    assert len(head) == 2 and head[1] < 128, head
    return head + client.recv(head[1], socket.MSG_WAITALL)


def test_qos_retain_flag_and_properties_are_kept_across_nodes(standin):
    """A forwarded message keeps what it was published with (emqx_broker.erl forwards the message itself): a QoS 2
    retained message with a user property, published on one node, is kept retained on the other and delivered
    there to a later subscriber at QoS 2 with its property."""
    base, (port,) = dist_base(), free_ports(1)
    one, two = (routed_node(standin, base, n, port, [1, 2]).start() for n in (1, 2))
    until(lambda: len(nodes(one)) == 2 and len(nodes(two)) == 2, "emqx1 and emqx2 to list each other")
    topic, payload = b"kept/retained", b"published once on node 2"
    user_property = b"\x26" + struct.pack("!H", 4) + b"from" + struct.pack("!H", 6) + b"node-2"
    publisher = _mqtt5(2, port)
    body = struct.pack("!H", len(topic)) + topic + b"\x00\x07" + bytes([len(user_property)]) + user_property
    publisher.sendall(bytes([0x35, len(body + payload)]) + body + payload)  # QoS 2, retain
    assert _packet(publisher)[:4] == b"\x50\x02\x00\x07"  # PUBREC
    publisher.sendall(b"\x62\x02\x00\x07")
    assert _packet(publisher)[:4] == b"\x70\x02\x00\x07"
    publisher.close()

    def retained_on_node_1() -> bytes | None:
        client = _mqtt5(1, port)
        try:
            client.sendall(b"\x82" + bytes([6 + len(topic)]) + b"\x00\x01\x00" + struct.pack("!H", len(topic)) + topic
                           + b"\x02")  # fmt: skip
            assert _packet(client)[0] == 0x90
            client.settimeout(0.5)
            try:
                packet = _packet(client)
            except TimeoutError:
                return None
            # A subscription made before the message reached node 1 gets it live, without the retain flag.
            return packet if packet[0] & 0x01 else None
        finally:
            client.close()

    packet = until(retained_on_node_1, "node 1 to hold the retained message")
    flags, topic_end = packet[0], 4 + len(topic)
    assert flags >> 1 & 0x03 == 2, f"QoS of {packet!r}"
    assert packet[4:topic_end] == topic
    properties_length = packet[topic_end + 2]
    properties = packet[topic_end + 3 : topic_end + 3 + properties_length]
    assert user_property in properties, properties
    assert packet[topic_end + 3 + properties_length :] == payload
