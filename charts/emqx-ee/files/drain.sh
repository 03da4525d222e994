# Drain an EMQX node before it stops: the preStop hook of every EMQX pod (templates/_drain.tpl puts this
# text into the pod template, so each revision keeps its own). POSIX sh; it needs `emqx` on PATH.
#
# It evacuates the node (EMQX Enterprise app emqx_node_rebalance, 6.2.2), waits until the node has no
# connections (and no sessions, with --wait-sessions yes) or until the deadline, then ends the evacuation
# and returns, so that the kubelet sends SIGTERM and EMQX stops with nothing left to drop.
#
# Facts it relies on (emqx/emqx tag 6.2.2, commit f7b2e6d8):
# - emqx_node_rebalance_cli.erl cli/1: `rebalance start --evacuation` takes --wait-health-check,
#   --redirect-to, --conn-evict-rate, --wait-takeover, --sess-evict-rate (validate_evacuation/2: positive
#   integers); it prints "Rebalance(evacuation) started", or "Rebalance is already enabled" when an
#   evacuation runs. `rebalance node-status` prints "Rebalance disabled" or "Rebalance type: evacuation"
#   with the fields of emqx_node_rebalance_status.erl format_local_status/1 ("Rebalance state: S",
#   "Session recipient nodes: [...]", "  current_connected: N", "  current_sessions: N").
#   `rebalance stop` prints "Rebalance(evacuation) stopped" or "Rebalance is already disabled".
# - The exit status of `emqx ctl` says little: bin/nodetool rpc_infinity halts with 1 for any answer but
#   `ok`, and `rebalance start|stop` answer true|false. So the script reads the printed text; only
#   `node-status` (it answers ok) exits 0 when the node answers. A node that does not answer: bin/emqx
#   assert_node_alive exits 1 ("Node ... not responding to pings.").
# - emqx_node_rebalance_evacuation.erl: the evacuation waits --wait-health-check seconds (clients may still
#   connect, /api/v5/load_rebalance/availability_check answers 503), evicts --conn-evict-rate connections a
#   second (state evicting_conns), waits --wait-takeover seconds for the clients to take their sessions
#   over on other nodes, then moves the rest at --sess-evict-rate (evicting_sessions) to the "session
#   recipient" nodes: running nodes that are not evacuating themselves (available_nodes/1). With no
#   recipient it never finishes, hence the check below.
# - emqx_node_rebalance_evacuation_persist.erl: the evacuation is saved to <data_dir>/.evacuation and
#   restored by init/1 at the next boot (the node then refuses every client). `rebalance stop` deletes the
#   file (handle_event stop -> clear/0), so a node this script drained boots serving; the pod's boot step
#   removes a file left by a drain that did not end (templates/_drain.tpl).
#
# Usage: drain.sh [--conn-evict-rate N] [--sess-evict-rate N] [--wait-health-check S] [--wait-takeover S]
#                 [--redirect-to "server1 server2"] [--wait-sessions yes|no] [--timeout S] [--poll S]
#                 [--ctl-timeout S]
# It always exits 0: a failing hook would only add an event, and EMQX must stop either way.
# Progress goes to $DRAIN_LOG, by default the container's own output (/proc/1/fd/1), so that
# `kubectl logs` shows it; stderr when that cannot be written.

conn_rate=500 sess_rate=500 wait_hc=5 wait_takeover=10 redirect_to="" wait_sessions=yes
timeout_s=90 poll=2 ctl_timeout=15
while [ "$#" -gt 0 ]; do
  [ "$#" -ge 2 ] || { echo "drain: $1 needs a value" >&2; exit 0; }
  case "$1" in
    --conn-evict-rate) conn_rate=$2 ;;
    --sess-evict-rate) sess_rate=$2 ;;
    --wait-health-check) wait_hc=$2 ;;
    --wait-takeover) wait_takeover=$2 ;;
    --redirect-to) redirect_to=$2 ;;
    --wait-sessions) wait_sessions=$2 ;;
    --timeout) timeout_s=$2 ;;
    --poll) poll=$2 ;;
    --ctl-timeout) ctl_timeout=$2 ;;
    *) echo "drain: unknown option $1" >&2; exit 0 ;;
  esac
  shift 2
done

log_to=${DRAIN_LOG:-/proc/1/fd/1}
{ : >>"$log_to"; } 2>/dev/null || log_to=/dev/stderr
log() { echo "emqx-ee drain: $*" >>"$log_to"; }
now() { date +%s; }
end=$(( $(now) + timeout_s ))

# `emqx ctl ...`, bounded: a node that hangs must not hold the pod until the grace period ends.
ctl() {
  if command -v timeout >/dev/null 2>&1; then
    timeout -k 2 "$ctl_timeout" emqx ctl "$@" 2>&1
  else
    emqx ctl "$@" 2>&1
  fi
}
# The number after "  <name>: " in a node-status text ($1), or nothing.
stat() { printf '%s\n' "$1" | sed -n "s/^ *$2: *\([0-9][0-9]*\).*/\1/p" | head -n 1; }
# End the evacuation (which deletes the saved state) and return: EMQX stops next.
finish() {
  out=$(ctl rebalance stop)
  case "$out" in
    *"stopped"*|*"already disabled"*) ;;
    *) log "could not end the evacuation ($out); the next boot clears it" ;;
  esac
  log "$1"
  exit 0
}

status=$(ctl rebalance node-status) || { log "EMQX does not answer ($status): nothing to drain"; exit 0; }
case "$status" in
  *"Rebalance type: evacuation"*)
    log "the node is evacuating already: waiting for that evacuation" ;;
  *"Rebalance disabled"*)
    set -- rebalance start --evacuation --wait-health-check "$wait_hc" --conn-evict-rate "$conn_rate" \
      --sess-evict-rate "$sess_rate" --wait-takeover "$wait_takeover"
    [ -n "$redirect_to" ] && set -- "$@" --redirect-to "$redirect_to"
    out=$(ctl "$@")
    case "$out" in
      *"Rebalance(evacuation) started"*)
        log "evacuating: $conn_rate connections/s, $sess_rate sessions/s, at most ${timeout_s}s" ;;
      *"Rebalance is already enabled"*)
        log "an evacuation started meanwhile: waiting for it" ;;
      *)
        log "could not start the evacuation ($out): stopping without a drain"; exit 0 ;;
    esac ;;
  *)
    log "another rebalance runs on this node: stopping without a drain ($(printf '%s' "$status" | head -n 1))"
    exit 0 ;;
esac

while :; do
  status=$(ctl rebalance node-status) || { log "EMQX stopped answering ($status)"; exit 0; }
  case "$status" in
    *"Rebalance type: evacuation"*) ;;
    *) log "the evacuation was ended by someone else: stopping"; exit 0 ;;
  esac
  conns=$(stat "$status" current_connected)
  sessions=$(stat "$status" current_sessions)
  if [ "$conns" = 0 ] && { [ "$wait_sessions" != yes ] || [ "$sessions" = 0 ]; }; then
    finish "drained: no connections${sessions:+, $sessions sessions} left"
  fi
  if printf '%s\n' "$status" | grep -q '^Session recipient nodes: \[\]'; then
    finish "no other node can take the clients (a one-node cluster, or every node is stopping): stopping now, ${conns:-?} connections left"
  fi
  if [ $(( $(now) + poll + ctl_timeout )) -ge "$end" ]; then
    finish "deadline of ${timeout_s}s reached: ${conns:-?} connections, ${sessions:-?} sessions left"
  fi
  sleep "$poll"
done
