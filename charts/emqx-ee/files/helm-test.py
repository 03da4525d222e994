"""`helm test` for the emqx-ee chart (Python standard library only, runs in the test Pod).

1. Every core node answers GET /status through its stable DNS name.
2. The REST API (GET /api/v5/nodes, with the bootstrap API key) lists exactly the expected running core
   and replicant nodes.
3. With more than one node running, a message published through each node reaches a subscriber connected
   to the next one (cores, then replicants, the last back to the first): EMQX routes messages between the
   nodes of a cluster. Each node is reached at the host of its node name, as EMQX's nodes reach each other
   (the cores' pod DNS names of the headless Service, the replicants' pod addresses), on the listener's
   container port MQTT_NODE_PORT; a failure names both nodes.
4. A message published through the client Service reaches a subscriber connected through it.
Messages go over MQTT 3.1.1 at QoS 1, over TLS when the chart's TLS is on (the server's certificate checked
against the client Service's name, MQTT_SERVER_NAME or MQTT_HOST, for the nodes too), as the first user of
MQTT_USERS_FILE when it is set (the users file of EMQX's built-in database authenticator), else anonymously.

Settings come from the environment (the chart's test Pod sets them); exit status 0 only when all pass.
"""

from __future__ import annotations

import base64
import csv
import json
import os
import secrets
import socket
import ssl
import struct
import sys
import time
import urllib.error
import urllib.request

TIMEOUT = float(os.environ.get("TEST_TIMEOUT", "120"))
RETRY_SECONDS = float(os.environ.get("TEST_RETRY_SECONDS", "2"))


def log(message: str) -> None:
    print(message, flush=True)


def retry(what: str, check):
    """Call check() until it returns without raising, or fail after TEST_TIMEOUT seconds."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            return check()
        except (OSError, ValueError, AssertionError) as err:
            if time.monotonic() > deadline:
                raise SystemExit(f"FAIL {what}: {err}") from None
            time.sleep(RETRY_SECONDS)


def api_context() -> ssl.SSLContext | None:
    """Verification of the REST API's certificate (tls.dashboard): its CA when the Secret has one."""
    if os.environ.get("API_SCHEME") != "https":
        return None
    ca = os.environ.get("API_CA", "")
    return ssl.create_default_context(cafile=ca if os.path.exists(ca) else None)


def http_get(url: str, auth: tuple[str, str] | None = None) -> bytes:
    request = urllib.request.Request(url)
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=10, context=api_context()) as response:
        return response.read()


def api_key(path: str) -> tuple[str, str]:
    """Key and secret from the first entry of EMQX's bootstrap file (lines key:secret[:role[:scopes]])."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                key, secret = line.split(":")[:2]
                return key, secret
    raise SystemExit(f"FAIL: {path} holds no API key")


def expected_range(text: str) -> tuple[int, int]:
    """'3' or '2-5' (replicants under an autoscaler)."""
    low, _, high = text.partition("-")
    return int(low), int(high or low)


def check_nodes(api: str, auth: tuple[str, str], cores: int, replicants: tuple[int, int]) -> list[str]:
    """The running nodes, cores then replicants, each in name order, once they are the expected ones."""
    nodes = json.loads(http_get(f"{api}/api/v5/nodes", auth))
    running = [n for n in nodes if n.get("node_status") == "running"]
    core = sorted(n["node"] for n in running if n.get("role", "core") == "core")
    replicant = sorted(n["node"] for n in running if n.get("role") == "replicant")
    stopped = sorted(n["node"] for n in nodes if n.get("node_status") != "running")
    log(f"running cores {core}, replicants {replicant}, not running {stopped}")
    assert len(core) == cores, f"{len(core)} running core nodes, expected {cores}"
    low, high = replicants
    assert low <= len(replicant) <= high, f"{len(replicant)} running replicants, expected {low}..{high}"
    assert not stopped, f"nodes not running: {stopped}"
    return core + replicant


# --- a minimal MQTT 3.1.1 client (CONNECT, SUBSCRIBE, PUBLISH QoS 1, PUBACK, DISCONNECT) ---


def _remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _utf8(text: str) -> bytes:
    data = text.encode()
    return struct.pack("!H", len(data)) + data


def mqtt_user(path: str) -> tuple[str, str]:
    """User and password of the first user in a users file of EMQX's built-in database authenticator, in the
    CSV form EMQX reads with bootstrap_type plain: a header naming the columns (user_id, password, ...), then
    one user a line (EMQX 6.2.2 apps/emqx_auth_mnesia/src/emqx_authn_mnesia.erl, reader_fn/2 for .csv and
    find_password_hash/3 for plain). Rows without a user_id are skipped, as EMQX's own sample file has one."""
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if row.get("user_id") and row.get("password") is not None:
                return row["user_id"], row["password"]
    raise SystemExit(f"FAIL: {path} holds no user (header user_id,password,... and a row)")


class Mqtt:
    def __init__(
        self,
        host: str,
        port: int,
        client_id: str,
        context: ssl.SSLContext | None,
        server_name: str,
        user: tuple[str, str] | None = None,
    ):
        sock = socket.create_connection((host, port), timeout=10)
        if os.environ.get("MQTT_PROXY_PROTOCOL") == "true":
            # The listener expects a PROXY protocol v1 header first (listeners.*.proxyProtocol).
            src, dst = sock.getsockname(), sock.getpeername()
            family = "TCP6" if sock.family == socket.AF_INET6 else "TCP4"
            sock.sendall(f"PROXY {family} {src[0]} {dst[0]} {src[1]} {dst[1]}\r\n".encode())
        self.sock = context.wrap_socket(sock, server_hostname=server_name) if context else sock
        # MQTT 3.1.1 CONNECT: clean session, and with a user the username and password flags and fields.
        flags, payload = 0x02, _utf8(client_id)
        if user:
            flags |= 0xC0
            payload += _utf8(user[0]) + _utf8(user[1])
        self.send(0x10, _utf8("MQTT") + bytes([4, flags]) + struct.pack("!H", 30) + payload)
        kind, body = self.read()
        if kind != 0x20 or body[1] != 0:
            raise ValueError(f"connection refused (CONNACK return code {body[1] if len(body) > 1 else '?'})")

    def send(self, header: int, body: bytes) -> None:
        self.sock.sendall(bytes([header]) + _remaining_length(len(body)) + body)

    def _exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ValueError("the broker closed the connection")
            data += chunk
        return data

    def read(self) -> tuple[int, bytes]:
        header = self._exact(1)[0]
        length, shift = 0, 0
        while True:
            byte = self._exact(1)[0]
            length += (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        return header & 0xF0, self._exact(length)

    def subscribe(self, topic: str) -> None:
        self.send(0x82, struct.pack("!H", 1) + _utf8(topic) + bytes([1]))
        kind, body = self.read()
        if kind != 0x90 or body[2] == 0x80:
            raise ValueError(f"subscription to {topic} refused")

    def publish(self, topic: str, payload: bytes) -> None:
        self.send(0x32, _utf8(topic) + struct.pack("!H", 2) + payload)
        kind, _ = self.read()
        if kind != 0x40:
            raise ValueError(f"no PUBACK for the message on {topic}")

    def receive(self, seconds: float) -> tuple[str, bytes]:
        self.sock.settimeout(seconds)
        kind, body = self.read()
        if kind != 0x30:
            raise ValueError(f"expected a PUBLISH, got packet type {kind >> 4}")
        (size,) = struct.unpack("!H", body[:2])
        topic = body[2 : 2 + size].decode()
        rest = body[2 + size :]
        packet_id, payload = rest[:2], rest[2:]
        self.send(0x40, packet_id)
        return topic, payload

    def close(self) -> None:
        try:
            self.send(0xE0, b"")
        finally:
            self.sock.close()


def tls_context() -> ssl.SSLContext | None:
    if os.environ.get("MQTT_TLS") != "true":
        return None
    ca = os.environ.get("MQTT_CA", "")
    context = ssl.create_default_context(cafile=ca if os.path.exists(ca) else None)
    cert, key = os.environ.get("MQTT_CLIENT_CERT", ""), os.environ.get("MQTT_CLIENT_KEY", "")
    if cert and key:
        context.load_cert_chain(cert, key)
    return context


def round_trip(
    host: str,
    port: int,
    context: ssl.SSLContext | None,
    server_name: str,
    user: tuple[str, str] | None = None,
    publish_host: str | None = None,
) -> str:
    """Subscribe through `host`, publish through `publish_host` (the same by default), compare what arrives;
    returns the topic."""
    topic = f"emqx-ee/helm-test/{secrets.token_hex(4)}"
    payload = secrets.token_hex(8).encode()
    subscriber = Mqtt(host, port, f"helm-test-sub-{secrets.token_hex(3)}", context, server_name, user)
    try:
        subscriber.subscribe(topic)
        publisher = Mqtt(
            publish_host or host, port, f"helm-test-pub-{secrets.token_hex(3)}", context, server_name, user
        )
        try:
            publisher.publish(topic, payload)
        finally:
            publisher.close()
        try:
            got_topic, got = subscriber.receive(float(os.environ.get("MQTT_RECEIVE_SECONDS", "10")))
        except (TimeoutError, socket.timeout):
            raise ValueError(f"the subscriber received nothing on {topic}") from None
        if (got_topic, got) != (topic, payload):
            raise ValueError(f"the subscriber received {got!r} on {got_topic}, expected {payload!r} on {topic}")
    finally:
        subscriber.close()
    return topic


def node_host(node: str) -> str:
    """The host of an EMQX node name (name@host), where the other nodes reach it."""
    name, at, host = node.partition("@")
    if not (name and at and host):
        raise SystemExit(f"FAIL: node name {node!r} is not name@host")
    return host


def across_nodes(nodes: list[str], port: int, context, server_name: str, user: tuple[str, str] | None) -> None:
    """Each node publishes to a subscriber of the next: every node forwards to another and receives from one."""
    for source, target in zip(nodes, nodes[1:] + nodes[:1], strict=True):
        topic = retry(
            f"MQTT round trip from {source} to {target}",
            lambda source=source, target=target: round_trip(
                node_host(target), port, context, server_name, user, publish_host=node_host(source)
            ),
        )
        log(f"published through {source} and received through {target} on {topic}")


def main() -> int:
    env = os.environ
    for host in filter(None, env.get("STATUS_HOSTS", "").split()):
        url = f"{env.get('API_SCHEME', 'http')}://{host}:{env['API_PORT']}/status"
        body = retry(f"GET {url}", lambda url=url: http_get(url))
        log(f"GET {url}: {body.decode(errors='replace').strip()}")
    api = f"{env.get('API_SCHEME', 'http')}://{env['API_HOST']}:{env['API_PORT']}"
    auth = api_key(env["API_BOOTSTRAP_FILE"])
    cores, replicants = int(env["EXPECT_CORES"]), expected_range(env.get("EXPECT_REPLICANTS", "0"))
    running = retry("cluster membership", lambda: check_nodes(api, auth, cores, replicants))
    if not env.get("MQTT_PORT"):
        log("no MQTT-over-TCP listener is enabled (listeners.mqtt, listeners.mqtts): message round trip skipped")
    else:
        host, port = env["MQTT_HOST"], int(env["MQTT_PORT"])
        context = tls_context()
        # MQTT_USERS_FILE: the users file of the built-in database authenticator; without it, anonymous.
        user = mqtt_user(env["MQTT_USERS_FILE"]) if env.get("MQTT_USERS_FILE") else None
        if user:
            log(f"MQTT clients connect as {user[0]} (first user of {env['MQTT_USERS_FILE']})")
        server_name = env.get("MQTT_SERVER_NAME", host)
        if len(running) < 2:
            log("one node runs: no message between nodes to check")
        elif not env.get("MQTT_NODE_PORT"):
            log("MQTT_NODE_PORT is not set: messages between nodes not checked")
        else:
            across_nodes(running, int(env["MQTT_NODE_PORT"]), context, server_name, user)
        topic = retry("MQTT round trip", lambda: round_trip(host, port, context, server_name, user))
        log(f"published and received one message on {topic} through {server_name}:{port}")
    log("PASS")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except urllib.error.HTTPError as err:
        sys.exit(f"FAIL: HTTP {err.code} from {err.url}")
