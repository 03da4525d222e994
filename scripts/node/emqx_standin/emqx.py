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
    GET /api/v5/nodes (emqx_mgmt_api_nodes.erl: node, node_status, role; the cluster's nodes as
    emqx_mgmt.erl list_nodes/0 lists them) with HTTP basic auth by the API
    keys of api_key.bootstrap_file (emqx_mgmt_auth.erl: lines `key:secret[:role]`), over HTTPS when the
    dashboard's https listener is on;
  - runs mosquitto as the broker (on a unix socket) and serves each MQTT listener itself, TCP, or TLS with
    the listener's certfile, keyfile, cacertfile, verify and fail_if_no_peer_cert (ssl_options of
    emqx_schema.erl), forwarding each client to mosquitto; an evacuation first waits --wait-health-check
    seconds (default 60) with clients still served and admitted (state waiting_health_check, the eviction
    agent enabled with allow_connections true), then refuses new clients and closes the connected ones
    (evicting_conns, allow_connections false: emqx_node_rebalance_evacuation.erl handle_event start and
    start_eviction; emqx_node_rebalance.hrl DEFAULT_WAIT_HEALTH_CHECK);
  - authenticates each MQTT client by its CONNECT before forwarding it: the global authentication chain from
    base.hocon, cluster.hocon, emqx.conf and the EMQX_* variables (emqx_config.erl do_parse_hocon/3), the
    built-in database's password_based authenticator with its bootstrap file and password hashes
    (emqx_authn_mnesia.erl, emqx_authn_password_hashing.erl, emqx_passwd.erl), the chain's order and the
    security profile's authn_not_configured policy when none is enabled (emqx_authn_chains.erl authenticate/2),
    a listener's enable_authn (emqx_access_control.erl pre_hook_authenticate/1), refusing with EMQX's CONNACK
    codes (emqx_reason_codes.erl); any other authenticator makes it refuse to start, naming it (not modelled);
  - joins the nodes its discovery finds (static seeds, dns records, k8s Endpoints: ekka's strategies) over a
    model of Erlang distribution on ekka_dist.erl's port, refusing a peer with another cookie as Erlang's
    handshake does (dist_util.erl), and reports cores and replicants, running and stopped, as mria does (class Cluster);
  - routes messages between the running nodes of its cluster, as emqx_broker.erl forwards a message to the nodes
    with a matching route and dispatches a forwarded one to local subscribers only (class Router);
  - restores an evacuation saved in <data_dir>/.evacuation at boot, evicting at once
    (emqx_node_rebalance_evacuation.erl init/1, "restoring_evacuation_state", straight to evicting_conns).

`emqx ctl` (bin/emqx ctl -> bin/nodetool rpc_infinity emqx_ctl run_command, which halts with 1 for any
answer but ok): `cluster status`, `rebalance start --evacuation ...`, `rebalance node-status`, `rebalance
stop` (emqx_node_rebalance_cli.erl cli/1; texts in files/drain.sh's header). A node that is not running
answers "Node '<node>' not responding to pings." with status 1 (bin/emqx assert_node_alive).

`emqx check_config` (bin/emqx check_config/0 -> hocon_cli check_schema): reads the EMQX_* environment as the
start does and exits 1 with failed_to_check_schema where the start would refuse, without starting a node.
Values at the validators that need EMQX's own parsers (rule SQL, jq, ...) pass: the model has no parser.

Faults for tests (not EMQX): a line in <data_dir>/.standin-faults makes the running stand-in misbehave:
`status-503` (GET /status answers 503 "emqx is not_running", as a node whose applications stopped),
`wrong-payload` (every message a client receives has its payload bytes changed), `no-route` (the node forwards
no message to the other nodes and drops those they forward to it), and `peer`: `rebalance
node-status` adds a session recipient node, PEER below, to the other running nodes it lists as EMQX does
(emqx_node_rebalance_evacuation.erl migrate_to/1, all_nodes/0), for a drain that waits for its clients to
leave even on a one-node cluster.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import queue
import secrets
import shutil
import signal
import socket
import socketserver
import ssl
import struct
import subprocess
import sys
import threading
import time
import urllib.request
import warnings
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


def bound(make, address: tuple, handler):
    """make(address, handler), a socketserver bound to `address`; an address in use names itself."""
    try:
        return make(address, handler)
    except OSError as err:
        raise OSError(err.errno, f"{address[0]}:{address[1]}: {err.strerror}") from err


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
        # true, false or quick_deny_anonymous (emqx_schema.erl, base_listener's enable_authn)
        authn = config.get(prefix + ("enable_authn",), True)
        out.append({"type": kind, "name": name, "address": address, "tls": tls, "enable_authn": authn})
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


# --- MQTT authentication -----------------------------------------------------------------------------

# emqx_reason_codes.erl connack_error/1: the MQTT 5 reason code of an authentication error; compat(connack, _) gives
# the MQTT 3.1 and 3.1.1 return code (emqx_mqtt.hrl CONNACK_CREDENTIALS 4, CONNACK_AUTH 5), sent by
# emqx_channel.erl handle_out(connack, ...) for any protocol version but 5.
REASON_CODES = {"bad_username_or_password": 0x86, "not_authorized": 0x87}
V3_RETURN_CODES = {0x86: 4, 0x87: 5}
# emqx_authn_mnesia_schema.erl default_bootstrap_file_path/0: a missing file at this path is no error.
DEFAULT_BOOTSTRAP_FILE = "${EMQX_ETC_DIR}/auth-built-in-db-bootstrap.csv"
# emqx_authn_password_hashing.erl type_ro(default), which type_rw, the built-in database's, falls back to.
DEFAULT_HASH = {"name": "sha256", "salt_position": "prefix"}
SIMPLE_HASHES = ("plain", "md5", "sha", "sha256", "sha512")
# emqx_passwd.erl dk_length/1: PBKDF2's derived key length by MAC when dk_length is not set.
PBKDF2_DK_LENGTH = {"sha": 20, "sha224": 28, "sha256": 32, "sha384": 48, "sha512": 64}
# The one authenticator the stand-in models (emqx_authn_mnesia.erl); its id names its users' group.
BUILT_IN = "password_based:built_in_database"


def hocon_file(path: Path) -> dict:
    """A HOCON file as far as the files EMQX is given here use it: fields `a.b = v`, `a: v` and `a { ... }`, arrays,
    objects and the scanner's literals (harness.emqx_config.scan). Substitutions and includes are not modelled:
    a file using them is refused, naming it."""
    tokens = emqx_config.scan(path.read_text())
    if tokens is None:
        raise Refused(f"{path}: not HOCON the stand-in can read")
    toks = [t for t in tokens if t[0] != "ignored"] + [("end", "")]
    try:
        fields, _ = _hocon_fields(toks, 0, "")
    except (IndexError, ValueError) as err:
        raise Refused(f"{path}: not HOCON the stand-in can read ({err})") from None
    return fields


def _hocon_fields(toks: list[tuple[str, str]], i: int, close: str) -> tuple[dict, int]:
    out: dict = {}
    while toks[i][1] != close:
        kind, key = toks[i]
        if key == ",":
            i += 1
            continue
        if kind not in ("unquoted", "string"):
            raise ValueError(f"{key!r} where a field name belongs")
        path = key.split(".") if kind == "unquoted" else [emqx_config.unquote(key)]
        i += 1
        if toks[i][1] in ("=", ":"):
            i += 1
        elif toks[i][1] != "{":
            raise ValueError(f"{key!r} not followed by =, : or {{ (includes are not modelled)")
        value, i = _hocon_value(toks, i)
        node = out
        for part in path[:-1]:
            node = node.setdefault(part, {})
        if isinstance(value, dict) and isinstance(node.get(path[-1]), dict):
            node[path[-1]] = node[path[-1]] | value  # a repeated object merges (one level is all these files use)
        else:
            node[path[-1]] = value
    return out, i + 1


def _hocon_value(toks: list[tuple[str, str]], i: int) -> tuple[object, int]:
    kind, text = toks[i]
    if text == "{":
        return _hocon_fields(toks, i + 1, "}")
    if text == "[":
        items, i = [], i + 1
        while toks[i][1] != "]":
            if toks[i][1] == ",":
                i += 1
                continue
            item, i = _hocon_value(toks, i)
            items.append(item)
        return items, i + 1
    literal = {
        "string": lambda: emqx_config.unquote(text),
        "multiline": lambda: emqx_config.unindent(text),
        "integer": lambda: int(text),
        "float": lambda: float(text),
        "bool": lambda: text == "true",
        "null": lambda: None,
    }
    if kind in literal:
        return literal[kind](), i + 1
    if kind in ("unquoted", "duration", "bytesize", "percent"):
        return text, i + 1
    raise ValueError(f"{text!r} ({kind}) is not modelled")


def interpolate(path: str, environ: dict[str, str]) -> str:
    """emqx_utils_schema.erl naive_env_interpolation/1: a leading $NAME or ${NAME} up to the first / is that
    variable (EMQX_ETC_DIR is always set by bin/emqx); an unknown one leaves the path as it is."""
    if not path.startswith("$"):
        return path
    name, _, tail = path[1:].partition("/")
    name = name.strip("{}")
    value = environ.get(name) or (ETC if name == "EMQX_ETC_DIR" else "")
    if not value:
        log(f"warning cannot_resolve_env_variable {name} in {path}")
        return path
    return str(Path(value) / tail.lstrip("/"))


def authentication_config(config: dict, data_dir: Path) -> tuple[list, str]:
    """The global authentication chain and where it came from. EMQX reads base.hocon, then
    <data_dir>/configs/cluster.hocon (what the dashboard saves), then etc/emqx.conf (emqx_config.erl
    do_parse_hocon/3, base_hocon_file/0), a later file's array replacing an earlier one's, then the EMQX_*
    variables on top: EMQX_AUTHENTICATION replaces the array, EMQX_AUTHENTICATION__<n>__<field> sets a field
    of its n-th authenticator."""
    chain: list = []
    source = "nowhere"
    for path in (Path(ETC) / "base.hocon", data_dir / "configs" / "cluster.hocon", Path(ETC) / "emqx.conf"):
        if path.is_file():
            doc = hocon_file(path)
            if "authentication" in doc:
                chain, source = doc["authentication"], str(path)
    if ("authentication",) in config:
        chain, source = config[("authentication",)], "EMQX_AUTHENTICATION"
    if not isinstance(chain, list):
        raise Refused(f"authentication from {source} is not an array")
    chain = json.loads(json.dumps(chain))
    for path, value in sorted(config.items()):
        if path[0] != "authentication" or len(path) < 3:
            continue
        name = "EMQX_" + "__".join(path).upper()
        if not (path[1].isdigit() and 1 <= int(path[1]) <= len(chain)):
            raise Refused(f"{name}: an authenticator beyond the {len(chain)} of the chain is not modelled")
        node = chain[int(path[1]) - 1]
        for key in path[2:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
        source += f", {name}"
    return chain, source


def hash_algorithm(conf: dict) -> dict:
    """The password_hash_algorithm with its defaults (emqx_authn_password_hashing.erl fields/1), or Refused where
    EMQX's schema check fails."""
    algorithm = dict(conf.get("password_hash_algorithm") or DEFAULT_HASH)
    name = algorithm.get("name")
    if name in SIMPLE_HASHES:
        algorithm.setdefault("salt_position", "prefix")
        if algorithm["salt_position"] not in ("disable", "prefix", "suffix"):
            raise Refused(f"failed_to_check_schema: salt_position {algorithm['salt_position']!r}")
    elif name == "pbkdf2":
        if (
            not isinstance(algorithm.get("iterations"), int)
            or algorithm["iterations"] < 1
            or "mac_fun" not in algorithm
        ):
            raise Refused("failed_to_check_schema: pbkdf2 needs mac_fun and iterations (a positive integer)")
        mac = {"sha": "sha1"}.get(algorithm["mac_fun"], algorithm["mac_fun"])
        if mac not in hashlib.algorithms_available:
            raise Refused(f"pbkdf2 with mac_fun {algorithm['mac_fun']} is not modelled (no such hash here)")
        if "dk_length" not in algorithm and algorithm["mac_fun"] not in PBKDF2_DK_LENGTH:
            raise Refused(f"pbkdf2 with mac_fun {algorithm['mac_fun']} needs dk_length (emqx_passwd.erl dk_length/1)")
    elif name == "bcrypt":
        # salt_rounds_converter/2 clamps to 5..10; 10 is the default (SALT_ROUNDS_MAX).
        algorithm["salt_rounds"] = min(max(int(algorithm.get("salt_rounds", 10)), 5), 10)
        if _crypt() is None:
            raise Refused("bcrypt is not modelled on this Python (no crypt module)")
    else:
        raise Refused(f"failed_to_check_schema: password_hash_algorithm name {name!r}")
    return algorithm


def _crypt():
    """The C library's crypt(3), which checks and makes bcrypt hashes ($2b$); Python 3.11 still ships it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt
    except ImportError:
        return None
    return crypt


def _pbkdf2(algorithm: dict, salt: str, password: bytes) -> str:
    mac = {"sha": "sha1"}.get(algorithm["mac_fun"], algorithm["mac_fun"])
    length = algorithm.get("dk_length") or PBKDF2_DK_LENGTH[algorithm["mac_fun"]]
    return hashlib.pbkdf2_hmac(mac, password, salt.encode(), algorithm["iterations"], length).hex()


def _simple(name: str, salt: str, position: str, password: bytes) -> str:
    data = {"disable": password, "prefix": salt.encode() + password, "suffix": password + salt.encode()}[position]
    if name == "plain":
        return data.decode("utf-8", "surrogateescape")
    return hashlib.new({"sha": "sha1"}.get(name, name), data).hexdigest()


def hash_password(algorithm: dict, password: bytes) -> tuple[str, str]:
    """A new (hash, salt), as emqx_authn_password_hashing.erl hash/2 and gen_salt/1 make them: 32 random hex digits
    of salt (none for plain or salt_position disable); bcrypt keeps its salt inside the hash."""
    name = algorithm["name"]
    if name == "bcrypt":
        crypt = _crypt()
        hashed = crypt.crypt(
            password.decode("utf-8", "surrogateescape"),
            crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=2 ** algorithm["salt_rounds"]),
        )
        return hashed, hashed
    if name == "pbkdf2":
        salt = secrets.token_hex(16)
        return _pbkdf2(algorithm, salt, password), salt
    salt = "" if name == "plain" or algorithm["salt_position"] == "disable" else secrets.token_hex(16)
    return _simple(name, salt, algorithm["salt_position"], password), salt


def check_password(algorithm: dict, salt: str, password_hash: str, password: bytes) -> bool:
    """emqx_authn_password_hashing.erl check_password/4 and emqx_passwd.erl check_pass/3: plain and bcrypt compare
    exactly, the hex digests of the others without regard to case."""
    name = algorithm["name"]
    if name == "bcrypt":
        return hmac.compare_digest(
            _crypt().crypt(password.decode("utf-8", "surrogateescape"), password_hash), password_hash
        )
    if name == "pbkdf2":
        return hmac.compare_digest(_pbkdf2(algorithm, salt, password), password_hash.lower())
    made = _simple(name, salt, algorithm["salt_position"], password)
    if name == "plain":
        return hmac.compare_digest(
            made.encode("utf-8", "surrogateescape"), password_hash.encode("utf-8", "surrogateescape")
        )
    return hmac.compare_digest(made, password_hash.lower())


def read_users(filename: str, data: bytes) -> list[dict]:
    """The users of a bootstrap file (emqx_authn_mnesia.erl reader_fn/2): by extension, .json (an array of
    objects) or .csv (emqx_utils_stream.erl csv/2 with nullable: lines split on CR and LF, blank ones dropped;
    the header split on commas and blanks, each row on commas, its fields trimmed, an empty one null, a row with
    another number of fields than the header bad_format)."""
    extension = Path(filename).suffix
    if extension == ".json":
        users = json.loads(data)
        if not isinstance(users, list):
            raise ValueError("unknown_file_format")
        return users
    if extension != ".csv":
        raise ValueError("unknown_file_format" if not extension else f"unsupported_file_format {extension}")
    lines = [line for line in data.decode().replace("\r", "\n").split("\n") if line]
    if not lines:
        return []
    header = [f for f in lines[0].replace(" ", ",").split(",") if f]
    users = []
    for line in lines[1:]:
        fields = [f.strip() or None for f in line.split(",")]
        if len(fields) != len(header):
            raise ValueError("bad_format")
        users.append(dict(zip(header, fields, strict=True)))
    return users


class BuiltInDatabase:
    """The built-in database's password_based authenticator (emqx_authn_mnesia.erl), its users kept in
    <data_dir>/.standin-authn.json as EMQX keeps them in its mnesia tables under the data dir: a user once
    imported stays as it was when the bootstrap file changes."""

    def __init__(self, conf: dict, environ: dict[str, str], data_dir: Path):
        self.user_id_type = conf.get("user_id_type", "username")
        if self.user_id_type not in ("username", "clientid"):
            raise Refused(f"failed_to_check_schema: user_id_type {self.user_id_type!r}")
        self.algorithm = hash_algorithm(conf)
        self.store = data_dir / ".standin-authn.json"
        try:
            self.users: dict[str, dict] = json.loads(self.store.read_text())
        except (OSError, ValueError):
            self.users = {}
        bootstrap_type = conf.get("bootstrap_type", "plain")
        if bootstrap_type not in ("plain", "hash"):
            raise Refused(f"failed_to_check_schema: bootstrap_type {bootstrap_type!r}")
        self.bootstrap(str(conf.get("bootstrap_file", DEFAULT_BOOTSTRAP_FILE)), bootstrap_type, environ)

    def describe(self) -> str:
        how = ", ".join(f"{k} {v}" for k, v in sorted(self.algorithm.items()) if k != "name")
        return f"{BUILT_IN} (user_id_type {self.user_id_type}, {self.algorithm['name']}{', ' if how else ''}{how})"

    def bootstrap(self, path: str, bootstrap_type: str, environ: dict[str, str]) -> None:
        """emqx_authn_mnesia.erl bootstrap_user_from_file/2 and import_users/3 with override false: the whole file
        is read first, so one bad user imports none; a user the database has is kept as it is."""
        if not path:
            return
        filename = interpolate(path, environ)
        try:
            data = Path(filename).read_bytes()
        except FileNotFoundError:
            if path != DEFAULT_BOOTSTRAP_FILE:
                log(f"warning bootstrap_authn_built_in_database_failed {filename}: no such file")
            return
        except OSError as err:
            log(f"warning bootstrap_authn_built_in_database_failed {filename}: {err.strerror}")
            return
        try:
            users = [self.convert(user, bootstrap_type) for user in read_users(filename, data)]
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            log(f"warning parse_authn_users_failed {filename} ({bootstrap_type}): {err}")
            return
        if not users:
            log(f"bootstrap file {filename}: empty_users")
            return
        counts = {"success": 0, "skipped": 0, "failed": 0}
        for user_id, record in users:
            if user_id not in self.users:
                self.users[user_id] = record
                counts["success"] += 1
            elif self.users[user_id] == record:
                counts["skipped"] += 1
            else:
                log(f"warning import_an_exists_userid_into_authentication_database_failed {user_id}")
                counts["failed"] += 1
        tmp = self.store.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.users))
        tmp.replace(self.store)
        log(f"bootstrap file {filename} ({bootstrap_type}): " + ", ".join(f"{n} {k}" for k, n in counts.items()))

    def convert(self, user: dict, bootstrap_type: str) -> tuple[str, dict]:
        """emqx_authn_mnesia.erl convert_user/3 and find_password_hash/3; a user of a namespace is kept apart from
        the global ones, which are all a client without a namespace attribute is checked against."""
        if not isinstance(user, dict) or "user_id" not in user:
            raise ValueError("bad_format")
        if bootstrap_type == "hash":
            if user.get("password_hash") is None:
                raise ValueError("hash_import_requires_password_hash_field")
            password_hash, salt = str(user["password_hash"]), str(user.get("salt") or "")
        else:
            if not isinstance(user.get("password"), str):
                raise ValueError("plain_import_requires_password_field")
            password_hash, salt = hash_password(self.algorithm, user["password"].encode())
        superuser = user.get("is_superuser") in ("true", True)
        namespace = user.get("namespace")
        key = str(user["user_id"]) if namespace is None else json.dumps([namespace, user["user_id"]])
        return key, {"password_hash": password_hash, "salt": salt, "is_superuser": superuser}

    def authenticate(self, client: dict) -> str | None:
        """emqx_authn_mnesia.erl authenticate/2: "ok", an error reason, or None to let the next authenticator
        decide (an enhanced-authentication method, or a user it does not have)."""
        if client["auth_method"] is not None:
            return None
        if client["password"] is None:
            return "bad_username_or_password"
        user = self.users.get(client[self.user_id_type]) if client[self.user_id_type] is not None else None
        if user is None:
            return None
        ok = check_password(self.algorithm, user["salt"], user["password_hash"], client["password"])
        return "ok" if ok else "bad_username_or_password"


class Authentication:
    """The global chain (emqx_authn_chains.erl authenticate/2): its enabled authenticators in order, the first
    answer that is not `ignore` decides and a chain they all ignore refuses (do_authenticate/3 ends in
    not_authorized); with none enabled, the security profile decides (emqx_security_profile.erl
    policy(authn_not_configured): allow under legacy, deny under hardened)."""

    def __init__(self, config: dict, environ: dict[str, str], data_dir: Path, hardened: bool):
        self.hardened = hardened
        chain, source = authentication_config(config, data_dir)
        self.chain: list[BuiltInDatabase] = []
        for n, conf in enumerate(chain, 1):
            if not isinstance(conf, dict):
                raise Refused(f"authentication[{n}] from {source} is not an object")
            kind = f"{conf.get('mechanism')}:{conf.get('backend')}"
            if conf.get("enable", True) is False:
                log(f"authentication[{n}] {kind} disabled")
                continue
            if kind != BUILT_IN:
                raise Refused(f"authentication[{n}] {kind} from {source}: the stand-in models {BUILT_IN} only")
            if conf.get("precondition"):
                raise Refused(f"authentication[{n}] precondition from {source}: not modelled by the stand-in")
            self.chain.append(BuiltInDatabase(conf, environ, data_dir))
        for path in config:
            if path[0] == "listeners" and len(path) > 3 and path[3] == "authentication":
                raise Refused(f"listeners.{path[1]}.{path[2]}.authentication: listener chains are not modelled")
        if self.chain:
            names = "; ".join(a.describe() + f", {len(a.users)} user(s)" for a in self.chain)
            log(f"authentication from {source}: {names}")
        else:
            verdict = "refused (hardened)" if hardened else "allowed (legacy)"
            log(f"authentication: no authenticator enabled: authn_not_configured, clients are {verdict}")

    def check(self, client: dict, enable_authn: bool | str) -> str:
        """The client's verdict, "ok" or why it is refused (emqx_access_control.erl authenticate/1): a listener
        with enable_authn false lets every client in, quick_deny_anonymous refuses one without a username before
        the chain (pre_hook_authenticate/1, is_username_defined/1)."""
        if enable_authn is False:
            return "ok"
        if enable_authn == "quick_deny_anonymous" and not client["username"]:
            return "not_authorized"
        if not self.chain:
            return "not_authorized" if self.hardened else "ok"
        for authenticator in self.chain:
            answer = authenticator.authenticate(client)
            if answer is not None:
                return answer
        return "not_authorized"


# MQTT 5 CONNECT properties (MQTT 5.0, 3.1.2.11) by identifier: the size of a fixed-size one, or "s" for a
# UTF-8 string or binary data, "p" for a string pair; only the Authentication Method (0x15) is looked at.
CONNECT_PROPERTIES = {0x11: 4, 0x21: 2, 0x27: 4, 0x22: 2, 0x19: 1, 0x17: 1, 0x26: "p", 0x15: "s", 0x16: "s"}


def _varint(data: bytes, i: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = data[i]
        value += (byte & 0x7F) << shift
        i, shift = i + 1, shift + 7
        if not byte & 0x80:
            return value, i


def read_packet(sock: socket.socket) -> bytes:
    """One whole MQTT packet, fixed header included."""
    data = b""

    def more(n: int) -> None:
        nonlocal data
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise ValueError("closed before a whole packet")
            data += chunk

    more(2)
    while data[-1] & 0x80:
        more(len(data) + 1)
    length, start = _varint(data, 1)
    more(start + length)
    return data


def parse_connect(packet: bytes) -> dict:
    """Version, client id, username, password and enhanced-authentication method of a CONNECT (MQTT 3.1, 3.1.1
    and 5); a field the client leaves out is None, as in EMQX's credentials."""
    if packet[0] != 0x10:
        raise ValueError(f"first packet of type {packet[0] >> 4}, not CONNECT")
    _, i = _varint(packet, 1)

    def string(i: int) -> tuple[bytes, int]:
        (size,) = struct.unpack_from("!H", packet, i)
        return packet[i + 2 : i + 2 + size], i + 2 + size

    _, i = string(i)  # protocol name
    version, flags = packet[i], packet[i + 1]
    i += 4  # version, flags, keep alive
    auth_method = None
    if version == 5:
        size, i = _varint(packet, i)
        end = i + size
        while i < end:
            prop = packet[i]
            kind = CONNECT_PROPERTIES[prop]
            if kind == "s":
                value, i = string(i + 1)
                if prop == 0x15:
                    auth_method = value.decode()
            elif kind == "p":
                _, i = string(i + 1)
                _, i = string(i)
            else:
                i += 1 + kind
    client_id, i = string(i)
    if flags & 0x04:  # a will: its properties (MQTT 5), topic and payload
        if version == 5:
            size, i = _varint(packet, i)
            i += size
        _, i = string(i)
        _, i = string(i)
    username = password = None
    if flags & 0x80:
        username, i = string(i)
    if flags & 0x40:
        password, i = string(i)
    return {
        "version": version,
        "clientid": client_id.decode(),
        "username": None if username is None else username.decode(),
        "password": password,
        "auth_method": auth_method,
    }


def connack_refusal(version: int, reason: str) -> bytes:
    """The CONNACK EMQX refuses with (emqx_channel.erl handle_out(connack, ...)): MQTT 5 the reason code and no
    properties, MQTT 3.1 and 3.1.1 the compatible return code."""
    code = REASON_CODES[reason]
    if version == 5:
        return bytes([0x20, 3, 0, code, 0])
    return bytes([0x20, 2, 0, V3_RETURN_CODES[code]])


# --- clustering --------------------------------------------------------------------------------------

# ekka_dist.erl port/1: a node listens for distribution on the base port (kernel inet_dist_base_port, 4370 by
# default) plus the integer that ends its short name (emqx@... on 4370, emqx2@... on 4372), modulo 60000.
DIST_BASE_PORT = 4370
# How often a node asks its peers, and how long a peer that stops answering still counts as running (Erlang's
# net_ticktime, 60 s by default, is longer; the model reports a node down within seconds).
SYNC_SECONDS = 1.0
PEER_TTL = 8.0


def dist_port(name: str, base: int) -> int:
    short = name.split("@", 1)[0]
    digits = len(short) - len(short.rstrip("0123456789"))
    return base + (int(short[-digits:]) % 60000 if digits else 0)


def discover(config: dict, name: str) -> list[str]:
    """The node names the configured strategy finds (ekka's discovery; EMQX 6.2.2 pins ekka 1.0.0):
    static: cluster.static.seeds; dns: cluster.dns.name resolved as cluster.dns.record_type (a, aaaa: one node per
    address; srv: one per target host), each named <this node's short name>@<host> (ekka_cluster_dns.erl
    discover/1, node_name/2); k8s: the Endpoints of cluster.k8s (k8s_discovery); manual and singleton: none.
    etcd is not modelled: the node finds no peer."""
    strategy = str(config.get(("cluster", "discovery_strategy"), "manual"))
    if strategy == "static":
        seeds = config.get(("cluster", "static", "seeds"), [])
        return [str(s) for s in seeds] if isinstance(seeds, list) else [str(seeds)]
    if strategy == "k8s":
        return k8s_discovery(config, name)
    if strategy != "dns":
        return []
    domain = str(config.get(("cluster", "dns", "name"), ""))
    record = str(config.get(("cluster", "dns", "record_type"), "a"))
    short = name.split("@", 1)[0]
    try:
        import dns.resolver  # noqa: PLC0415 (python3-dnspython, needed only by dns discovery)

        answer = dns.resolver.resolve(domain, record.upper(), search=False, raise_on_no_answer=False)
    except Exception:  # noqa: BLE001 (any resolver failure: no peer found this round, as ekka's lookup)
        return []
    if record == "srv":
        hosts = sorted({r.target.to_text(omit_final_dot=True) for r in answer})
    else:
        hosts = [r.to_text() for r in answer]
    return [f"{short}@{host}" for host in hosts]


# ekka_cluster_k8s.erl SERVICE_ACCOUNT_PATH: the token and CA certificate k8s discovery asks with.
SERVICE_ACCOUNT = os.environ.get("STANDIN_SERVICE_ACCOUNT", "/var/run/secrets/kubernetes.io/serviceaccount")


def k8s_discovery(config: dict, name: str) -> list[str]:
    """ekka_cluster_k8s.erl discover/1: GET <apiserver>/api/v1/namespaces/<namespace>/endpoints/<service_name>
    with the service account's token, verifying the server by its ca.crt when there is one; one node per address
    of the Endpoints' subsets (not the not-ready ones), named by address_type: hostname
    <short>@<hostname>.<service>.<namespace>.<suffix>, dns <short>@<ip with dashes>.<namespace>.<suffix>, ip
    <short>@<ip> (node_name/6, extract_host/2). Defaults from emqx_conf_schema.erl fields(cluster_k8s)."""

    def setting(key: str, default: str) -> str:
        return str(config.get(("cluster", "k8s", key), default))

    server = setting("apiserver", "https://kubernetes.default.svc:443")
    service, namespace = setting("service_name", "emqx"), setting("namespace", "default")
    address_type, suffix = setting("address_type", "ip"), setting("suffix", "pod.local")
    short = name.split("@", 1)[0]
    try:
        token = Path(SERVICE_ACCOUNT, "token").read_text().replace("\n", "")
    except OSError:
        token = ""
    ca = Path(SERVICE_ACCOUNT, "ca.crt")
    if ca.is_file():
        context = ssl.create_default_context(cafile=str(ca))
    else:  # ekka asks with verify_none when there is no ca.crt
        context = ssl._create_unverified_context()  # noqa: S323
    request = urllib.request.Request(f"{server.rstrip('/')}/api/v1/namespaces/{namespace}/endpoints/{service}")
    request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5, context=context) as response:
            endpoints = json.load(response)
    except (OSError, ValueError):
        return []
    nodes = []
    for subset in endpoints.get("subsets") or []:
        for address in subset.get("addresses") or []:
            ip = str(address.get("ip", ""))
            host = {"hostname": str(address.get("hostname")), "dns": ip.replace(".", "-")}.get(address_type, ip)
            if address_type == "hostname" and suffix:
                nodes.append(f"{short}@{host}.{service}.{namespace}.{suffix}")
            elif address_type == "dns" and suffix:
                nodes.append(f"{short}@{host}.{namespace}.{suffix}")
            else:
                nodes.append(f"{short}@{host}")
    return nodes


def digest(cookie: str, challenge: int) -> str:
    """Erlang's distribution handshake answer to a challenge: md5 of the cookie followed by the challenge's
    decimal digits (dist_util.erl gen_digest/2)."""
    return hashlib.md5((cookie + str(challenge)).encode()).hexdigest()  # noqa: S324 (the protocol's own hash)


def _send(sock: socket.socket, message: dict) -> None:
    sock.sendall(json.dumps(message).encode() + b"\n")


def _receive(reader) -> dict:
    line = reader.readline(65536)
    if not line:
        raise ConnectionError("closed")
    return json.loads(line)


class Cluster:
    """This node's view of the cluster, kept by a model of Erlang distribution and of mria's membership.

    Each node listens on its distribution port; every SYNC_SECONDS it connects to each node discovery finds,
    and both sides prove that they hold the same cookie with Erlang's challenge and answer (dist_util.erl: a
    wrong answer closes the connection, "Connection attempt from node ... rejected. Invalid challenge reply.");
    then they trade their names, roles, and the running nodes each is in direct touch with. A node is running
    while it or a core in touch with it answered within PEER_TTL. As mria reports them (mria.erl
    cluster_nodes/1, running_nodes/0): the running cores and replicants, and every core once seen running that
    no longer is, as stopped; a replicant that stops drops out."""

    def __init__(self, node: Node, config: dict, cookie: str, base_port: int):
        self.node, self.config, self.cookie = node, config, cookie
        self.port = dist_port(node.name, base_port)
        self.base_port = base_port
        self.lock = threading.Lock()
        self.direct: dict[str, tuple[str, float]] = {}  # node -> (role, when it last answered either way)
        self.reported: dict[str, tuple[str, float]] = {}  # node -> (role, when a core in touch reported it)
        self.cores_seen: set[str] = {node.name} if node.role == "core" else set()
        self.said: set[str] = set()

    def once(self, message: str) -> None:
        """Log a message the first time only (a refused peer is retried every round)."""
        if message not in self.said:
            self.said.add(message)
            log(message)

    def info(self) -> dict:
        with self.lock:
            now = time.monotonic()
            touch = {n: role for n, (role, t) in self.direct.items() if now - t < PEER_TTL}
        return {"node": self.node.name, "role": self.node.role, "touch": touch}

    def _learn(self, peer: dict) -> None:
        now = time.monotonic()
        with self.lock:
            self.direct[peer["node"]] = (peer["role"], now)
            if peer["role"] == "core":
                self.cores_seen.add(peer["node"])
                for name, role in peer["touch"].items():
                    if name != self.node.name:
                        self.reported[name] = (role, now)
                        if role == "core":
                            self.cores_seen.add(name)

    def view(self) -> tuple[dict[str, str], list[str]]:
        """The running nodes with their roles, and the stopped cores."""
        now = time.monotonic()
        with self.lock:
            running = {self.node.name: self.node.role}
            for source in (self.reported, self.direct):
                running |= {n: role for n, (role, t) in source.items() if now - t < PEER_TTL}
            stopped = sorted(self.cores_seen - set(running))
        return running, stopped

    def serve(self) -> socketserver.ThreadingTCPServer:
        cluster = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                self.request.settimeout(5)
                try:
                    hello = _receive(self.rfile)
                    challenge = secrets.randbits(32)
                    _send(self.request, {"challenge": challenge})
                    reply = _receive(self.rfile)
                    if not hmac.compare_digest(str(reply.get("digest")), digest(cluster.cookie, challenge)):
                        node = hello.get("node")
                        cluster.once(f"Connection attempt from node {node} rejected. Invalid challenge reply.")
                        return
                    _send(self.request, {"digest": digest(cluster.cookie, reply["challenge"]), **cluster.info()})
                    cluster._learn(reply["info"])
                    if hello.get("link") == "forward":
                        # A peer's forwarding link (class Router): the messages it forwards, one a line.
                        self.request.settimeout(None)
                        while line := self.rfile.readline():
                            cluster.node.router.dispatch(json.loads(line))
                except (OSError, ValueError, KeyError, TypeError, ConnectionError):
                    return

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        server = bound(socketserver.ThreadingTCPServer, ("0.0.0.0", self.port), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True).start()
        log(f"distribution on 0.0.0.0:{self.port}")
        return server

    def connect(self, peer: str, link: str | None = None) -> socket.socket | None:
        """A connection to `peer` after the handshake both ways (this node initiates), learning what it reports;
        None when the peer is unreachable or its cookie differs. `link` names what the connection is for
        beyond the handshake (the router's "forward")."""
        host = peer.split("@", 1)[-1]
        sock = None
        try:
            sock = socket.create_connection((host, dist_port(peer, self.base_port)), timeout=2)
            reader = sock.makefile("rb")
            _send(sock, {"node": self.node.name} | ({"link": link} if link else {}))
            challenge = _receive(reader)["challenge"]
            mine = secrets.randbits(32)
            _send(sock, {"digest": digest(self.cookie, challenge), "challenge": mine, "info": self.info()})
            answer = _receive(reader)
            if not hmac.compare_digest(str(answer.get("digest")), digest(self.cookie, mine)):
                log(f"Connection attempt to node {peer} aborted: its challenge reply is invalid")
            elif answer.get("node") == peer:
                self._learn(answer)
                connected, sock = sock, None
                return connected
        except ConnectionError:
            self.once(f"node {peer} closed the connection during the handshake (a cookie mismatch closes it)")
        except (OSError, ValueError, KeyError, TypeError):
            pass
        finally:
            if sock is not None:
                sock.close()
        return None

    def sync(self, peer: str) -> None:
        """One handshake with `peer`, learning what it reports."""
        connected = self.connect(peer)
        if connected is not None:
            connected.close()

    def run(self) -> None:
        logged: tuple = ()
        while not self.node.stopping.is_set():
            peers = [p for p in discover(self.config, self.node.name) if p != self.node.name]
            for peer in peers:
                self.sync(peer)
            running, stopped = self.view()
            if (tuple(sorted(running)), tuple(stopped)) != logged:
                logged = (tuple(sorted(running)), tuple(stopped))
                log(f"cluster: running {sorted(running)}, stopped {stopped}")
            self.node.stopping.wait(SYNC_SECONDS)


# --- routing -----------------------------------------------------------------------------------------

# MQTT 5.0 SUBSCRIBE options (3.8.3.1) of the router's subscription to `#`: maximum QoS 2 (each message at the QoS
# it was published with), No Local (not the messages it publishes itself), Retain As Published (the retain flag
# kept), Retain Handling 2 (no stored retained messages when it subscribes).
ROUTER_SUBSCRIPTION = 2 | 0x04 | 0x08 | 0x20
# How long a forwarded message waits for the local broker to take it (the router's connection, or a free slot
# of mosquitto's Receive Maximum) before it is dropped, as an asynchronous forward drops what it cannot deliver.
DISPATCH_WAIT = 5.0


def _varint_bytes(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _mqtt_packet(header: int, body: bytes) -> bytes:
    return bytes([header]) + _varint_bytes(len(body)) + body


def _mqtt_string(data: bytes) -> bytes:
    return struct.pack("!H", len(data)) + data


def parse_publish(packet: bytes) -> dict:
    """An MQTT 5 PUBLISH: QoS, retain flag, topic, packet id, properties (as sent) and payload."""
    qos, retain = (packet[0] >> 1) & 0x03, bool(packet[0] & 0x01)
    _, i = _varint(packet, 1)
    (size,) = struct.unpack_from("!H", packet, i)
    topic = packet[i + 2 : i + 2 + size]
    i += 2 + size
    packet_id = None
    if qos:
        (packet_id,) = struct.unpack_from("!H", packet, i)
        i += 2
    size, start = _varint(packet, i)
    properties, payload = packet[start : start + size], packet[start + size :]
    return {"qos": qos, "retain": retain, "topic": topic, "id": packet_id, "properties": properties, "payload": payload}


class Router:
    """Messages between the nodes of this node's cluster: a model of EMQX's routing, not its protocols.

    EMQX keeps each subscription's route (topic filter, node) in tables mria replicates to every node of the
    cluster (emqx_router.erl create_tables_v3/0, rlog_shard). A message published on one node goes to every
    node holding a matching route that is routable (emqx_broker.erl aggre/1 with emqx_router_helper.erl
    is_routable/1, do_route2/2), forwarded asynchronously by default (forward/4 and do_forward/4 with rpc.mode
    async, emqx_conf_schema.erl; emqx_broker_proto_v1:forward_async/3), and the node it reaches hands it to its
    own subscribers only (dispatch/2, do_dispatch/2): a forwarded message is never forwarded again.

    Here the router is an MQTT 5 client of this node's mosquitto, on its unix socket, which no MQTT client can
    reach (they all come through the stand-in's listeners and their authentication), under a client id drawn at
    random. It subscribes to `#` (ROUTER_SUBSCRIPTION): it receives every message this node's clients publish,
    and none of those it publishes itself. It forwards each one to every other node running in this node's view
    (Cluster.view: joined after the cookie challenge, directly or through a core), over a link to the peer's
    distribution port opened with the same challenge and answer; the peer's router publishes it to its own
    mosquitto, at the QoS, retain flag and properties it was published with, and so only to local subscribers.
    Each message goes to every running node rather than to those with a matching route: a node without a
    subscriber drops it, so clients see the same, and a retained message is kept on every node, as EMQX's
    retainer keeps it in an mria table (emqx_retainer_mnesia.erl). The `no-route` fault stops the node forwarding
    and dispatching what peers forward (a model of a node whose routes are lost)."""

    def __init__(self, node: Node):
        self.node = node
        self.client_id = f"emqx-standin-router-{secrets.token_hex(8)}"
        self.sock: socket.socket | None = None
        self.ready = threading.Event()
        self.write_lock = threading.Lock()
        self.inflight = threading.Semaphore(1)
        self.packet_id = 0
        self.id_lock = threading.Lock()
        self.links: dict[str, queue.SimpleQueue] = {}
        self.links_lock = threading.Lock()

    def start(self, broker: str) -> None:
        """Connect to mosquitto and subscribe; then receive on a thread of its own."""
        sock = socket.socket(socket.AF_UNIX)
        sock.settimeout(5)
        try:
            sock.connect(broker)
            # CONNECT, MQTT 5: clean start, no keep alive, no properties
            sock.sendall(
                _mqtt_packet(
                    0x10, _mqtt_string(b"MQTT") + bytes([5, 0x02, 0, 0, 0]) + _mqtt_string(self.client_id.encode())
                )
            )
            connack = read_packet(sock)
            if connack[0] != 0x20 or connack[3] != 0:
                raise Refused(f"mosquitto refused the router's connection ({connack!r})")
            self.inflight = threading.Semaphore(self._receive_maximum(connack))
            sock.sendall(
                _mqtt_packet(
                    0x82,
                    struct.pack("!H", self._next_id()) + b"\x00" + _mqtt_string(b"#") + bytes([ROUTER_SUBSCRIPTION]),
                )
            )
            suback = read_packet(sock)
            if suback[0] != 0x90 or suback[-1] >= 0x80:
                raise Refused(f"mosquitto refused the router's subscription to # ({suback!r})")
        except (OSError, ValueError, IndexError) as err:
            raise Refused(f"the router cannot connect to mosquitto at {broker}: {err}") from None
        sock.settimeout(None)
        self.sock = sock
        self.ready.set()
        threading.Thread(target=self._receive, daemon=True).start()
        log(f"router: subscribed to # on mosquitto as {self.client_id} (forwards to the running nodes)")

    @staticmethod
    def _receive_maximum(connack: bytes) -> int:
        """CONNACK's Receive Maximum property (0x21): how many QoS 1 and 2 messages may await their
        acknowledgement; 65535 when absent (MQTT 5.0 3.2.2.3.3)."""
        _, i = _varint(connack, 1)
        size, i = _varint(connack, i + 2)
        end = i + size
        while i < end:
            prop = connack[i]
            if prop == 0x21:
                return struct.unpack_from("!H", connack, i + 1)[0]
            kind = {0x11: 4, 0x21: 2, 0x24: 1, 0x25: 1, 0x27: 4, 0x28: 1, 0x29: 1, 0x2A: 1, 0x13: 2, 0x22: 2}.get(prop)
            if kind is None:  # a string, binary data or string pair property: its length first
                (n,) = struct.unpack_from("!H", connack, i + 1)
                i += 3 + n
                if prop == 0x26:
                    (n,) = struct.unpack_from("!H", connack, i)
                    i += 2 + n
            else:
                i += 1 + kind
        return 65535

    def _next_id(self) -> int:
        with self.id_lock:
            self.packet_id = self.packet_id % 65535 + 1
            return self.packet_id

    def _write(self, data: bytes) -> None:
        with self.write_lock:
            assert self.sock is not None
            self.sock.sendall(data)

    def _receive(self) -> None:
        """Packets from mosquitto: messages to forward (acknowledged by QoS) and the acknowledgements of the
        messages this router dispatched."""
        assert self.sock is not None
        try:
            while True:
                packet = read_packet(self.sock)
                kind = packet[0] & 0xF0
                if kind == 0x30:
                    message = parse_publish(packet)
                    self.forward(message)
                    if message["qos"] == 1:
                        self._write(_mqtt_packet(0x40, struct.pack("!H", message["id"])))
                    elif message["qos"] == 2:
                        self._write(_mqtt_packet(0x50, struct.pack("!H", message["id"])))
                elif kind == 0x60:  # PUBREL of a QoS 2 message received: complete it
                    self._write(_mqtt_packet(0x70, packet[2:4]))
                elif kind == 0x50:  # PUBREC of a QoS 2 message dispatched: release it
                    self._write(_mqtt_packet(0x62, packet[2:4]))
                elif kind in (0x40, 0x70):  # PUBACK or PUBCOMP: a QoS 1 or 2 message dispatched is done
                    self.inflight.release()
        except (OSError, ValueError, IndexError, struct.error) as err:
            if not self.node.stopping.is_set():
                log(f"router: the connection to mosquitto ended ({err}): messages are no longer routed")
            self.ready.clear()

    def forward(self, message: dict) -> None:
        """Send a message this node's clients published to every other running node (emqx_broker.erl do_route2/2)."""
        if "no-route" in self.node.faults():
            return
        running, _ = self.node.cluster.view()
        line = {
            "topic": base64.b64encode(message["topic"]).decode(),
            "qos": message["qos"],
            "retain": message["retain"],
            "properties": base64.b64encode(message["properties"]).decode(),
            "payload": base64.b64encode(message["payload"]).decode(),
        }
        for peer in sorted(running):
            if peer != self.node.name:
                self._link(peer).put(line)

    def _link(self, peer: str) -> queue.SimpleQueue:
        """The queue of `peer`'s forwarding link, and its thread the first time (one link a peer keeps the order
        of the messages sent to it, as gen_rpc's connection does)."""
        with self.links_lock:
            if peer not in self.links:
                self.links[peer] = queue.SimpleQueue()
                threading.Thread(target=self._send_to, args=(peer, self.links[peer]), daemon=True).start()
            return self.links[peer]

    def _send_to(self, peer: str, messages: queue.SimpleQueue) -> None:
        sock: socket.socket | None = None
        down = False
        while not self.node.stopping.is_set():
            message = messages.get()
            for _ in range(2):  # a link found closed is opened again once for the message
                if sock is None:
                    sock = self.node.cluster.connect(peer, link="forward")
                    if sock is None:
                        if not down:
                            log(f"router: no link to {peer}: what it would get is dropped until one opens")
                        down = True
                        break
                    down = False
                    log(f"router: link to {peer} open")
                try:
                    _send(sock, message)
                    break
                except OSError:
                    sock.close()
                    sock = None

    def dispatch(self, message: dict) -> None:
        """Publish a message a peer forwarded to this node's mosquitto, so only to its own subscribers
        (emqx_broker.erl dispatch/2)."""
        if "no-route" in self.node.faults() or not self.ready.wait(DISPATCH_WAIT):
            return
        qos = int(message["qos"])
        body = _mqtt_string(base64.b64decode(message["topic"]))
        if qos:
            if not self.inflight.acquire(timeout=DISPATCH_WAIT):
                log("router: mosquitto acknowledges nothing: a forwarded message is dropped")
                return
            body += struct.pack("!H", self._next_id())
        properties = base64.b64decode(message["properties"])
        body += _varint_bytes(len(properties)) + properties + base64.b64decode(message["payload"])
        try:
            self._write(_mqtt_packet(0x30 | qos << 1 | int(bool(message["retain"])), body))
        except OSError as err:
            log(f"router: a forwarded message is lost: {err}")


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
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.role = str(self.config.get(("node", "role"), "core"))
        self.listeners = listeners(self.config, hardened)
        self.authn = Authentication(self.config, environ, self.data_dir, hardened)
        self.dashboard = dashboard(self.config, hardened)
        self.keys = api_keys(self.config)
        self.clients: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        # bin/emqx passes EMQX_NODE__COOKIE (or the older EMQX_NODE_COOKIE) as it is to -setcookie; without one,
        # the default of apps/emqx_conf/etc/emqx_conf.conf (the build's emqx_default_erlang_cookie).
        cookie = environ.get("EMQX_NODE__COOKIE") or environ.get("EMQX_NODE_COOKIE") or "emqxsecretcookie"
        # The kernel's inet_dist_base_port, which ekka_dist.erl port/1 adds to (a knob of the stand-in's tests).
        base = int(environ.get("STANDIN_DIST_BASE_PORT", DIST_BASE_PORT))
        self.cluster = Cluster(self, self.config, cookie, base)
        self.router = Router(self)

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
        running, stopped = self.cluster.view()
        state = {
            "pid": os.getpid(),
            "node": self.name,
            "connections": count,
            "running": sorted(running),
            "stopped": stopped,
        }
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
            try:
                client.settimeout(15)  # mqtt.idle_timeout's default: how long EMQX waits for the CONNECT
                packet = read_packet(client)
                connect = parse_connect(packet)
                client.settimeout(None)
            except (OSError, ValueError, IndexError, KeyError, struct.error) as err:
                log(f"{listener['type']}:{listener['name']}: no valid CONNECT: {err}")
                client.close()
                return
            verdict = node.authn.check(connect, listener["enable_authn"])
            if verdict != "ok":
                # emqx_channel.erl log_auth_failure/1 (msg authentication_failure), never the password
                log(
                    f"{listener['type']}:{listener['name']}: authentication_failure {verdict}: client"
                    f" {connect['clientid']!r}, username {connect['username']!r}, MQTT version {connect['version']}"
                )
                try:
                    client.sendall(connack_refusal(connect["version"], verdict))
                except OSError:
                    pass
                client.close()
                return
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(broker)
            upstream.sendall(packet)
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
    server = bound(socketserver.ThreadingTCPServer, listener["address"], Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True).start()
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
                    # emqx_mgmt.erl list_nodes/0: the running nodes, then each stopped core (stopped_node_info/1)
                    running, stopped = node.cluster.view()
                    listed = [
                        {"node": name, "node_status": "running", "role": role, "version": VERSION}
                        for name, role in sorted(running.items())
                    ]
                    listed += [{"node": name, "node_status": "stopped", "role": "core"} for name in stopped]
                    return self.reply(200, json.dumps(listed).encode())
            self.reply(404, b'{"code":"NOT_FOUND"}')

        def reply(self, code: int, body: bytes, kind: str = "application/json") -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = bound(ThreadingHTTPServer, listener["address"], Handler)
    if listener["tls"]:
        server.socket = server_context(listener["tls"]).wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True).start()
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
    mosquitto: subprocess.Popen | None = None
    try:
        node = Node(environ)
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
        # mosquitto creates its socket file before it listens on it: the router tries again for a while.
        for attempt in range(40):
            try:
                node.router.start(broker)
                break
            except Refused:
                if attempt == 39:
                    raise
                time.sleep(0.25)
        servers = [node.cluster.serve()]
        servers += [serve_listener(node, listener, broker) for listener in node.listeners]
        servers += [serve_dashboard(node, listener) for listener in node.dashboard]
    except (Refused, OSError) as err:
        log(f"refusing to start: {'cannot listen: ' if isinstance(err, OSError) else ''}{err}")
        if mosquitto is not None:  # EMQX's node stops whole: no broker left behind
            mosquitto.terminate()
            mosquitto.wait()
        return 1
    node.write_state()
    log(f"node {node.name} ({node.role}, profile {node.profile}) is running")
    signal.signal(signal.SIGTERM, lambda *_: node.stopping.set())
    threading.Thread(target=evictor, args=(node,), daemon=True).start()
    threading.Thread(target=node.cluster.run, daemon=True).start()
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
        # emqx_mgmt_cli.erl cluster_info/0, printed with ~p (one line here: EMQX's ~p wraps a long one)
        running = ",".join(f"'{n}'" for n in state["running"])
        stopped = ",".join(f"'{n}'" for n in state["stopped"])
        print(f"Cluster status: #{{running_nodes => [{running}],stopped_nodes => [{stopped}]}}")
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
        # emqx_node_rebalance_evacuation.erl available_nodes/1: the other running nodes (whether they evacuate
        # themselves is not modelled), and PEER with the `peer` fault
        others = [n for n in state["running"] if n != state["node"]] + ([PEER] if "peer" in faults else [])
        recipients = ",".join(f"'{n}'" for n in others)
        print(
            "Rebalance type: evacuation\n"
            f"Rebalance state: {evacuation_state(evacuation, connections)}\n"
            f"Connection eviction rate: {opts.get('conn_evict_rate', 500)} connections/second\n"
            f"Session eviction rate: {opts.get('sess_evict_rate', 500)} sessions/second\n"
            f"Session recipient nodes: [{recipients}]\n"
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


# --- emqx check_config ---------------------------------------------------------------------------------


def check_config(environ: dict[str, str]) -> int:
    """`emqx check_config` (bin/emqx check_config/0): hocon_cli.erl check_schema/1 checks the config files and
    the EMQX_* environment (apply_override_envs) as the start does, without starting a node; on a value EMQX
    refuses, handle_schema_errors/2 logs failed_to_check_schema and the command exits 1."""
    log(f"a MODEL of EMQX Enterprise {VERSION} (scripts/node/emqx_standin), not EMQX: check_config")
    try:
        read_config(environ)
    except Refused as err:
        log(str(err))
        return 1
    log("check_config: the config passes EMQX's schema")
    return 0


def main(argv: list[str]) -> int:
    environ = dict(os.environ)
    if argv[:1] == ["foreground"]:
        return foreground(environ)
    if argv[:1] == ["ctl"]:
        return ctl(argv[1:], environ)
    if argv[:1] == ["check_config"]:
        return check_config(environ)
    print(f"emqx-standin: `emqx {' '.join(argv)}` is not modelled (foreground, ctl, check_config)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
