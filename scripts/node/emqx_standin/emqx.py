#!/usr/bin/env python3
"""A stand-in for EMQX Enterprise 6.2.2's `bin/emqx` on the real node: a MODEL of EMQX, not EMQX.

It behaves like EMQX only where the chart depends on it, each behaviour citing the EMQX 6.2.2 source
(emqx/emqx tag 6.2.2) it follows; docs/real-node.md lists what it models and what not.

`emqx foreground`
  - reads every EMQX_* variable with EMQX's rules (harness.emqx_config: hocon_tconf:check_env, the hocon
    0.45.9 scanner and the schema generated from EMQX's source) and logs each one it read (secrets as
    their length), what it ignores (an unknown root) and what EMQX drops (a path not in the schema);
  - refuses to start, exit status 1, where EMQX would: a value of the wrong type (hocon_tconf:check_plain
    fails, the node stops in emqx_config:init_load "failed_to_check_schema"); an unreadable TLS file of an
    enabled listener (emqx_tls_lib:ensure_ssl_files "failed_to_read_file" at listener start); an invalid
    cookie (bin/emqx refuses `\\ ' "`, blanks and more than 255 bytes, EMQX commits 70d32ce, 97b40b1); an
    EMQX_SECURITY_PROFILE other than legacy or hardened (emqx_security_profile.erl);
  - binds the MQTT listeners and the dashboard where EMQX would: `ip:port` as given; a bare port on
    0.0.0.0, or on 127.0.0.1 under EMQX_SECURITY_PROFILE=hardened (emqx_security_profile.erl
    mqtt_default_bind and dashboard_http_default_bind, applied by the bind converters of emqx_schema.erl
    and emqx_dashboard.erl);
  - serves GET /status (emqx_mgmt_api_status.erl: "Node <node> is started\\nemqx is running", 200) and
    GET /api/v5/nodes (emqx_mgmt_api_nodes.erl: node, node_status, role) with HTTP basic auth by the API
    keys of api_key.bootstrap_file (emqx_mgmt_auth.erl: lines `key:secret[:role]`), over HTTPS when the
    dashboard's https listener is on;
  - runs mosquitto as the broker (on a unix socket) and serves each MQTT listener itself, TCP, or TLS with
    the listener's certfile, keyfile, cacertfile, verify and fail_if_no_peer_cert (ssl_options of
    emqx_schema.erl), forwarding each client to mosquitto; an evacuation first waits --wait-health-check
    seconds (default 60) with clients still served and admitted (state waiting_health_check, the eviction
    agent enabled with allow_connections true), then refuses new clients and closes the connected ones
    (evicting_conns, allow_connections false: emqx_node_rebalance_evacuation.erl handle_event start and
    start_eviction; emqx_node_rebalance.hrl DEFAULT_WAIT_HEALTH_CHECK);
  - restores an evacuation saved in <data_dir>/.evacuation at boot, evicting at once
    (emqx_node_rebalance_evacuation.erl init/1, "restoring_evacuation_state", straight to evicting_conns).

`emqx ctl` (bin/emqx ctl -> bin/nodetool rpc_infinity emqx_ctl run_command, which halts with 1 for any
answer but ok): `cluster status`, `rebalance start --evacuation ...`, `rebalance node-status`, `rebalance
stop` (emqx_node_rebalance_cli.erl cli/1; texts in files/drain.sh's header). A node that is not running
answers "Node '<node>' not responding to pings." with status 1 (bin/emqx assert_node_alive).

Faults for tests (not EMQX): a line in <data_dir>/.standin-faults makes the running stand-in misbehave:
`status-503` (GET /status answers 503 "emqx is not_running", as a node whose applications stopped),
`wrong-payload` (every message a client receives has its payload bytes changed), and `peer`: `rebalance
node-status` lists a session recipient node, PEER below, as EMQX lists the other running nodes
(emqx_node_rebalance_evacuation.erl migrate_to/1, all_nodes/0), for a drain that waits for its clients to
leave; the stand-in does not cluster, so without it the list is empty, as on a one-node cluster.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import socketserver
import ssl
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# The harness's reader of EMQX's environment rules and schema; in the image under /opt/emqx/lib/standin.
sys.path.insert(0, os.environ.get("STANDIN_LIB", "/opt/emqx/lib/standin"))
from harness import emqx_config  # noqa: E402

VERSION = "6.2.2"
ETC = os.environ.get("STANDIN_ETC", "/opt/emqx/etc")
# Default listeners of emqx_schema.erl (listeners.*.default) and the dashboard (emqx_dashboard_schema.erl).
LISTENER_DEFAULTS = {"tcp": 1883, "ssl": 8883, "ws": 8083, "wss": 8084}
TLS_TYPES = ("ssl", "wss")
# The default ssl_options files (emqx_schema.erl, "${EMQX_ETC_DIR}/certs/..."), shipped in the image.
DEFAULT_TLS = {"certfile": "cert.pem", "keyfile": "key.pem", "cacertfile": "cacert.pem"}
# Variables logged by their length only: the last path segment names a secret (node.cookie, license.key, ...).
SECRET_WORDS = ("password", "cookie", "secret", "key")
# emqx_node_rebalance.hrl DEFAULT_WAIT_HEALTH_CHECK: seconds an evacuation waits before it evicts.
WAIT_HEALTH_CHECK = 60
# The session recipient the `peer` fault adds to `rebalance node-status` (a node the stand-in does not run).
PEER = "emqx@peer.standin.invalid"


class Refused(Exception):
    """EMQX would not start with this configuration."""


def log(message: str) -> None:
    print(f"emqx-standin: {message}", flush=True)


# --- configuration -----------------------------------------------------------------------------------


def _python(value: emqx_config.Value):
    if value.kind == "integer":
        return int(value.data)
    if value.kind == "bool":
        return value.data == "true"
    if value.kind == "float":
        return float(value.data)
    return value.data


def read_config(environ: dict[str, str]) -> dict[tuple[str, ...], object]:
    """The settings EMQX reads from the environment, by path; Refused lists every value it would refuse."""
    data = emqx_config.schema(VERSION)
    config: dict[tuple[str, ...], object] = {}
    problems = []
    for name in sorted(environ):
        text = environ[name]
        if not name.startswith("EMQX_"):
            continue
        last = name.lower().rsplit("__", 1)[-1]
        shown = f"<{len(text)} characters>" if any(last.endswith(w) for w in SECRET_WORDS) else text
        if name in emqx_config.START_SCRIPT_VARS or name == "EMQX_SECURITY_PROFILE":
            log(f"read {name}={shown} (start script)")
            continue
        path = emqx_config.env_path(name)
        if path[0] not in data["roots"]:
            log(f"ignored {name}: no config root {path[0]!r} (hocon_tconf:check_env reads known roots only)")
            continue
        if not emqx_config.resolve(path, data):
            log(f"dropped {name}: {'.'.join(path)} is not in EMQX {VERSION}'s schema")
            continue
        try:
            value = emqx_config.parse_value(text)
        except emqx_config.Misparse as err:
            log(f"warning {name}: {err if shown == text else 'EMQX reads its text as something other than written'}")
            value = emqx_config.Value("raw", text)
        if not any(emqx_config.accepts(node, value, data) for node in emqx_config.resolve(path, data)):
            problems.append(f"{name}={shown}: {'.'.join(path)} does not take this value")
            continue
        config[tuple(path)] = _python(value)
        log(f"read {name}={shown} as {'.'.join(path)}")
    if problems:
        raise Refused("failed_to_check_schema: " + "; ".join(problems))
    return config


def profile(environ: dict[str, str]) -> str:
    value = environ.get("EMQX_SECURITY_PROFILE", "legacy") or "legacy"
    if value not in ("legacy", "hardened"):
        raise Refused(f"EMQX_SECURITY_PROFILE={value}: want legacy or hardened")
    return value


def check_cookie(cookie: str | None) -> None:
    if cookie is None:
        return  # bin/emqx then takes node.cookie's default (and warns, #8905)
    bad = [c for c in cookie if c in "\\'\"" or c.isspace()]
    if not cookie or bad or len(cookie.encode()) > 255:
        raise Refused("invalid cookie: empty, over 255 bytes, or holding \\ ' \" or a blank")


def bind_address(bind: object, default_port: int, hardened: bool) -> tuple[str, int]:
    """Where a listener binds: `ip:port` as given, a bare port on 0.0.0.0 (127.0.0.1 when hardened)."""
    text = str(bind if bind is not None else default_port)
    if ":" in text:
        host, _, port = text.rpartition(":")
        return host.strip("[]"), int(port)
    return ("127.0.0.1" if hardened else "0.0.0.0"), int(text)


def readable(path: str, what: str) -> str:
    try:
        with open(path, "rb") as f:
            f.read(1)
    except OSError as err:
        raise Refused(f"failed_to_read_file {what}={path}: {err.strerror}") from None
    return path


def tls_files(config, prefix: tuple[str, ...]) -> dict[str, object]:
    opts = {}
    for key, default in DEFAULT_TLS.items():
        path = str(config.get(prefix + ("ssl_options", key), f"{ETC}/certs/{default}"))
        opts[key] = readable(path, ".".join(prefix + ("ssl_options", key)))
    opts["verify"] = config.get(prefix + ("ssl_options", "verify"), "verify_none")
    opts["fail_if_no_peer_cert"] = config.get(prefix + ("ssl_options", "fail_if_no_peer_cert"), False)
    return opts


def listeners(config, hardened: bool) -> list[dict]:
    """The enabled MQTT listeners: type, name, address, TLS options."""
    names = {(kind, "default") for kind in LISTENER_DEFAULTS}
    names |= {(p[1], p[2]) for p in config if p[0] == "listeners" and len(p) > 3 and p[1] in LISTENER_DEFAULTS}
    out = []
    for kind, name in sorted(names):
        prefix = ("listeners", kind, name)
        if config.get(prefix + ("enable",), True) is False:
            log(f"listener {kind}:{name} disabled")
            continue
        address = bind_address(config.get(prefix + ("bind",)), LISTENER_DEFAULTS[kind], hardened)
        tls = tls_files(config, prefix) if kind in TLS_TYPES else None
        out.append({"type": kind, "name": name, "address": address, "tls": tls})
    return out


def dashboard(config, hardened: bool) -> list[dict]:
    """The dashboard's listeners: emqx_dashboard_schema.erl binds http on 18083 and https on 0 by default, and
    a bind of port 0 is a listener that is off (their `enable` fields are deprecated and ignored)."""
    out = []
    for kind, port in (("http", 18083), ("https", 0)):
        prefix = ("dashboard", "listeners", kind)
        address = bind_address(config.get(prefix + ("bind",)), port, hardened)
        if address[1] == 0:
            log(f"dashboard {kind} off (bind port 0)")
            continue
        out.append({"type": kind, "address": address, "tls": tls_files(config, prefix) if kind == "https" else None})
    return out


def api_keys(config) -> dict[str, str]:
    path = config.get(("api_key", "bootstrap_file"))
    if not path:
        return {}
    try:
        lines = Path(str(path)).read_text().splitlines()
    except OSError as err:
        log(f"error failed_to_init_api_key_from_bootstrap_file {path}: {err.strerror}: the REST API has no key")
        return {}
    keys = {}
    for line in lines:
        parts = line.strip().split(":")
        if len(parts) >= 2 and parts[0] and not line.startswith("#"):
            keys[parts[0]] = parts[1]
    log(f"api_key.bootstrap_file {path}: {len(keys)} key(s): {', '.join(sorted(keys))}")
    return keys


# --- the running node --------------------------------------------------------------------------------


class Node:
    def __init__(self, environ: dict[str, str]):
        self.environ = environ
        self.name = node_name(environ)
        self.profile = profile(environ)
        hardened = self.profile == "hardened"
        self.config = read_config(environ)
        check_cookie(environ.get("EMQX_NODE__COOKIE", environ.get("EMQX_NODE_COOKIE")))
        self.data_dir = Path(str(self.config.get(("node", "data_dir"), "/opt/emqx/data")))
        self.role = str(self.config.get(("node", "role"), "core"))
        self.listeners = listeners(self.config, hardened)
        self.dashboard = dashboard(self.config, hardened)
        self.keys = api_keys(self.config)
        self.clients: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def faults(self) -> set[str]:
        try:
            return set((self.data_dir / ".standin-faults").read_text().split())
        except OSError:
            return set()

    def evacuating(self) -> bool:
        return (self.data_dir / ".evacuation").exists()

    def evicting(self) -> bool:
        """Whether the evacuation has passed waiting_health_check: clients are refused and closed."""
        return evacuation_state(self.data_dir / ".evacuation", 1) == "evicting_conns"

    def write_state(self) -> None:
        with self.lock:
            count = len(self.clients)
        state = {"pid": os.getpid(), "node": self.name, "connections": count}
        tmp = self.data_dir / ".standin-state.tmp"
        tmp.write_text(json.dumps(state))
        tmp.replace(self.data_dir / ".standin-state")


def evacuation_state(path: Path, connections: int) -> str | None:
    """The evacuation's state (emqx_node_rebalance_evacuation.erl), None when none runs. It began when its file
    was written (`rebalance start`); one restored at boot is evicting from the start (its mtime is set to 0)."""
    try:
        started = path.stat().st_mtime
        opts = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return None
    if time.time() - started < float(opts.get("wait_health_check", WAIT_HEALTH_CHECK)):
        return "waiting_health_check"
    return "evicting_conns" if connections else "evicting_sessions"


def node_name(environ: dict[str, str]) -> str:
    """docker-entrypoint.sh: EMQX_NODE_NAME, or EMQX_NAME@EMQX_HOST."""
    if environ.get("EMQX_NODE_NAME"):
        return environ["EMQX_NODE_NAME"]
    return f"{environ.get('EMQX_NAME', 'emqx')}@{environ.get('EMQX_HOST', '127.0.0.1')}"


def server_context(tls: dict) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(tls["certfile"], tls["keyfile"])
        if tls["verify"] == "verify_peer":
            context.load_verify_locations(tls["cacertfile"])
            context.verify_mode = ssl.CERT_REQUIRED if tls["fail_if_no_peer_cert"] else ssl.CERT_OPTIONAL
    except (OSError, ssl.SSLError) as err:
        raise Refused(f"bad TLS files {tls['certfile']}, {tls['keyfile']}: {err}") from None
    return context


def mangle(data: bytearray, state: dict) -> bytes:
    """Server-to-client MQTT bytes with the payload of every PUBLISH changed (fault `wrong-payload`)."""
    buf = state.setdefault("buf", bytearray())
    buf += data
    out = bytearray()
    while len(buf) >= 2:
        length, shift, i = 0, 0, 1
        while i < len(buf) and buf[i] & 0x80:
            length += (buf[i] & 0x7F) << shift
            shift, i = shift + 7, i + 1
        if i >= len(buf):
            break
        length += (buf[i] & 0x7F) << shift
        end = i + 1 + length
        if len(buf) < end:
            break
        packet = bytearray(buf[:end])
        if packet[0] & 0xF0 == 0x30:
            body = i + 1
            topic_len = int.from_bytes(packet[body : body + 2], "big")
            start = body + 2 + topic_len + (2 if packet[0] & 0x06 else 0)
            packet[start:] = bytes(b ^ 0x01 for b in packet[start:])
        out += packet
        del buf[:end]
    return bytes(out)


def pipe(src: socket.socket, dst: socket.socket, node: Node | None = None) -> None:
    state: dict = {}
    try:
        while data := src.recv(65536):
            if node is not None and "wrong-payload" in node.faults():
                data = mangle(bytearray(data), state)
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve_listener(node: Node, listener: dict, broker: str) -> socketserver.ThreadingTCPServer:
    context = server_context(listener["tls"]) if listener["tls"] else None

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            client = self.request
            if node.evicting():
                client.close()  # the evacuation refuses new clients (emqx_eviction_agent)
                return
            if context is not None:
                try:
                    client = context.wrap_socket(client, server_side=True)
                except (OSError, ssl.SSLError) as err:
                    log(f"{listener['type']}:{listener['name']}: TLS handshake failed: {err}")
                    return
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(broker)
            with node.lock:
                node.clients.add(client)
            try:
                t = threading.Thread(target=pipe, args=(client, upstream), daemon=True)
                t.start()
                pipe(upstream, client, node)
                t.join()
            finally:
                with node.lock:
                    node.clients.discard(client)
                client.close()
                upstream.close()

    socketserver.ThreadingTCPServer.allow_reuse_address = True
    server = socketserver.ThreadingTCPServer(listener["address"], Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    log(
        f"listener {listener['type']}:{listener['name']} on {listener['address'][0]}:{listener['address'][1]}"
        + (f" (TLS {listener['tls']['certfile']}, {listener['tls']['keyfile']})" if listener["tls"] else "")
    )
    return server


def serve_dashboard(node: Node, listener: dict) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            if self.path == "/status":
                down = "status-503" in node.faults()
                body = f"Node {node.name} is started\nemqx is {'not_running' if down else 'running'}"
                return self.reply(503 if down else 200, body.encode(), "text/plain")
            if self.path.startswith("/api/v5/"):
                auth = self.headers.get("Authorization", "")
                try:
                    key, _, secret = base64.b64decode(auth.removeprefix("Basic ")).decode().partition(":")
                except ValueError:
                    key, secret = "", ""
                if not auth.startswith("Basic ") or node.keys.get(key) != secret or not secret:
                    return self.reply(401, b'{"code":"BAD_API_KEY_OR_SECRET","message":"Check api_key/api_secret"}')
                if self.path.split("?")[0] == "/api/v5/nodes":
                    me = {"node": node.name, "node_status": "running", "role": node.role, "version": VERSION}
                    return self.reply(200, json.dumps([me]).encode())
            self.reply(404, b'{"code":"NOT_FOUND"}')

        def reply(self, code: int, body: bytes, kind: str = "application/json") -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(listener["address"], Handler)
    if listener["tls"]:
        server.socket = server_context(listener["tls"]).wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    log(f"dashboard {listener['type']} on {listener['address'][0]}:{listener['address'][1]}")
    return server


def evictor(node: Node) -> None:
    """While evacuating, close the connected clients (evicting_conns) and keep the state file current."""
    while not node.stopping.is_set():
        if node.evicting():
            with node.lock:
                clients = list(node.clients)
            for client in clients:
                try:
                    client.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        node.write_state()
        time.sleep(0.5)


def foreground(environ: dict[str, str]) -> int:
    log(f"a MODEL of EMQX Enterprise {VERSION} (scripts/node/emqx_standin), not EMQX")
    try:
        node = Node(environ)
        node.data_dir.mkdir(parents=True, exist_ok=True)
        if node.evacuating():
            log("restoring_evacuation_state: the node refuses clients until `emqx ctl rebalance stop`")
            os.utime(node.data_dir / ".evacuation", (0, 0))  # init/1 goes straight to evicting_conns
        runtime = Path(environ.get("STANDIN_RUN", "/tmp/emqx-standin"))
        runtime.mkdir(parents=True, exist_ok=True)
        broker = str(runtime / "mosquitto.sock")
        # mosquitto started as root switches to its `user` (the container runs it as uid 1000: no switch).
        user = "user root\n" if os.geteuid() == 0 else ""
        (runtime / "mosquitto.conf").write_text(f"{user}listener 0 {broker}\nallow_anonymous true\npersistence false\n")
        Path(broker).unlink(missing_ok=True)
        mosquitto = subprocess.Popen(
            [shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c", str(runtime / "mosquitto.conf")]
        )
        for _ in range(100):
            if Path(broker).exists():
                break
            time.sleep(0.05)
        else:
            raise Refused(f"mosquitto did not open {broker}")
        servers = [serve_listener(node, listener, broker) for listener in node.listeners]
        servers += [serve_dashboard(node, listener) for listener in node.dashboard]
    except Refused as err:
        log(f"refusing to start: {err}")
        return 1
    except OSError as err:
        log(f"refusing to start: cannot listen: {err}")
        return 1
    node.write_state()
    log(f"node {node.name} ({node.role}, profile {node.profile}) is running")
    signal.signal(signal.SIGTERM, lambda *_: node.stopping.set())
    threading.Thread(target=evictor, args=(node,), daemon=True).start()
    while not node.stopping.is_set() and mosquitto.poll() is None:
        node.stopping.wait(0.5)
    log("stopping (SIGTERM)" if node.stopping.is_set() else f"mosquitto exited ({mosquitto.returncode})")
    for server in servers:
        server.shutdown()
    mosquitto.terminate()
    mosquitto.wait()
    (node.data_dir / ".standin-state").unlink(missing_ok=True)
    return 0


# --- emqx ctl ----------------------------------------------------------------------------------------


def ctl(args: list[str], environ: dict[str, str]) -> int:
    data_dir = Path(environ.get("EMQX_NODE__DATA_DIR", "/opt/emqx/data").strip('"'))
    name = node_name(environ)
    try:
        state = json.loads((data_dir / ".standin-state").read_text())
        os.kill(state["pid"], 0)
    except (OSError, ValueError, KeyError):
        print(f"Node '{name}' not responding to pings.")
        return 1
    evacuation = data_dir / ".evacuation"
    if args[:2] == ["cluster", "status"]:
        print(f"Cluster status: #{{running_nodes => ['{state['node']}'],stopped_nodes => []}}")
        return 0
    if args[:2] == ["rebalance", "start"] and "--evacuation" in args:
        opts = {}
        rest = [a for a in args[2:] if a != "--evacuation"]
        for flag, value in zip(rest[::2], rest[1::2], strict=False):
            if flag != "--redirect-to" and flag != "--migrate-to" and (not value.isdigit() or int(value) < 1):
                print(f"Invalid value {value} for {flag}: positive integer expected")
                return 1
            opts[flag.lstrip("-").replace("-", "_")] = value
        if evacuation.exists():
            print("Rebalance is already enabled")
            return 1
        evacuation.write_text(json.dumps(opts))
        print("Rebalance(evacuation) started")
        return 1  # nodetool halts with 1: the command answers true, not ok
    if args[:2] == ["rebalance", "node-status"]:
        if not evacuation.exists():
            print("Rebalance disabled")
            return 0
        opts = json.loads(evacuation.read_text() or "{}")
        connections = state["connections"]
        try:
            faults = (data_dir / ".standin-faults").read_text().split()
        except OSError:
            faults = []
        recipients = f"['{PEER}']" if "peer" in faults else "[]"
        print(
            "Rebalance type: evacuation\n"
            f"Rebalance state: {evacuation_state(evacuation, connections)}\n"
            f"Connection eviction rate: {opts.get('conn_evict_rate', 500)} connections/second\n"
            f"Session eviction rate: {opts.get('sess_evict_rate', 500)} sessions/second\n"
            f"Session recipient nodes: {recipients}\n"
            "Channel statistics:\n"
            f"  current_connected: {connections}\n"
            "  current_sessions: 0"
        )
        return 0
    if args[:2] == ["rebalance", "stop"]:
        if not evacuation.exists():
            print("Rebalance is already disabled")
            return 1
        evacuation.unlink()
        print("Rebalance(evacuation) stopped")
        return 1
    print(f"emqx-standin: `emqx ctl {' '.join(args)}` is not modelled")
    return 1


def main(argv: list[str]) -> int:
    environ = dict(os.environ)
    if argv[:1] == ["foreground"]:
        return foreground(environ)
    if argv[:1] == ["ctl"]:
        return ctl(argv[1:], environ)
    print(f"emqx-standin: `emqx {' '.join(argv)}` is not modelled (foreground, ctl)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
