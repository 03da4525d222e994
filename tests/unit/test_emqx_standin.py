"""The EMQX stand-in of the real node (scripts/node/emqx_standin/emqx.py), run here as a process.

The stand-in is a model of EMQX 6.2.2 where the chart depends on it (its docstring cites the source of each
behaviour); these tests pin each behaviour: what it reads from the environment and refuses, where it binds,
/status and the REST API with the bootstrap key, MQTT through mosquitto over TCP and TLS (checked with the
chart's own helm-test.py), the `emqx ctl` subset of the drain hook and the saved evacuation, and the faults
the smoke tests inject (a failing /status, a wrong payload), each of which makes helm-test.py fail.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from harness.tools import CHART, ROOT

pytestmark = pytest.mark.unit

STANDIN = ROOT / "scripts" / "node" / "emqx_standin"
HELM_TEST = CHART / "files" / "helm-test.py"
KEY, SECRET = "emqx-ee-helm", "s3cret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Standin:
    """One stand-in process with the chart's kind of environment, on free ports."""

    def __init__(self, tmp: Path, **env: str):
        self.tmp = tmp
        self.data = tmp / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        self.bootstrap = tmp / "bootstrap.txt"
        self.bootstrap.write_text(f"{KEY}:{SECRET}:administrator\n")
        self.tcp, self.ssl, self.dashboard = free_port(), free_port(), free_port()
        self.env = {
            "PATH": os.environ["PATH"] + ":/usr/sbin",
            "STANDIN_LIB": str(ROOT / "tests"),
            "STANDIN_ETC": str(STANDIN),
            "STANDIN_RUN": str(tmp / "run"),
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
        if self.proc and self.proc.poll() is None:
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
