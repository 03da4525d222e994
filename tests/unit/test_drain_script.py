"""Drain before stop (charts/emqx-ee/files/drain.sh, the preStop hook) and the boot step, run on this machine.

kwok runs no container, so the hook is proven here: the exact command the chart renders into the pod template
runs against a stand-in for `emqx ctl` that this module writes. The stand-in follows EMQX 6.2.2's node
evacuation as its source defines it (tests/data/emqx-rebalance-cli-6.2.2.json names the files and the commit):
the CLI's commands, options and printed text (apps/emqx_node_rebalance/src/emqx_node_rebalance_cli.erl cli/1,
emqx_node_rebalance_status.erl format_local_status/1), the exit status of `emqx ctl` (bin/nodetool: 0 only for
a command that answers `ok`, so `rebalance start|stop` exit 1 even when they work), the states of
emqx_node_rebalance_evacuation.erl (wait for health checks, evict connections at a rate, wait for takeovers,
move sessions to the "recipient" nodes, which never ends without one) and the saved state
(emqx_node_rebalance_evacuation_persist.erl: <data_dir>/.evacuation, written at start, deleted by stop,
restored at boot). What only a real EMQX can show (the clients really leave, and reconnect elsewhere) is for
the real node.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from harness.query import jp1
from harness.tools import CHART, ROOT

pytestmark = pytest.mark.unit

FACTS = json.loads((ROOT / "tests" / "data" / "emqx-rebalance-cli-6.2.2.json").read_text())
PRINTED = FACTS["printed"]
SCRIPT = CHART / "files" / "drain.sh"
DATA_DIR = FACTS["image"]["data_dir"]
EVACUATION_FILE = FACTS["evacuation"]["persist_file"]
NODE = "emqx@emqx-ee-0.emqx-ee-headless.default.svc.cluster.local"
PEERS = ["emqx@emqx-ee-1.emqx-ee-headless.default.svc.cluster.local"]

# The stand-in `emqx`: only `emqx ctl rebalance ...`, as 6.2.2 answers it. Its configuration (config.json in
# its folder) sets the node's clients and peers; it logs every call (calls.jsonl) and keeps EMQX's saved
# evacuation in data/.evacuation, with the start time beside it (the real node keeps that in memory).
STANDIN = r'''#!/usr/bin/env python3
import json, os, sys, time
from pathlib import Path

home = Path(os.environ["STANDIN_HOME"])
facts = json.loads(Path(os.environ["STANDIN_FACTS"]).read_text())
p = facts["printed"]
cfg = json.loads((home / "config.json").read_text())
saved = home / "data" / facts["evacuation"]["persist_file"]
clock = home / "started"
with open(home / "calls.jsonl", "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\n")
calls = sum(1 for _ in open(home / "calls.jsonl"))
mode = cfg.get("mode", "up")
if mode == "up" and cfg.get("down_after_calls") and calls > cfg["down_after_calls"]:
    mode = "down"
if mode == "hang":
    time.sleep(3600)
if mode == "down":  # bin/emqx assert_node_alive, bin/nodetool
    sys.stderr.write(facts["exit_status"]["node_down_message"].format(repr(cfg["node"])) + "\n")
    sys.exit(facts["exit_status"]["node_down"])
args = sys.argv[1:]
assert args[:2] == ["ctl", "rebalance"], args
args = args[2:]


def evacuation():
    """The evacuation's state and counts now, from its start time and options (None when disabled)."""
    if not saved.exists():
        return None
    opts = json.loads(saved.read_text())
    # The start time and health-check wait live in memory only; an evacuation restored at boot (no clock)
    # evicts at once (init/1 enters evicting_conns).
    started = json.loads(clock.read_text()) if clock.exists() else {"t0": time.time(), "whc": 0}
    t0, whc = started["t0"], started["whc"]
    c0, s0 = cfg["connections"], cfg["sessions"]
    recipients = [] if cfg.get("peers_evacuating") else cfg["peers"]
    el = time.time() - t0
    st = {"initial_connected": c0, "current_connected": c0, "initial_sessions": s0, "current_sessions": s0}
    if el < whc:
        return "waiting_health_check", st, opts, recipients
    el -= whc
    if cfg.get("clients_stay"):
        return "evicting_conns", st, opts, recipients
    conn_secs = -(-c0 // opts["conn_evict_rate"]) if c0 else 0
    if el < conn_secs:
        st["current_connected"] = c0 - opts["conn_evict_rate"] * int(el)
        return "evicting_conns", st, opts, recipients
    st["current_connected"] = 0
    el -= conn_secs
    if el < opts["wait_takeover"]:
        return "waiting_takeover", st, opts, recipients
    el -= opts["wait_takeover"]
    left = cfg.get("offline_sessions", 0)
    if left and not recipients:
        st["current_sessions"] = left
        return "evicting_sessions", st, opts, recipients
    moved = opts["sess_evict_rate"] * int(el)
    st["current_sessions"] = max(0, left - moved)
    return ("evicting_sessions" if st["current_sessions"] else "prohibiting"), st, opts, recipients


if args == ["node-status"]:
    ev = evacuation()
    if ev is None:
        print(p["status_disabled"])
    else:
        state, st, opts, recipients = ev
        lines = [
            p["status_type"] + "evacuation",
            p["status_state"] + state,
            p["status_conn_rate"].format(opts["conn_evict_rate"]),
            p["status_sess_rate"].format(opts["sess_evict_rate"]),
            p["status_conn_goal"] + "0",
            p["status_sess_goal"] + "0",
            p["status_recipients"] + "[" + ",".join("'%s'" % n for n in recipients) + "]",
            p["status_stats"],
        ] + ["  %s: %d" % (k, st[k]) for k in p["stats_keys"]]
        print("\n".join(lines) + "\n")
    sys.exit(facts["exit_status"]["node-status"])
if args == ["stop"]:
    if saved.exists():
        saved.unlink()
        clock.unlink(missing_ok=True)
        print(p["stop_stopped"])
    else:
        print(p["stop_already"])
    sys.exit(facts["exit_status"]["stop"])
if args[:2] == ["start", "--evacuation"]:
    if saved.exists():
        print(p["start_already"])
        sys.exit(facts["exit_status"]["start"])
    d = facts["evacuation"]["defaults"]
    names = {"--conn-evict-rate": "conn_evict_rate", "--sess-evict-rate": "sess_evict_rate",
             "--wait-takeover": "wait_takeover", "--wait-health-check": "wait_health_check"}
    opts = dict(d, server_reference=None)
    rest = args[2:]
    while rest:
        name, value = rest[0], rest[1]
        if name == "--redirect-to":
            opts["server_reference"] = value
        elif name in names and value.isdigit() and int(value) > 0:
            opts[names[name]] = int(value)
        else:
            print(p["start_error_prefix"] + "invalid " + name + " value")
            sys.exit(facts["exit_status"]["start"])
        rest = rest[2:]
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps({k: opts[k] for k in facts["evacuation"]["persist_keys"]}))
    clock.write_text(json.dumps({"t0": time.time(), "whc": opts["wait_health_check"]}))
    print(p["start_started"])
    sys.exit(facts["exit_status"]["start"])
print("usage")
sys.exit(1)
'''


class Node:
    """A stand-in EMQX node in a folder: `emqx` on PATH, its data directory, its call log."""

    def __init__(self, home: Path, **config: Any):
        self.home = home
        (home / "bin").mkdir(parents=True)
        (home / "data").mkdir()
        emqx = home / "bin" / "emqx"
        emqx.write_text(STANDIN.replace("/usr/bin/env python3", sys.executable, 1))
        emqx.chmod(emqx.stat().st_mode | stat.S_IXUSR)
        cfg = {"node": NODE, "peers": PEERS, "connections": 10, "sessions": 10, "offline_sessions": 0, **config}
        (home / "config.json").write_text(json.dumps(cfg))
        (home / "calls.jsonl").write_text("")
        self.log = home / "drain.log"

    @property
    def saved(self) -> Path:
        return self.home / "data" / EVACUATION_FILE

    def evacuating(self, wait_health_check: int, **opts: Any) -> None:
        """An evacuation already runs (started by hand, or by an earlier hook)."""
        d = FACTS["evacuation"]["defaults"]
        saved = {**d, "server_reference": None, **opts}
        self.saved.write_text(json.dumps({k: saved[k] for k in FACTS["evacuation"]["persist_keys"]}))
        (self.home / "started").write_text(json.dumps({"t0": time.time(), "whc": wait_health_check}))

    def calls(self) -> list[list[str]]:
        return [json.loads(line) for line in (self.home / "calls.jsonl").read_text().splitlines()]

    def ctl(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.home / "bin" / "emqx"), "ctl", "rebalance", *args], env=self.env(),
                              capture_output=True, text=True, check=False)  # fmt: skip

    def env(self) -> dict[str, str]:
        return {**os.environ, "PATH": f"{self.home / 'bin'}:{os.environ['PATH']}", "STANDIN_HOME": str(self.home),
                "STANDIN_FACTS": str(ROOT / "tests" / "data" / "emqx-rebalance-cli-6.2.2.json"),
                "DRAIN_LOG": str(self.log)}  # fmt: skip

    def run_hook(self, command: list[str], *extra: str, limit: float = 60) -> tuple[float, str]:
        """Run the rendered preStop command (plus `extra` options); (seconds it took, what it logged)."""
        start = time.monotonic()
        done = subprocess.run([*command, *extra], env=self.env(), capture_output=True, text=True, timeout=limit,
                              check=False)  # fmt: skip
        took = time.monotonic() - start
        assert done.returncode == 0, f"the hook failed ({done.returncode}): {done.stdout}{done.stderr}"
        return took, self.log.read_text() if self.log.exists() else ""


FAST = {
    "terminationGracePeriodSeconds": 60,
    "gracefulShutdown": {"waitHealthCheck": 1, "waitTakeover": 1, "connEvictRate": 10, "sessEvictRate": 10,
                         "timeoutSeconds": 20},
}  # fmt: skip
# Quicker polling than in a pod (whole seconds: the script counts in seconds).
QUICK = ("--poll", "1", "--ctl-timeout", "3")


def pre_stop(template, values: dict[str, Any] = FAST) -> list[str]:
    sts = template(values).statefulset
    return list(jp1(sts, '$.spec.template.spec.containers[?name="emqx"].lifecycle.preStop.exec.command'))


def boot_args(template, values: dict[str, Any] | None = None) -> list[str]:
    return list(jp1(template(values).statefulset, '$.spec.template.spec.containers[?name="emqx"].args'))


def option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def starts(node: Node) -> list[list[str]]:
    return [c for c in node.calls() if c[2:4] == ["start", "--evacuation"]]


def test_the_hook_is_the_chart_file_with_the_configured_rates(template):
    values = {
        "terminationGracePeriodSeconds": 200,
        "gracefulShutdown": {"connEvictRate": 1200, "sessEvictRate": 300, "waitHealthCheck": 7, "waitTakeover": 20,
                             "waitForSessions": False, "timeoutSeconds": 150, "redirectTo": "mqtt-b.example.com"},
    }  # fmt: skip
    command = pre_stop(template, values)
    assert command[:2] == ["sh", "-c"]
    code = [line for line in SCRIPT.read_text().splitlines() if not line.lstrip().startswith("#")]
    assert command[2] == "\n".join(code).strip() + "\n", "the hook runs files/drain.sh, without its comment lines"
    g = values["gracefulShutdown"]
    assert option(command, "--conn-evict-rate") == "1200"
    assert option(command, "--sess-evict-rate") == "300"
    assert option(command, "--wait-health-check") == "7"
    assert option(command, "--wait-takeover") == "20"
    assert option(command, "--wait-sessions") == "no"
    assert option(command, "--timeout") == str(g["timeoutSeconds"])
    assert option(command, "--redirect-to") == g["redirectTo"]


def test_normal_drain_evicts_at_the_rates_then_ends_the_evacuation(template, tmp_path):
    node = Node(tmp_path, connections=10, sessions=10, offline_sessions=5)
    command = pre_stop(template)
    took, log = node.run_hook(command, *QUICK)
    (start,) = starts(node)
    g = FAST["gracefulShutdown"]
    assert option(start, "--conn-evict-rate") == str(g["connEvictRate"])
    assert option(start, "--sess-evict-rate") == str(g["sessEvictRate"])
    assert option(start, "--wait-health-check") == str(g["waitHealthCheck"])
    assert option(start, "--wait-takeover") == str(g["waitTakeover"])
    assert "--redirect-to" not in start, "no server reference unless redirectTo is set"
    # 1 s health check, 10 connections at 10/s, 1 s takeover, 5 sessions at 10/s: about 4 s.
    assert "drained" in log, log
    assert 3 <= took < g["timeoutSeconds"], f"took {took:.1f}s: {log}"
    assert node.calls()[-1] == ["ctl", "rebalance", "stop"], "the drain ends the evacuation before EMQX stops"
    assert not node.saved.exists(), "EMQX's saved evacuation is gone, so the next boot serves clients"


def test_without_waiting_for_sessions_it_stops_once_the_clients_left(template, tmp_path):
    values = {**FAST, "gracefulShutdown": {**FAST["gracefulShutdown"], "waitForSessions": False, "waitTakeover": 30}}
    node = Node(tmp_path, connections=10, sessions=10, offline_sessions=5)
    took, log = node.run_hook(pre_stop(template, values), *QUICK)
    assert "drained" in log, log
    assert took < values["gracefulShutdown"]["waitTakeover"], f"it waited for the takeovers ({took:.1f}s)"
    assert not node.saved.exists()


def test_a_node_already_evacuating_is_waited_for_not_restarted(template, tmp_path):
    node = Node(tmp_path, connections=4, sessions=4)
    node.evacuating(conn_evict_rate=4, wait_health_check=1, wait_takeover=1)
    took, log = node.run_hook(pre_stop(template), *QUICK)
    assert not starts(node), f"a second start was sent: {node.calls()}"
    assert "evacuating already" in log and "drained" in log, log
    assert not node.saved.exists()


def test_the_deadline_ends_the_drain_within_the_timeout(template, tmp_path):
    values = {**FAST, "gracefulShutdown": {**FAST["gracefulShutdown"], "timeoutSeconds": 6}}
    node = Node(tmp_path, clients_stay=True)
    took, log = node.run_hook(pre_stop(template, values), *QUICK)
    assert "deadline of 6s reached" in log, log
    assert took <= 6 + 1, f"the hook outlived its timeout: {took:.1f}s"
    assert node.calls()[-1] == ["ctl", "rebalance", "stop"]
    assert not node.saved.exists()


def test_emqx_not_answering_lets_the_pod_stop_at_once(template, tmp_path):
    node = Node(tmp_path, mode="down")
    took, log = node.run_hook(pre_stop(template), *QUICK)
    assert "EMQX does not answer" in log and "not responding to pings" in log, log
    assert not starts(node)
    assert took < 3, f"took {took:.1f}s"


def test_emqx_hanging_is_bounded_by_the_call_timeout(template, tmp_path):
    node = Node(tmp_path, mode="hang")
    took, log = node.run_hook(pre_stop(template), *QUICK)
    assert "EMQX does not answer" in log, log
    assert took < 3 + 2 + 2, f"a hanging `emqx ctl` held the hook {took:.1f}s"


def test_emqx_stopping_mid_drain_ends_the_hook(template, tmp_path):
    node = Node(tmp_path, clients_stay=True, down_after_calls=3)
    took, log = node.run_hook(pre_stop(template), *QUICK)
    assert "EMQX stopped answering" in log, log
    assert took < FAST["gracefulShutdown"]["timeoutSeconds"]


def test_a_one_node_cluster_has_nowhere_to_send_clients_and_stops_at_once(template, tmp_path):
    node = Node(tmp_path, peers=[])
    took, log = node.run_hook(pre_stop(template), *QUICK)
    assert "no other node can take the clients" in log, log
    assert took < 3, f"took {took:.1f}s"
    assert node.calls()[-1] == ["ctl", "rebalance", "stop"]
    assert not node.saved.exists()


def test_a_full_stop_ends_the_drain_once_every_peer_evacuates_too(template, tmp_path):
    """replicaCount: 0 and `helm uninstall` stop every node at once: the peers evacuate as well, so none is a
    recipient (emqx_node_rebalance_evacuation.erl available_nodes/1 keeps nodes whose eviction is disabled)."""
    node = Node(tmp_path, peers_evacuating=True)
    took, log = node.run_hook(pre_stop(template), *QUICK)
    assert "no other node can take the clients" in log, log
    assert took < 3


def test_an_empty_node_stops_at_once(template, tmp_path):
    node = Node(tmp_path, connections=0, sessions=0)
    took, log = node.run_hook(pre_stop(template), *QUICK)
    assert "drained" in log, log
    assert took < 3


def test_a_refused_start_stops_without_a_drain(template, tmp_path):
    node = Node(tmp_path)
    command = pre_stop(template)
    bad = [*command]
    bad[bad.index("--conn-evict-rate") + 1] = "0"  # validate_pos_int refuses it
    took, log = node.run_hook(bad, *QUICK)
    assert "could not start the evacuation" in log and PRINTED["start_error_prefix"] in log, log
    assert took < 3


def boot(args: list[str], data: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    """Run the pod's boot step as the image's entrypoint would (`exec "$@"`), with `data` as the data directory
    and a command that records that it ran."""
    assert args[:2] == ["sh", "-c"] and args[-2:] == FACTS["image"]["cmd"], args
    step = args[2].replace(DATA_DIR + "/", str(data) + "/")
    marker = tmp_path / "booted"
    return subprocess.run(["sh", "-c", step, args[3], "sh", "-c", f'echo "$0 $*" > {shlex.quote(str(marker))}', "x",
                           "foreground"], capture_output=True, text=True, check=False)  # fmt: skip


def test_a_drain_killed_half_way_leaves_a_saved_evacuation_that_the_boot_step_clears(template, tmp_path):
    """The restart path: EMQX restores a saved evacuation at boot (emqx_node_rebalance_evacuation.erl init/1),
    and the node would refuse every client. A drain that ends removes it itself (see above); one killed half way
    (OOM, a liveness restart) leaves it, and the boot step of the next start removes it before EMQX reads it."""
    node = Node(tmp_path / "node", clients_stay=True)
    with pytest.raises(subprocess.TimeoutExpired):
        node.run_hook(pre_stop(template), *QUICK, limit=2)
    assert node.saved.exists(), "the stand-in saved the evacuation as EMQX does"
    (node.home / "started").unlink()  # the node restarts: what EMQX kept in memory is gone
    assert PRINTED["status_type"] + "evacuation" in node.ctl("node-status").stdout, "restored at the next boot"
    args = boot_args(template)
    assert f"rm -f {DATA_DIR}/{EVACUATION_FILE}" in args[2], "the boot step removes EMQX's saved evacuation"
    done = boot(args, node.home / "data", tmp_path)
    assert done.returncode == 0, done.stderr
    assert "clearing the node evacuation" in done.stderr
    assert (tmp_path / "booted").read_text() == "x foreground\n", "the boot step execs the image's command"
    assert not node.saved.exists()
    assert node.ctl("node-status").stdout.strip() == PRINTED["status_disabled"], "the node serves clients again"


def test_the_boot_step_is_silent_without_a_saved_evacuation_and_stays_when_the_drain_is_off(template, tmp_path):
    args = boot_args(template, {"gracefulShutdown": {"enabled": False}})
    (tmp_path / "data").mkdir()
    done = boot(args, tmp_path / "data", tmp_path)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert (tmp_path / "booted").read_text() == "x foreground\n"
    sts = template({"gracefulShutdown": {"enabled": False}}).statefulset
    container = jp1(sts, '$.spec.template.spec.containers[?name="emqx"]')
    assert "lifecycle" not in container, "no preStop hook when the drain is off"


def usage_options() -> dict[tuple[str, ...], set[str]]:
    """{command words: optional options} of every usage string of 6.2.2's `emqx ctl rebalance`."""
    out: dict[tuple[str, ...], set[str]] = {}
    for usage in FACTS["usage"]["commands"]:
        required = usage.split(" [", 1)[0]
        out.setdefault(tuple(required.split()), set()).update(re.findall(r"\[(--[a-z-]+)", usage))
    return out


def test_every_command_and_option_the_hook_sends_is_in_emqx_6_2_2s_usage(template, tmp_path):
    """Runs the hook through the paths that send commands (a drain with a server reference) and checks every
    call against the usage strings of emqx_node_rebalance_cli.erl cli/1."""
    usage = usage_options()
    values = {**FAST, "gracefulShutdown": {**FAST["gracefulShutdown"], "redirectTo": "a.example.com b.example.com"}}
    node = Node(tmp_path, connections=2, sessions=2)
    node.run_hook(pre_stop(template, values), *QUICK)
    sent = node.calls()
    assert any("--redirect-to" in c for c in sent) and any(c[-1] == "stop" for c in sent), sent
    for call in sent:
        assert call[0] == "ctl", call
        words = call[1:]
        head = tuple(words[:2]) + (("--evacuation",) if "--evacuation" in words else ())
        options = {w for w in words if w.startswith("--")} - {"--evacuation"}
        assert head in usage, f"`emqx ctl {' '.join(words)}`: no such command in 6.2.2 ({sorted(usage)})"
        assert options <= usage[head], f"{words}: {sorted(options - usage[head])} not in 6.2.2's usage of {head}"
        assert len(words) == len(head) + 2 * len(options), f"{words}: every option takes one value"


def test_the_script_reads_only_text_that_emqx_6_2_2_prints():
    """The phrases the script matches in `emqx ctl` output are EMQX's own (printed facts, see the data file)."""
    text = SCRIPT.read_text()
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    matched = re.findall(r'\*"([^"]+)"\*', code) + re.findall(r"grep -q '\^([^']+?)\\\[", code)
    printed = [v for k, v in PRINTED.items() if isinstance(v, str) and k != "source"]
    # node_status/1 prints the process type with ~p: the atom evacuation.
    printed.append(PRINTED["status_type"] + "evacuation")
    assert matched, "found no matched phrases in the script"
    for phrase in matched:
        plain = phrase.replace("\\", "")
        assert any(plain in p for p in printed), f"drain.sh matches {phrase!r}, which 6.2.2 never prints"
    for key in ("current_connected", "current_sessions"):
        assert f'stat "$status" {key}' in code and key in PRINTED["stats_keys"]


def test_the_values_docs_quote_emqx_6_2_2s_defaults():
    """Defaults and the file name the docs and values comments quote (EMQX's defaults) are the data file's."""
    d = FACTS["evacuation"]["defaults"]
    notes = (ROOT / "charts" / "emqx-ee" / "values.yaml").read_text()
    assert f"EMQX's default {d['conn_evict_rate']})" in notes
    assert f"EMQX's default is {d['wait_health_check']})" in notes
    assert f"EMQX's default {d['wait_takeover']})" in notes
    assert "/api/v5" + next(p for p in FACTS["rest"]["paths"] if p.endswith("availability_check")) in notes


def test_the_hook_is_posix_sh():
    """The EMQX image runs it with /bin/sh (Debian's dash): shellcheck in sh mode finds nothing."""
    found = shutil.which("shellcheck")
    assert found, "shellcheck is missing: run scripts/bootstrap.sh (it installs Debian's shellcheck package)"
    done = subprocess.run([found, "-s", "sh", str(SCRIPT)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout


@pytest.mark.parametrize("args", [["--timeout"], ["--no-such-option", "1"]])
def test_bad_arguments_never_fail_the_hook(tmp_path, args):
    """A failing preStop hook only adds an event before the kill: the script says what is wrong and exits 0."""
    node = Node(tmp_path)
    node.run_hook(["sh", str(SCRIPT), *args])
    assert not node.calls(), "nothing was sent to EMQX"
